// Document templates: see server/templates.hpp.
#include "server/templates.hpp"

#include <string>
#include <utility>
#include <vector>

namespace jointly::server {
namespace {

using protocol::DocOp;
using protocol::Document;
using protocol::FieldTexts;
using protocol::SectionAdd;

// One section of a template: prose (kind "") or structured, with its named fields' first text.
struct Seed {
  std::string id;
  std::string title;
  std::string body;
  std::string kind;
  FieldTexts fields;
};

// Builds a document of these sections, in this order, through the document model's own add
// operation (so a template is always a valid document).
std::optional<Document> build(const std::vector<Seed>& seeds) {
  Document doc;
  DocOp op;
  std::string last;
  for (const auto& s : seeds) {
    auto pos = protocol::position_between(last, "");
    if (!pos) return std::nullopt;
    last = *pos;
    op.components.push_back(SectionAdd{s.id, last, s.title, s.body, s.kind, s.fields});
  }
  if (!protocol::apply(doc, op)) return std::nullopt;
  return doc;
}

// The five design steps: id, title, prompt.
struct Step {
  const char* id;
  const char* title;
  const char* prompt;
};

constexpr Step kSteps[] = {
    {"vision", "Joint vision",
     "What need does the course answer, and for whom? Describe the academic and professional "
     "profile, the learners and what they bring, the objectives and the course's unique "
     "selling point. How does it relate to courses and programmes the partners already run, "
     "and how can learners stack it with other credentials?"},
    {"policy", "Alignment with institutional and cross-institutional policies",
     "How does the course fit each partner's mission, policies and strategy for continuing "
     "education and professional development? Say how it suits the time learners have, what "
     "the partners gain in quality by working together, what makes it attractive and "
     "competitive, and how it connects with each partner's MOOC policy."},
    {"support", "Institutional support",
     "Which services does each partner involve: programme boards, teaching and learning "
     "support, internationalisation support, IT, student administration, the centre for "
     "continuing education? Write down what each has agreed to do."},
    {"team", "The course team",
     "Who is the course leader, and who are the team partners? How do you share the tasks and "
     "take decisions together across the universities?"},
    {"outcomes", "The course and its microlearning units",
     "How is the course built from its microlearning units, and how do learners move through "
     "them? Cover the learning outcomes, workload in ECTS, level, assessment, form of "
     "participation, quality assurance, recognition and certification. Fill in the course "
     "details and each unit's details below."},
};

FieldTexts empty_fields(const auto& names) {
  FieldTexts out;
  for (std::string_view n : names) out.emplace(std::string(n), "");
  return out;
}

Seed step(const Step& s, std::string body = {}) {
  return Seed{s.id, s.title, std::move(body), "", FieldTexts{{"prompt", s.prompt}}};
}

Seed course(FieldTexts values) {
  FieldTexts fields = empty_fields(kCourseFields);
  for (auto& [name, text] : values) fields[name] = std::move(text);
  return Seed{"course", "Course details", "", std::string(kCourseKind), std::move(fields)};
}

Seed unit(std::string id, std::string title, FieldTexts values) {
  FieldTexts fields = empty_fields(kUnitFields);
  for (auto& [name, text] : values) fields[name] = std::move(text);
  return Seed{std::move(id), std::move(title), "", std::string(kUnitKind), std::move(fields)};
}

std::vector<Seed> course_template() {
  std::vector<Seed> seeds;
  for (const Step& s : kSteps) seeds.push_back(step(s));
  seeds.push_back(course({}));
  seeds.push_back(unit("unit1", "Unit 1", {}));
  return seeds;
}

// An invented course, partly designed: two steps still to write, two course details missing,
// the units' credits not yet adding up and one learning outcome not yet assessed.
std::vector<Seed> demo() {
  return {
      step(kSteps[0],
           "Public services across Europe collect more data than their staff can use. Civil "
           "servants and municipal officers need to read, question and present data in their "
           "daily work, without becoming data scientists.\n\nLearners are working "
           "professionals with a bachelor's degree or equivalent experience; most study part "
           "time, in the evening. The course is short, online and stackable towards the "
           "partners' master's programmes in public administration."),
      step(kSteps[1]),
      step(kSteps[2]),
      step(kSteps[3],
           "Northsea Open University leads the course: its course leader chairs a fortnightly "
           "team meeting. Each partner writes and teaches one unit and reviews another "
           "partner's unit before it opens."),
      step(kSteps[4],
           "Three microlearning units of four to five weeks each, taken in order. Each unit "
           "ends with an assessment; learners who pass all three receive the micro-credential, "
           "issued jointly by the three partners."),
      course({
          {"course_title", "Data literacy for public services"},
          {"awarding_bodies",
           "Northsea Open University\nUniversidad Abierta del Sur\nBaltic Distance University"},
          {"countries", "Netherlands\nSpain\nLithuania"},
          {"ects", "5"},
          {"eqf_level", "EQF level 6"},
          {"participation", "Online, part time, with two live seminars per unit"},
          {"prerequisites", "A bachelor's degree or three years of work in a public service"},
          {"stackability",
           "Counts as an elective towards the partners' master's programmes "
           "in public administration"},
          {"outcomes",
           "LO1: Read and question data tables and charts used in public decisions\n"
           "LO2: Judge the quality and the limits of a data set\n"
           "LO3: Present findings from data to colleagues and citizens"},
          {"learner_id", "Full name, date of birth and the learner's student number"},
      }),
      unit("unit1", "Unit 1: Reading data",
           {{"ects", "2,5"}, {"outcomes", "LO1"}, {"assessment", "Online quiz and short report"}}),
      unit("unit2", "Unit 2: Data quality",
           {{"ects", "1.5"}, {"outcomes", "LO2"}, {"assessment", "Peer-reviewed case study"}}),
  };
}

}  // namespace

std::optional<protocol::Document> make_template(std::string_view name) {
  if (name == "blank") return build({Seed{"intro", "", "", "", {}}});
  if (name == "course") return build(course_template());
  if (name == "demo") return build(demo());
  return std::nullopt;
}

}  // namespace jointly::server
