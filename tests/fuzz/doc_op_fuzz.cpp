// libFuzzer target: documents and document operations (protocol/document.hpp) on arbitrary
// input, checking the laws of PROTOCOL.md "Document operations", not only that nothing crashes.
//
// Input: a snapshot (JSON), 0xFF, op a (JSON), 0xFF, op b (JSON). When the first part is not a
// valid snapshot, a fixed document stands in (a live section, a locked one with an approval, a
// tombstone), so that mutated ops still meet sections in every state. Checked for every input:
//   - parse_document and parse_doc_op never crash; what they accept round-trips through JSON;
//   - check(d, a) agrees with apply(d, a), and a failed apply leaves the document unchanged;
//   - when a applies: apply(d.a, invert(a, d)) is d, but for sections a added (tombstones);
//   - when a and b apply to d and both transformed ops apply: TP1,
//     apply(apply(d, a), transform(b, a, right)) == apply(apply(d, b), transform(a, b, left));
//   - when b applies to d.a: apply(d, compose(a, b)) == apply(apply(d, a), b).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

using jointly::fuzz::parse_json;
using jointly::fuzz::split_input;
using nlohmann::json;
namespace p = jointly::protocol;

std::string show(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string show(const p::DocOp& op) { return show(p::to_json(op)); }
std::string show(const p::Document& d) { return show(p::to_json(d)); }

const p::Document& fallback_document() {
  static const p::Document doc = [] {
    auto r = p::parse_document(json::parse(R"({"v":1,"sections":[
      {"id":"a","pos":"V","title":"Vision 🎓","body":"hello 中文"},
      {"id":"b","pos":"k","title":"Outcomes","body":"locked text","locked":true,
       "approvals":{"Uni Graz":{"user":"ana","time":1732900000000,"hash":"h:1"}}},
      {"id":"c","pos":"a","title":"","body":"","removed":true}]})"));
    if (!r) jointly::fuzz::invariant_failed(__FILE__, __LINE__, "fallback", r.error().message);
    return *r;
  }();
  return doc;
}

p::Document read_document(std::string_view part) {
  const auto j = parse_json(part);
  if (!j) return fallback_document();
  auto d = p::parse_document(*j);
  if (!d) return fallback_document();
  auto back = p::parse_document(json::parse(p::to_json(*d).dump()));
  FUZZ_CHECK(back.ok() && *back == *d, "a snapshot does not round-trip: " + show(*d));
  return *d;
}

std::optional<p::DocOp> read_op(std::string_view part) {
  const auto j = parse_json(part);
  if (!j) return std::nullopt;
  auto op = p::parse_doc_op(*j);
  if (!op) return std::nullopt;
  auto back = p::parse_doc_op(json::parse(p::to_json(*op).dump()));
  FUZZ_CHECK(back.ok() && *back == *op, "an op does not round-trip: " + show(*op));
  return *op;
}

// d after op, when it applies; checks that check() agrees and that a refusal changes nothing.
std::optional<p::Document> apply_checked(const p::Document& d, const p::DocOp& op) {
  p::Document out = d;
  const p::Status st = p::apply(out, op);
  FUZZ_CHECK(p::check(d, op).ok() == st.ok(), "check and apply disagree on " + show(op));
  if (!st.ok()) {
    FUZZ_CHECK(out == d, "a refused op changed the document: " + show(op));
    return std::nullopt;
  }
  auto back = p::parse_document(json::parse(p::to_json(out).dump()));
  FUZZ_CHECK(back.ok() && *back == out, "a result does not round-trip: " + show(out));
  return out;
}

void check_invert(const p::Document& d, const p::DocOp& a, const p::Document& da) {
  auto inv = p::invert(a, d);
  FUZZ_CHECK(inv.ok(), "invert failed for an op that applies: " + show(a));
  const auto back = apply_checked(da, *inv);
  FUZZ_CHECK(back, "the inverse does not apply: a = " + show(a) + " inv = " + show(*inv));
  for (const auto& [id, section] : back->sections()) {
    const p::Section* before = d.find(id);
    if (before) {
      FUZZ_CHECK(section == *before, "inversion changed section " + id + ": a = " + show(a));
    } else {
      FUZZ_CHECK(section.removed, "inversion left added section " + id + " live: a = " + show(a));
    }
  }
  FUZZ_CHECK(back->sections().size() >= d.sections().size(), "inversion lost a section");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = split_input(data, size);
  const p::Document d = read_document(parts[0]);
  const auto a = read_op(parts.size() > 1 ? parts[1] : std::string_view("[]"));
  const auto b = read_op(parts.size() > 2 ? parts[2] : std::string_view("[]"));
  if (!a || !b) return 0;

  const auto da = apply_checked(d, *a);
  const auto db = apply_checked(d, *b);
  const p::DocOp a2 = p::transform(*a, *b, p::Side::left);
  const p::DocOp b2 = p::transform(*b, *a, p::Side::right);
  if (da) check_invert(d, *a, *da);
  if (da && db) {
    const auto x = apply_checked(*da, b2);
    const auto y = apply_checked(*db, a2);
    if (x && y) {
      FUZZ_CHECK(*x == *y, "TP1: d = " + show(d) + "\na = " + show(*a) + "\nb = " + show(*b) +
                               "\na' = " + show(a2) + "\nb' = " + show(b2));
    }
  }
  if (da) {
    if (const auto dab = apply_checked(*da, *b)) {
      const p::DocOp ab = p::compose(*a, *b);
      const auto once = apply_checked(d, ab);
      FUZZ_CHECK(once && *once == *dab,
                 "compose: a = " + show(*a) + "\nb = " + show(*b) + "\na.b = " + show(ab));
    }
  }
  return 0;
}
