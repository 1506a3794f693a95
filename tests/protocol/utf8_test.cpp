// Tests for protocol/utf8.hpp: validation at the edge and code-point arithmetic, checked on
// hand-picked texts and, for count and byte_offset, against a byte-by-byte reference on random
// texts long enough to cross the eight-byte words the fast paths work on.
#include "protocol/utf8.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace jointly::protocol::utf8 {
namespace {

// The slow, obvious versions.
std::size_t naive_count(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char b : s) n += (b & 0xC0) != 0x80;
  return n;
}

std::size_t naive_byte_offset(std::string_view s, std::size_t cp) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (cp == 0) return i;
      --cp;
    }
  }
  return s.size();
}

void expect_invalid(std::string_view s, std::size_t at, const std::string& what) {
  const Status st = validate(s);
  ASSERT_FALSE(st.ok()) << "accepted: " << testing::PrintToString(std::string(s));
  EXPECT_EQ(st.error().code, "invalid_utf8");
  EXPECT_NE(st.error().message.find("at byte " + std::to_string(at)), std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find(what), std::string::npos) << st.error().message;
}

TEST(Utf8Validate, AcceptsAsciiEmojiCombiningMarksAndCjk) {
  EXPECT_TRUE(validate("").ok());
  EXPECT_TRUE(validate("plain ascii, long enough to use whole words").ok());
  EXPECT_TRUE(validate("caf\u00e9 and cafe\u0301").ok());
  EXPECT_TRUE(validate("\u5171\u540c\u8bfe\u7a0b \ud55c\uad6d\uc5b4").ok());
  EXPECT_TRUE(validate("\U0001F600\U0001F469\u200D\U0001F4BB\U0001F44D\U0001F3FD").ok());
}

TEST(Utf8Validate, AcceptsTheEdgesOfEachSequenceLength) {
  EXPECT_TRUE(validate("\x7F").ok());              // U+007F
  EXPECT_TRUE(validate("\xC2\x80").ok());          // U+0080
  EXPECT_TRUE(validate("\xDF\xBF").ok());          // U+07FF
  EXPECT_TRUE(validate("\xE0\xA0\x80").ok());      // U+0800
  EXPECT_TRUE(validate("\xED\x9F\xBF").ok());      // U+D7FF, just below the surrogates
  EXPECT_TRUE(validate("\xEE\x80\x80").ok());      // U+E000, just above them
  EXPECT_TRUE(validate("\xEF\xBF\xBF").ok());      // U+FFFF
  EXPECT_TRUE(validate("\xF0\x90\x80\x80").ok());  // U+10000
  EXPECT_TRUE(validate("\xF4\x8F\xBF\xBF").ok());  // U+10FFFF
  EXPECT_TRUE(validate(std::string_view("a\0b", 3)).ok());
}

TEST(Utf8Validate, RejectsOverlongForms) {
  expect_invalid("\xC0\x80", 0, "overlong");
  expect_invalid("ab\xC1\xBF", 2, "overlong");
  expect_invalid("\xE0\x80\x80", 0, "overlong");
  expect_invalid("\xE0\x9F\xBF", 0, "overlong");
  expect_invalid("\xF0\x80\x80\x80", 0, "overlong");
  expect_invalid("\xF0\x8F\xBF\xBF", 0, "overlong");
}

TEST(Utf8Validate, RejectsEncodedSurrogates) {
  expect_invalid("\xED\xA0\x80", 0, "surrogate");              // U+D800
  expect_invalid("x\xED\xBF\xBF", 1, "surrogate");             // U+DFFF
  expect_invalid("\xED\xA0\xBD\xED\xB8\x80", 0, "surrogate");  // CESU-8 for U+1F600
}

TEST(Utf8Validate, RejectsCodePointsAboveU10FFFF) {
  expect_invalid("\xF4\x90\x80\x80", 0, "U+10FFFF");
  expect_invalid("ok\xF5\x80\x80\x80", 2, "U+10FFFF");
  expect_invalid("\xFF", 0, "U+10FFFF");
}

TEST(Utf8Validate, RejectsTruncatedSequences) {
  expect_invalid("\xE4\xB8", 0, "truncated");
  expect_invalid("abc\xF0\x9F\x98", 3, "truncated");
  expect_invalid("\xC3", 0, "truncated");
  expect_invalid("\xC3x", 0, "truncated");
  expect_invalid("\xE4\xB8x", 0, "truncated");
}

TEST(Utf8Validate, RejectsAContinuationByteWithoutALeadByte) {
  expect_invalid("\x80", 0, "continuation");
  expect_invalid("\xC3\xA9\xA9", 2, "continuation");
}

TEST(Utf8Validate, ReportsTheByteOffsetAfterLongAsciiRuns) {
  std::string s(37, 'a');
  s += "\xED\xA0\x80";
  expect_invalid(s, 37, "surrogate");
  std::string t(16, 'b');
  t += "\xC3\xA9";  // fine
  t += std::string(9, 'c');
  t += "\xE2\x82";  // truncated at the very end
  expect_invalid(t, 27, "truncated");
}

TEST(Utf8Count, CountsCodePointsNotBytesOrGraphemes) {
  EXPECT_EQ(count(""), 0u);
  EXPECT_EQ(count("abc"), 3u);
  EXPECT_EQ(count("caf\u00e9"), 4u);
  EXPECT_EQ(count("cafe\u0301"), 5u);                  // e + combining acute: two
  EXPECT_EQ(count("\u4e2d\u6587"), 2u);                // CJK: three bytes each
  EXPECT_EQ(count("\U0001F600"), 1u);                  // one, not two UTF-16 units
  EXPECT_EQ(count("\U0001F469\u200D\U0001F4BB"), 3u);  // a ZWJ sequence: three
  EXPECT_EQ(count("\U0001F44D\U0001F3FD and more words"), 17u);
}

TEST(Utf8ByteOffset, FindsEachCodePointAndTheEnd) {
  const std::string s = "a\u00e9\u4e2d\U0001F600b";
  EXPECT_EQ(byte_offset(s, 0), 0u);
  EXPECT_EQ(byte_offset(s, 1), 1u);
  EXPECT_EQ(byte_offset(s, 2), 3u);
  EXPECT_EQ(byte_offset(s, 3), 6u);
  EXPECT_EQ(byte_offset(s, 4), 10u);
  EXPECT_EQ(byte_offset(s, 5), s.size());
}

TEST(Utf8Append, WritesEachSequenceLengthAtItsEdges) {
  const std::pair<char32_t, std::string> cases[] = {{U'\0', std::string(1, '\0')},
                                                    {0x7F, "\x7f"},
                                                    {0x80, "\u0080"},
                                                    {0x7FF, "\u07ff"},
                                                    {0x800, "\u0800"},
                                                    {0xFFFF, "\uffff"},
                                                    {0x10000, "\U00010000"},
                                                    {0x1F600, "\U0001F600"},
                                                    {0x10FFFF, "\U0010FFFF"}};
  std::string all;
  for (const auto& [cp, bytes] : cases) {
    std::string out = "x";
    append(out, cp);
    EXPECT_EQ(out, "x" + bytes) << static_cast<std::uint32_t>(cp);
    all += bytes;
  }
  EXPECT_TRUE(validate(all).ok());
  EXPECT_EQ(count(all), std::size(cases));
}

std::string random_text(std::mt19937& rng, std::size_t cps) {
  static const std::vector<std::string> pool = {
      "a",      "b",      " ",          "\n",         "\u00e9",     "\u0301",          "\u4e2d",
      "\ud55c", "\u200d", "\U0001F600", "\U0001F3FD", "\U0010FFFF", "0123456789abcdef"};
  std::string s;
  for (std::size_t i = 0; i < cps; ++i) s += pool[rng() % pool.size()];
  return s;
}

TEST(Utf8Count, AgreesWithAByteByByteCountOnRandomTexts) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const std::string s = random_text(rng, rng() % 60);
    ASSERT_TRUE(validate(s).ok());
    ASSERT_EQ(count(s), naive_count(s)) << s;
  }
}

TEST(Utf8Count, AgreesOnTextsLongerThanOneCountingBlock) {
  // count() sums per-byte counters in blocks of 255 words (2040 bytes); cross a few of them.
  std::mt19937 rng(5);
  for (int i = 0; i < 20; ++i) {
    const std::string s = random_text(rng, 1000 + rng() % 9000);
    ASSERT_EQ(count(s), naive_count(s)) << "length " << s.size();
    const std::size_t n = naive_count(s);
    for (std::size_t cp = 0; cp <= n; cp += 1 + rng() % 97) {
      ASSERT_EQ(byte_offset(s, cp), naive_byte_offset(s, cp)) << cp;
    }
    ASSERT_EQ(byte_offset(s, n), s.size());
  }
  const std::string all_continuations(5000, '\x80');  // not UTF-8, but count() must not care
  EXPECT_EQ(count(all_continuations), 0u);
  EXPECT_EQ(count(std::string(5000, 'a')), 5000u);
}

TEST(Utf8ByteOffset, AgreesWithAByteByByteWalkOnRandomTexts) {
  std::mt19937 rng(11);
  for (int i = 0; i < 500; ++i) {
    const std::string s = random_text(rng, rng() % 60);
    const std::size_t n = naive_count(s);
    for (std::size_t cp = 0; cp <= n; ++cp) {
      ASSERT_EQ(byte_offset(s, cp), naive_byte_offset(s, cp)) << s << " at " << cp;
    }
  }
}

TEST(Utf8Validate, RejectsEveryCorruptionOfARandomText) {
  // Cutting a valid text inside a multi-byte sequence always leaves it invalid.
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    const std::string s = random_text(rng, 1 + rng() % 30);
    for (std::size_t cut = 1; cut < s.size(); ++cut) {
      const bool inside = (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80;
      ASSERT_EQ(validate(std::string_view(s).substr(0, cut)).ok(), !inside) << cut;
    }
  }
}

}  // namespace
}  // namespace jointly::protocol::utf8
