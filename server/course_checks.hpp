// The course checks: what a course-design document (server/templates.hpp, template "course")
// still lacks before the partners sign it off, and its machine-readable course description.
//
// course_checks() reads one document and lists findings, in a fixed order:
//   - the mandatory elements of a micro-credential (Council Recommendation 2022/C 243/02,
//     Annex I), each "ok" or "error": learner identification, title, country or region of the
//     issuer, awarding body, date of issuing, learning outcomes, workload in ECTS, level, type of
//     assessment, form of participation, type of quality assurance;
//   - the units: there is at least one, each has a readable ECTS value, an assessment type and
//     the outcomes it assesses; their credits add up to the course's total;
//   - each learning outcome of the course is assessed by at least one unit;
//   - each template section (one with a prompt) has been written.
// Every finding has a stable code, a level, a plain-English message in the course team's words
// and the section (and field) it links to. The rules and codes are in protocol/PROTOCOL.md,
// "Course template and checks".
//
// Pure functions of their arguments; callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "protocol/document.hpp"
#include "protocol/result.hpp"

namespace jointly::server {

enum class CheckLevel : std::uint8_t { ok, warning, error };

// "ok", "warning" or "error".
std::string_view level_name(CheckLevel level);

struct Finding {
  std::string code;  // stable, e.g. "annex1.title", "ects.sum", "outcome.assessed"
  CheckLevel level = CheckLevel::ok;
  std::string message;  // plain English, for the checklist
  std::string section;  // the section it links to; "" when there is none (no course section)
  std::string field;    // the field in that section; "" for the section as a whole
  std::string item;     // what in the field: an outcome id ("LO2"), a unit's reference; or ""

  friend bool operator==(const Finding&, const Finding&) = default;
};

// The findings for doc, in the order above.
std::vector<Finding> course_checks(const protocol::Document& doc);

// {"summary":{"ok":N,"warning":N,"error":N},"findings":[{"code","level","message","section",
// "field","item"}, ...]}: the answer of GET /api/documents/:id/checks.
nlohmann::json checks_json(const protocol::Document& doc);

// ---- Reading the course's fields (exposed for tests and the export) --------------------------

// An ECTS value in hundredths of a credit: "5", "2.5", "2,5", "0.25", " 5 ECTS ", "7.5 credits".
// Nothing for an empty, negative, zero or unreadable value ("five", "5-6", "2.555", "1.000,5").
std::optional<std::int64_t> parse_ects(std::string_view text);
// 450 -> "4.5", 500 -> "5", 225 -> "2.25".
std::string format_ects(std::int64_t hundredths);

struct LearningOutcome {
  std::string id;  // "LO1": as written ("LO1:", "LO 1.", "lo-1)") in upper case without spaces
                   // or dashes; "1." gives "LO1"; a line without one gets "LO<its number>"
  std::string text;
  friend bool operator==(const LearningOutcome&, const LearningOutcome&) = default;
};
// The learning outcomes of a course's "outcomes" field: one per non-blank line, a leading
// bullet ("-", "*", "•") ignored.
std::vector<LearningOutcome> parse_outcomes(std::string_view text);
// The outcome ids a unit's "outcomes" field names: tokens split at commas, semicolons, slashes
// and white space, normalised like LearningOutcome::id; words that are no id ("and") skipped.
std::vector<std::string> parse_outcome_refs(std::string_view text);

// ---- The course description export -----------------------------------------------------------

struct CourseExportInfo {
  std::uint64_t document_id = 0;
  std::string document_title;
  std::vector<std::string> team;  // the team's institution names (sign-off needs them all)
};

// The machine-readable course description (PROTOCOL.md, "Course template and checks") of an
// approved version: every live section locked and approved by every institution of the team,
// and no finding at level error. rev: the revision doc is at. Errors: not_approved (the message
// says what is missing).
protocol::Result<nlohmann::json> course_description_json(const protocol::Document& doc,
                                                         std::uint64_t rev,
                                                         const CourseExportInfo& meta);

}  // namespace jointly::server
