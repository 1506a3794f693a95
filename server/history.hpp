// History of a document, as the history API serves it (server/history_api.hpp): word-level
// differences between two states of a document, blame with who and where, contributions per
// institution, the op that restores an earlier state, and exports (Markdown, HTML through
// cmark-gfm, JSON). The indexes and the blame runs come from storage/history_index.hpp; this
// file adds the text and the people.
//
// Thread-safety: pure functions of their arguments, plus reads of a Store (thread-safe).
// Errors are protocol::Error values with stable codes: not_found, section_locked,
// invalid_request, storage_failed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "protocol/document.hpp"
#include "protocol/result.hpp"
#include "storage/history_index.hpp"
#include "storage/store.hpp"

namespace jointly::server {

// ---- Differences -----------------------------------------------------------------------

// A run of text that is in both sides, only in the newer one, or only in the older one.
struct DiffRun {
  enum class Kind : std::uint8_t { equal, insert, del };
  Kind kind = Kind::equal;
  std::string text;
  friend bool operator==(const DiffRun&, const DiffRun&) = default;
};
std::string_view diff_kind_name(DiffRun::Kind k);  // "equal", "insert", "delete"

// Word-level difference from `before` to `after` (dtl's O(ND) diff over tokens: runs of letters
// and digits, runs of white space, single other characters). Adjacent runs of one kind are
// merged; concatenating the equal and del runs gives before, the equal and insert runs after.
std::vector<DiffRun> diff_words(std::string_view before, std::string_view after);

// How one section differs between two states of a document. Sections that did not change are
// left out of a DocumentDiff.
struct SectionDiff {
  // added / removed: live in only one state; changed: its title or body changed; moved: only
  // its place among the other sections changed.
  enum class Change : std::uint8_t { added, removed, changed, moved };
  std::string id;
  Change change = Change::changed;
  // Live in both states, and out of the longest run of sections that kept their order.
  bool moved = false;
  std::vector<DiffRun> title;
  std::vector<DiffRun> body;
  // The named fields whose text differs (protocol/document.hpp), by name; of an added or
  // removed section, every named field with text (all inserted or all deleted).
  std::vector<std::pair<std::string, std::vector<DiffRun>>> fields;
};
std::string_view change_name(SectionDiff::Change c);  // "added", "removed", "changed", "moved"

// The sections live in either state that differ, in the newer state's order (removed ones
// where they stood). section: only that one (still reported when unchanged: change "changed"
// with only equal runs).
std::vector<SectionDiff> diff_documents(const protocol::Document& before,
                                        const protocol::Document& after,
                                        std::optional<std::string_view> section = std::nullopt);

// ---- Restore ---------------------------------------------------------------------------

// The op that turns `now` into `then` (the document at an earlier revision), for one section
// or (section nullopt) the whole document: text edits (title, body, named fields) from a word
// diff (so that other people's
// cursors move with the text instead of jumping), a removed section restored, a section added
// since removed, a section moved back to its old place. Locks and approvals are not restored.
// Errors: section_locked (a locked section would change: unlock it first), not_found (the
// section is in neither state).
protocol::Result<protocol::DocOp> make_restore_op(const protocol::Document& now,
                                                  const protocol::Document& then,
                                                  std::optional<std::string_view> section);

// ---- Blame and contributions -------------------------------------------------------------

struct BlameSpan {
  std::string text;  // the span's characters (UTF-8)
  std::uint64_t rev = 0;
  std::string author;
  std::string institution;
  std::int64_t time_ms = 0;
};

struct SectionBlameView {
  std::uint64_t rev = 0;
  bool live = false;
  std::vector<BlameSpan> title;
  std::vector<BlameSpan> body;
  // Every named field of the section, by name (an empty one with no spans).
  std::vector<std::pair<std::string, std::vector<BlameSpan>>> fields;
};

// Who wrote every character of a section (title, body, named fields) as of revision rev, with
// its text.
// Errors: not_found (no such document or revision), storage_failed.
protocol::Result<SectionBlameView> blame_section(storage::Store& store, storage::DocumentId id,
                                                 std::string_view section, std::uint64_t rev);

struct InstitutionShare {
  std::string institution;
  std::uint64_t characters = 0;  // of the section's title, body and named fields at the revision
  std::uint64_t revisions = 0;   // revisions of this institution that touched the section
};
struct SectionContributions {
  std::string id;
  std::string title;
  std::uint64_t characters = 0;
  std::vector<InstitutionShare> institutions;  // by name
};
// Per live section at rev: characters now written by each institution, and revisions.
protocol::Result<std::vector<SectionContributions>> contributions(storage::Store& store,
                                                                  storage::DocumentId id,
                                                                  std::uint64_t rev);

// ---- Export ----------------------------------------------------------------------------

// "# title", then each live section as "## its title" and its body as written, then each named
// field with text as "### its label" and its text: a course's and a unit's fields in the
// course panels' order and words (server/templates.hpp), others by name; a design step's
// prompt (the template's guidance) is not the document's text and is left out.
std::string export_markdown(const protocol::Document& doc, std::string_view title);
// A standalone HTML page: the title and the section titles escaped, each body and field
// rendered by cmark-gfm with GitHub's extensions (tables, strikethrough, autolinks, task
// lists) in its safe mode (raw HTML and dangerous URLs never pass through). Its head
// carries export_html_policy() as a <meta> Content-Security-Policy, so a downloaded copy opened
// from disk runs no script and loads nothing, whatever a body holds.
std::string export_html(const protocol::Document& doc, std::string_view title);
// The exported page's Content-Security-Policy: default-src 'none', its one inline <style>
// allowed by its SHA-256 hash, base-uri and form-action 'none'. The history API sends it as
// the answer's header too.
std::string_view export_html_policy();
// {"document":{"id","title"},"rev","version"?,"sections":[{id,title,body,fields?}],
//  "snapshot"}.
nlohmann::json export_json(const protocol::Document& doc, const storage::DocumentMeta& meta,
                           std::uint64_t rev, const std::optional<storage::NamedVersion>& version);

}  // namespace jointly::server
