// libFuzzer target: text operations (protocol/text_op.hpp) on arbitrary input, checking the laws
// of PROTOCOL.md "Operations and their laws", not only that nothing crashes.
//
// Input: document text, 0xFF, op a (JSON), 0xFF, op b (JSON). Missing parts are empty. Checked
// for every input:
//   - parse_text_op/normalize_text_op never crash; a parsed op round-trips through its JSON and
//     equals its normalize form (canonical in, canonical out);
//   - apply on a string and on a Rope agree;
//   - when a applies to d: with a's delete texts taken from d (a' =
//     make_invertible(strip_invertible(a), d)), a' applies like a and
//     apply(d.a, invert(a')) == d; transform_position keeps cursors in order;
//   - when a and b apply to d: TP1, apply(apply(d, a), transform(b, a, right)) ==
//     apply(apply(d, b), transform(a, b, left)), and both transformed ops fit;
//   - when b applies to d.a: compose, apply(d, compose(a, b)) == apply(apply(d, a), b);
//   - every op the core returns is canonical.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/rope.hpp"
#include "protocol/text_op.hpp"
#include "protocol/utf8.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

using jointly::fuzz::parse_json;
using jointly::fuzz::split_input;
using nlohmann::json;
namespace p = jointly::protocol;

std::string show(const p::TextOp& op) {
  return p::to_json(op).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string show(const std::string& text) {
  return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

// The op read from part, or nothing when it is not a valid op. Checks the parse-side laws.
std::optional<p::TextOp> read_op(std::string_view part) {
  const auto j = parse_json(part);
  if (!j) return std::nullopt;
  auto normalized = p::normalize_text_op(*j);
  auto parsed = p::parse_text_op(*j);
  if (!parsed) return std::nullopt;
  FUZZ_CHECK(normalized.ok(), "a valid op failed normalize: " + normalized.error().message);
  FUZZ_CHECK(*normalized == *parsed, show(*normalized) + " vs " + show(*parsed));
  return *parsed;
}

// Code points op inserts.
std::size_t inserted(const p::TextOp& op) {
  std::size_t n = 0;
  for (const auto& c : op.components()) {
    if (c.kind == p::TextComponent::Kind::insert) n += c.n;
  }
  return n;
}

// op's lengths are below 2^53, the wire format's limit (JavaScript's safe integers). An op that
// fits a document always does; transforming ops that fit no document (a skip near 2^53 moved past
// an insert) may go beyond, and such an op is refused by apply, never sent (see
// TextOpTest.TransformPastTheWireLimitIsRefusedByApply).
bool fits_wire(const p::TextOp& op) {
  constexpr std::size_t kWireLimit = std::size_t{1} << 53;
  return op.base_length() < kWireLimit && inserted(op) < kWireLimit;
}

// op is canonical: its JSON parses back (strictly) to the same op. Ops beyond the wire limit
// are checked only when they fit: the JSON refuses their lengths, not their shape.
void check_canonical(const p::TextOp& op, const char* what) {
  if (!fits_wire(op)) return;
  auto back = p::parse_text_op(p::to_json(op));
  FUZZ_CHECK(back.ok(), std::string(what) + " " + show(op) + ": " + back.error().message);
  FUZZ_CHECK(*back == op, std::string(what) + " " + show(op) + " reads back as " + show(*back));
}

// apply on a string and on a rope agree; the result when both succeed.
std::optional<std::string> apply_both(const std::string& doc, const p::TextOp& op) {
  auto s = p::apply(doc, op);
  p::Rope rope(doc);
  const p::Status st = p::apply(rope, op);
  FUZZ_CHECK(s.ok() == st.ok(), "string and rope apply disagree on " + show(op));
  if (!s.ok()) {
    FUZZ_CHECK(rope.to_string() == doc, "a failed rope apply changed the rope");
    return std::nullopt;
  }
  FUZZ_CHECK(rope.to_string() == *s, show(*s) + " vs rope " + show(rope.to_string()));
  FUZZ_CHECK(p::check(op, p::utf8::count(doc)).ok(), "check refused an op that applied");
  return *s;
}

void check_single(const std::string& d, const p::TextOp& a, const std::string& da) {
  const p::Rope rope(d);
  // a's own delete texts are the client's word, not checked against d (PROTOCOL.md): the law
  // holds for a made on d, so the delete texts are taken from d, as the history does.
  auto inv_a = p::make_invertible(p::strip_invertible(a), rope);
  FUZZ_CHECK(inv_a.ok(), "make_invertible failed for an op that applies: " + show(a));
  check_canonical(*inv_a, "make_invertible");
  auto same = apply_both(d, *inv_a);
  FUZZ_CHECK(same && *same == da, "the refilled op applies differently: " + show(*inv_a));
  auto inv = p::invert(*inv_a);
  FUZZ_CHECK(inv.ok(), "invert failed on an invertible op " + show(*inv_a));
  check_canonical(*inv, "invert");
  auto back = apply_both(da, *inv);
  FUZZ_CHECK(back && *back == d, "inversion: d = " + show(d) + " a = " + show(a));
  auto kept = p::make_invertible(a, rope);
  FUZZ_CHECK(kept.ok() && kept->invertible(), "make_invertible left a delete without text");
  check_canonical(*kept, "make_invertible");
  // Cursors keep their order (checked on the first positions only: bounded work per input).
  const std::size_t len = std::min<std::size_t>(p::utf8::count(d), 64);
  std::size_t last = 0;
  for (std::size_t pos = 0; pos <= len; ++pos) {
    const std::size_t t = p::transform_position(pos, a);
    FUZZ_CHECK(t >= last, "transform_position went back at " + std::to_string(pos));
    last = t;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = split_input(data, size);
  const std::string d(parts[0]);
  if (!p::utf8::validate(d).ok()) return 0;
  const auto a = read_op(parts.size() > 1 ? parts[1] : std::string_view("[]"));
  const auto b = read_op(parts.size() > 2 ? parts[2] : std::string_view("[]"));
  if (!a || !b) return 0;

  const auto da = apply_both(d, *a);
  const auto db = apply_both(d, *b);
  const p::TextOp a2 = p::transform(*a, *b, p::Side::left);
  const p::TextOp b2 = p::transform(*b, *a, p::Side::right);
  check_canonical(a2, "transform");
  check_canonical(b2, "transform");
  if (da) check_single(d, *a, *da);
  if (da && db) {
    FUZZ_CHECK(fits_wire(a2) && fits_wire(b2), "ops that fit d transform beyond 2^53");
    const auto x = apply_both(*da, b2);
    const auto y = apply_both(*db, a2);
    FUZZ_CHECK(x && y, "a transformed op does not fit: a' = " + show(a2) + " b' = " + show(b2));
    FUZZ_CHECK(*x == *y, "TP1: d = " + show(d) + " a = " + show(*a) + " b = " + show(*b) + " -> " +
                             show(*x) + " vs " + show(*y));
  }
  if (da) {
    // b read as an op on d.a: compose must apply like a then b.
    if (const auto dab = apply_both(*da, *b)) {
      auto ab = p::compose(*a, *b);
      FUZZ_CHECK(ab.ok(), "compose failed: " + ab.error().message);
      check_canonical(*ab, "compose");
      const auto once = apply_both(d, *ab);
      FUZZ_CHECK(once && *once == *dab,
                 "compose: a = " + show(*a) + " b = " + show(*b) + " a.b = " + show(*ab));
    }
  }
  return 0;
}
