// Tests of protocol/rope.hpp: code-point positions over UTF-8 (emoji, combining marks, CJK),
// deep copies, and a randomized comparison with a std::u32string model that exercises leaf
// splits and merges and the remembered-leaf fast path.
#include "protocol/rope.hpp"
#include "protocol/rope_internal.hpp"
#include "protocol/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <vector>

// Counts heap allocations, so a test can show that editing inside a leaf allocates nothing.
namespace {
std::size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace jointly::protocol {
namespace {

std::string to_utf8(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) utf8::append(out, c);
  return out;
}

// Every chunk is non-empty and starts at the start of a code point; together they are the text.
void expect_chunks_well_formed(const Rope& r) {
  std::string joined;
  r.for_each_chunk([&](std::string_view chunk) {
    EXPECT_FALSE(chunk.empty());
    if (!chunk.empty()) {
      EXPECT_NE(static_cast<unsigned char>(chunk[0]) & 0xC0, 0x80);
    }
    joined.append(chunk);
  });
  EXPECT_EQ(joined, r.to_string());
  EXPECT_EQ(RopeInternal::check(r), "");
}

TEST(Rope, StartsEmpty) {
  Rope r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.size(), 0u);
  EXPECT_EQ(r.size_bytes(), 0u);
  EXPECT_EQ(r.to_string(), "");
  EXPECT_EQ(r.substr(0, 0), "");
  EXPECT_EQ(r, Rope(""));
}

TEST(Rope, CountsCodePointsNotBytes) {
  // "héllo 👋🏽 世界" with a combining acute accent on the e.
  const std::string text = "he\u0301llo \U0001F44B\U0001F3FD \u4E16\u754C";
  Rope r(text);
  EXPECT_EQ(r.size(), 12u);
  EXPECT_EQ(r.size_bytes(), text.size());
  EXPECT_EQ(r.to_string(), text);
}

TEST(Rope, InsertsAtCodePointPositionsAroundEmoji) {
  Rope r("a\U0001F600b");     // a😀b
  r.insert(2, "\U0001F389");  // after the emoji
  EXPECT_EQ(r.to_string(), "a\U0001F600\U0001F389b");
  r.insert(1, "\u00E9", 1);
  EXPECT_EQ(r.to_string(), "a\u00E9\U0001F600\U0001F389b");
  r.insert(0, "\u4E2D");
  r.insert(r.size(), "!");
  EXPECT_EQ(r.to_string(), "\u4E2Da\u00E9\U0001F600\U0001F389b!");
  EXPECT_EQ(r.size(), 7u);
}

TEST(Rope, ErasesWholeCodePointsOnly) {
  Rope r("x\U0001F44B\U0001F3FDy\u0301z");
  r.erase(1, 1);  // the waving hand, leaving its skin-tone modifier
  EXPECT_EQ(r.to_string(), "x\U0001F3FDy\u0301z");
  r.erase(3, 1);  // the combining accent
  EXPECT_EQ(r.to_string(), "x\U0001F3FDyz");
  r.erase(0, r.size());
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.size_bytes(), 0u);
}

TEST(Rope, SubstrTakesCodePointRanges) {
  Rope r("\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8");  // 日本語のテキスト
  EXPECT_EQ(r.substr(0, 3), "\u65E5\u672C\u8A9E");
  EXPECT_EQ(r.substr(4, 4), "\u30C6\u30AD\u30B9\u30C8");
  EXPECT_EQ(r.substr(8, 0), "");
}

TEST(Rope, CopiesAreIndependent) {
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "line " + std::to_string(i) + " \u00E9\n";
  Rope a(big);
  Rope b(a);
  b.insert(10, "INSERTED");
  b.erase(1000, 20000);
  EXPECT_EQ(a.to_string(), big);
  EXPECT_NE(a, b);
  Rope c;
  c = b;
  a = c;
  c.insert(0, "x");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Rope, MovedFromRopeCanBeReassigned) {
  Rope a("text");
  Rope b(std::move(a));
  EXPECT_EQ(b.to_string(), "text");
  a = Rope("again");  // NOLINT(bugprone-use-after-move): reassigning is allowed
  EXPECT_EQ(a.to_string(), "again");
}

TEST(Rope, EqualityComparesTextNotChunking) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += static_cast<char>('a' + i % 26);
  Rope typed;
  for (std::size_t i = 0; i < text.size(); ++i) typed.insert(i, std::string_view(&text[i], 1));
  Rope built(text);
  EXPECT_EQ(typed, built);
  typed.erase(1500, 1);
  typed.insert(1500, "X");
  EXPECT_NE(typed, built);
}

TEST(Rope, ChunksNeverSplitACodePoint) {
  std::string text;
  for (int i = 0; i < 4000; ++i) text += "\U0001F600\u4E16e\u0301";
  Rope r(text);
  expect_chunks_well_formed(r);
  for (int i = 0; i < 300; ++i) r.insert((i * 7919) % r.size(), "\U0001F44B\u00E9");
  expect_chunks_well_formed(r);
}

TEST(Rope, VisitsChunksWithAConstCallable) {
  Rope r("abc\u00E9");
  std::string out;
  const auto append = [&out](std::string_view s) { out.append(s); };
  r.for_each_chunk(append);
  EXPECT_EQ(out, "abc\u00E9");
}

TEST(Rope, TypingAllocatesOnlyWhenALeafSplits) {
  std::string text;
  while (text.size() < 200'000) text += "Some text to type into, \u00E9\u4E16\U0001F600.\n";
  Rope r(text);
  std::size_t pos = r.size() / 3;
  std::size_t splits = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::size_t leaves = RopeInternal::leaves(r);
    const std::size_t before = g_allocations;
    if (i % 5 == 4) {
      r.erase(--pos, 1);  // a backspace now and then
    } else {
      r.insert(pos++, i % 7 == 0 ? "\u00E9" : "k");
    }
    const bool split = RopeInternal::leaves(r) > leaves;
    splits += split;
    if (!split) {
      ASSERT_EQ(g_allocations, before) << "edit " << i << " allocated without a split";
    }
  }
  EXPECT_GT(splits, 0u);
  EXPECT_EQ(RopeInternal::check(r), "");
}

TEST(Rope, HandlesLargeDocuments) {
  std::string text;
  while (text.size() < 4'000'000) text += "The quick brown fox \u00E9\u4E16\U0001F600 jumps. ";
  Rope r(text);
  const std::size_t n = r.size();
  EXPECT_EQ(r.size_bytes(), text.size());
  std::string middle(1'000'000, 'm');
  r.insert(n / 2, middle);
  EXPECT_EQ(r.size(), n + middle.size());
  EXPECT_EQ(r.substr(n / 2, 5), "mmmmm");
  r.erase(10, r.size() - 20);
  EXPECT_EQ(r.size(), 20u);
  EXPECT_EQ(r.to_string(), "The quick \u4E16\U0001F600 jumps. ");  // first and last 10
  r.erase(0, r.size());
  EXPECT_TRUE(r.empty());
  r.insert(0, text);
  EXPECT_EQ(r.to_string(), text);
  EXPECT_EQ(RopeInternal::check(r), "");
  // Leaves are kept at least half full when text is cut into them.
  EXPECT_LE(RopeInternal::leaves(r), 2 * text.size() / 1024 + 1);
}

// Random text drawn from a mix of 1-, 2-, 3- and 4-byte code points.
char32_t random_char(std::mt19937_64& rng) {
  static constexpr char32_t kChars[] = {U'a',          U'b',         U' ',      U'\n',
                                        U'\u00E9',     U'\u0301',    U'\u4E16', U'\u754C',
                                        U'\U0001F600', U'\U0001F3FD'};
  return kChars[rng() % (sizeof(kChars) / sizeof(kChars[0]))];
}

std::u32string random_text(std::mt19937_64& rng, std::size_t n) {
  std::u32string s;
  for (std::size_t i = 0; i < n; ++i) s += random_char(rng);
  return s;
}

void run_random_comparison(std::uint64_t seed, int steps) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::u32string model = random_text(rng, rng() % 3000);
  Rope rope(to_utf8(model));
  std::size_t cursor = 0;
  for (int step = 0; step < steps; ++step) {
    const unsigned what = rng() % 100;
    // Mostly edits near the last one, like typing, so the remembered leaf is used.
    std::size_t pos = what < 60 ? std::min(model.size(), cursor + rng() % 3 - (cursor > 0 ? 1 : 0))
                                : rng() % (model.size() + 1);
    if (what < 35 || model.empty()) {
      std::size_t len = rng() % 10 == 0 ? rng() % 2500 : 1 + rng() % 4;
      std::u32string ins = random_text(rng, len);
      const std::string utf8 = to_utf8(ins);
      if (rng() % 2) {
        rope.insert(pos, utf8, ins.size());
      } else {
        rope.insert(pos, utf8);
      }
      model.insert(pos, ins);
      cursor = pos + ins.size();
    } else if (what < 95) {
      std::size_t max = model.size() - std::min(pos, model.size());
      if (pos == model.size() && pos > 0) pos = rng() % model.size(), max = model.size() - pos;
      std::size_t len =
          rng() % 10 == 0 ? rng() % (max + 1) : std::min<std::size_t>(max, 1 + rng() % 3);
      rope.erase(pos, len);
      model.erase(pos, len);
      cursor = pos;
    } else {
      Rope copy(rope);
      ASSERT_EQ(copy, rope);
      std::size_t a = rng() % (model.size() + 1);
      std::size_t len = rng() % (model.size() - a + 1);
      ASSERT_EQ(rope.substr(a, len), to_utf8(model.substr(a, len)));
    }
    ASSERT_EQ(rope.size(), model.size()) << "step " << step;
    ASSERT_EQ(RopeInternal::check(rope), "") << "step " << step;
    if (step % 97 == 0) {
      ASSERT_EQ(rope.to_string(), to_utf8(model)) << "step " << step;
      ASSERT_EQ(rope.size_bytes(), to_utf8(model).size());
    }
  }
  ASSERT_EQ(rope.to_string(), to_utf8(model));
  expect_chunks_well_formed(rope);
}

TEST(Rope, MatchesAU32StringModelOverManySeeds) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    run_random_comparison(seed, 1500);
    if (HasFatalFailure()) return;
  }
}

TEST(Rope, MatchesTheModelThroughGrowthAndShrinkage) {
  // Long runs that grow a document to hundreds of leaves and shrink it back, so inner nodes
  // split, merge and share children.
  for (std::uint64_t seed = 1000; seed < 1004; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::u32string model;
    Rope rope;
    for (int round = 0; round < 3; ++round) {
      while (model.size() < 300'000) {
        std::size_t pos = rng() % (model.size() + 1);
        std::u32string ins = random_text(rng, 1 + rng() % 700);
        rope.insert(pos, to_utf8(ins));
        model.insert(pos, ins);
      }
      ASSERT_EQ(rope.to_string(), to_utf8(model));
      ASSERT_EQ(RopeInternal::check(rope), "");
      ASSERT_GE(RopeInternal::depth(rope), 2u);  // inner nodes were split, not just leaves
      while (model.size() > 1000) {
        std::size_t pos = rng() % model.size();
        std::size_t len = std::min<std::size_t>(model.size() - pos, 1 + rng() % 900);
        rope.erase(pos, len);
        model.erase(pos, len);
      }
      ASSERT_EQ(rope.to_string(), to_utf8(model));
      ASSERT_EQ(rope.size_bytes(), to_utf8(model).size());
      ASSERT_EQ(RopeInternal::check(rope), "");
      ASSERT_LE(RopeInternal::depth(rope), 1u);  // and merged back
    }
    expect_chunks_well_formed(rope);
  }
}

}  // namespace
}  // namespace jointly::protocol
