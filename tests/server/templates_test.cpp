// Tests of server/templates.hpp: every template is a valid document; the course template has the
// five design steps with their prompts, the course section with every structured field and a
// unit; the demo is a partly filled course.
#include "server/templates.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/course_checks.hpp"

namespace jointly::server {
namespace {

using protocol::Document;
using protocol::Section;

std::vector<std::string> ids_in_order(const Document& d) {
  std::vector<std::string> out;
  for (const Section* s : d.ordered()) out.push_back(s->id);
  return out;
}

TEST(Templates, BlankIsOneEmptyProseSection) {
  auto d = make_template("blank");
  ASSERT_TRUE(d);
  ASSERT_EQ(ids_in_order(*d), std::vector<std::string>{"intro"});
  const Section* s = d->find("intro");
  EXPECT_EQ(s->kind, "");
  EXPECT_TRUE(s->fields.empty());
  EXPECT_EQ(s->text_bytes(), 0u);
  // Written as a version 1 snapshot, as before kinds and fields.
  EXPECT_EQ(protocol::to_json(*d)["v"], 1);
}

TEST(Templates, UnknownNamesHaveNoTemplate) {
  EXPECT_FALSE(make_template("Course"));
  EXPECT_FALSE(make_template(""));
}

TEST(Templates, CourseHasTheFiveStepsEachWithAPromptAndAnEmptyBody) {
  auto d = make_template("course");
  ASSERT_TRUE(d);
  EXPECT_EQ(ids_in_order(*d), (std::vector<std::string>{"vision", "policy", "support", "team",
                                                        "outcomes", "course", "unit1"}));
  const char* titles[] = {
      "Joint vision", "Alignment with institutional and cross-institutional policies",
      "Institutional support", "The course team", "The course and its microlearning units"};
  const char* ids[] = {"vision", "policy", "support", "team", "outcomes"};
  for (int i = 0; i < 5; ++i) {
    const Section* s = d->find(ids[i]);
    ASSERT_NE(s, nullptr) << ids[i];
    EXPECT_EQ(s->title.to_string(), titles[i]);
    EXPECT_EQ(s->kind, "");
    EXPECT_TRUE(s->body.empty()) << ids[i] << ": the prompt is a placeholder, not body text";
    const protocol::Rope* prompt = s->field("prompt");
    ASSERT_NE(prompt, nullptr) << ids[i];
    EXPECT_GT(prompt->size(), 40u) << ids[i];
    const char last = prompt->to_string().back();
    EXPECT_TRUE(last == '?' || last == '.') << ids[i] << ": a prompt is whole sentences";
    EXPECT_TRUE(s->incomplete()) << ids[i];
    EXPECT_EQ(s->fields.size(), 1u) << ids[i];
  }
  // A step cannot be locked until the team has written it.
  Document copy = *d;
  auto st = protocol::apply(copy, protocol::DocOp{{protocol::SectionLock{"vision"}}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "section_incomplete");
}

// Each step's prompt asks about every point of that design step in the EADTU guidelines (the
// issue's list, ../shared/domain): the words a team looks for are in it.
TEST(Templates, EachPromptCoversItsDesignStep) {
  auto d = make_template("course");
  ASSERT_TRUE(d);
  const std::vector<std::pair<const char*, std::vector<const char*>>> steps = {
      {"vision",
       {"need", "academic and professional profile", "learners", "objectives",
        "unique selling point", "courses and programmes", "stack"}},
      {"policy",
       {"mission", "continuing education and professional development", "time learners have",
        "working together", "attractive and competitive", "MOOC policy"}},
      {"support",
       {"programme boards", "teaching and learning support", "internationalisation", "IT",
        "student administration", "continuing education"}},
      {"team", {"course leader", "team partners", "share the tasks"}},
      {"outcomes",
       {"microlearning units", "learning outcomes", "ECTS", "level", "assessment", "participation",
        "quality assurance", "recognition", "certification"}},
  };
  for (const auto& [id, words] : steps) {
    const std::string prompt = d->find(id)->field("prompt")->to_string();
    for (const char* w : words) {
      EXPECT_NE(prompt.find(w), std::string::npos) << id << " lacks \"" << w << "\": " << prompt;
    }
  }
}

TEST(Templates, CourseHasTheCourseSectionWithEveryStructuredFieldEmpty) {
  auto d = make_template("course");
  ASSERT_TRUE(d);
  const Section* c = d->find("course");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, kCourseKind);
  ASSERT_EQ(c->fields.size(), kCourseFields.size());
  for (std::string_view name : kCourseFields) {
    const protocol::Rope* f = c->field(name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_TRUE(f->empty()) << name;
  }
  for (std::string_view name : {"course_title", "awarding_bodies", "countries", "ects", "eqf_level",
                                "participation", "quality_assurance", "prerequisites",
                                "stackability", "outcomes", "issue_date", "learner_id"}) {
    EXPECT_NE(c->field(name), nullptr) << name;
  }
  EXPECT_EQ(c->field("prompt"), nullptr);
  const Section* u = d->find("unit1");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->kind, kUnitKind);
  ASSERT_EQ(u->fields.size(), kUnitFields.size());
  for (std::string_view name : {"ects", "outcomes", "assessment"}) {
    EXPECT_NE(u->field(name), nullptr) << name;
  }
  // The snapshot is version 2 and reads back equal.
  const auto j = protocol::to_json(*d);
  EXPECT_EQ(j["v"], 2);
  auto back = protocol::parse_document(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, *d);
}

TEST(Templates, AnEmptyCourseFailsEveryMandatoryElement) {
  auto d = make_template("course");
  ASSERT_TRUE(d);
  int annex_errors = 0;
  for (const Finding& f : course_checks(*d)) {
    if (f.code.rfind("annex1.", 0) == 0) {
      EXPECT_EQ(f.level, CheckLevel::error) << f.code;
      ++annex_errors;
    }
  }
  EXPECT_EQ(annex_errors, 11);
}

TEST(Templates, DemoIsAPartlyFilledCourse) {
  auto d = make_template("demo");
  ASSERT_TRUE(d);
  EXPECT_EQ(ids_in_order(*d), (std::vector<std::string>{"vision", "policy", "support", "team",
                                                        "outcomes", "course", "unit1", "unit2"}));
  EXPECT_FALSE(d->find("vision")->incomplete());
  EXPECT_TRUE(d->find("policy")->incomplete());
  EXPECT_EQ(d->find("course")->field("course_title")->to_string(),
            "Data literacy for public services");
  // It shows the checks at work: some pass, some do not.
  int ok = 0, error = 0;
  for (const Finding& f : course_checks(*d)) (f.level == CheckLevel::ok ? ok : error)++;
  EXPECT_GT(ok, 10);
  EXPECT_GT(error, 3);
}

}  // namespace
}  // namespace jointly::server
