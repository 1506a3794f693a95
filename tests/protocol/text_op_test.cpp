// Tests for protocol/text_op.hpp. Ops are written in their JSON form, as in ot-text-unicode's
// own tests, and compared as whole ops: both sides are canonical, so equal ops compare equal.
// Texts mix emoji and other astral code points, combining marks and CJK on purpose: positions
// count code points, which is neither bytes (UTF-8) nor units (UTF-16) nor what a reader sees.
#include "protocol/text_op.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/rope.hpp"

// Counts heap allocations, to check that building ops and applying them do not allocate.
namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// GCC pairs the malloc/free inside these replacements with the new/delete expressions it
// inlines them into and warns of a mismatch that is not there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace jointly::protocol {

// Failures print ops as their JSON.
void PrintTo(const TextOp& o, std::ostream* os) { *os << to_json(o).dump(); }

namespace {

using json = nlohmann::json;

TextOp op(const char* text) {
  Result<TextOp> r = parse_text_op(json::parse(text));
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : TextOp();
}

std::string dump(const TextOp& o) { return to_json(o).dump(); }

Error parse_error(const json& j) {
  Result<TextOp> r = parse_text_op(j);
  EXPECT_FALSE(r.ok()) << j.dump();
  return r.ok() ? Error{} : r.error();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// --- Parsing -----------------------------------------------------------------------------------

TEST(TextOpParse, ReadsSkipsInsertsAndBothKindsOfDelete) {
  const TextOp o = op(R"([3, "h\u00e9", {"d": 2}, 1, {"d": "\ud83d\ude00"}])");
  ASSERT_EQ(o.components().size(), 5u);
  EXPECT_EQ(o.components()[0].kind, TextComponent::Kind::skip);
  EXPECT_EQ(o.components()[0].n, 3u);
  EXPECT_EQ(o.components()[1].kind, TextComponent::Kind::insert);
  EXPECT_EQ(o.components()[1].text, "h\u00e9");
  EXPECT_EQ(o.components()[1].n, 2u);
  EXPECT_EQ(o.components()[2].kind, TextComponent::Kind::del);
  EXPECT_FALSE(o.components()[2].has_text);
  EXPECT_TRUE(o.components()[4].has_text);
  EXPECT_EQ(o.components()[4].n, 1u);  // one emoji is one code point
  EXPECT_EQ(dump(o), json::parse(R"([3,"hé",{"d":2},1,{"d":"😀"}])").dump());
}

TEST(TextOpParse, MergesAdjacentInsertsAndDeletesIntoTheCanonicalForm) {
  EXPECT_EQ(dump(op(R"(["a", "\u4e2d"])")), json::parse(R"(["a中"])").dump());
  EXPECT_EQ(dump(op(R"([{"d": "a"}, {"d": "b"}])")), R"([{"d":"ab"}])");
  // A delete without its text makes the merged delete lose the text, as in the package.
  EXPECT_EQ(dump(op(R"([{"d": "a"}, {"d": 2}])")), R"([{"d":3}])");
  // An insert and a delete at the same place keep their order.
  EXPECT_EQ(dump(op(R"([{"d": 1}, "x"])")), R"([{"d":1},"x"])");
  EXPECT_EQ(dump(op(R"(["x", {"d": 1}])")), R"(["x",{"d":1}])");
}

TEST(TextOpParse, AcceptsTheEmptyOpAndWholeNumbersWrittenAsFloats) {
  EXPECT_TRUE(op("[]").empty());
  EXPECT_EQ(dump(op(R"([3.0, "x", {"d": 2e0}])")), R"([3,"x",{"d":2}])");
}

TEST(TextOpParse, RejectsAnythingButAnArray) {
  for (const char* j : {"5", R"("abc")", R"({"d": 1})", "null", "true"}) {
    const Error e = parse_error(json::parse(j));
    EXPECT_EQ(e.code, "invalid_op");
    EXPECT_TRUE(contains(e.message, "must be a JSON array")) << e.message;
  }
}

TEST(TextOpParse, RejectsSkipsThatAreNotPositiveWholeNumbersBelow2To53) {
  EXPECT_TRUE(
      contains(parse_error(json::parse(R"(["a", 0, "b"])")).message, "op[1] is a skip of 0"));
  EXPECT_TRUE(contains(parse_error(json::parse(R"([-2, "b"])")).message, "negative (-2)"));
  EXPECT_TRUE(
      contains(parse_error(json::parse(R"([1.5, "b"])")).message, "not a whole number (1.5)"));
  EXPECT_TRUE(contains(parse_error(json::parse(R"([9007199254740992, "b"])")).message,
                       "too large (9007199254740992"));
  EXPECT_EQ(parse_error(json::parse(R"([9007199254740992, "b"])")).code, "invalid_op");
  EXPECT_TRUE(parse_text_op(json::parse(R"([9007199254740991, "b"])")).ok());
}

TEST(TextOpParse, RejectsAdjacentAndTrailingSkips) {
  const Error adjacent = parse_error(json::parse(R"([1, 2, "x"])"));
  EXPECT_EQ(adjacent.code, "invalid_op");
  EXPECT_TRUE(contains(adjacent.message, "op[0] and op[1] are adjacent skips")) << adjacent.message;
  const Error trailing = parse_error(json::parse(R"(["x", 3])"));
  EXPECT_TRUE(contains(trailing.message, "ends with a skip (op[1])")) << trailing.message;
  EXPECT_EQ(parse_error(json::parse("[4]")).code, "invalid_op");
}

TEST(TextOpParse, RejectsEmptyInsertsAndEmptyDeletes) {
  EXPECT_TRUE(contains(parse_error(json::parse(R"([""])")).message, "op[0] is an empty insert"));
  EXPECT_TRUE(
      contains(parse_error(json::parse(R"([1, {"d": 0}])")).message, "op[1] deletes 0 characters"));
  EXPECT_EQ(parse_error(json::parse(R"([{"d": ""}])")).code, "invalid_op");
  EXPECT_EQ(parse_error(json::parse(R"([{"d": -1}])")).code, "invalid_op");
  EXPECT_EQ(parse_error(json::parse(R"([{"d": 0.5}])")).code, "invalid_op");
}

TEST(TextOpParse, RejectsComponentsOfOtherTypes) {
  for (const char* j :
       {R"([true])", R"([1, null])", R"([[1]])", R"([{}])", R"([{"d": null}])", R"([{"d": true}])",
        R"([{"d": [1]}])", R"([{"d": 1, "x": 2}])", R"([{"i": "x"}])"}) {
    EXPECT_EQ(parse_error(json::parse(j)).code, "invalid_op") << j;
  }
  EXPECT_TRUE(contains(parse_error(json::parse("[1, true]")).message, "op[1] is a boolean"));
}

TEST(TextOpParse, RejectsTextThatIsNotUtf8) {
  // JSON text cannot carry these (the parser rejects them), but a json value built in code can.
  const Error in_insert = parse_error(json::array({1, std::string("ab\xED\xA0\x80")}));
  EXPECT_EQ(in_insert.code, "invalid_utf8");
  EXPECT_TRUE(contains(in_insert.message, "op[1] (an insert)")) << in_insert.message;
  EXPECT_TRUE(contains(in_insert.message, "at byte 2")) << in_insert.message;
  const Error in_delete = parse_error(json::array({json{{"d", std::string("\xC0\xAF")}}}));
  EXPECT_EQ(in_delete.code, "invalid_utf8");
  EXPECT_TRUE(contains(in_delete.message, "overlong")) << in_delete.message;
}

TEST(TextOpParse, RejectsOpsWhoseLengthsAddUpTo2To53) {
  const Error e = parse_error(json::parse(R"([9007199254740991, "x", {"d": 1}])"));
  EXPECT_EQ(e.code, "invalid_op");
  EXPECT_TRUE(contains(e.message, "2^53")) << e.message;
}

TEST(TextOpNormalize, DropsEmptyPartsMergesNeighboursAndCutsTheTrailingSkip) {
  Result<TextOp> r = normalize_text_op(json::parse(
      R"([1, 0, 2, "", "a", "b", {"d": "x"}, {"d": 0}, {"d": 2}, {"d": ""}, 3, 0, 4])"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(dump(*r), R"([3,"ab",{"d":3}])");
  EXPECT_EQ(dump(*normalize_text_op(json::parse(R"([{"d": "\u00e9"}, {"d": "\u0301"}])"))),
            json::parse(R"([{"d":"\u00e9\u0301"}])").dump());
  EXPECT_TRUE(normalize_text_op(json::parse("[0, 5]"))->empty());
}

TEST(TextOpNormalize, StillRejectsNonsense) {
  EXPECT_EQ(normalize_text_op(json::parse("[3, -1]")).error().code, "invalid_op");
  EXPECT_EQ(normalize_text_op(json::parse("[false]")).error().code, "invalid_op");
  EXPECT_EQ(normalize_text_op(json::parse(R"("abc")")).error().code, "invalid_op");
}

TEST(TextOpJson, RoundTripsEveryComponentKind) {
  const char* text = R"([2,"🎉e\u0301",{"d":3},1,{"d":"中文"}])";
  EXPECT_EQ(*parse_text_op(to_json(op(text))), op(text));
}

// --- Building ----------------------------------------------------------------------------------

TEST(TextOpBuild, IgnoresEmptyPartsAndMergesPartsOfTheSameKind) {
  TextOp o;
  o.skip(0).skip(2).skip(3).insert("").insert("\U0001F600").insert("x").del(0).del_text("", 0);
  o.del_text("ab", 2).del_text("c", 1).skip(4);
  EXPECT_EQ(dump(o), json::parse(R"([5,"😀x",{"d":"abc"},4])").dump());
  o.trim();
  EXPECT_EQ(dump(o), json::parse(R"([5,"😀x",{"d":"abc"}])").dump());
  o.del(1);
  EXPECT_EQ(dump(o), json::parse(R"([5,"😀x",{"d":4}])").dump());
  o.del_text("z", 1);  // text after a textless delete stays textless
  EXPECT_EQ(dump(o), json::parse(R"([5,"😀x",{"d":5}])").dump());
}

TEST(TextOpBuild, CountsLengthsInCodePoints) {
  const TextOp o = op(R"([2, "\u4e2d\ud83d\ude00", {"d": "e\u0301"}, 3, {"d": 4}])");
  EXPECT_EQ(o.base_length(), 11u);
  EXPECT_EQ(o.length_delta(), -4);
  EXPECT_FALSE(o.invertible());
  EXPECT_TRUE(op(R"([2, "x", {"d": "ab"}])").invertible());
}

TEST(TextOpBuild, DoesNotAllocateWhenReusingAClearedOp) {
  TextOp o;
  for (int i = 0; i < 8; ++i) o.skip(1).insert("x", 1).del(1);  // grow the vector once
  o.clear();
  const long before = g_allocations.load();
  for (int round = 0; round < 100; ++round) {
    o.clear();
    o.skip(12).insert("\u00e9t\u00e9 \U0001F600", 4).del(3).skip(2).del_text("ab", 2).trim();
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
}

// --- Apply -------------------------------------------------------------------------------------

TEST(TextOpApply, CountsPositionsInCodePoints) {
  EXPECT_EQ(*protocol::apply("a\U0001F600b", op(R"([1, {"d": 1}, "\ud83c\udf89"])")),
            "a\U0001F389b");
  // e + combining acute is two code points: deleting one leaves the bare e.
  EXPECT_EQ(*protocol::apply("cafe\u0301!", op(R"([4, {"d": 1}])")), "cafe!");
  EXPECT_EQ(*protocol::apply("\u5171\u540c\u8bfe\u7a0b", op(R"([2, "\u8bbe\u8ba1"])")),
            "\u5171\u540c\u8bbe\u8ba1\u8bfe\u7a0b");
  EXPECT_EQ(*protocol::apply("", op(R"(["\ud83d\udc69\u200d\ud83d\udcbb"])")),
            "\U0001F469\u200D\U0001F4BB");
  EXPECT_EQ(*protocol::apply("keep", op("[]")), "keep");
}

TEST(TextOpApply, RejectsASkipPastTheEndWithTheNumbers) {
  Result<std::string> r = protocol::apply("ab\U0001F600", op(R"([4, "x"])"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "out_of_range");
  EXPECT_EQ(r.error().message, "the op needs 4 characters but the text has 3");
}

TEST(TextOpApply, RejectsADeletePastTheEndWhereThePackageWouldTruncate) {
  Result<std::string> r = protocol::apply("abc", op(R"([2, {"d": 2}])"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "the op needs 4 characters but the text has 3");
  EXPECT_TRUE(check(op(R"([2, {"d": 2}])"), 4).ok());
  EXPECT_FALSE(check(op(R"([2, {"d": 2}])"), 3).ok());
}

TEST(TextOpApplyRope, EditsTheRopeInPlace) {
  Rope doc("h\u00e9llo w\u00f6rld \U0001F30D");
  ASSERT_TRUE(protocol::apply(doc, op(R"([6, {"d": 5}, "\u4e16\u754c", 2, "!"])")).ok());
  EXPECT_EQ(doc.to_string(), "h\u00e9llo \u4e16\u754c \U0001F30D!");
  EXPECT_EQ(doc.size(), 11u);
}

TEST(TextOpApplyRope, LeavesTheRopeUnchangedWhenTheOpDoesNotFit) {
  Rope doc("ab\u0301c");
  const Status st = protocol::apply(doc, op(R"(["x", 2, {"d": 3}])"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "out_of_range");
  EXPECT_EQ(st.error().message, "the op needs 5 characters but the text has 4");
  EXPECT_EQ(doc.to_string(), "ab\u0301c");
}

// --- Transform ---------------------------------------------------------------------------------

TEST(TextOpTransform, PutsTheLeftInsertFirstWhenBothInsertAtTheSamePlace) {
  const TextOp a = op(R"([1, "\ud83d\ude00"])");
  const TextOp b = op(R"([1, "\u4e2d\u6587"])");
  EXPECT_EQ(dump(transform(a, b, Side::left)), dump(op(R"([1, "\ud83d\ude00"])")));
  EXPECT_EQ(dump(transform(a, b, Side::right)), dump(op(R"([3, "\ud83d\ude00"])")));
  // Both orders reach the same text.
  const std::string doc = "x";
  EXPECT_EQ(*protocol::apply(*protocol::apply(doc, b), transform(a, b, Side::left)),
            *protocol::apply(*protocol::apply(doc, a), transform(b, a, Side::right)));
  EXPECT_EQ(*protocol::apply(*protocol::apply(doc, b), transform(a, b, Side::left)),
            "x\U0001F600\u4e2d\u6587");
}

TEST(TextOpTransform, MovesAnInsertPastTextInsertedBeforeIt) {
  EXPECT_EQ(dump(transform(op(R"([5, "x"])"), op(R"([2, "e\u0301"])"), Side::left)), R"([7,"x"])");
  EXPECT_EQ(dump(transform(op(R"([1, "x"])"), op(R"([2, "later"])"), Side::left)), R"([1,"x"])");
}

TEST(TextOpTransform, DropsTheDeleteOfTextTheOtherOpDeletedAlready) {
  EXPECT_EQ(dump(transform(op(R"([1, {"d": 3}])"), op(R"([2, {"d": 3}])"), Side::left)),
            R"([1,{"d":1}])");
  EXPECT_TRUE(transform(op(R"([{"d": 2}])"), op(R"([{"d": 2}])"), Side::right).empty());
}

TEST(TextOpTransform, KeepsAnInsertInsideTextTheOtherOpDeleted) {
  EXPECT_EQ(dump(transform(op(R"([3, "\ud83c\udf89"])"), op(R"([1, {"d": 4}])"), Side::left)),
            json::parse(R"([1,"🎉"])").dump());
}

TEST(TextOpTransform, SplitsADeleteAroundTheOtherOpsInsertAndKeepsItsText) {
  const TextOp a = op(R"([{"d": "\u4e2d\ud83d\ude00e\u0301"}])");
  const TextOp b = op(R"([2, "new"])");
  EXPECT_EQ(dump(transform(a, b, Side::left)),
            json::parse(R"([{"d":"\u4e2d\ud83d\ude00"},3,{"d":"e\u0301"}])").dump());
}

TEST(TextOpTransform, TreatsTheTextPastAnOpsEndAsSkipped) {
  EXPECT_EQ(dump(transform(op(R"(["x"])"), op(R"([100, {"d": 2}])"), Side::right)), R"(["x"])");
  EXPECT_EQ(dump(transform(op(R"([100, "x"])"), op(R"(["ab"])"), Side::right)), R"([102,"x"])");
}

// Found by text_op_fuzz: a skip just below the wire limit moved past an insert goes beyond it.
// Such an op fits no document, so apply refuses it (as the server does before anything is sent)
// and its JSON is never read back.
TEST(TextOpTransform, TransformPastTheWireLimitIsRefusedByApply) {
  const TextOp moved = transform(op(R"([9007199254740991, "x"])"), op(R"(["y"])"), Side::right);
  ASSERT_EQ(moved.components().size(), 2U);
  EXPECT_EQ(moved.components()[0].n, std::size_t{1} << 53);
  Result<std::string> applied = protocol::apply("y", moved);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code, "out_of_range");
  EXPECT_FALSE(parse_text_op(to_json(moved)).ok());
}

// --- Compose -----------------------------------------------------------------------------------

TEST(TextOpCompose, DeletingJustInsertedTextLeavesNothing) {
  EXPECT_TRUE(compose(op(R"([2, "\ud83d\ude00\u0301"])"), op(R"([2, {"d": 2}])"))->empty());
}

TEST(TextOpCompose, KeepsTheDeletedTextOfTheSecondOp) {
  EXPECT_EQ(dump(*compose(op(R"(["ab"])"), op(R"([{"d": "a"}, 1, {"d": "\u4e2d"}])"))),
            json::parse(R"(["b",{"d":"\u4e2d"}])").dump());
}

TEST(TextOpCompose, PlacesTheSecondOpsInsertBeforeTheFirstOpsDelete) {
  EXPECT_EQ(dump(*compose(op(R"([{"d": 1}])"), op(R"(["x"])"))), R"(["x",{"d":1}])");
}

TEST(TextOpCompose, ReadsPastTheFirstOpsEndAsSkips) {
  Result<TextOp> c = compose(op("[]"), op(R"([5, "x"])"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(dump(*c), R"([5,"x"])");
  EXPECT_EQ(dump(*compose(op(R"(["ab"])"), op(R"([5, "x"])"))), R"(["ab",3,"x"])");
}

// --- Positions ---------------------------------------------------------------------------------

TEST(TextOpTransformPosition, MovesACursorPastTextInsertedBeforeIt) {
  EXPECT_EQ(transform_position(3, op(R"([1, "\ud83d\ude00\ud83d\ude00"])")), 5u);
}

TEST(TextOpTransformPosition, LeavesACursorBeforeTextInsertedExactlyAtIt) {
  EXPECT_EQ(transform_position(1, op(R"([1, "x"])")), 1u);
  EXPECT_EQ(transform_position(0, op(R"(["x"])")), 0u);
}

TEST(TextOpTransformPosition, MovesACursorInsideADeleteToItsStart) {
  EXPECT_EQ(transform_position(3, op(R"([1, {"d": 4}])")), 1u);
  EXPECT_EQ(transform_position(7, op(R"([1, {"d": 4}])")), 3u);
  EXPECT_EQ(transform_position(0, op(R"([{"d": 4}])")), 0u);
}

// --- Invert ------------------------------------------------------------------------------------

TEST(TextOpInvert, TurnsInsertsIntoDeletesAndDeletesIntoInserts) {
  const TextOp a = op(R"([1, "\u4e2d", {"d": "e\u0301"}, 2, {"d": "\ud83d\ude00"}])");
  Result<TextOp> inv = invert(a);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(dump(*inv), json::parse(R"([1,{"d":"\u4e2d"},"e\u0301",2,"\ud83d\ude00"])").dump());
  const std::string doc = "xe\u0301yz\U0001F600!";
  EXPECT_EQ(*protocol::apply(*protocol::apply(doc, a), *inv), doc);
}

TEST(TextOpInvert, RefusesADeleteThatDoesNotCarryItsText) {
  Result<TextOp> inv = invert(op(R"([1, "x", {"d": 3}])"));
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.error().code, "not_invertible");
  EXPECT_TRUE(contains(inv.error().message, "op[2] deletes 3 characters without their text"))
      << inv.error().message;
}

TEST(TextOpMakeInvertible, FillsInTheDeletedTextFromTheDocument) {
  const Rope doc("\u5171\u540ce\u0301 \U0001F389 end");
  Result<TextOp> full = make_invertible(op(R"([1, {"d": 3}, "x", 1, {"d": "\ud83c\udf89"}])"), doc);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(dump(*full),
            json::parse(R"([1,{"d":"\u540ce\u0301"},"x",1,{"d":"\ud83c\udf89"}])").dump());
  EXPECT_TRUE(full->invertible());
}

TEST(TextOpMakeInvertible, TakesTheDeletedTextFromTheDocumentOnceTheOpsOwnIsStripped) {
  const TextOp claimed = op(R"([1, {"d": "wrong"}, "x"])");
  const TextOp stripped = strip_invertible(claimed);
  EXPECT_EQ(dump(stripped), R"([1,{"d":5},"x"])");
  EXPECT_FALSE(stripped.invertible());
  // The op's own delete text is kept unchecked; stripped first, the document's text is used.
  EXPECT_EQ(dump(*make_invertible(claimed, Rope("a\u00e9crit!"))), R"([1,{"d":"wrong"},"x"])");
  EXPECT_EQ(dump(*make_invertible(stripped, Rope("a\u00e9crit!"))),
            json::parse(R"([1,{"d":"\u00e9crit"},"x"])").dump());
}

TEST(TextOpMakeInvertible, RejectsAnOpLongerThanTheDocument) {
  Result<TextOp> r = make_invertible(op(R"([2, {"d": 5}])"), Rope("short"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "out_of_range");
  EXPECT_EQ(r.error().message, "the op needs 7 characters but the text has 5");
}

}  // namespace
}  // namespace jointly::protocol
