// jointly-ot: the text OT core on the command line, one JSON request per line of stdin and one
// JSON answer per line of stdout, in order. It exists so that the C++ core can be checked
// against ot-text-unicode itself (tests/differential/differential.mjs) and tried by hand.
//
// Requests (OP is a text op as in protocol/PROTOCOL.md, "## Text operations"):
//   {"op":"apply","doc":S,"a":OP}                          -> {"result":S2}
//   {"op":"transform","a":OP,"b":OP,"side":"left"|"right"} -> {"result":OP}
//   {"op":"compose","a":OP,"b":OP}                         -> {"result":OP}
//   {"op":"normalize","a":OP}                              -> {"result":OP}
//   {"op":"transform_position","pos":N,"a":OP}             -> {"result":N}
//   {"op":"invert","a":OP}                                 -> {"result":OP}
// Anything else gets {"error":{"code":C,"message":M}} and the tool goes on with the next line.
// Codes: those of the core (invalid_op, invalid_utf8, out_of_range, not_invertible) and, for
// the request itself, invalid_json, invalid_request, too_large and internal (not expected).
//
// Lines are read with read(2) and answers flushed whenever no more input is waiting, so the
// tool serves a pipe of a million requests and a person typing equally well.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/result.hpp"
#include "protocol/text_op.hpp"
#include "protocol/utf8.hpp"

namespace {

using jointly::protocol::Error;
using jointly::protocol::make_error;
using jointly::protocol::Result;
using jointly::protocol::TextOp;
using json = nlohmann::json;

// Limits that keep one hostile line from exhausting memory or stack.
constexpr std::size_t kMaxLineBytes = std::size_t{512} << 20;
constexpr std::size_t kMaxDepth = 64;
constexpr std::size_t kMaxValues = std::size_t{4} << 20;
constexpr std::uint64_t kMaxPosition = (std::uint64_t{1} << 53) - 1;

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

// A whole number from 0 to 2^53 - 1, however JSON writes it (3, 3.0, 3e0).
bool is_position(const json& j) {
  if (!j.is_number()) return false;
  if (j.is_number_unsigned()) return j.get<std::uint64_t>() <= kMaxPosition;
  if (j.is_number_integer()) {
    return j.get<std::int64_t>() >= 0 && j.get<std::uint64_t>() <= kMaxPosition;
  }
  const double d = j.get<double>();
  return d >= 0 && d <= static_cast<double>(kMaxPosition) && std::floor(d) == d;
}

using Parser = Result<TextOp> (*)(const json&);

Result<TextOp> op_field(const json& req, const char* name, Parser parse) {
  const auto it = req.find(name);
  if (it == req.end()) return bad_request(std::string("the request has no \"") + name + "\" op");
  Result<TextOp> op = parse(*it);
  if (!op) {
    Error e = std::move(op).error();
    e.message = std::string("\"") + name + "\": " + e.message;
    return e;
  }
  return op;
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
    const auto doc = req.find("doc");
    if (doc == req.end() || !doc->is_string()) {
      return answer_error(bad_request("apply needs a \"doc\" string"));
    }
    const std::string& text = doc->get_ref<const std::string&>();
    if (p::Status st = p::utf8::validate(text); !st) return answer_error(st.error());
    Result<TextOp> a = op_field(req, "a", p::parse_text_op);
    if (!a) return answer_error(a.error());
    Result<std::string> out = p::apply(text, *a);
    if (!out) return answer_error(out.error());
    return answer(std::move(out).value());
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
    Result<TextOp> a = op_field(req, "a", p::parse_text_op);
    if (!a) return answer_error(a.error());
    Result<TextOp> b = op_field(req, "b", p::parse_text_op);
    if (!b) return answer_error(b.error());
    return answer(p::to_json(p::transform(*a, *b, s)));
  }
  if (kind == "compose") {
    Result<TextOp> a = op_field(req, "a", p::parse_text_op);
    if (!a) return answer_error(a.error());
    Result<TextOp> b = op_field(req, "b", p::parse_text_op);
    if (!b) return answer_error(b.error());
    Result<TextOp> c = p::compose(*a, *b);
    if (!c) return answer_error(c.error());
    return answer(p::to_json(*c));
  }
  if (kind == "normalize") {
    Result<TextOp> a = op_field(req, "a", p::normalize_text_op);
    if (!a) return answer_error(a.error());
    return answer(p::to_json(*a));
  }
  if (kind == "transform_position") {
    const auto pos = req.find("pos");
    if (pos == req.end() || !is_position(*pos)) {
      return answer_error(
          bad_request("transform_position needs \"pos\": a whole number from 0 to 2^53 - 1"));
    }
    // type.js transformPosition checks nothing, so accept what normalize accepts.
    Result<TextOp> a = op_field(req, "a", p::normalize_text_op);
    if (!a) return answer_error(a.error());
    return answer(static_cast<std::uint64_t>(
        p::transform_position(static_cast<std::size_t>(pos->get<std::uint64_t>()), *a)));
  }
  if (kind == "invert") {
    Result<TextOp> a = op_field(req, "a", p::parse_text_op);
    if (!a) return answer_error(a.error());
    Result<TextOp> inv = p::invert(*a);
    if (!inv) return answer_error(inv.error());
    return answer(p::to_json(*inv));
  }
  return answer_error(bad_request("unknown op \"" + kind +
                                  "\"; known: apply, transform, compose, normalize, "
                                  "transform_position, invert"));
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
      // A number like 1e400: JSON allows it, a double cannot hold it.
      return answer_error(make_error("invalid_json", "the line holds a number too large to read"));
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
