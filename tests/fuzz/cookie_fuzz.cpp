// libFuzzer target: the session cookie parser (server/auth.hpp, auth::session_cookie) on
// arbitrary Cookie headers. Checked for every input:
//   - what it returns is a well-formed token (43 characters of base64url) found in the header;
//   - adding a second session cookie with the same token refuses the header (a cookie planted
//     for a parent domain cannot shadow ours), before or after the rest;
//   - a well-formed other cookie added in front changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/auth.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

namespace auth = jointly::server::auth;
using nlohmann::json;

std::string show(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  const auto token = auth::session_cookie(header);
  if (!token) return 0;
  FUZZ_CHECK(auth::token_well_formed(*token) && token->size() == auth::kTokenChars,
             "a malformed token " + show(*token) + " from " + show(header));
  FUZZ_CHECK(header.find(*token) != std::string::npos,
             "the token " + show(*token) + " is not in " + show(header));
  const std::string cookie = std::string(auth::kCookieName) + "=" + *token;
  FUZZ_CHECK(!auth::session_cookie(header + "; " + cookie),
             "a second session cookie after " + show(header) + " was not refused");
  FUZZ_CHECK(!auth::session_cookie(cookie + "; " + header),
             "a second session cookie before " + show(header) + " was not refused");
  const auto same = auth::session_cookie("theme=dark; " + header);
  FUZZ_CHECK(same && *same == *token,
             "another cookie in front changed the answer for " + show(header));
  return 0;
}
