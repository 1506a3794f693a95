#include "protocol/tools/json_lines.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "protocol/messages.hpp"

namespace jointly::protocol::tools {

using json = nlohmann::json;

std::string answer_error(const Error& e) {
  json j = {{"error", {{"code", e.code}, {"message", e.message}}}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string answer(json result) {
  json j = json::object();
  j["result"] = std::move(result);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Error bad_request(std::string message) { return make_error("invalid_request", std::move(message)); }

namespace {

// Rejects lines nested deeper than kMaxDepth or with more than kMaxValues values before they
// reach the JSON parser (protocol's one-pass scan, which skips string contents).
Result<bool> screen(std::string_view line) {
  switch (check_json_bounds(line, kMaxDepth, kMaxValues)) {
    case JsonBound::too_deep:
      return make_error("too_large",
                        "the request nests deeper than " + std::to_string(kMaxDepth) + " levels");
    case JsonBound::too_many_values:
      return make_error("too_large",
                        "the request holds more than " + std::to_string(kMaxValues) + " values");
    case JsonBound::within:
      break;
  }
  return true;
}

std::string handle_line(std::string_view line, Handler handle) {
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
    if (!req.is_object()) return answer_error(bad_request("a request must be a JSON object"));
    const auto kind = req.find("op");
    if (kind == req.end() || !kind->is_string()) {
      return answer_error(bad_request("the request has no \"op\" string naming what to do"));
    }
    return handle(kind->get_ref<const std::string&>(), req);
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

int serve_json_lines(Handler handle) {
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
        out.write(handle_line(line, handle));
      }
      out.write("\n");
      line.clear();
      too_long = false;
    }
  }
  // A last line without a newline is a request too.
  if (too_long || !line.empty()) {
    out.write(too_long ? answer_error(make_error("too_large", "the last line is too long"))
                       : handle_line(line, handle));
    out.write("\n");
  }
  out.flush();
  return 0;
}

}  // namespace jointly::protocol::tools
