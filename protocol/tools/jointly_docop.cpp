// jointly-docop: the document model and document operations on the command line, one JSON
// request per line of stdin and one JSON answer per line of stdout, in order, like jointly-ot.
// It exists so that the browser client's JavaScript port (client-web/src/doc_op.js) can be
// checked against the C++ core answer by answer (tests/differential/docop_differential.mjs).
//
// Requests (SNAPSHOT and DOCOP as in protocol/PROTOCOL.md, "## Document operations"):
//   {"op":"apply","doc":SNAPSHOT,"a":DOCOP}                        -> {"result":SNAPSHOT}
//   {"op":"transform","a":DOCOP,"b":DOCOP,"side":"left"|"right"}   -> {"result":DOCOP}
//   {"op":"compose","a":DOCOP,"b":DOCOP}                           -> {"result":DOCOP}
//   {"op":"parse","a":DOCOP}                                       -> {"result":DOCOP}
//   {"op":"document","doc":SNAPSHOT}                               -> {"result":SNAPSHOT}
//   {"op":"ordered","doc":SNAPSHOT}                                -> {"result":[ID, ...]}
//   {"op":"position_between","before":KEY|"","after":KEY|""}       -> {"result":KEY}
// `apply` reads the document first, then the op. Anything else gets
// {"error":{"code":C,"message":M}} and the tool goes on with the next line. Codes: those of the
// core (invalid_document, invalid_op, invalid_utf8, out_of_range, unknown_section,
// section_exists, section_removed, section_not_removed, section_locked, section_not_locked)
// and, for the request itself, invalid_json, invalid_request and too_large.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "protocol/result.hpp"

namespace {

using jointly::protocol::DocOp;
using jointly::protocol::Document;
using jointly::protocol::Error;
using jointly::protocol::make_error;
using jointly::protocol::Result;
using json = nlohmann::json;

// Limits that keep one hostile line from exhausting memory or stack.
constexpr std::size_t kMaxLineBytes = std::size_t{512} << 20;
constexpr std::size_t kMaxDepth = 64;
constexpr std::size_t kMaxValues = std::size_t{4} << 20;

std::string answer_error(const Error& e) {
  json j = {{"error", {{"code", e.code}, {"message", e.message}}}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string answer(json result) {
  json j = json::object();
  j["result"] = std::move(result);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Rejects lines nested deeper than kMaxDepth or with more than kMaxValues values before they
// reach the JSON parser (a cheap scan that skips string contents).
Result<bool> screen(std::string_view line) {
  std::size_t depth = 0, values = 1;
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (in_string) {
      if (ch == '\\') {
        ++i;
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    switch (ch) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > kMaxDepth) {
          return make_error("too_large", "the request nests deeper than " +
                                             std::to_string(kMaxDepth) + " levels");
        }
        ++values;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case ',':
        if (++values > kMaxValues) {
          return make_error(
              "too_large", "the request holds more than " + std::to_string(kMaxValues) + " values");
        }
        break;
      default:
        break;
    }
  }
  return true;
}

Error bad_request(std::string message) { return make_error("invalid_request", std::move(message)); }

Error prefixed(Error e, const char* name) {
  e.message = std::string("\"") + name + "\": " + e.message;
  return e;
}

Result<DocOp> op_field(const json& req, const char* name) {
  const auto it = req.find(name);
  if (it == req.end()) return bad_request(std::string("the request has no \"") + name + "\" op");
  Result<DocOp> op = jointly::protocol::parse_doc_op(*it);
  if (!op) return prefixed(std::move(op).error(), name);
  return op;
}

Result<Document> doc_field(const json& req) {
  const auto it = req.find("doc");
  if (it == req.end()) return bad_request("the request has no \"doc\" snapshot");
  Result<Document> doc = jointly::protocol::parse_document(*it);
  if (!doc) return prefixed(std::move(doc).error(), "doc");
  return doc;
}

std::string handle(json& req) {
  namespace p = jointly::protocol;
  if (!req.is_object()) return answer_error(bad_request("a request must be a JSON object"));
  const auto kind_it = req.find("op");
  if (kind_it == req.end() || !kind_it->is_string()) {
    return answer_error(bad_request("the request has no \"op\" string naming what to do"));
  }
  const std::string& kind = kind_it->get_ref<const std::string&>();

  if (kind == "apply") {
    Result<Document> doc = doc_field(req);
    if (!doc) return answer_error(doc.error());
    Result<DocOp> a = op_field(req, "a");
    if (!a) return answer_error(a.error());
    if (p::Status st = p::apply(*doc, *a); !st) return answer_error(st.error());
    return answer(p::to_json(*doc));
  }
  if (kind == "transform") {
    const auto side = req.find("side");
    p::Side s;
    if (side != req.end() && *side == "left") {
      s = p::Side::left;
    } else if (side != req.end() && *side == "right") {
      s = p::Side::right;
    } else {
      return answer_error(bad_request("transform needs \"side\": \"left\" or \"right\""));
    }
    Result<DocOp> a = op_field(req, "a");
    if (!a) return answer_error(a.error());
    Result<DocOp> b = op_field(req, "b");
    if (!b) return answer_error(b.error());
    return answer(p::to_json(p::transform(*a, *b, s)));
  }
  if (kind == "compose") {
    Result<DocOp> a = op_field(req, "a");
    if (!a) return answer_error(a.error());
    Result<DocOp> b = op_field(req, "b");
    if (!b) return answer_error(b.error());
    return answer(p::to_json(p::compose(*a, *b)));
  }
  if (kind == "parse") {
    Result<DocOp> a = op_field(req, "a");
    if (!a) return answer_error(a.error());
    return answer(p::to_json(*a));
  }
  if (kind == "document" || kind == "ordered") {
    Result<Document> doc = doc_field(req);
    if (!doc) return answer_error(doc.error());
    if (kind == "document") return answer(p::to_json(*doc));
    json ids = json::array();
    for (const p::Section* s : doc->ordered()) ids.push_back(s->id);
    return answer(std::move(ids));
  }
  if (kind == "position_between") {
    const auto before = req.find("before");
    const auto after = req.find("after");
    if (before == req.end() || !before->is_string() || after == req.end() || !after->is_string()) {
      return answer_error(
          bad_request("position_between needs \"before\" and \"after\" strings (\"\" for none)"));
    }
    Result<std::string> key = p::position_between(before->get_ref<const std::string&>(),
                                                  after->get_ref<const std::string&>());
    if (!key) return answer_error(key.error());
    return answer(std::move(key).value());
  }
  return answer_error(bad_request("unknown op \"" + kind +
                                  "\"; known: apply, transform, compose, parse, document, "
                                  "ordered, position_between"));
}

std::string handle_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  try {
    if (Result<bool> ok = screen(line); !ok) return answer_error(ok.error());
    json req;
    try {
      req = json::parse(line);
    } catch (const json::parse_error& e) {
      // nlohmann checks UTF-8 and \u escapes while it parses; say so in our own words.
      const std::string what = e.what();
      const std::string at = std::to_string(e.byte);
      if (what.find("surrogate") != std::string::npos) {
        return answer_error(make_error(
            "invalid_utf8", "the line holds a lone UTF-16 surrogate escape near byte " + at));
      }
      if (what.find("UTF-8") != std::string::npos) {
        return answer_error(
            make_error("invalid_utf8", "the line is not valid UTF-8 near byte " + at));
      }
      return answer_error(
          make_error("invalid_json", "the line is not JSON (near byte " + at + ")"));
    } catch (const json::out_of_range&) {
      return answer_error(make_error("invalid_json", "the line holds a number out of range"));
    }
    return handle(req);
  } catch (const std::bad_alloc&) {
    return answer_error(make_error("too_large", "the request needs more memory than there is"));
  } catch (const std::exception&) {
    return answer_error(make_error("internal", "the request could not be handled"));
  }
}

// Buffered stdout that is flushed before the tool waits for input.
class Output {
 public:
  void write(std::string_view s) {
    buf_.append(s);
    if (buf_.size() >= (std::size_t{1} << 16)) flush();
  }
  void flush() {
    std::size_t done = 0;
    while (done < buf_.size()) {
      const ssize_t n = ::write(STDOUT_FILENO, buf_.data() + done, buf_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) std::_Exit(1);  // nobody is reading any more
      done += static_cast<std::size_t>(n);
    }
    buf_.clear();
  }

 private:
  std::string buf_;
};

}  // namespace

int main() {
  Output out;
  std::string line;       // the line being read
  bool too_long = false;  // the current line passed kMaxLineBytes and is being skipped
  std::string chunk(std::size_t{1} << 16, '\0');
  for (;;) {
    out.flush();  // about to wait for input
    const ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string_view data(chunk.data(), static_cast<std::size_t>(n));
    while (!data.empty()) {
      const std::size_t nl = data.find('\n');
      const std::string_view part = data.substr(0, nl);
      if (!too_long) {
        if (line.size() + part.size() > kMaxLineBytes) {
          too_long = true;
          line.clear();
          line.shrink_to_fit();
        } else {
          line.append(part);
        }
      }
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
      if (too_long) {
        out.write(answer_error(make_error(
            "too_large", "the line is longer than " + std::to_string(kMaxLineBytes) + " bytes")));
      } else {
        out.write(handle_line(line));
      }
      out.write("\n");
      line.clear();
      too_long = false;
    }
  }
  // A last line without a newline is a request too.
  if (too_long || !line.empty()) {
    out.write(too_long ? answer_error(make_error("too_large", "the last line is too long"))
                       : handle_line(line));
    out.write("\n");
  }
  out.flush();
  return 0;
}
