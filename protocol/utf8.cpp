// UTF-8 validation and code-point arithmetic (see protocol/utf8.hpp).
//
// count() and byte_offset() sit on the hot path of every edit, so both look at eight bytes at a
// time: a code point starts at every byte that is not a continuation byte (10xxxxxx). The
// continuation bytes of a word are found with a shift and two masks, as one 0x01 per byte, and
// summed with a multiply: no popcount instruction, which the baseline x86-64 target lacks.
#include "protocol/utf8.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace jointly::protocol::utf8 {

namespace {

constexpr std::uint64_t kHighBits = 0x8080808080808080ULL;

inline std::uint64_t load64(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

constexpr std::uint64_t kLowBits = 0x0101010101010101ULL;

// 0x01 in each byte of w that is a continuation byte (10xxxxxx), 0x00 in the others.
inline std::uint64_t continuation_bytes(std::uint64_t w) {
  // A continuation byte has bit 7 set and bit 6 clear; (w << 1) moves each byte's bit 6 to its
  // bit 7 (the bit shifted in from the byte below lands on bit 0 and is masked away).
  return ((w & ~(w << 1)) & kHighBits) >> 7;
}

// Number of bytes in w that start a code point (are not 10xxxxxx).
inline std::size_t starts_in_word(std::uint64_t w) {
  return 8 - static_cast<std::size_t>((continuation_bytes(w) * kLowBits) >> 56);
}

inline bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

Error invalid(const char* what, std::size_t at) {
  return make_error("invalid_utf8",
                    std::string("invalid UTF-8: ") + what + " at byte " + std::to_string(at));
}

}  // namespace

Status validate(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII runs, eight bytes at a time.
    while (i + 8 <= n && (load64(s.data() + i) & kHighBits) == 0) i += 8;
    if (i >= n) break;
    const unsigned char b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b < 0xC0) {
      return invalid("a continuation byte without a lead byte", i);
    } else if (b < 0xC2) {
      return invalid("an overlong two-byte sequence", i);
    } else if (b < 0xE0) {
      len = 2;
    } else if (b < 0xF0) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;  // below: overlong
      if (b == 0xED) hi = 0x9F;  // above: surrogates U+D800..U+DFFF
    } else if (b < 0xF5) {
      len = 4;
      if (b == 0xF0) lo = 0x90;  // below: overlong
      if (b == 0xF4) hi = 0x8F;  // above: beyond U+10FFFF
    } else {
      return invalid("a byte that never occurs in UTF-8 (code point beyond U+10FFFF)", i);
    }
    if (i + 1 >= n) return invalid("a truncated sequence", i);
    const unsigned char b1 = p[i + 1];
    if (b1 < lo || b1 > hi) {
      if (!is_continuation(b1)) return invalid("a truncated sequence", i);
      if (b == 0xED) return invalid("an encoded surrogate (U+D800..U+DFFF)", i);
      if (b == 0xF4) return invalid("a code point beyond U+10FFFF", i);
      return invalid("an overlong sequence", i);
    }
    for (std::size_t k = 2; k < len; ++k) {
      if (i + k >= n || !is_continuation(p[i + k])) return invalid("a truncated sequence", i);
    }
    i += len;
  }
  return Status::Ok();
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::size_t count(std::string_view s) {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
  std::size_t continuation = 0;
  while (i + 8 <= n) {
    // Per-byte counters in one word; each byte gains at most 1 per word, so flush every 255.
    std::uint64_t counters = 0;
    const std::size_t words = std::min<std::size_t>((n - i) / 8, 255);
    for (std::size_t k = 0; k < words; ++k, i += 8) counters += continuation_bytes(load64(p + i));
    // Sum the eight byte counters: pairs into 16-bit lanes (at most 510 each), then the lanes.
    const std::uint64_t pairs =
        (counters & 0x00FF00FF00FF00FFULL) + ((counters >> 8) & 0x00FF00FF00FF00FFULL);
    continuation += static_cast<std::size_t>((pairs * 0x0001000100010001ULL) >> 48);
  }
  for (; i < n; ++i) continuation += is_continuation(static_cast<unsigned char>(p[i])) ? 1 : 0;
  return n - continuation;
}

std::size_t byte_offset(std::string_view s, std::size_t cp) {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
  // Skip whole words while the code point we look for starts beyond them. A word may begin in the
  // middle of a code point; that is fine, since only starts are counted.
  while (i + 8 <= n) {
    const std::size_t starts = starts_in_word(load64(p + i));
    if (starts > cp) break;
    cp -= starts;
    i += 8;
  }
  // The cp-th start from here (0-based) lies in the next few bytes, or the text ends first.
  for (; i < n; ++i) {
    if (!is_continuation(static_cast<unsigned char>(p[i]))) {
      if (cp == 0) return i;
      --cp;
    }
  }
  return n;
}

}  // namespace jointly::protocol::utf8
