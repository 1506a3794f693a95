// Document templates: see server/templates.hpp.
#include "server/templates.hpp"

#include <string>
#include <utility>
#include <vector>

namespace jointly::server {
namespace {

using protocol::DocOp;
using protocol::Document;
using protocol::SectionAdd;

struct Seed {
  const char* id;
  const char* title;
  const char* body;
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
    op.components.push_back(SectionAdd{s.id, last, s.title, s.body});
  }
  if (!protocol::apply(doc, op)) return std::nullopt;
  return doc;
}

}  // namespace

std::optional<protocol::Document> make_template(std::string_view name) {
  if (name == "blank") return build({{"intro", "", ""}});
  if (name == "demo") {
    return build({
        {"vision", "Joint vision",
         "What need does this course answer, and for whom? Describe the learners, the "
         "academic and professional profile, the objectives and what makes the course "
         "unique. How does it relate to programmes we already run, and can it be stacked "
         "with other credentials?"},
        {"policy", "Alignment with policies",
         "Which institutional and cross-institutional policies apply (micro-credentials, "
         "recognition, quality assurance)? Note where the partners' rules differ and how we "
         "bridge them."},
        {"support", "Institutional support",
         "Who in each institution needs to agree or help: programme boards, teaching and "
         "learning support, internationalisation office, IT, student administration, "
         "continuing-education centre? Write what each has said so far."},
        {"team", "Course team",
         "Who leads the course, who teaches which part, and how do we share tasks and "
         "decisions between the partner universities?"},
        {"outcomes", "Learning outcomes, ECTS and assessment",
         "List the learning outcomes. Give the workload in ECTS and the level. Describe how "
         "each outcome is assessed, how quality is assured, and how the credential is "
         "recognised and certified."},
    });
  }
  return std::nullopt;
}

}  // namespace jointly::server
