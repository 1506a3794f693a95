// Tests of server/course_checks.hpp: every check with a passing and a failing example (the
// Annex I elements, the units, the ECTS sum, outcome coverage, written template sections), ECTS
// and outcome parsing edge cases, the checks JSON and the course description export.
#include "server/course_checks.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/templates.hpp"

namespace jointly::server {
namespace {

using json = nlohmann::json;
using protocol::Document;

// A course document whose every check passes: the course template filled in.
Document complete_course() {
  auto d = make_template("course");
  EXPECT_TRUE(d);
  json op = json::array();
  auto set = [&](const char* section, const char* field, const std::string& text) {
    op.push_back({{"edit", section}, {"f", field}, {"op", json::array({text})}});
  };
  for (const char* step : {"vision", "policy", "support", "team", "outcomes"}) {
    set(step, "body", "Written by the course team.");
  }
  set("course", "course_title", "Data literacy for public services");
  set("course", "awarding_bodies", "Northsea Open University\nBaltic Distance University");
  set("course", "countries", "Netherlands\nLithuania");
  set("course", "ects", "5");
  set("course", "eqf_level", "EQF level 6");
  set("course", "participation", "Online");
  set("course", "quality_assurance", "Internal review by both partners' programme boards");
  set("course", "outcomes", "LO1: Read data\nLO2: Judge data quality");
  set("course", "issue_date", "On completion of the last unit");
  set("course", "learner_id", "Full name and date of birth");
  set("unit1", "ects", "2,5");
  set("unit1", "outcomes", "LO1");
  set("unit1", "assessment", "Quiz");
  op.push_back({{"add", "unit2"},
                {"pos", "z"},
                {"title", "Unit 2"},
                {"kind", "unit"},
                {"fields", {{"ects", "2.5"}, {"outcomes", "LO2"}, {"assessment", "Case study"}}}});
  auto parsed = protocol::parse_doc_op(op);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  protocol::Status st = protocol::apply(*d, *parsed);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  return *d;
}

// d with one text replaced: the field's whole text becomes `text`.
Document with(Document d, const char* section, const char* field, const std::string& text) {
  const protocol::Section* s = d.find(section);
  EXPECT_NE(s, nullptr) << section;
  auto f = protocol::Field::named(field);
  const protocol::Rope* old = s->text(*f);
  EXPECT_NE(old, nullptr) << section << "." << field;
  json op = json::array();
  json text_op = json::array();
  if (old->size() > 0) text_op.push_back({{"d", old->size()}});
  if (!text.empty()) text_op.push_back(text);
  op.push_back({{"edit", section}, {"f", field}, {"op", text_op}});
  protocol::Status st = protocol::apply(d, *protocol::parse_doc_op(op));
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  return d;
}

// The findings with this code.
std::vector<Finding> with_code(const Document& d, const std::string& code) {
  std::vector<Finding> out;
  for (const Finding& f : course_checks(d)) {
    if (f.code == code) out.push_back(f);
  }
  return out;
}

// The one finding with this code (and item).
Finding one(const Document& d, const std::string& code, const std::string& item = "") {
  std::vector<Finding> found;
  for (const Finding& f : with_code(d, code)) {
    if (f.item == item) found.push_back(f);
  }
  EXPECT_EQ(found.size(), 1u) << code << " " << item;
  return found.empty() ? Finding{} : found[0];
}

TEST(CourseChecks, ACompleteCoursePassesEveryCheck) {
  const Document d = complete_course();
  const auto findings = course_checks(d);
  for (const Finding& f : findings) {
    EXPECT_EQ(f.level, CheckLevel::ok) << f.code << " " << f.item << ": " << f.message;
  }
  // Annex I (11), units present, ECTS sum, two outcomes, five written sections.
  EXPECT_EQ(findings.size(), 11u + 1 + 1 + 2 + 5);
}

struct Element {
  const char* code;
  const char* field;
  const char* words;  // in the missing message
};

TEST(CourseChecks, EachMandatoryElementIsDefinedOrMissingWithItsField) {
  const Element elements[] = {
      {"annex1.learner_identification", "learner_id", "Learner identification is missing"},
      {"annex1.title", "course_title", "title of the micro-credential is missing"},
      {"annex1.issuer_country", "countries", "country or region of the issuer is missing"},
      {"annex1.awarding_body", "awarding_bodies", "awarding body is missing"},
      {"annex1.issue_date", "issue_date", "date of issuing is missing"},
      {"annex1.learning_outcomes", "outcomes", "learning outcomes are missing"},
      {"annex1.workload", "ects", "workload in ECTS is missing"},
      {"annex1.level", "eqf_level", "level (EQF or QF-EHEA) is missing"},
      {"annex1.participation", "participation", "form of participation is missing"},
      {"annex1.quality_assurance", "quality_assurance", "quality assurance is missing"},
  };
  const Document good = complete_course();
  for (const auto& e : elements) {
    Finding ok = one(good, e.code);
    EXPECT_EQ(ok.level, CheckLevel::ok) << e.code;
    EXPECT_EQ(ok.section, "course");
    EXPECT_EQ(ok.field, e.field);
    // Blank (spaces and line breaks only) counts as missing.
    const Document bad = with(good, "course", e.field, " \n ");
    Finding missing = one(bad, e.code);
    EXPECT_EQ(missing.level, CheckLevel::error) << e.code;
    EXPECT_NE(missing.message.find(e.words), std::string::npos) << missing.message;
    EXPECT_EQ(missing.section, "course");
    EXPECT_EQ(missing.field, e.field);
  }
}

// Learner identification and the date of issuing differ for each learner: the course defines
// how each credential states them, and the messages say so.
TEST(CourseChecks, ThePerLearnerElementsSayTheyDifferForEachLearner) {
  const Document good = complete_course();
  for (const char* code : {"annex1.learner_identification", "annex1.issue_date"}) {
    EXPECT_NE(one(good, code).message.find("each credential"), std::string::npos) << code;
  }
  const Document bad = with(with(good, "course", "learner_id", ""), "course", "issue_date", "");
  EXPECT_EQ(one(bad, "annex1.learner_identification").message,
            "Learner identification is missing: it differs for each learner, so say which "
            "details identify the learner on each credential (e.g. full name and date of birth).");
  EXPECT_EQ(one(bad, "annex1.issue_date").message,
            "The date of issuing is missing: it differs for each learner, so say when a "
            "learner's credential is issued (e.g. on passing the final assessment).");
  // The other nine are the course's own: "... is defined." with no per-learner words.
  EXPECT_EQ(one(good, "annex1.title").message, "The title of the micro-credential is defined.");
  EXPECT_EQ(one(good, "annex1.participation").message, "The form of participation is defined.");
}

TEST(CourseChecks, AssessmentIsDefinedWhenEveryUnitNamesItsType) {
  const Document good = complete_course();
  EXPECT_EQ(one(good, "annex1.assessment").level, CheckLevel::ok);
  const Document bad = with(good, "unit2", "assessment", "");
  const Finding f = one(bad, "annex1.assessment");
  EXPECT_EQ(f.level, CheckLevel::error);
  EXPECT_EQ(f.section, "unit2");
  EXPECT_EQ(f.field, "assessment");
  EXPECT_NE(f.message.find("Unit 2"), std::string::npos) << f.message;
}

TEST(CourseChecks, WithoutUnitsAssessmentAndTheUnitsAreMissing) {
  Document d = complete_course();
  ASSERT_TRUE(protocol::apply(d, *protocol::parse_doc_op(
                                     json::parse(R"([{"remove":"unit1"},{"remove":"unit2"}])")))
                  .ok());
  EXPECT_EQ(one(d, "annex1.assessment").level, CheckLevel::error);
  EXPECT_EQ(one(d, "units.present").level, CheckLevel::error);
  const Finding sum = one(d, "ects.sum");
  EXPECT_EQ(sum.level, CheckLevel::error);
  EXPECT_NE(sum.message.find("there are no units"), std::string::npos) << sum.message;
}

TEST(CourseChecks, WithoutACourseSectionEveryElementIsMissingAndLinksNowhere) {
  Document d = complete_course();
  ASSERT_TRUE(
      protocol::apply(d, *protocol::parse_doc_op(json::parse(R"([{"remove":"course"}])"))).ok());
  const Finding present = one(d, "course.present");
  EXPECT_EQ(present.level, CheckLevel::error);
  EXPECT_EQ(one(d, "annex1.title").level, CheckLevel::error);
  EXPECT_EQ(one(d, "annex1.title").section, "");
  // A second course section: a warning, the first one counts.
  Document two = complete_course();
  ASSERT_TRUE(protocol::apply(two, *protocol::parse_doc_op(json::parse(
                                       R"([{"add":"course2","pos":"zz","kind":"course"}])")))
                  .ok());
  EXPECT_EQ(one(two, "course.present").level, CheckLevel::warning);
  EXPECT_EQ(one(two, "annex1.title").level, CheckLevel::ok);
}

TEST(CourseChecks, TheUnitsCreditsMustAddUpToTheCourseTotal) {
  const Document good = complete_course();  // 2,5 + 2.5 = 5
  const Finding ok = one(good, "ects.sum");
  EXPECT_EQ(ok.level, CheckLevel::ok);
  EXPECT_NE(ok.message.find("total of 5 ECTS"), std::string::npos) << ok.message;
  const Document more = with(good, "course", "ects", "6");
  const Finding f = one(more, "ects.sum");
  EXPECT_EQ(f.level, CheckLevel::error);
  EXPECT_EQ(f.message, "The units' credits add up to 5 ECTS, but the course's total is 6 ECTS.");
  EXPECT_EQ(f.section, "course");
  EXPECT_EQ(f.field, "ects");
  // Units with fractions that only add up exactly (no floating-point drift).
  Document thirds = with(with(good, "unit1", "ects", "0,1"), "unit2", "ects", "0.2");
  thirds = with(thirds, "course", "ects", "0.3");
  EXPECT_EQ(one(thirds, "ects.sum").level, CheckLevel::ok);
}

TEST(CourseChecks, AUnitWithoutReadableCreditsIsNamed) {
  const Document bad = with(complete_course(), "unit2", "ects", "two and a half");
  const Finding f = one(bad, "unit.ects");
  EXPECT_EQ(f.level, CheckLevel::error);
  EXPECT_EQ(f.section, "unit2");
  EXPECT_NE(f.message.find("\"two and a half\""), std::string::npos) << f.message;
  EXPECT_NE(one(bad, "ects.sum").message.find("1 unit has no readable ECTS value"),
            std::string::npos);
  const Document empty = with(complete_course(), "unit1", "ects", "");
  EXPECT_EQ(one(empty, "unit.ects").message, "Unit 1 has no workload in ECTS.");
  // An unreadable course total.
  const Document total = with(complete_course(), "course", "ects", "5-6");
  const Finding w = one(total, "annex1.workload");
  EXPECT_EQ(w.level, CheckLevel::error);
  EXPECT_NE(w.message.find("not a number of credits"), std::string::npos) << w.message;
}

TEST(CourseChecks, EachLearningOutcomeMustBeAssessedByAUnit) {
  const Document good = complete_course();
  const Finding lo1 = one(good, "outcome.assessed", "LO1");
  EXPECT_EQ(lo1.level, CheckLevel::ok);
  EXPECT_EQ(lo1.message, "Learning outcome LO1 is assessed in Unit 1.");
  const Document bad = with(good, "course", "outcomes", "LO1: Read data\nLO2: Judge\nLO3: Present");
  const Finding lo3 = one(bad, "outcome.assessed", "LO3");
  EXPECT_EQ(lo3.level, CheckLevel::error);
  EXPECT_EQ(lo3.message, "Learning outcome LO3 is not assessed by any unit.");
  EXPECT_EQ(lo3.section, "course");
  EXPECT_EQ(lo3.field, "outcomes");
  // A unit can assess several; references are written freely.
  const Document both = with(bad, "unit2", "outcomes", "lo2 and LO 3.");
  EXPECT_EQ(one(both, "outcome.assessed", "LO3").level, CheckLevel::ok);
  EXPECT_EQ(one(both, "outcome.assessed", "LO2").message,
            "Learning outcome LO2 is assessed in Unit 2.");
}

TEST(CourseChecks, UnitsNamingNoOrUnknownOutcomesAreWarnedAbout) {
  const Document none = with(complete_course(), "unit1", "outcomes", "");
  const Finding f = one(none, "unit.outcomes");
  EXPECT_EQ(f.level, CheckLevel::warning);
  EXPECT_EQ(f.section, "unit1");
  const Document unknown = with(complete_course(), "unit1", "outcomes", "LO1, LO9");
  const Finding u = one(unknown, "unit.unknown_outcome", "LO9");
  EXPECT_EQ(u.level, CheckLevel::warning);
  EXPECT_EQ(u.message, "Unit 1 names LO9, which is not one of the course's learning outcomes.");
  EXPECT_TRUE(with_code(complete_course(), "unit.unknown_outcome").empty());
}

TEST(CourseChecks, TwoOutcomesWithOneIdAreAnError) {
  const Document d = with(complete_course(), "course", "outcomes", "LO1: a\nLO2: b\nLO2: c");
  const Finding f = one(d, "outcome.duplicate", "LO2");
  EXPECT_EQ(f.level, CheckLevel::error);
}

TEST(CourseChecks, EachTemplateSectionMustBeWritten) {
  const Document good = complete_course();
  EXPECT_EQ(with_code(good, "section.written").size(), 5u);
  const Document bad = with(good, "support", "body", "  \n");
  std::vector<Finding> errors;
  for (const Finding& f : with_code(bad, "section.written")) {
    if (f.level == CheckLevel::error) errors.push_back(f);
  }
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].section, "support");
  EXPECT_EQ(errors[0].field, "body");
  EXPECT_EQ(errors[0].message,
            "Institutional support is still empty: write it before it goes to the partners for "
            "approval.");
}

TEST(EctsParsing, ReadsWholeAndDecimalCreditsWithAPointOrAComma) {
  EXPECT_EQ(parse_ects("5"), 500);
  EXPECT_EQ(parse_ects("2.5"), 250);
  EXPECT_EQ(parse_ects("2,5"), 250);
  EXPECT_EQ(parse_ects("0.25"), 25);
  EXPECT_EQ(parse_ects(" 7,5 \n"), 750);
  EXPECT_EQ(parse_ects("5 ECTS"), 500);
  EXPECT_EQ(parse_ects("5ects"), 500);
  EXPECT_EQ(parse_ects("2.5 credits"), 250);
  EXPECT_EQ(parse_ects("3 ECTS credits"), 300);
  EXPECT_EQ(parse_ects("1000"), 100000);
}

TEST(EctsParsing, RefusesWhatIsNotOnePositiveNumberOfCredits) {
  for (const char* bad :
       {"",        " ",  "0",  "0.0", "0,00", "-5",   "+5",          "five",  "5-6", "2.555",
        "1.000,5", "2.", ".5", ",5",  "5 5",  "ECTS", "5 ECTS ECTS", "10000", "5e1", "٥"}) {
    EXPECT_FALSE(parse_ects(bad).has_value()) << "\"" << bad << "\"";
  }
}

TEST(EctsParsing, FormatsHundredthsPlainly) {
  EXPECT_EQ(format_ects(500), "5");
  EXPECT_EQ(format_ects(450), "4.5");
  EXPECT_EQ(format_ects(225), "2.25");
  EXPECT_EQ(format_ects(5), "0.05");
}

TEST(OutcomeParsing, ReadsIdsAsWrittenAndNumbersTheRest) {
  const auto los = parse_outcomes(
      "LO1: Read data\n\n - LO 2. Judge quality\n• lo-3) Present\n4. Argue\nReflect on practice\n"
      "LO2b: A part outcome");
  ASSERT_EQ(los.size(), 6u);
  EXPECT_EQ(los[0], (LearningOutcome{"LO1", "Read data"}));
  EXPECT_EQ(los[1], (LearningOutcome{"LO2", "Judge quality"}));
  EXPECT_EQ(los[2], (LearningOutcome{"LO3", "Present"}));
  EXPECT_EQ(los[3], (LearningOutcome{"LO4", "Argue"}));
  EXPECT_EQ(los[4], (LearningOutcome{"LO5", "Reflect on practice"}));
  EXPECT_EQ(los[5], (LearningOutcome{"LO2B", "A part outcome"}));
  // A number inside a sentence is not an id.
  EXPECT_EQ(parse_outcomes("Use 3 tools")[0], (LearningOutcome{"LO1", "Use 3 tools"}));
  EXPECT_TRUE(parse_outcomes(" \n\n").empty());
}

TEST(OutcomeParsing, ReadsAUnitsReferences) {
  EXPECT_EQ(parse_outcome_refs("LO1, LO3"), (std::vector<std::string>{"LO1", "LO3"}));
  EXPECT_EQ(parse_outcome_refs("lo2; LO 4 / 5 and LO1."),
            (std::vector<std::string>{"LO2", "LO4", "LO5", "LO1"}));
  EXPECT_EQ(parse_outcome_refs("LO1 LO1"), (std::vector<std::string>{"LO1"}));
  EXPECT_TRUE(parse_outcome_refs("all of them").empty());
  EXPECT_TRUE(parse_outcome_refs("").empty());
}

TEST(ChecksJson, SummarisesAndListsEveryFinding) {
  const Document d = with(complete_course(), "course", "ects", "6");
  const json j = checks_json(d);
  EXPECT_EQ(j["summary"]["error"], 1);
  EXPECT_EQ(j["summary"]["warning"], 0);
  EXPECT_EQ(j["summary"]["ok"], 19);
  ASSERT_EQ(j["findings"].size(), 20u);
  const json first = j["findings"][0];
  EXPECT_EQ(first, json::parse(R"({"code":"annex1.learner_identification","level":"ok",
      "message":"Learner identification is defined: each credential names its learner this way.",
      "section":"course",
      "field":"learner_id","item":""})"));
}

// Locks every live section and records an approval from each institution.
Document approved(Document d, const std::vector<std::string>& team) {
  protocol::DocOp op;
  for (const protocol::Section* s : d.ordered()) {
    op.components.push_back(protocol::SectionLock{s->id});
    for (const auto& inst : team) {
      op.components.push_back(
          protocol::SectionApprove{s->id, inst, protocol::Approval{"u", 1732900000000, "h"}});
    }
  }
  protocol::Status st = protocol::apply(d, op);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  return d;
}

TEST(CourseDescription, IsExportedOnlyForAnApprovedVersion) {
  const std::vector<std::string> team = {"Northsea Open University", "Baltic Distance University"};
  const CourseExportInfo meta{7, "Joint course", team};
  // Not locked.
  auto r = course_description_json(complete_course(), 12, meta);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_approved");
  EXPECT_NE(r.error().message.find("is not locked"), std::string::npos) << r.error().message;
  // Locked, approved by one institution of two.
  r = course_description_json(approved(complete_course(), {team[0]}), 12, meta);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not approved by Baltic Distance University"), std::string::npos)
      << r.error().message;
  // Approved by all, but a check fails.
  r = course_description_json(approved(with(complete_course(), "course", "ects", "6"), team), 12,
                              meta);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("add up to 5 ECTS"), std::string::npos) << r.error().message;
  // No team: nobody has approved it.
  r = course_description_json(approved(complete_course(), team), 12, CourseExportInfo{7, "x", {}});
  ASSERT_FALSE(r.ok());
}

TEST(CourseDescription, HoldsEveryElementOfTheApprovedVersion) {
  const std::vector<std::string> team = {"Northsea Open University", "Baltic Distance University"};
  auto r = course_description_json(approved(complete_course(), team), 12,
                                   CourseExportInfo{7, "Joint course", team});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const json& j = *r;
  EXPECT_EQ(j["format"], "jointly-course-description");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["document"], json::parse(R"({"id":7,"title":"Joint course","rev":12})"));
  EXPECT_EQ(j["title"], "Data literacy for public services");
  EXPECT_EQ(j["awarding_bodies"],
            json::parse(R"(["Northsea Open University","Baltic Distance University"])"));
  EXPECT_EQ(j["countries"], json::parse(R"(["Netherlands","Lithuania"])"));
  // The two elements that differ per learner: how each credential states them.
  EXPECT_EQ(j["per_learner"],
            json::parse(R"({"learner_identification":"Full name and date of birth",
      "date_of_issuing":"On completion of the last unit"})"));
  EXPECT_FALSE(j.contains("date_of_issuing"));
  EXPECT_FALSE(j.contains("learner_identification"));
  EXPECT_EQ(
      j["learning_outcomes"],
      json::parse(R"([{"id":"LO1","text":"Read data"},{"id":"LO2","text":"Judge data quality"}])"));
  EXPECT_EQ(j["workload"], json::parse(R"({"ects":5.0,"text":"5"})"));
  EXPECT_EQ(j["level"], "EQF level 6");
  EXPECT_EQ(j["participation"], "Online");
  EXPECT_EQ(j["quality_assurance"], "Internal review by both partners' programme boards");
  EXPECT_EQ(
      j["assessment"],
      json::parse(R"([{"unit":"unit1","type":"Quiz"},{"unit":"unit2","type":"Case study"}])"));
  ASSERT_EQ(j["units"].size(), 2u);
  EXPECT_EQ(j["units"][0], json::parse(R"({"id":"unit1","title":"Unit 1","ects":2.5,
      "learning_outcomes":["LO1"],"assessment":"Quiz"})"));
  ASSERT_EQ(j["sections"].size(), 5u);
  EXPECT_EQ(j["sections"][0]["id"], "vision");
  EXPECT_EQ(j["sections"][0]["text"], "Written by the course team.");
  EXPECT_EQ(j["approvals"]["vision"].size(), 2u);
  EXPECT_EQ(j["approvals"]["vision"]["Northsea Open University"],
            json::parse(R"({"user":"u","time":1732900000000})"));
}

}  // namespace
}  // namespace jointly::server
