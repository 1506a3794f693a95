// Tests of protocol/document.hpp: position keys, the document model and its snapshot format,
// DocOp parsing, apply's rules and error codes, transform's rules, compose, invert.
// Documents are rendered to a one-line string (render()) so that tests compare whole states.
#include "protocol/document.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace jointly::protocol {

// gtest prints ops and documents as their JSON.
void PrintTo(const DocOp& o, std::ostream* os) { *os << to_json(o).dump(); }
void PrintTo(const Document& d, std::ostream* os) { *os << to_json(d).dump(); }

namespace {

using json = nlohmann::json;

DocOp op(const char* text) {
  auto r = parse_doc_op(json::parse(text));
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : DocOp{};
}

Error op_error(const char* text) {
  auto r = parse_doc_op(json::parse(text));
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? Error{} : r.error();
}

// "id@pos[flags] title|body" per live section in order, then removed ones as "-id@pos".
std::string render(const Document& d) {
  std::string out;
  for (const Section* s : d.ordered()) {
    if (!out.empty()) out += "; ";
    out += s->id + "@" + s->position;
    if (s->locked) {
      out += "[locked";
      for (const auto& [inst, a] : s->approvals) {
        out += ' ';
        out += inst;
        out += ':';
        out += a.user;
      }
      out += "]";
    }
    out += ' ';
    out += s->title.to_string();
    out += '|';
    out += s->body.to_string();
  }
  for (const auto& [id, s] : d.sections()) {
    if (s.removed) out.append("; -").append(id).append("@").append(s.position);
  }
  return out;
}

// A document built by applying ops (the only way to change one).
Document doc_of(std::initializer_list<const char*> ops) {
  Document d;
  for (const char* o : ops) {
    Status st = apply(d, op(o));
    EXPECT_TRUE(st.ok()) << o << ": " << (st.ok() ? "" : st.error().message);
  }
  return d;
}

Document two_sections() {
  return doc_of({R"([{"add":"vision","pos":"V","title":"Joint vision","body":"Needs"},
                    {"add":"ects","pos":"k","title":"ECTS","body":"5 ECTS"}])"});
}

Error apply_error(Document& d, const char* o) {
  const std::string before = render(d);
  Status st = apply(d, op(o));
  EXPECT_FALSE(st.ok()) << o;
  EXPECT_EQ(render(d), before) << "a failed apply changed the document";
  return st.ok() ? Error{} : st.error();
}

// A course section with a kind and named fields, and a template section with a prompt.
Document course_doc() {
  return doc_of({R"([{"add":"c","pos":"V","title":"Course","kind":"course",
                      "fields":{"ects":"5","outcomes":"LO1: plan"}},
                     {"add":"t","pos":"k","title":"Joint vision","body":"",
                      "fields":{"prompt":"Which needs does the course answer?"}}])"});
}

// ---- Kinds and named fields ----------------------------------------------------------------

TEST(FieldNames, AreLowercaseLettersDigitsAndUnderscoresStartingWithALetter) {
  for (const char* ok :
       {"a", "ects", "eqf_level", "lo2", "prompt", "abcdefghijklmnopqrstuvwxyz012345"}) {
    EXPECT_TRUE(check_field_name(ok).ok()) << ok;
  }
  for (const char* bad :
       {"", "Ects", "2lo", "_a", "a-b", "a b", "é", "abcdefghijklmnopqrstuvwxyz0123456"}) {
    auto st = check_field_name(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, "invalid_op");
  }
  EXPECT_EQ(Field::named("title")->kind(), Field::Kind::title);
  EXPECT_EQ(Field::named("body")->kind(), Field::Kind::body);
  EXPECT_EQ(*Field::named("body"), Field::body);
  auto ects = Field::named("ects");
  ASSERT_TRUE(ects.ok());
  EXPECT_TRUE(ects->is_named());
  EXPECT_EQ(ects->name(), "ects");
  EXPECT_FALSE(Field::named("Ects").ok());
}

TEST(DocumentFields, AddSetsTheKindAndTheNamedFieldsAndEditsChangeThem) {
  Document d = course_doc();
  const Section* c = d.find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, "course");
  ASSERT_EQ(c->fields.size(), 2u);
  EXPECT_EQ(c->field("ects")->to_string(), "5");
  EXPECT_EQ(d.find("t")->kind, "");
  ASSERT_TRUE(apply(d, op(R"([{"edit":"c","f":"ects","op":[{"d":1},"2,5"]},
                              {"edit":"c","f":"outcomes","op":[9,"\nLO2: 学習 🎓"]}])"))
                  .ok());
  c = d.find("c");
  EXPECT_EQ(c->field("ects")->to_string(), "2,5");
  EXPECT_EQ(c->field("outcomes")->to_string(), "LO1: plan\nLO2: 学習 🎓");
  EXPECT_EQ(c->text(*Field::named("ects"))->to_string(), "2,5");
  EXPECT_EQ(c->text(*Field::named("missing")), nullptr);
  EXPECT_EQ(c->text_bytes(), std::string("Course2,5LO1: plan\nLO2: 学習 🎓").size());
}

TEST(DocumentFields, AnEditOfAFieldTheSectionDoesNotHaveIsUnknownField) {
  Document d = course_doc();
  Error e = apply_error(d, R"([{"edit":"c","f":"eqf_level","op":["6"]}])");
  EXPECT_EQ(e.code, "unknown_field");
  EXPECT_NE(e.message.find("\"eqf_level\""), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("\"c\""), std::string::npos) << e.message;
  // Fields are fixed when the section is added: a prose section has none.
  EXPECT_EQ(apply_error(d, R"([{"edit":"t","f":"ects","op":["5"]}])").code, "unknown_field");
  EXPECT_EQ(apply_error(d, R"([{"edit":"c","f":"ects","op":[2,"x"]}])").code, "out_of_range");
}

TEST(DocumentFields, RemoveEmptiesEveryFieldAndRestoreBringsThemBack) {
  Document d = course_doc();
  ASSERT_TRUE(apply(d, op(R"([{"remove":"c"}])")).ok());
  const Section* c = d.find("c");
  EXPECT_TRUE(c->removed);
  EXPECT_EQ(c->kind, "course");
  EXPECT_EQ(c->fields.size(), 2u);
  EXPECT_EQ(c->text_bytes(), 0u);
  // An edit of a removed section's field is dropped, as for title and body.
  ASSERT_TRUE(apply(d, op(R"([{"edit":"c","f":"ects","op":["9"]}])")).ok());
  EXPECT_EQ(apply_error(d, R"([{"restore":"c","fields":{"eqf":"6"}}])").code, "unknown_field");
  ASSERT_TRUE(apply(d, op(R"([{"restore":"c","title":"Course","fields":{"ects":"6"}}])")).ok());
  c = d.find("c");
  EXPECT_EQ(c->field("ects")->to_string(), "6");
  EXPECT_EQ(c->field("outcomes")->to_string(), "");  // not listed: back empty
}

TEST(DocumentFields, ALockOfATemplateSectionWithABlankBodyIsSectionIncomplete) {
  Document d = course_doc();
  Error e = apply_error(d, R"([{"lock":"t"}])");
  EXPECT_EQ(e.code, "section_incomplete");
  EXPECT_NE(e.message.find("\"t\""), std::string::npos) << e.message;
  EXPECT_TRUE(d.find("t")->incomplete());
  // Spaces and line breaks are still blank.
  ASSERT_TRUE(apply(d, op(R"([{"edit":"t","f":"body","op":[" \n\t"]}])")).ok());
  EXPECT_EQ(apply_error(d, R"([{"lock":"t"}])").code, "section_incomplete");
  // Written: the lock passes. Within one op the lock sees the earlier edit.
  Document written = d;
  ASSERT_TRUE(
      apply(written, op(R"([{"edit":"t","f":"body","op":[3,"Needs"]},{"lock":"t"}])")).ok());
  EXPECT_TRUE(written.find("t")->locked);
  // ... and an edit that blanks it again, before the lock in the same op, is seen too.
  Document blanked = written;
  ASSERT_TRUE(apply(blanked, op(R"([{"unlock":"t"}])")).ok());
  EXPECT_EQ(apply_error(blanked, R"([{"edit":"t","f":"body","op":[{"d":8}]},{"lock":"t"}])").code,
            "section_incomplete");
  // Without a prompt (or with an empty one) an empty section locks: the marker is the prompt.
  Document d2 = course_doc();
  ASSERT_TRUE(apply(d2, op(R"([{"lock":"c"}])")).ok());
  ASSERT_TRUE(apply(d2, op(R"([{"edit":"t","f":"prompt","op":[{"d":35}]},{"lock":"t"}])")).ok());
  // A section added and locked in one op is checked on what the add gave it.
  Document d3;
  EXPECT_EQ(
      apply_error(d3, R"([{"add":"n","pos":"V","fields":{"prompt":"Write"}},{"lock":"n"}])").code,
      "section_incomplete");
}

TEST(DocumentFields, ParsesAndWritesKindsAndFieldsAndLeavesThemOutWhenEmpty) {
  const char* ops[] = {
      R"([{"add":"u1","pos":"V","title":"Unit 1","body":"","kind":"unit","fields":{"ects":"2,5","outcomes":"LO1"}}])",
      R"([{"restore":"u1","title":"Unit 1","body":"","fields":{"ects":"3"}}])",
      R"([{"edit":"u1","f":"assessment","op":["Exam"]}])",
  };
  for (const char* text : ops) EXPECT_EQ(to_json(op(text)), json::parse(text)) << text;
  // Old ops (no kind, no fields) are written exactly as before.
  EXPECT_EQ(to_json(op(R"([{"add":"a","pos":"V"}])")),
            json::parse(R"([{"add":"a","pos":"V","title":"","body":""}])"));
}

TEST(DocumentFields, RejectsMalformedKindsAndFields) {
  struct Case {
    const char* op;
    const char* needle;
  };
  const Case cases[] = {
      {R"([{"add":"a","pos":"V","kind":"Course"}])", "kind"},
      {R"([{"add":"a","pos":"V","kind":""}])", "kind is empty"},
      {R"([{"add":"a","pos":"V","kind":5}])", "\"kind\" is not a string"},
      {R"([{"add":"a","pos":"V","fields":[]}])", "\"fields\" is not an object"},
      {R"([{"add":"a","pos":"V","fields":{"ECTS":"5"}}])", "field name"},
      {R"([{"add":"a","pos":"V","fields":{"ects":5}}])", "field \"ects\" is not a string"},
      {R"([{"add":"a","pos":"V","fields":{"body":"x"}}])", "not a named field"},
      {R"([{"restore":"a","kind":"unit"}])", "unknown key \"kind\""},
      {R"([{"edit":"a","f":"","op":[]}])", "\"f\""},
      {R"([{"edit":"a","f":7,"op":[]}])", "\"f\""},
  };
  for (const auto& c : cases) {
    Error e = op_error(c.op);
    EXPECT_EQ(e.code, "invalid_op") << c.op;
    EXPECT_NE(e.message.find(c.needle), std::string::npos) << c.op << ": " << e.message;
  }
  json many = json::parse(R"([{"add":"a","pos":"V","fields":{}}])");
  for (std::size_t i = 0; i <= kMaxFields; ++i) {
    std::string name = "f";
    name += std::to_string(i);
    many[0]["fields"][name] = "";
  }
  auto r = parse_doc_op(many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_op");
  json bad_text = json::parse(R"([{"add":"a","pos":"V","fields":{}}])");
  bad_text[0]["fields"]["ects"] = std::string("5\xff");
  r = parse_doc_op(bad_text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_utf8");
}

TEST(DocumentFields, SnapshotsWithoutKindsOrFieldsStayVersion1) {
  // A version-1 snapshot, as every document before kinds and fields, reads and writes unchanged.
  const json v1 = json::parse(R"({"v":1,"sections":[
      {"id":"a","pos":"V","title":"Joint vision","body":"Needs"},
      {"id":"b","pos":"k","title":"","body":"","removed":true}]})");
  auto d = parse_document(v1);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(to_json(*d), v1);
  // Version 1 has no kinds or fields.
  auto bad =
      parse_document(json::parse(R"({"v":1,"sections":[{"id":"a","pos":"V","kind":"course"}]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid_document");
  // A document with any of them is written as version 2 and reads back equal.
  const Document c = course_doc();
  const json v2 = to_json(c);
  EXPECT_EQ(v2["v"], 2);
  EXPECT_EQ(v2["sections"][0]["kind"], "course");
  EXPECT_EQ(v2["sections"][0]["fields"], json::parse(R"({"ects":"5","outcomes":"LO1: plan"})"));
  EXPECT_FALSE(v2["sections"][1].contains("kind"));
  auto back = parse_document(v2);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, c);
}

TEST(DocumentFields, RejectsBrokenVersion2Snapshots) {
  const char* bad[] = {
      R"({"v":2,"sections":[{"id":"a","pos":"V","kind":"Course"}]})",
      R"({"v":2,"sections":[{"id":"a","pos":"V","kind":""}]})",
      R"({"v":2,"sections":[{"id":"a","pos":"V","fields":{"title":""}}]})",
      R"({"v":2,"sections":[{"id":"a","pos":"V","fields":{"x":1}}]})",
      R"({"v":2,"sections":[{"id":"a","pos":"V","fields":[]}]})",
      R"({"v":2,"sections":[{"id":"a","pos":"V","removed":true,"fields":{"x":"text"}}]})",
      R"({"v":2,"sections":[{"id":"a","pos":"V","colour":"red"}]})",
  };
  for (const char* text : bad) {
    auto r = parse_document(json::parse(text));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, "invalid_document") << text << ": " << r.error().message;
  }
  // A tombstone keeps its kind and its (empty) fields.
  EXPECT_TRUE(
      parse_document(
          json::parse(
              R"({"v":2,"sections":[{"id":"a","pos":"V","removed":true,"kind":"unit","fields":{"x":""}}]})"))
          .ok());
}

TEST(DocumentFields, EditsOfDifferentFieldsPassEachOtherAndOfOneFieldTransformAsText) {
  DocOp a = op(R"([{"edit":"c","f":"ects","op":["1"]}])");
  DocOp b = op(R"([{"edit":"c","f":"outcomes","op":["x"]}])");
  EXPECT_EQ(transform(a, b, Side::left), a);
  DocOp c = op(R"([{"edit":"c","f":"ects","op":["2"]}])");
  EXPECT_EQ(transform(a, c, Side::left), a);
  EXPECT_EQ(transform(a, c, Side::right), op(R"([{"edit":"c","f":"ects","op":[1,"1"]}])"));
  // Both sides converge on a course document.
  Document x = course_doc(), y = course_doc();
  ASSERT_TRUE(apply(x, a).ok());
  ASSERT_TRUE(apply(x, transform(c, a, Side::right)).ok());
  ASSERT_TRUE(apply(y, c).ok());
  ASSERT_TRUE(apply(y, transform(a, c, Side::left)).ok());
  EXPECT_EQ(x, y);
}

TEST(DocumentFields, TheLeftRestoreWinsForNamedFieldsToo) {
  Document d = course_doc();
  ASSERT_TRUE(apply(d, op(R"([{"remove":"c"}])")).ok());
  DocOp a = op(R"([{"restore":"c","fields":{"ects":"5"}}])");
  DocOp b = op(R"([{"restore":"c","fields":{"ects":"6","outcomes":"LO1"}}])");
  Document x = d, y = d;
  ASSERT_TRUE(apply(x, a).ok());
  ASSERT_TRUE(apply(x, transform(b, a, Side::right)).ok());
  ASSERT_TRUE(apply(y, b).ok());
  ASSERT_TRUE(apply(y, transform(a, b, Side::left)).ok());
  EXPECT_EQ(x, y);
  EXPECT_EQ(x.find("c")->field("ects")->to_string(), "5");
  EXPECT_EQ(x.find("c")->field("outcomes")->to_string(), "");
}

TEST(DocumentFields, ComposeMergesEditsOfOneNamedFieldOnly) {
  DocOp ab = compose(op(R"([{"edit":"c","f":"ects","op":["1"]}])"),
                     op(R"([{"edit":"c","f":"ects","op":[1,"0"]}])"));
  EXPECT_EQ(ab, op(R"([{"edit":"c","f":"ects","op":["10"]}])"));
  DocOp ac = compose(op(R"([{"edit":"c","f":"ects","op":["1"]}])"),
                     op(R"([{"edit":"c","f":"outcomes","op":["1"]}])"));
  EXPECT_EQ(ac.components.size(), 2u);
}

TEST(DocumentFields, InvertUndoesFieldEditsAndARemoveBringsTheFieldsBack) {
  const Document d = course_doc();
  for (const char* text : {R"([{"edit":"c","f":"ects","op":[{"d":1},"6"]}])", R"([{"remove":"c"}])",
                           R"([{"edit":"c","f":"outcomes","op":[3,{"d":2}]},{"remove":"c"}])"}) {
    const DocOp a = op(text);
    auto inv = invert(a, d);
    ASSERT_TRUE(inv.ok()) << inv.error().message;
    Document x = d;
    ASSERT_TRUE(apply(x, a).ok());
    ASSERT_TRUE(apply(x, *inv).ok()) << to_json(*inv).dump();
    EXPECT_EQ(x, d) << text;
  }
}

// ---- Position keys --------------------------------------------------------------------------

TEST(PositionKeys, FirstKeyIsTheMiddleDigit) { EXPECT_EQ(*position_between("", ""), "V"); }

TEST(PositionKeys, AppendingBumpsADigitAndStaysShort) {
  std::string last = "V";
  for (int i = 0; i < 300; ++i) {
    auto next = position_between(last, "");
    ASSERT_TRUE(next.ok()) << next.error().message;
    ASSERT_LT(last, *next);
    ASSERT_TRUE(check_position(*next).ok()) << *next;
    last = *next;
  }
  EXPECT_LE(last.size(), 12u) << last;
}

TEST(PositionKeys, PrependingLowersADigitAndStaysShort) {
  std::string first = "V";
  for (int i = 0; i < 300; ++i) {
    auto next = position_between("", first);
    ASSERT_TRUE(next.ok()) << next.error().message;
    ASSERT_LT(*next, first);
    ASSERT_TRUE(check_position(*next).ok()) << *next;
    first = *next;
  }
  EXPECT_LE(first.size(), 12u) << first;
}

TEST(PositionKeys, InsertingIntoOneGapAgainAndAgainStaysStrictlyBetween) {
  std::string lo = "V", hi = "W";
  for (int i = 0; i < 600; ++i) {
    auto mid = position_between(lo, hi);
    ASSERT_TRUE(mid.ok()) << i << ": " << mid.error().message;
    ASSERT_LT(lo, *mid);
    ASSERT_LT(*mid, hi);
    ASSERT_TRUE(check_position(*mid).ok()) << *mid;
    (i % 2 ? lo : hi) = *mid;
  }
}

TEST(PositionKeys, FindsRoomBetweenKeysThatDifferOnlyInLength) {
  for (auto [a, b] : std::vector<std::pair<std::string, std::string>>{
           {"a", "a1"}, {"z", "z1"}, {"0001", "01"}, {"zz", "zzz1"}, {"1", "11"}}) {
    auto mid = position_between(a, b);
    ASSERT_TRUE(mid.ok()) << a << " " << b;
    EXPECT_LT(a, *mid);
    EXPECT_LT(*mid, b);
    EXPECT_TRUE(check_position(*mid).ok()) << *mid;
  }
  auto first = position_between("", "01");
  ASSERT_TRUE(first.ok());
  EXPECT_LT(*first, "01");
  EXPECT_TRUE(check_position(*first).ok()) << *first;
}

TEST(PositionKeys, RejectsInvalidKeysAndAnEmptyRange) {
  EXPECT_EQ(position_between("a0", "").error().code, "invalid_op");
  EXPECT_EQ(position_between("", "a!").error().code, "invalid_op");
  auto e = position_between("k", "a");
  EXPECT_EQ(e.error().code, "invalid_op");
  EXPECT_NE(e.error().message.find("\"k\""), std::string::npos) << e.error().message;
  EXPECT_EQ(position_between("k", "k").error().code, "invalid_op");
}

TEST(PositionKeys, SaysOutOfRangeWhenAGapIsUsedUp) {
  const std::string lo(kMaxPositionLength - 1, '0');
  const std::string a = lo + "1", b = lo + "2";
  auto e = position_between(a, b);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "out_of_range");
}

TEST(PositionKeys, ValidatesCharsetLengthAndTrailingZero) {
  EXPECT_TRUE(check_position("aZ09x").ok());
  EXPECT_FALSE(check_position("").ok());
  EXPECT_FALSE(check_position("a0").ok());
  EXPECT_FALSE(check_position("a-b").ok());
  EXPECT_FALSE(check_position(std::string(kMaxPositionLength + 1, 'a')).ok());
  EXPECT_TRUE(check_position(std::string(kMaxPositionLength, 'a')).ok());
}

TEST(SectionIds, AcceptOneTo64LettersDigitsDashesAndUnderscores) {
  EXPECT_TRUE(check_section_id("learning-outcomes_2").ok());
  EXPECT_TRUE(check_section_id(std::string(64, 'x')).ok());
  EXPECT_EQ(check_section_id("").error().code, "invalid_op");
  EXPECT_EQ(check_section_id(std::string(65, 'x')).error().code, "invalid_op");
  EXPECT_EQ(check_section_id("a b").error().code, "invalid_op");
  EXPECT_EQ(check_section_id("é").error().code, "invalid_op");
}

// ---- The document -------------------------------------------------------------------------

TEST(Document, OrdersLiveSectionsByPositionThenId) {
  Document d = doc_of({R"([{"add":"b","pos":"k"},{"add":"a","pos":"k"},{"add":"c","pos":"V"},
                           {"add":"z","pos":"1"},{"remove":"z"}])"});
  EXPECT_EQ(render(d), "c@V |; a@k |; b@k |; -z@1");
  EXPECT_EQ(d.find("z")->removed, true);
  EXPECT_EQ(d.find("nope"), nullptr);
}

TEST(DocumentJson, RoundTripsASnapshotWithEveryKindOfSection) {
  Document d = doc_of({R"([{"add":"vision","pos":"V","title":"Joint vision 🎓","body":"共同愿景"},
                           {"add":"team","pos":"k","title":"Course team","body":"Leader: Graz"},
                           {"add":"old","pos":"a","title":"x","body":"y"},
                           {"remove":"old"},
                           {"lock":"team"},
                           {"approve":"team","inst":"uni-graz","user":"ana","time":1732900000000,
                            "hash":"fnv1a:00ff"}])"});
  json j = to_json(d);
  EXPECT_EQ(j["v"], 1);
  auto back = parse_document(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, d);
  auto again = parse_document(json::parse(j.dump()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, d);
  EXPECT_EQ(to_json(*again), j);
}

TEST(DocumentJson, RejectsBrokenSnapshotsWithInvalidDocument) {
  const char* bad[] = {
      R"([])",
      R"({"sections":[]})",
      R"({"v":3,"sections":[]})",
      R"({"v":1,"sections":[],"x":1})",
      R"({"v":1,"sections":[{"id":"a","pos":"V"},{"id":"a","pos":"k"}]})",
      R"({"v":1,"sections":[{"id":"a b","pos":"V"}]})",
      R"({"v":1,"sections":[{"id":"a","pos":"V0"}]})",
      R"({"v":1,"sections":[{"id":"a","pos":"V","removed":true,"body":"x"}]})",
      R"({"v":1,"sections":[{"id":"a","pos":"V","removed":true,"locked":true}]})",
      R"({"v":1,"sections":[{"id":"a","pos":"V","approvals":{"u":{"user":"x","time":1,"hash":"h"}}}]})",
      R"({"v":1,"sections":[{"id":"a","pos":"V","locked":true,"approvals":{"u":{"user":"x","time":-1,"hash":"h"}}}]})",
      R"({"v":1,"sections":[{"id":"a","pos":"V","locked":"yes"}]})",
      R"({"v":1,"sections":[{"id":"a","pos":"V","extra":1}]})",
  };
  for (const char* b : bad) {
    auto r = parse_document(json::parse(b));
    ASSERT_FALSE(r.ok()) << b;
    EXPECT_EQ(r.error().code, "invalid_document") << b << ": " << r.error().message;
  }
}

TEST(DocumentJson, RejectsInvalidUtf8WithInvalidUtf8) {
  json j = {{"v", 1}, {"sections", {{{"id", "a"}, {"pos", "V"}, {"body", "ok \xC3\x28"}}}}};
  auto r = parse_document(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_utf8");
  EXPECT_NE(r.error().message.find("\"a\""), std::string::npos) << r.error().message;
}

// ---- Parsing DocOps -----------------------------------------------------------------------

TEST(DocOpJson, ParsesAndWritesEveryComponentKind) {
  const char* text = R"([
    {"edit":"s1","f":"body","op":[3,"hi",{"d":2}]},
    {"edit":"s1","f":"title","op":["Vision 🎓"]},
    {"add":"s2","pos":"a0V","title":"学习成果","body":""},
    {"remove":"s2"},
    {"restore":"s2","title":"t","body":"b"},
    {"move":"s2","pos":"z"},
    {"lock":"s2"},
    {"unlock":"s2"},
    {"approve":"s2","inst":"Universität Graz","user":"ana@uni-graz.at","time":1732900000000,
     "hash":"sha256:AbC+/="}])";
  DocOp o = op(text);
  ASSERT_EQ(o.components.size(), 9u);
  EXPECT_EQ(std::get<SectionEdit>(o.components[0]).field, Field::body);
  EXPECT_EQ(std::get<SectionApprove>(o.components[8]).approval.time_ms, 1732900000000);
  EXPECT_EQ(to_json(o), json::parse(text));
  auto back = parse_doc_op(json::parse(to_json(o).dump()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, o);
}

TEST(DocOpJson, TakesMissingTitleAndBodyAsEmpty) {
  DocOp o = op(R"([{"add":"s","pos":"V"},{"remove":"s"},{"restore":"s"}])");
  EXPECT_EQ(std::get<SectionAdd>(o.components[0]).title, "");
  EXPECT_EQ(std::get<SectionRestore>(o.components[2]).body, "");
}

TEST(DocOpJson, RejectsMalformedOpsWithInvalidOpAndSaysWhere) {
  struct Case {
    const char* text;
    const char* needle;  // expected in the message
  };
  const Case cases[] = {
      {R"({"edit":"s"})", "array"},
      {R"([1])", "component 0"},
      {R"([{}])", "names no kind"},
      {R"([{"lock":"a","unlock":"a"}])", "both"},
      {R"([{"lock":"a","pos":"V"}])", "unknown key \"pos\""},
      {R"([{"lock":7}])", "section id"},
      {R"([{"lock":"a"},{"lock":"a b"}])", "component 1"},
      {R"([{"lock":""}])", "empty"},
      {R"([{"edit":"s1","f":"Summary","op":[]}])", "\"f\""},
      {R"([{"edit":"s1","f":"body"}])", "\"op\" is missing"},
      {R"([{"edit":"s1","f":"body","op":[0]}])", "\"s1\""},
      {R"([{"edit":"s1","f":"body","op":[3]}])", "\"s1\""},
      {R"([{"add":"s2"}])", "\"pos\" is missing"},
      {R"([{"add":"s2","pos":"a0"}])", "ends in '0'"},
      {R"([{"add":"s2","pos":"V","title":5}])", "\"title\" is not a string"},
      {R"([{"move":"s2","pos":"é"}])", "base-62"},
      {R"([{"approve":"s","inst":"u","user":"x","time":-5,"hash":"h"}])", "-5"},
      {R"([{"approve":"s","inst":"u","user":"x","time":1.5,"hash":"h"}])", "1.5"},
      {R"([{"approve":"s","inst":"u","user":"x","time":9007199254740993,"hash":"h"}])", "time"},
      {R"([{"approve":"s","inst":"u","user":"x","time":1,"hash":"no spaces"}])", "hash"},
      {R"([{"approve":"s","inst":"","user":"x","time":1,"hash":"h"}])", "institution"},
      {R"([{"approve":"s","inst":"u","user":"a\tb","time":1,"hash":"h"}])", "control"},
      {R"([{"approve":"s","inst":"u","user":"x","hash":"h"}])", "\"time\" is missing"},
  };
  for (const auto& c : cases) {
    Error e = op_error(c.text);
    EXPECT_EQ(e.code, "invalid_op") << c.text << ": " << e.message;
    EXPECT_NE(e.message.find(c.needle), std::string::npos) << c.text << ": " << e.message;
  }
}

TEST(DocOpJson, RejectsInvalidUtf8WithInvalidUtf8) {
  for (json j : {json::array({{{"add", "s"}, {"pos", "V"}, {"title", "\xED\xA0\x80"}}}),
                 json::array({{{"restore", "s"}, {"body", "ab\xFF"}}}),
                 json::array({{{"edit", "s"}, {"f", "body"}, {"op", {"\xC0\xAF"}}}})}) {
    auto r = parse_doc_op(j);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_utf8") << r.error().message;
    EXPECT_NE(r.error().message.find("\"s\""), std::string::npos) << r.error().message;
  }
}

TEST(DocOpJson, AcceptsAnEmptyOp) { EXPECT_TRUE(op("[]").empty()); }

// ---- apply ----------------------------------------------------------------------------------

TEST(DocumentApply, AddsAndEditsTitleAndBodyWithEmojiAndCjk) {
  Document d = doc_of({R"([{"add":"lo","pos":"V","title":"成果","body":"👩‍🎓 learners"}])",
                       R"([{"edit":"lo","f":"title","op":[2,"🎯"]},
                           {"edit":"lo","f":"body","op":[4,{"d":1},"学"]}])"});
  // 👩‍🎓 is three code points (woman, ZWJ, graduation cap): the edit counts code points.
  EXPECT_EQ(render(d), "lo@V 成果🎯|👩‍🎓 学earners");
}

TEST(DocumentApply, SeesEarlierComponentsOfTheSameOp) {
  Document d;
  Status st = apply(d, op(R"([{"add":"s","pos":"V","body":"ab"},
                              {"edit":"s","f":"body","op":[2,"c"]},
                              {"edit":"s","f":"body","op":[3,"d"]},
                              {"lock":"s"},
                              {"approve":"s","inst":"u1","user":"x","time":1,"hash":"h"}])"));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(render(d), "s@V[locked u1:x] |abcd");
}

TEST(DocumentApply, DropsAnEditOfARemovedSection) {
  Document d = two_sections();
  ASSERT_TRUE(apply(d, op(R"([{"remove":"ects"}])")).ok());
  const Document before = d;
  // Even an edit that would not fit the old text is dropped, not an error.
  Status st = apply(d, op(R"([{"edit":"ects","f":"body","op":[100,"x"]}])"));
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(d, before);
}

TEST(DocumentApply, RejectsAnEditOfALockedSectionNamingTheSection) {
  Document d = two_sections();
  ASSERT_TRUE(apply(d, op(R"([{"lock":"ects"}])")).ok());
  Error e = apply_error(d, R"([{"edit":"ects","f":"body","op":["6"]}])");
  EXPECT_EQ(e.code, "section_locked");
  EXPECT_NE(e.message.find("\"ects\""), std::string::npos) << e.message;
  // An empty edit changes nothing and is let through.
  EXPECT_TRUE(apply(d, op(R"([{"edit":"ects","f":"body","op":[]}])")).ok());
}

TEST(DocumentApply, RejectsAnEditThatDoesNotFitWithOutOfRange) {
  Document d = two_sections();  // "5 ECTS" is 6 code points
  Error e = apply_error(d, R"([{"edit":"ects","f":"body","op":[7,"x"]}])");
  EXPECT_EQ(e.code, "out_of_range");
  EXPECT_NE(e.message.find("\"ects\""), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("component 0"), std::string::npos) << e.message;
}

TEST(DocumentApply, RejectsComponentsNamingAnUnknownSection) {
  Document d = two_sections();
  for (const char* o : {R"([{"edit":"nope","f":"body","op":["x"]}])", R"([{"remove":"nope"}])",
                        R"([{"restore":"nope"}])", R"([{"move":"nope","pos":"a"}])",
                        R"([{"lock":"nope"}])", R"([{"unlock":"nope"}])",
                        R"([{"approve":"nope","inst":"u","user":"x","time":1,"hash":"h"}])"}) {
    Error e = apply_error(d, o);
    EXPECT_EQ(e.code, "unknown_section") << o;
    EXPECT_NE(e.message.find("\"nope\""), std::string::npos) << e.message;
  }
}

TEST(DocumentApply, RejectsAddingAnIdInUseEvenByATombstone) {
  Document d = two_sections();
  EXPECT_EQ(apply_error(d, R"([{"add":"ects","pos":"a"}])").code, "section_exists");
  ASSERT_TRUE(apply(d, op(R"([{"remove":"ects"}])")).ok());
  Error e = apply_error(d, R"([{"add":"ects","pos":"a"}])");
  EXPECT_EQ(e.code, "section_exists");
  EXPECT_NE(e.message.find("removed"), std::string::npos) << e.message;
  EXPECT_EQ(apply_error(d, R"([{"add":"n","pos":"a"},{"add":"n","pos":"b"}])").code,
            "section_exists");
}

TEST(DocumentApply, RemoveLeavesAnEmptyTombstoneAtItsPositionAndRestoreFillsIt) {
  Document d = two_sections();
  ASSERT_TRUE(apply(d, op(R"([{"remove":"vision"}])")).ok());
  EXPECT_EQ(render(d), "ects@k ECTS|5 ECTS; -vision@V");
  EXPECT_TRUE(d.find("vision")->body.empty());
  ASSERT_TRUE(apply(d, op(R"([{"restore":"vision","title":"Vision","body":"需要"}])")).ok());
  EXPECT_EQ(render(d), "vision@V Vision|需要; ects@k ECTS|5 ECTS");
}

TEST(DocumentApply, RejectsRemoveOfALockedOrRemovedSection) {
  Document d = two_sections();
  ASSERT_TRUE(apply(d, op(R"([{"lock":"vision"},{"remove":"ects"}])")).ok());
  EXPECT_EQ(apply_error(d, R"([{"remove":"vision"}])").code, "section_locked");
  EXPECT_EQ(apply_error(d, R"([{"remove":"ects"}])").code, "section_removed");
}

TEST(DocumentApply, RejectsRestoreOfALiveSection) {
  Document d = two_sections();
  Error e = apply_error(d, R"([{"restore":"ects"}])");
  EXPECT_EQ(e.code, "section_not_removed");
  EXPECT_NE(e.message.find("\"ects\""), std::string::npos);
}

TEST(DocumentApply, MovesLiveLockedAndRemovedSections) {
  Document d = two_sections();
  ASSERT_TRUE(apply(d, op(R"([{"move":"ects","pos":"1"}])")).ok());
  EXPECT_EQ(render(d), "ects@1 ECTS|5 ECTS; vision@V Joint vision|Needs");
  ASSERT_TRUE(apply(d, op(R"([{"lock":"ects"},{"move":"ects","pos":"z"}])")).ok());
  ASSERT_TRUE(apply(d, op(R"([{"remove":"vision"},{"move":"vision","pos":"zz"}])")).ok());
  EXPECT_EQ(render(d), "ects@z[locked] ECTS|5 ECTS; -vision@zz");
}

TEST(DocumentApply, LockUnlockAndApproveNeedALiveSectionInTheRightState) {
  Document d = two_sections();
  ASSERT_TRUE(apply(d, op(R"([{"remove":"vision"}])")).ok());
  EXPECT_EQ(apply_error(d, R"([{"lock":"vision"}])").code, "section_removed");
  EXPECT_EQ(apply_error(d, R"([{"unlock":"vision"}])").code, "section_removed");
  EXPECT_EQ(
      apply_error(d, R"([{"approve":"vision","inst":"u","user":"x","time":1,"hash":"h"}])").code,
      "section_removed");
  EXPECT_EQ(apply_error(d, R"([{"unlock":"ects"}])").code, "section_not_locked");
  Error e = apply_error(d, R"([{"approve":"ects","inst":"u","user":"x","time":1,"hash":"h"}])");
  EXPECT_EQ(e.code, "section_not_locked");
  EXPECT_NE(e.message.find("\"ects\""), std::string::npos);
  ASSERT_TRUE(apply(d, op(R"([{"lock":"ects"}])")).ok());
  EXPECT_EQ(apply_error(d, R"([{"lock":"ects"}])").code, "section_locked");
}

TEST(DocumentApply, UnlockClearsTheApprovals) {
  Document d = two_sections();
  ASSERT_TRUE(apply(d, op(R"([{"lock":"ects"},
      {"approve":"ects","inst":"uni-graz","user":"ana","time":1,"hash":"h1"},
      {"approve":"ects","inst":"uni-oulu","user":"eero","time":2,"hash":"h1"},
      {"approve":"ects","inst":"uni-graz","user":"ben","time":3,"hash":"h1"}])"))
                  .ok());
  EXPECT_EQ(render(d),
            "vision@V Joint vision|Needs; ects@k[locked uni-graz:ben uni-oulu:eero] "
            "ECTS|5 ECTS");
  ASSERT_TRUE(apply(d, op(R"([{"unlock":"ects"}])")).ok());
  EXPECT_TRUE(d.find("ects")->approvals.empty());
  EXPECT_FALSE(d.find("ects")->locked);
}

TEST(DocumentApply, IsAtomicWhenALaterComponentFails) {
  Document d = two_sections();
  const Document before = d;
  Error e = apply_error(d, R"([{"edit":"vision","f":"body","op":["More "]},
                              {"add":"new","pos":"a","title":"T"},
                              {"remove":"ects"},
                              {"lock":"new"},
                              {"edit":"vision","f":"title","op":[1,{"d":500}]}])");
  EXPECT_EQ(e.code, "out_of_range");
  EXPECT_NE(e.message.find("component 4"), std::string::npos) << e.message;
  EXPECT_EQ(d, before);
}

TEST(DocumentApply, ChecksWithoutChanging) {
  Document d = two_sections();
  const Document before = d;
  EXPECT_TRUE(check(d, op(R"([{"remove":"ects"}])")).ok());
  EXPECT_EQ(check(d, op(R"([{"unlock":"ects"}])")).error().code, "section_not_locked");
  EXPECT_EQ(d, before);
}

TEST(DocumentApply, ValidatesComponentsBuiltInCode) {
  Document d = two_sections();
  DocOp o;
  o.components.push_back(SectionMove{"ects", "bad key"});
  EXPECT_EQ(apply(d, o).error().code, "invalid_op");
  o.components = {SectionAdd{"x", "V", "\xFF", ""}};
  EXPECT_EQ(apply(d, o).error().code, "invalid_utf8");
  o.components = {SectionLock{"no spaces allowed"}};
  EXPECT_EQ(apply(d, o).error().code, "invalid_op");
}

// ---- transform ----------------------------------------------------------------------------

// Applies b then transform(a, b, left) and a then transform(b, a, right); both must succeed and
// agree. Returns the result.
std::string converge(const Document& d, const DocOp& a, const DocOp& b) {
  Document x = d, y = d;
  Status s1 = apply(x, a);
  Status s2 = apply(x, transform(b, a, Side::right));
  Status s3 = apply(y, b);
  Status s4 = apply(y, transform(a, b, Side::left));
  EXPECT_TRUE(s1.ok() && s2.ok() && s3.ok() && s4.ok());
  EXPECT_EQ(render(x), render(y));
  EXPECT_EQ(x, y);
  return render(x);
}

TEST(DocTransform, ComponentsOnDifferentSectionsCommute) {
  DocOp a = op(R"([{"edit":"vision","f":"body","op":["A"]},{"lock":"vision"}])");
  DocOp b = op(R"([{"remove":"ects"}])");
  EXPECT_EQ(transform(a, b, Side::left), a);
  EXPECT_EQ(transform(b, a, Side::right), b);
  EXPECT_EQ(converge(two_sections(), a, b), "vision@V[locked] Joint vision|ANeeds; -ects@k");
}

TEST(DocTransform, EditsOfOneFieldTransformAsTextAndTheLeftInsertGoesFirst) {
  DocOp a = op(R"([{"edit":"ects","f":"body","op":["L"]}])");
  DocOp b = op(R"([{"edit":"ects","f":"body","op":["R"]},{"edit":"ects","f":"title","op":["T"]}])");
  EXPECT_EQ(converge(two_sections(), a, b), "vision@V Joint vision|Needs; ects@k TECTS|LR5 ECTS");
}

TEST(DocTransform, DropsAnEditTransformedPastARemoveOfItsSection) {
  DocOp a = op(R"([{"edit":"ects","f":"body","op":["x"]}])");
  DocOp b = op(R"([{"remove":"ects"}])");
  EXPECT_TRUE(transform(a, b, Side::left).empty());
  EXPECT_EQ(transform(b, a, Side::right), b);
  EXPECT_EQ(converge(two_sections(), a, b), "vision@V Joint vision|Needs; -ects@k");
}

TEST(DocTransform, LetsTheLeftMoveWin) {
  DocOp a = op(R"([{"move":"ects","pos":"1"}])");
  DocOp b = op(R"([{"move":"ects","pos":"z"}])");
  EXPECT_EQ(transform(a, b, Side::left), a);
  EXPECT_TRUE(transform(b, a, Side::right).empty());
  EXPECT_EQ(converge(two_sections(), a, b), "ects@1 ECTS|5 ECTS; vision@V Joint vision|Needs");
}

TEST(DocTransform, LetsTheLeftOfLockAndUnlockWin) {
  DocOp lock = op(R"([{"lock":"ects"}])"), unlock = op(R"([{"unlock":"ects"}])");
  EXPECT_EQ(transform(lock, unlock, Side::left), lock);
  EXPECT_TRUE(transform(lock, unlock, Side::right).empty());
  EXPECT_EQ(transform(unlock, lock, Side::left), unlock);
  EXPECT_TRUE(transform(unlock, lock, Side::right).empty());
}

TEST(DocTransform, MakesTheSecondOfTwoRemovesLocksOrUnlocksANoOp) {
  for (const char* o : {R"([{"remove":"ects"}])", R"([{"lock":"ects"}])"}) {
    DocOp a = op(o);
    EXPECT_TRUE(transform(a, a, Side::left).empty());
    EXPECT_TRUE(transform(a, a, Side::right).empty());
    converge(two_sections(), a, a);
  }
  Document locked = doc_of({R"([{"add":"s","pos":"V"},{"lock":"s"}])"});
  EXPECT_EQ(converge(locked, op(R"([{"unlock":"s"}])"), op(R"([{"unlock":"s"}])")), "s@V |");
}

TEST(DocTransform, DropsAnApprovalTransformedPastAnUnlock) {
  Document d = doc_of({R"([{"add":"s","pos":"V"},{"lock":"s"}])"});
  DocOp a = op(R"([{"approve":"s","inst":"u","user":"x","time":1,"hash":"h"}])");
  DocOp b = op(R"([{"unlock":"s"}])");
  EXPECT_TRUE(transform(a, b, Side::left).empty());
  EXPECT_EQ(converge(d, a, b), "s@V |");
}

TEST(DocTransform, LetsTheLeftApprovalOfOneInstitutionWin) {
  Document d = doc_of({R"([{"add":"s","pos":"V"},{"lock":"s"}])"});
  DocOp a = op(R"([{"approve":"s","inst":"u","user":"ana","time":1,"hash":"h"}])");
  DocOp b = op(R"([{"approve":"s","inst":"u","user":"ben","time":2,"hash":"h"},
                   {"approve":"s","inst":"v","user":"eve","time":2,"hash":"h"}])");
  EXPECT_EQ(converge(d, a, b), "s@V[locked u:ana v:eve] |");
}

TEST(DocTransform, KeepsBothAddsOfOneIdSoApplyRejectsTheLater) {
  DocOp a = op(R"([{"add":"n","pos":"a","body":"mine"}])");
  DocOp b = op(R"([{"add":"n","pos":"b","body":"theirs"}])");
  DocOp a2 = transform(a, b, Side::left);
  EXPECT_EQ(a2, a);
  Document d = two_sections();
  ASSERT_TRUE(apply(d, b).ok());
  EXPECT_EQ(apply_error(d, to_json(a2).dump().c_str()).code, "section_exists");
}

TEST(DocTransform, LetsTheLeftRestoreWinWithItsText) {
  Document d = doc_of({R"([{"add":"s","pos":"V","body":"old"},{"remove":"s"}])"});
  DocOp a = op(R"([{"restore":"s","title":"Mine","body":"mine 🎓"}])");
  DocOp b = op(R"([{"restore":"s","title":"Theirs","body":"theirs"}])");
  EXPECT_EQ(converge(d, a, b), "s@V Mine|mine 🎓");
  EXPECT_TRUE(transform(b, a, Side::right).empty());
}

TEST(DocTransform, KeepsAnEditPastALockSoApplyRejectsIt) {
  DocOp a = op(R"([{"edit":"ects","f":"body","op":["x"]}])");
  DocOp b = op(R"([{"lock":"ects"}])");
  EXPECT_EQ(transform(a, b, Side::right), a);
  Document d = two_sections();
  ASSERT_TRUE(apply(d, b).ok());
  EXPECT_EQ(apply_error(d, to_json(transform(a, b, Side::right)).dump().c_str()).code,
            "section_locked");
}

TEST(DocTransform, KeepsAMoveOfASectionRemovedMeanwhile) {
  DocOp a = op(R"([{"move":"ects","pos":"1"}])");
  DocOp b = op(R"([{"remove":"ects"}])");
  EXPECT_EQ(converge(two_sections(), a, b), "vision@V Joint vision|Needs; -ects@1");
}

// ---- compose, invert, sections_touched ------------------------------------------------------

TEST(DocCompose, MergesAdjacentEditsOfOneSectionAndField) {
  DocOp a = op(R"([{"lock":"x"},{"edit":"ects","f":"body","op":["a"]}])");
  DocOp b =
      op(R"([{"edit":"ects","f":"body","op":[1,"b"]},{"edit":"ects","f":"title","op":["t"]}])");
  EXPECT_EQ(compose(a, b), op(R"([{"lock":"x"},{"edit":"ects","f":"body","op":["ab"]},
                                  {"edit":"ects","f":"title","op":["t"]}])"));
}

TEST(DocCompose, AppliesLikeOneThenTheOther) {
  Document d = two_sections();
  DocOp a = op(R"([{"edit":"ects","f":"body","op":[{"d":1},"6"]},{"remove":"vision"}])");
  DocOp b = op(R"([{"restore":"vision","body":"新"},{"edit":"vision","f":"body","op":[1,"!"]}])");
  Document x = d, y = d;
  ASSERT_TRUE(apply(x, a).ok());
  ASSERT_TRUE(apply(x, b).ok());
  ASSERT_TRUE(apply(y, compose(a, b)).ok());
  EXPECT_EQ(x, y);
  EXPECT_EQ(render(y), "vision@V |新!; ects@k ECTS|6 ECTS");
}

TEST(DocInvert, UndoesEditsRemovesMovesLocksAndApprovals) {
  Document d = two_sections();
  ASSERT_TRUE(apply(d, op(R"([{"lock":"vision"},
      {"approve":"vision","inst":"u","user":"ana","time":1,"hash":"h"}])"))
                  .ok());
  DocOp o = op(R"([{"edit":"ects","f":"body","op":[{"d":2},"７"]},
                   {"move":"ects","pos":"1"},
                   {"approve":"vision","inst":"u","user":"ben","time":2,"hash":"h"},
                   {"approve":"vision","inst":"v","user":"eve","time":3,"hash":"h"},
                   {"unlock":"vision"},
                   {"remove":"ects"},
                   {"remove":"vision"}])");
  auto inv = invert(o, d);
  ASSERT_TRUE(inv.ok()) << inv.error().message;
  Document x = d;
  ASSERT_TRUE(apply(x, o).ok());
  EXPECT_EQ(render(x), "; -ects@1; -vision@V");
  Status st = apply(x, *inv);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(x, d);
}

TEST(DocInvert, TakesDeletedTextFromTheDocumentNotFromTheOp) {
  Document d = two_sections();  // ects body: "5 ECTS"
  DocOp o = op(R"([{"edit":"ects","f":"body","op":[{"d":"99"},"10"]}])");
  auto inv = invert(o, d);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(*inv, op(R"([{"edit":"ects","f":"body","op":["5 ",{"d":"10"}]}])"));
  Document x = d;
  ASSERT_TRUE(apply(x, o).ok());
  ASSERT_TRUE(apply(x, *inv).ok());
  EXPECT_EQ(x, d);
}

TEST(DocInvert, UndoesAnAddWithARemoveThatLeavesATombstone) {
  Document d = two_sections();
  DocOp o = op(R"([{"add":"n","pos":"a","title":"New"},{"lock":"n"}])");
  auto inv = invert(o, d);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(*inv, op(R"([{"unlock":"n"},{"remove":"n"}])"));
  Document x = d;
  ASSERT_TRUE(apply(x, o).ok());
  ASSERT_TRUE(apply(x, *inv).ok());
  EXPECT_EQ(render(x), render(d) + "; -n@a");
}

TEST(DocInvert, FailsLikeApplyWhenTheOpDoesNotApply) {
  auto inv = invert(op(R"([{"unlock":"ects"}])"), two_sections());
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.error().code, "section_not_locked");
}

TEST(SectionsTouched, ListsEachIdOnceInOrder) {
  DocOp o = op(R"([{"lock":"b"},{"edit":"a","f":"body","op":["x"]},{"unlock":"b"},
                   {"move":"c","pos":"V"}])");
  EXPECT_EQ(sections_touched(o), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(sections_touched(DocOp{}).empty());
}

// ---- PROTOCOL.md ----------------------------------------------------------------------------

// The ```json blocks of PROTOCOL.md's "## Document operations" section.
std::vector<std::string> protocol_md_examples() {
  std::ifstream in(std::string(JOINTLY_SOURCE_DIR) + "/protocol/PROTOCOL.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string md = ss.str();
  const std::size_t start = md.find("\n## Document operations");
  const std::size_t end = md.find("\n## ", start + 1);
  std::vector<std::string> blocks;
  if (start == std::string::npos) return blocks;
  for (std::size_t at = md.find("```json\n", start); at < end; at = md.find("```json\n", at + 1)) {
    const std::size_t from = at + 8;
    blocks.push_back(md.substr(from, md.find("```", from) - from));
  }
  return blocks;
}

TEST(ProtocolMd, TheDocumentOperationsExamplesParse) {
  const auto blocks = protocol_md_examples();
  ASSERT_EQ(blocks.size(), 3u);
  auto doc = parse_document(json::parse(blocks[0]));
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->ordered().size(), 2u);
  EXPECT_EQ(to_json(*doc), json::parse(blocks[0]));
  // The version 2 example: a course section and a template section.
  auto course = parse_document(json::parse(blocks[1]));
  ASSERT_TRUE(course.ok()) << course.error().message;
  EXPECT_EQ(to_json(*course), json::parse(blocks[1]));
  EXPECT_EQ(course->find("course")->kind, "course");
  EXPECT_TRUE(course->find("vision")->incomplete());
  std::istringstream ops(blocks[2]);
  int n = 0;
  while (ops >> std::ws, !ops.eof()) {
    json j;
    ops >> j;
    auto o = parse_doc_op(j);
    EXPECT_TRUE(o.ok()) << j.dump() << ": " << (o.ok() ? "" : o.error().message);
    ++n;
  }
  EXPECT_EQ(n, 8);
  // The first example applies to the example document.
  EXPECT_TRUE(apply(*doc, op(R"([{"edit": "k3Jx9a", "f": "body", "op": [6, "shared "]}])")).ok());
}

}  // namespace
}  // namespace jointly::protocol
