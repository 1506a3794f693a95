// Property tests for the text OT core: the laws that make server-ordered OT converge, checked on
// many random texts and ops (deterministic seeds; a failure names its seed so it can be rerun).
//
//   transform:  apply(apply(d, a), transform(b, a, right)) == apply(apply(d, b), transform(a, b,
//   left)) compose:    apply(d, compose(a, b)) == apply(apply(d, a), b) invert:     apply(apply(d,
//   a), invert(make_invertible(a, d))) == d positions:  a character that a keeps stays just before
//   transform_position(its end, a), and
//               transform_position(p, a) is where a left-side insert at p lands after a
//   ropes:      apply on a Rope gives what apply on a string gives
// Texts mix ASCII, combining marks, CJK and astral code points (emoji, U+10FFFF).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/rope.hpp"
#include "protocol/text_op.hpp"
#include "protocol/utf8.hpp"

namespace jointly::protocol {

void PrintTo(const TextOp& o, std::ostream* os) { *os << to_json(o).dump(); }

namespace {

constexpr int kSeeds = 20000;

const std::vector<std::string>& alphabet() {
  static const std::vector<std::string> a = {
      "a",          "b",          "c",          " ",          "\n",        "\u00e9",
      "e\u0301",    "\u0308",     "\u4e2d",     "\u6587",     "\ud55c",    "\u200d",
      "\U0001F600", "\U0001F389", "\U0001F3FD", "\U0001D11E", "\U0010FFFF"};
  return a;
}

class Gen {
 public:
  explicit Gen(std::uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return n == 0 ? 0 : rng_() % n; }
  bool chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }

  std::string text(std::size_t max_cp) {
    std::string s;
    const std::size_t n = below(max_cp + 1);
    for (std::size_t i = 0; i < n; ++i) s += alphabet()[below(alphabet().size())];
    return s;
  }

  // A random canonical op for doc, its deletes carrying their text when with_text.
  TextOp op(const std::string& doc, bool with_text) {
    TextOp o;
    const std::size_t len = utf8::count(doc);
    std::size_t pos = 0;
    const std::size_t parts = below(7);
    for (std::size_t i = 0; i < parts; ++i) {
      const std::size_t r = below(3);
      if (r == 0 && pos < len) {
        const std::size_t k = 1 + below(std::min<std::size_t>(len - pos, 8));
        o.skip(k);
        pos += k;
      } else if (r == 1) {
        o.insert(text(4));
      } else if (pos < len) {
        const std::size_t k = 1 + below(std::min<std::size_t>(len - pos, 6));
        if (with_text) {
          const std::size_t from = utf8::byte_offset(doc, pos);
          const std::size_t to = utf8::byte_offset(doc, pos + k);
          o.del_text(std::string_view(doc).substr(from, to - from), k);
        } else {
          o.del(k);
        }
        pos += k;
      }
    }
    return o.trim();
  }

 private:
  std::mt19937 rng_;
};

std::string applied(const std::string& doc, const TextOp& o) {
  Result<std::string> r = protocol::apply(doc, o);
  EXPECT_TRUE(r.ok()) << to_json(o).dump() << " on \"" << doc
                      << "\": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : std::string();
}

std::string applied_to_rope(const std::string& doc, const TextOp& o) {
  Rope rope(doc);
  const Status st = protocol::apply(rope, o);
  EXPECT_TRUE(st.ok());
  return rope.to_string();
}

TEST(TextOpProperties, TransformedOpsConvergeFromEitherOrder) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    Gen g(seed);
    const std::string d = g.text(24);
    const TextOp a = g.op(d, g.chance(50));
    const TextOp b = g.op(d, g.chance(50));
    const std::string via_a = applied(applied(d, a), transform(b, a, Side::right));
    const std::string via_b = applied(applied(d, b), transform(a, b, Side::left));
    ASSERT_EQ(via_a, via_b) << "seed " << seed << " a=" << to_json(a).dump()
                            << " b=" << to_json(b).dump();
  }
}

TEST(TextOpProperties, TransformKeepsOpsCanonicalAndInvertibleOpsInvertible) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    Gen g(seed);
    const std::string d = g.text(24);
    const TextOp a = g.op(d, true);
    const TextOp b = g.op(d, g.chance(50));
    const TextOp t = transform(a, b, g.chance(50) ? Side::left : Side::right);
    ASSERT_TRUE(t.invertible()) << "seed " << seed;
    // Canonical: parsing its JSON gives it back unchanged.
    Result<TextOp> again = parse_text_op(to_json(t));
    ASSERT_TRUE(again.ok()) << "seed " << seed << ": " << again.error().message;
    ASSERT_EQ(*again, t) << "seed " << seed;
  }
}

TEST(TextOpProperties, ComposingIsApplyingOneAfterTheOther) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    Gen g(seed);
    const std::string d = g.text(24);
    const TextOp a = g.op(d, g.chance(50));
    const std::string mid = applied(d, a);
    const TextOp b = g.op(mid, g.chance(50));
    Result<TextOp> ab = compose(a, b);
    ASSERT_TRUE(ab.ok()) << "seed " << seed;
    ASSERT_EQ(applied(d, *ab), applied(mid, b))
        << "seed " << seed << " a=" << to_json(a).dump() << " b=" << to_json(b).dump();
    ASSERT_EQ(*parse_text_op(to_json(*ab)), *ab) << "seed " << seed;
  }
}

TEST(TextOpProperties, TheInverseOfAnInvertibleOpUndoesIt) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    Gen g(seed);
    const std::string d = g.text(24);
    const TextOp a = g.op(d, false);
    Result<TextOp> full = make_invertible(a, Rope(d));
    ASSERT_TRUE(full.ok()) << "seed " << seed;
    ASSERT_EQ(applied(d, *full), applied(d, a)) << "seed " << seed;
    ASSERT_EQ(strip_invertible(*full), a) << "seed " << seed;
    Result<TextOp> inv = invert(*full);
    ASSERT_TRUE(inv.ok()) << "seed " << seed;
    ASSERT_EQ(applied(applied(d, a), *inv), d) << "seed " << seed << " a=" << to_json(a).dump();
    ASSERT_EQ(*invert(*inv), *full) << "seed " << seed;
    ASSERT_EQ(invert(a).ok(), a.invertible()) << "seed " << seed;
  }
}

TEST(TextOpProperties, PositionsFollowTheTextAroundThem) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    Gen g(seed);
    const std::string d = g.text(24);
    const TextOp a = g.op(d, false);
    const std::string out = applied(d, a);
    const std::size_t len = utf8::count(d);
    // Where each kept character of d lands in out, walking a as apply does.
    std::vector<std::size_t> lands(len, SIZE_MAX);
    std::size_t in = 0, at = 0;
    for (const TextComponent& c : a.components()) {
      if (c.kind == TextComponent::Kind::skip) {
        for (std::size_t k = 0; k < c.n; ++k) lands[in++] = at++;
      } else if (c.kind == TextComponent::Kind::insert) {
        at += c.n;
      } else {
        in += c.n;
      }
    }
    while (in < len) lands[in++] = at++;

    std::size_t previous = 0;
    for (std::size_t p = 0; p <= len + 2; ++p) {
      const std::size_t moved = transform_position(p, a);
      ASSERT_GE(moved, previous) << "seed " << seed << " p=" << p;  // never reorders cursors
      previous = moved;
      if (p >= 1 && p <= len && lands[p - 1] != SIZE_MAX) {
        ASSERT_EQ(moved, lands[p - 1] + 1) << "seed " << seed << " p=" << p;
      }
      if (p <= len) {
        // A one-character insert at p, transformed on the left side, lands where the cursor does.
        TextOp mark;
        mark.skip(p).insert("|", 1);
        const TextOp landed = transform(mark, a, Side::left);
        const auto& cs = landed.components();
        const std::size_t where = cs.size() == 2 ? cs[0].n : 0;
        ASSERT_EQ(where, moved) << "seed " << seed << " p=" << p;
      }
    }
    ASSERT_EQ(transform_position(0, a), 0u);
    ASSERT_LE(transform_position(len, a), utf8::count(out));
  }
}

TEST(TextOpProperties, ApplyingToARopeMatchesApplyingToAString) {
  for (int seed = 0; seed < kSeeds; ++seed) {
    Gen g(seed);
    const std::string d = g.text(40);
    const TextOp a = g.op(d, g.chance(50));
    ASSERT_EQ(applied_to_rope(d, a), applied(d, a)) << "seed " << seed;
    // An op one character too long fails on both, and leaves the rope as it was.
    TextOp longer = a;
    longer.del(utf8::count(d) + 1 - a.base_length());
    Rope rope(d);
    ASSERT_FALSE(protocol::apply(rope, longer).ok()) << "seed " << seed;
    ASSERT_EQ(rope.to_string(), d) << "seed " << seed;
    ASSERT_FALSE(protocol::apply(d, longer).ok()) << "seed " << seed;
  }
}

TEST(TextOpProperties, ManyEditsToALongRopeMatchTheSameEditsToAString) {
  Gen g(424242);
  std::string text;
  while (utf8::count(text) < 6000) text += g.text(64);
  Rope rope(text);
  for (int i = 0; i < 3000; ++i) {
    // One local edit somewhere in the text: [pos, {d: k}, "ins"].
    const std::size_t len = utf8::count(text);
    const std::size_t pos = g.below(len + 1);
    TextOp edit;
    edit.skip(pos).del(g.below(std::min<std::size_t>(len - pos, 5) + 1)).insert(g.text(3)).trim();
    ASSERT_TRUE(protocol::apply(rope, edit).ok()) << "edit " << i;
    text = applied(text, edit);
    ASSERT_EQ(rope.size(), utf8::count(text)) << "edit " << i;
  }
  ASSERT_EQ(rope.to_string(), text);
}

}  // namespace
}  // namespace jointly::protocol
