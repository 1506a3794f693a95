// The course checks and the course description export: see server/course_checks.hpp.
#include "server/course_checks.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "server/templates.hpp"

namespace jointly::server {
namespace {

using json = nlohmann::json;
using protocol::Document;
using protocol::Section;

constexpr std::string_view kSpace = " \t\r\n";

std::string_view trim(std::string_view s) {
  const auto from = s.find_first_not_of(kSpace);
  if (from == std::string_view::npos) return {};
  return s.substr(from, s.find_last_not_of(kSpace) - from + 1);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char upper(char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return upper(x) == upper(y); });
}

// The lines of text, each trimmed, blank ones left out.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    if (!line.empty()) out.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

// An outcome id at the start of s: letters (0..6), an optional space or dash, digits (1..3), an
// optional lower-case letter ("LO2b"). Sets id (normalised) and returns its length, or 0.
std::size_t read_outcome_id(std::string_view s, std::string& id) {
  std::size_t i = 0;
  std::string letters;
  while (i < s.size() && is_letter(s[i]) && letters.size() < 7) letters += upper(s[i++]);
  if (letters.size() > 6) return 0;
  if (!letters.empty() && i < s.size() && (s[i] == ' ' || s[i] == '-')) ++i;
  const std::size_t digits_from = i;
  while (i < s.size() && is_digit(s[i]) && i - digits_from < 4) ++i;
  const std::size_t digits = i - digits_from;
  if (digits == 0 || digits > 3) return 0;
  std::string suffix;
  if (i < s.size() && s[i] >= 'a' && s[i] <= 'z' && (i + 1 == s.size() || !is_letter(s[i + 1]))) {
    suffix = upper(s[i++]);
  }
  id = (letters.empty() ? std::string("LO") : letters) +
       std::string(s.substr(digits_from, digits)) + suffix;
  return i;
}

// The text of a named field of s, trimmed; "" when s is null or has no such field.
std::string field_text(const Section* s, std::string_view name) {
  if (!s) return {};
  const protocol::Rope* r = s->field(name);
  return r ? std::string(trim(r->to_string())) : std::string();
}

std::string display_title(const Section& s, const char* fallback) {
  std::string t(trim(s.title.to_string()));
  return t.empty() ? std::string(fallback) : t;
}

// What the checks read from a document.
struct Course {
  const Section* course = nullptr;                // the first live "course" section
  std::size_t course_sections = 0;                // how many live "course" sections there are
  std::vector<const Section*> units;              // live "unit" sections in document order
  std::vector<const Section*> template_sections;  // live sections with a prompt
};

Course read_course(const Document& doc) {
  Course c;
  for (const Section* s : doc.ordered()) {
    if (s->kind == kCourseKind) {
      if (!c.course) c.course = s;
      ++c.course_sections;
    } else if (s->kind == kUnitKind) {
      c.units.push_back(s);
    }
    const protocol::Rope* prompt = s->field(protocol::kPromptField);
    if (prompt && !prompt->empty()) c.template_sections.push_back(s);
  }
  return c;
}

class Checker {
 public:
  explicit Checker(const Document& doc) : c_(read_course(doc)) {}

  std::vector<Finding> run() {
    course_section();
    annex1();
    units();
    ects_sum();
    outcomes();
    template_sections();
    return std::move(out_);
  }

 private:
  void add(std::string code, CheckLevel level, std::string message, std::string section = {},
           std::string field = {}, std::string item = {}) {
    out_.push_back(Finding{std::move(code), level, std::move(message), std::move(section),
                           std::move(field), std::move(item)});
  }
  std::string course_id() const { return c_.course ? c_.course->id : std::string(); }

  void course_section() {
    if (!c_.course) {
      add("course.present", CheckLevel::error,
          "The document has no course details section: add one to record the course's title, "
          "credits, level and learning outcomes.");
    } else if (c_.course_sections > 1) {
      add("course.present", CheckLevel::warning,
          "The document has " + std::to_string(c_.course_sections) +
              " course details sections; the checks read only the first.",
          course_id());
    }
  }

  // One Annex I element read from a course field: ok when it is filled in. defined: the ok
  // message; ask: what to do, after "<what> is missing: ".
  void element(const char* code, const char* field, const std::string& defined_message,
               const char* what, const char* ask) {
    const bool defined = !field_text(c_.course, field).empty();
    add(code, defined ? CheckLevel::ok : CheckLevel::error,
        defined ? defined_message : std::string(what) + " is missing: " + ask, course_id(), field);
  }
  // An element that is the same for every learner: "<what> is defined."
  void element(const char* code, const char* field, const char* what, const char* ask) {
    element(code, field, std::string(what) + " is defined.", what, ask);
  }

  void annex1() {
    // Learner identification and the date of issuing differ for each learner: the course says
    // how each credential states them (PROTOCOL.md, "The checks").
    element("annex1.learner_identification", "learner_id",
            "Learner identification is defined: each credential names its learner this way.",
            "Learner identification",
            "it differs for each learner, so say which details identify the learner on each "
            "credential (e.g. full name and date of birth).");
    element("annex1.title", "course_title", "The title of the micro-credential",
            "give the course its title.");
    element("annex1.issuer_country", "countries", "The country or region of the issuer",
            "name the country or region of each awarding institution.");
    element("annex1.awarding_body", "awarding_bodies", "The awarding body",
            "name the awarding institutions.");
    element("annex1.issue_date", "issue_date",
            "The date of issuing is defined: each credential is dated this way.",
            "The date of issuing",
            "it differs for each learner, so say when a learner's credential is issued (e.g. "
            "on passing the final assessment).");
    const auto los = parse_outcomes(field_text(c_.course, "outcomes"));
    add("annex1.learning_outcomes", los.empty() ? CheckLevel::error : CheckLevel::ok,
        los.empty() ? "The learning outcomes are missing: list them, one per line."
                    : "The learning outcomes are defined (" + std::to_string(los.size()) + ").",
        course_id(), "outcomes");
    const std::string ects = field_text(c_.course, "ects");
    const auto total = parse_ects(ects);
    add("annex1.workload", total ? CheckLevel::ok : CheckLevel::error,
        total ? "The workload is defined: " + format_ects(*total) + " ECTS."
        : ects.empty()
            ? std::string("The workload in ECTS is missing: give the course's total credits.")
            : "The workload in ECTS is not a number of credits: \"" + ects +
                  "\" (write e.g. 5 or 2.5).",
        course_id(), "ects");
    element("annex1.level", "eqf_level", "The level (EQF or QF-EHEA)",
            "give the course's EQF level (and its QF-EHEA cycle, if it has one).");
    annex1_assessment();
    element("annex1.participation", "participation", "The form of participation",
            "say how learners take part: online, on site or blended.");
    element("annex1.quality_assurance", "quality_assurance", "The type of quality assurance",
            "say which quality assurance underpins the credential.");
  }

  void annex1_assessment() {
    if (c_.units.empty()) {
      add("annex1.assessment", CheckLevel::error,
          "The type of assessment is missing: add the microlearning units and how each is "
          "assessed.",
          course_id());
      return;
    }
    for (const Section* u : c_.units) {
      if (field_text(u, "assessment").empty()) {
        add("annex1.assessment", CheckLevel::error,
            "The type of assessment is missing for " + display_title(*u, "a unit") +
                ": say how the unit is assessed.",
            u->id, "assessment");
        return;
      }
    }
    add("annex1.assessment", CheckLevel::ok, "The type of assessment is defined for every unit.",
        c_.units.front()->id, "assessment");
  }

  void units() {
    if (c_.units.empty()) {
      add("units.present", CheckLevel::error,
          "The course has no microlearning units yet: add at least one.", course_id());
      return;
    }
    add("units.present", CheckLevel::ok,
        "The course has " + std::to_string(c_.units.size()) + " microlearning unit" +
            (c_.units.size() == 1 ? "." : "s."));
    const auto known = outcome_ids();
    for (const Section* u : c_.units) {
      const std::string name = display_title(*u, "A unit");
      const std::string ects = field_text(u, "ects");
      if (ects.empty()) {
        add("unit.ects", CheckLevel::error, name + " has no workload in ECTS.", u->id, "ects");
      } else if (!parse_ects(ects)) {
        add("unit.ects", CheckLevel::error,
            name + "'s workload is not a number of credits: \"" + ects +
                "\" (write e.g. 2 or 2.5).",
            u->id, "ects");
      }
      const auto refs = parse_outcome_refs(field_text(u, "outcomes"));
      if (refs.empty()) {
        add("unit.outcomes", CheckLevel::warning,
            name + " names no learning outcome that it assesses.", u->id, "outcomes");
      }
      for (const auto& r : refs) {
        if (!known.count(r)) {
          add("unit.unknown_outcome", CheckLevel::warning,
              name + " names " + r + ", which is not one of the course's learning outcomes.", u->id,
              "outcomes", r);
        }
      }
    }
  }

  std::set<std::string> outcome_ids() const {
    std::set<std::string> ids;
    for (const auto& o : parse_outcomes(field_text(c_.course, "outcomes"))) ids.insert(o.id);
    return ids;
  }

  void ects_sum() {
    const auto total = parse_ects(field_text(c_.course, "ects"));
    std::int64_t sum = 0;
    std::size_t unreadable = 0;
    for (const Section* u : c_.units) {
      if (auto e = parse_ects(field_text(u, "ects"))) {
        sum += *e;
      } else {
        ++unreadable;
      }
    }
    std::string message;
    if (!total) {
      message = "The units' credits cannot be added up yet: the course's total ECTS is missing.";
    } else if (c_.units.empty()) {
      message = "The units' credits cannot be added up yet: there are no units.";
    } else if (unreadable > 0) {
      message = "The units' credits cannot be added up yet: " + std::to_string(unreadable) +
                " unit" + (unreadable == 1 ? " has" : "s have") + " no readable ECTS value.";
    } else if (sum != *total) {
      message = "The units' credits add up to " + format_ects(sum) + " ECTS, but the course's " +
                "total is " + format_ects(*total) + " ECTS.";
    }
    if (message.empty()) {
      add("ects.sum", CheckLevel::ok,
          "The units' credits add up to the course's total of " + format_ects(*total) + " ECTS.",
          course_id(), "ects");
    } else {
      add("ects.sum", CheckLevel::error, std::move(message), course_id(), "ects");
    }
  }

  void outcomes() {
    std::map<std::string, std::vector<std::string>> assessed_by;  // outcome -> unit titles
    for (const Section* u : c_.units) {
      for (const auto& r : parse_outcome_refs(field_text(u, "outcomes"))) {
        assessed_by[r].push_back(display_title(*u, "a unit"));
      }
    }
    std::set<std::string> seen;
    for (const auto& o : parse_outcomes(field_text(c_.course, "outcomes"))) {
      if (!seen.insert(o.id).second) {
        add("outcome.duplicate", CheckLevel::error,
            "Two learning outcomes have the id " + o.id + ": give each its own.", course_id(),
            "outcomes", o.id);
        continue;
      }
      auto it = assessed_by.find(o.id);
      if (it == assessed_by.end()) {
        add("outcome.assessed", CheckLevel::error,
            "Learning outcome " + o.id + " is not assessed by any unit.", course_id(), "outcomes",
            o.id);
      } else {
        std::string units;
        for (const auto& t : it->second) units += (units.empty() ? "" : ", ") + t;
        add("outcome.assessed", CheckLevel::ok,
            "Learning outcome " + o.id + " is assessed in " + units + ".", course_id(), "outcomes",
            o.id);
      }
    }
  }

  void template_sections() {
    for (const Section* s : c_.template_sections) {
      const std::string name = display_title(*s, "A section");
      if (s->incomplete()) {
        add("section.written", CheckLevel::error,
            name + " is still empty: write it before it goes to the partners for approval.", s->id,
            "body");
      } else {
        add("section.written", CheckLevel::ok, name + " is written.", s->id, "body");
      }
    }
  }

  Course c_;
  std::vector<Finding> out_;
};

json lines_json(std::string_view text) {
  json out = json::array();
  for (auto line : lines_of(text)) out.push_back(std::string(line));
  return out;
}

json ects_json(std::string_view text) {
  const auto v = parse_ects(text);
  if (!v) return nullptr;
  return static_cast<double>(*v) / 100.0;
}

}  // namespace

std::string_view level_name(CheckLevel level) {
  switch (level) {
    case CheckLevel::ok:
      return "ok";
    case CheckLevel::warning:
      return "warning";
    case CheckLevel::error:
      return "error";
  }
  return "error";
}

std::vector<Finding> course_checks(const protocol::Document& doc) { return Checker(doc).run(); }

nlohmann::json checks_json(const protocol::Document& doc) {
  json findings = json::array();
  std::map<std::string_view, int> counts{{"ok", 0}, {"warning", 0}, {"error", 0}};
  for (const Finding& f : course_checks(doc)) {
    ++counts[level_name(f.level)];
    findings.push_back({{"code", f.code},
                        {"level", level_name(f.level)},
                        {"message", f.message},
                        {"section", f.section},
                        {"field", f.field},
                        {"item", f.item}});
  }
  json summary = json::object();
  for (const auto& [level, n] : counts) summary[std::string(level)] = n;
  return {{"summary", std::move(summary)}, {"findings", std::move(findings)}};
}

std::optional<std::int64_t> parse_ects(std::string_view text) {
  std::string_view s = trim(text);
  // An optional unit after the number: "ECTS", "credits", "ECTS credits" (any case).
  for (std::string_view unit : {"ects credits", "credits", "ects"}) {
    if (s.size() > unit.size() && iequals(s.substr(s.size() - unit.size()), unit)) {
      s = trim(s.substr(0, s.size() - unit.size()));
      break;
    }
  }
  std::size_t i = 0;
  std::int64_t whole = 0;
  while (i < s.size() && is_digit(s[i])) {
    if (i >= 4) return std::nullopt;  // 10,000 credits and more: not a course
    whole = whole * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::int64_t hundredths = whole * 100;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    const std::size_t from = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    const std::size_t n = i - from;
    if (n == 0 || n > 2) return std::nullopt;
    std::int64_t frac = 0;
    for (std::size_t k = from; k < i; ++k) frac = frac * 10 + (s[k] - '0');
    hundredths += n == 1 ? frac * 10 : frac;
  }
  if (i != s.size() || hundredths <= 0) return std::nullopt;
  return hundredths;
}

std::string format_ects(std::int64_t hundredths) {
  std::string out = std::to_string(hundredths / 100);
  const std::int64_t frac = hundredths % 100;
  if (frac != 0) {
    out += '.';
    out += static_cast<char>('0' + frac / 10);
    if (frac % 10 != 0) out += static_cast<char>('0' + frac % 10);
  }
  return out;
}

std::vector<LearningOutcome> parse_outcomes(std::string_view text) {
  std::vector<LearningOutcome> out;
  for (std::string_view line : lines_of(text)) {
    for (std::string_view bullet : {"-", "*", "\xE2\x80\xA2"}) {  // U+2022 BULLET
      if (line.substr(0, bullet.size()) == bullet) {
        line = trim(line.substr(bullet.size()));
        break;
      }
    }
    if (line.empty()) continue;
    LearningOutcome o;
    const std::size_t n = read_outcome_id(line, o.id);
    const std::string_view rest = n ? trim(line.substr(n)) : std::string_view();
    // An id counts only when a separator follows it: "LO1: ...", "2. ...", "LO3) ...".
    if (n && !rest.empty() && (rest[0] == ':' || rest[0] == '.' || rest[0] == ')')) {
      o.text = std::string(trim(rest.substr(1)));
    } else {
      o.id = "LO" + std::to_string(out.size() + 1);
      o.text = std::string(line);
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<std::string> parse_outcome_refs(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  auto separator = [](char c) {
    return c == ',' || c == ';' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (i < text.size()) {
    while (i < text.size() && separator(text[i])) ++i;
    std::size_t end = i;
    while (end < text.size() && !separator(text[end])) ++end;
    std::string_view token = text.substr(i, end - i);
    // "LO 1" is one reference: join a bare prefix with the number after it.
    if (!token.empty() && std::all_of(token.begin(), token.end(), is_letter) && end < text.size() &&
        text[end] == ' ' && end + 1 < text.size() && is_digit(text[end + 1])) {
      std::size_t next = end + 1;
      while (next < text.size() && !separator(text[next])) ++next;
      token = text.substr(i, next - i);
      end = next;
    }
    while (!token.empty() && (token.back() == '.' || token.back() == ')')) token.remove_suffix(1);
    std::string id;
    if (!token.empty() && read_outcome_id(token, id) == token.size() &&
        std::find(out.begin(), out.end(), id) == out.end()) {
      out.push_back(std::move(id));
    }
    i = end;
  }
  return out;
}

protocol::Result<nlohmann::json> course_description_json(const protocol::Document& doc,
                                                         std::uint64_t rev,
                                                         const CourseExportInfo& meta) {
  // Approved: every live section locked and approved by the whole team, no error finding.
  std::vector<std::string> missing;
  if (meta.team.empty()) missing.push_back("the document has no team to approve it");
  for (const Section* s : doc.ordered()) {
    const std::string name = "\"" + display_title(*s, s->id.c_str()) + "\"";
    if (!s->locked) {
      missing.push_back(name + " is not locked");
      continue;
    }
    for (const auto& inst : meta.team) {
      if (!s->approvals.count(inst)) missing.push_back(name + " is not approved by " + inst);
    }
  }
  for (const Finding& f : course_checks(doc)) {
    if (f.level == CheckLevel::error) missing.push_back(f.message);
  }
  if (!missing.empty()) {
    std::string message = "this version is not approved: ";
    const std::size_t shown = std::min<std::size_t>(missing.size(), 5);
    for (std::size_t i = 0; i < shown; ++i) message += (i ? "; " : "") + missing[i];
    if (missing.size() > shown) {
      message += "; and " + std::to_string(missing.size() - shown) + " more";
    }
    return protocol::make_error("not_approved", message);
  }

  const Course c = read_course(doc);
  const Section* course = c.course;
  auto f = [&](const char* name) { return field_text(course, name); };
  json outcomes = json::array();
  for (const auto& o : parse_outcomes(f("outcomes"))) {
    outcomes.push_back({{"id", o.id}, {"text", o.text}});
  }
  json units = json::array();
  json assessment = json::array();
  for (const Section* u : c.units) {
    const std::string title(trim(u->title.to_string()));
    units.push_back({{"id", u->id},
                     {"title", title},
                     {"ects", ects_json(field_text(u, "ects"))},
                     {"learning_outcomes", parse_outcome_refs(field_text(u, "outcomes"))},
                     {"assessment", field_text(u, "assessment")}});
    assessment.push_back({{"unit", u->id}, {"type", field_text(u, "assessment")}});
  }
  json sections = json::array();
  json approvals = json::object();
  for (const Section* s : doc.ordered()) {
    if (s->kind.empty()) {
      sections.push_back(
          {{"id", s->id}, {"title", s->title.to_string()}, {"text", s->body.to_string()}});
    }
    json a = json::object();
    for (const auto& [inst, ap] : s->approvals) {
      a[inst] = {{"user", ap.user}, {"time", ap.time_ms}};
    }
    approvals[s->id] = std::move(a);
  }
  return json{
      {"format", "jointly-course-description"},
      {"version", 1},
      {"document", {{"id", meta.document_id}, {"title", meta.document_title}, {"rev", rev}}},
      {"title", f("course_title")},
      {"awarding_bodies", lines_json(f("awarding_bodies"))},
      {"countries", lines_json(f("countries"))},
      {"per_learner",
       {{"learner_identification", f("learner_id")}, {"date_of_issuing", f("issue_date")}}},
      {"learning_outcomes", std::move(outcomes)},
      {"workload", {{"ects", ects_json(f("ects"))}, {"text", f("ects")}}},
      {"level", f("eqf_level")},
      {"assessment", std::move(assessment)},
      {"participation", f("participation")},
      {"quality_assurance", f("quality_assurance")},
      {"prerequisites", f("prerequisites")},
      {"stackability", f("stackability")},
      {"units", std::move(units)},
      {"sections", std::move(sections)},
      {"approvals", std::move(approvals)},
  };
}

}  // namespace jointly::server
