// Static files: mapping a request target to a file under the static root, safely, and the
// MIME type and security headers every static response carries.
//
// resolve_static_target() is the whole defence against path traversal and works on the target
// text alone, before the file system is touched: it drops the query, percent-decodes once and
// refuses (bad_path) anything that could name a file outside the root or that is not a plain
// relative path: "." and ".." segments (raw or encoded), backslashes, NUL and other control
// characters (raw or encoded), empty segments ("//"), invalid escapes, a target that does not
// start with "/". open_static_file() then checks again, on the real file system, that the file
// it opens lies inside the root (symbolic links included).
//
// Pure functions; callable from any thread.
#pragma once

#include <string>
#include <string_view>

#include "protocol/result.hpp"

namespace jointly::server {

// The path relative to the static root ("index.html" for "/"). Errors: bad_path.
protocol::Result<std::string> resolve_static_target(std::string_view target);

// The regular file for a relative path from resolve_static_target, as an absolute path that is
// inside root after resolving symbolic links. Errors: not_found (absent, a directory, or
// resolving to outside the root).
protocol::Result<std::string> locate_static_file(const std::string& root,
                                                 const std::string& relative);

// The Content-Type for a file name, by extension; application/octet-stream when unknown.
std::string_view mime_type(std::string_view path);

// The Content-Security-Policy every response carries.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

}  // namespace jointly::server
