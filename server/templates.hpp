// Templates for new documents:
//   "blank"  one empty prose section, id "intro";
//   "course" the course-design template: the five design steps of a joint micro-credential
//            course as prose sections, each with a prompt (its "prompt" field: the text the team
//            replaces, shown as the placeholder of the empty body), then one "course" section
//            with the course's structured fields and one "unit" section per microlearning unit
//            (protocol/PROTOCOL.md, "Course template and checks");
//   "demo"   the course template partly filled in for an invented course, so that a running
//            server shows the real thing: some steps written, some still prompts, and checks that
//            find something.
// The section ids and field names below are the contract the checks (server/course_checks.hpp)
// and the client's course panels rely on.
//
// Pure functions; callable from any thread.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "protocol/document.hpp"

namespace jointly::server {

// The document for a template name, or nothing for an unknown name.
std::optional<protocol::Document> make_template(std::string_view name);

inline constexpr std::string_view kDemoTitle = "Demo: joint micro-credential course design";

// Section kinds.
inline constexpr std::string_view kCourseKind = "course";
inline constexpr std::string_view kUnitKind = "unit";

// The named fields of a "course" section, in the order a client shows them.
inline constexpr std::array<std::string_view, 12> kCourseFields = {
    "course_title",       // title of the micro-credential
    "awarding_bodies",    // awarding institutions, one per line
    "countries",          // country or region of each awarding institution, one per line
    "ects",               // notional workload of the whole course in ECTS credits
    "eqf_level",          // level: EQF (and/or QF-EHEA cycle)
    "participation",      // form of participation: online, on site, blended, ...
    "quality_assurance",  // type of quality assurance
    "prerequisites",      // what learners need before they start
    "stackability",       // how the credential stacks with or counts towards others
    "outcomes",           // learning outcomes, one per line, "LO1: ..."
    "issue_date",         // date of issuing: when the credential is issued
    "learner_id",         // how the learner is identified on the credential
};

// The named fields of a "unit" section.
inline constexpr std::array<std::string_view, 3> kUnitFields = {
    "ects",        // the unit's workload in ECTS credits
    "outcomes",    // the course's learning outcomes the unit assesses, by id: "LO1, LO3"
    "assessment",  // type of assessment
};

// Their labels, as the client's course panels show them (client-web/src/ui/course_model.js),
// in the same order: the exports use them.
inline constexpr std::array<std::string_view, 12> kCourseFieldLabels = {
    "Title",        "Awarding institutions", "Countries or regions", "Workload (ECTS)",
    "Level",        "Form of participation", "Quality assurance",    "Prerequisites",
    "Stackability", "Learning outcomes",     "Date of issuing",      "Learner identification",
};
inline constexpr std::array<std::string_view, 3> kUnitFieldLabels = {
    "Workload (ECTS)",
    "Learning outcomes assessed",
    "Type of assessment",
};

// A prose design step's "prompt" field: the template's guidance for the team, not the
// document's text (the exports leave it out).
inline constexpr std::string_view kPromptField = "prompt";

}  // namespace jointly::server
