// UTF-8 helpers for the protocol core: validation at the edge and code-point arithmetic.
// Pure functions, no state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/result.hpp"

namespace jointly::protocol::utf8 {

// OK when s is well-formed UTF-8 with no surrogate code points (U+D800..U+DFFF), no overlong
// forms and nothing above U+10FFFF; otherwise invalid_utf8 with the byte offset in the message.
Status validate(std::string_view s);
// Code points in s. REQUIRES: s valid UTF-8.
std::size_t count(std::string_view s);
// Byte offset of code point cp in s (s.size() when cp == count(s)). REQUIRES: cp <= count(s).
std::size_t byte_offset(std::string_view s, std::size_t cp);
// Appends code point cp to out as UTF-8 (1 to 4 bytes). REQUIRES: cp <= U+10FFFF; a surrogate
// is written as it comes (validate the result where one may occur).
void append(std::string& out, char32_t cp);

}  // namespace jointly::protocol::utf8
