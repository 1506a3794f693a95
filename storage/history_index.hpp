// The history indexes of a document: who changed which section when, grouped as a person reads
// it, named versions, and blame checkpoints; all in the `history` column family (key and value
// formats in storage/README.md, "History indexes").
//
// Two halves:
//   HistoryIndexWriter  the writer thread's part: the index entries of each appended revision,
//                       which RevisionLog puts into the revision's own WriteBatch, so that the
//                       indexes and the log can never disagree, not even after a crash.
//   History             the reads over a Store: filtered revision pages and pages of groups
//                       (newest first, by cursor), time ranges, per-section counts, named
//                       versions, and blame of a section at any revision. Every query costs
//                       O(log n) seeks per entry returned, independent of the history's length.
//
// Time: each revision has its server time; the clock may step back. The indexes keep, per
// revision, the high-water mark of the server times up to it ("index time": the greatest
// server time of revisions 1..r), which never decreases with r, so a time range is one
// contiguous range of revisions. A filter [from, to] selects the revisions whose index time is
// in it; a revision made while the clock stood behind an earlier one counts as made at that
// earlier time.
//
// Groups: consecutive revisions of one author from one institution, each at most
// kGroupGapMs (index time) after the one before, form one group. The writer keeps the open
// group's record (range, times, per-section counts) up to date at every append, so a page of
// groups reads one record per group, never the revisions inside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/revision_log.hpp"
#include "storage/status.hpp"

namespace jointly::storage {

class Store;

// Two revisions of one author from one institution at most this far apart (index time) belong
// to one group.
inline constexpr std::int64_t kGroupGapMs = 5 * 60 * 1000;
// A blame checkpoint is kept at every kBlameInterval-th revision of a section (see History::
// blame), so a blame replays fewer than kBlameInterval of the section's revisions.
inline constexpr std::uint64_t kBlameInterval = 64;
// Named versions: 1..kMaxVersionNameBytes bytes of UTF-8 without control characters.
inline constexpr std::size_t kMaxVersionNameBytes = 200;

// ---- The writer's half -------------------------------------------------------------------

// Computes the index entries of appended revisions. It caches, per document, the last index
// time, the open group and the counters of the indexes it has touched; what it has not seen it
// reads from the history family (read_last), which holds everything written before.
// Not thread-safe: one owner, the RevisionLog's writer thread (or the rebuild at open).
class HistoryIndexWriter {
 public:
  using KeyValue = std::pair<std::string, std::string>;
  // The last key and value of the history family in [lower, upper]; nullopt when none.
  using ReadLast =
      std::function<Result<std::optional<KeyValue>>(const std::string&, const std::string&)>;

  explicit HistoryIndexWriter(ReadLast read_last) : read_last_(std::move(read_last)) {}

  // Appends to out the index entries of revision a.rev. REQUIRES: the writer accepted a (it is
  // the document's last revision + 1) and will write out in the same batch as a.
  // Errors: those of read_last (io_error, corruption).
  Status add(const RawAppend& a, std::vector<KeyValue>& out);
  // Forgets every cached value (after a failed write, whose entries never reached the store).
  void reset() { docs_.clear(); }

 private:
  struct OpenGroup {
    std::uint64_t start = 0;  // 0: none yet
    std::string record;       // its encoded record, as last written
  };
  struct DocState {
    std::int64_t index_time = 0;
    OpenGroup group;
    std::unordered_map<std::string, std::uint64_t> counters;  // key prefix -> last ordinal
  };
  Result<DocState*> doc_state(DocumentId id);
  Result<std::uint64_t> next_ordinal(DocState& d, const std::string& prefix);

  ReadLast read_last_;
  std::unordered_map<DocumentId, DocState> docs_;
};

// ---- The reads ---------------------------------------------------------------------------

struct HistoryFilter {
  std::optional<std::string> section;      // revisions that touched this section
  std::optional<std::string> author;       // made by this author
  std::optional<std::string> institution;  // from this institution
  std::optional<std::int64_t> from_ms;     // index time >= from_ms
  std::optional<std::int64_t> to_ms;       // index time <= to_ms

  bool empty() const { return !section && !author && !institution && !from_ms && !to_ms; }
};

struct RevisionEntry {
  std::uint64_t rev = 0;
  RevisionInfo info;
};

// Newest first. next_cursor: pass it as `cursor` for the next page; 0 when there is none.
struct RevisionPage {
  std::vector<RevisionEntry> entries;
  std::uint64_t next_cursor = 0;
};

struct GroupEntry {
  std::uint64_t first_rev = 0;  // the group's revisions within the filter's time range
  std::uint64_t last_rev = 0;
  std::string author;
  std::string institution;
  std::int64_t first_time_ms = 0;  // server times of the group's first and last revisions
  std::int64_t last_time_ms = 0;
  std::uint64_t revisions = 0;  // in first_rev..last_rev
  std::uint64_t matching =
      0;  // of those, the ones that touched the filter's section (all, without one)
  // The sections the group touched in first_rev..last_rev, with how many of its revisions did.
  std::vector<std::pair<std::string, std::uint64_t>> sections;
};

struct GroupPage {
  std::vector<GroupEntry> entries;
  std::uint64_t next_cursor = 0;
};

struct NamedVersion {
  std::uint64_t rev = 0;
  std::string name;
  std::string who;
  std::int64_t time_ms = 0;
  friend bool operator==(const NamedVersion&, const NamedVersion&) = default;
};

// Text written by one revision: `length` code points.
struct BlameRun {
  std::uint64_t length = 0;
  std::uint64_t rev = 0;
  friend bool operator==(const BlameRun&, const BlameRun&) = default;
};

// Who made a revision that wrote text still in a blame (revision 0: nobody, time 0).
struct BlameAuthor {
  std::uint64_t rev = 0;
  std::string author;
  std::string institution;
  std::int64_t time_ms = 0;
  friend bool operator==(const BlameAuthor&, const BlameAuthor&) = default;
};

// Who wrote each code point of a section's title, body and named fields (protocol/document.hpp)
// as of a revision. Restored text (a `restore` component) counts as written by the restoring
// revision; RevisionInfo::restored_from says where it came from. Text the document was created
// with is revision 0's.
struct SectionBlame {
  std::uint64_t rev = 0;
  bool live = false;  // the section exists at rev and is not removed (else every run is empty)
  std::vector<BlameRun> title;
  std::vector<BlameRun> body;
  // Every named field the section has (fixed by its add), by name; an empty field has no runs.
  std::map<std::string, std::vector<BlameRun>, std::less<>> fields;
  // One per revision named in the runs, by revision: kept with the checkpoints, so a blame
  // reads no revision but those it replays.
  std::vector<BlameAuthor> authors;
  // The author of a revision named in the runs; nullptr for any other.
  const BlameAuthor* author_of(std::uint64_t r) const;
  friend bool operator==(const SectionBlame&, const SectionBlame&) = default;
};

// Revisions of one institution that touched a section.
struct InstitutionRevisions {
  std::string institution;
  std::uint64_t revisions = 0;
};

// Reads of the history indexes of a Store's documents. Holds a reference to the store, which
// must outlive it. Thread-safety: as Store, every method may be called from any thread; blame
// writes checkpoints, which concurrent blames may write twice with the same bytes.
class History {
 public:
  explicit History(Store& store) : store_(store) {}

  // Revisions matching the filter, newest first, at most limit, with revision < cursor
  // (cursor 0: from the newest). Errors: not_found (no such document), storage errors.
  Result<RevisionPage> revisions(DocumentId id, const HistoryFilter& filter, std::uint64_t cursor,
                                 std::size_t limit) const;
  // Groups that hold a revision matching the filter, newest first, at most limit, with first
  // revision < cursor (cursor 0: from the newest). An entry is clipped to the time range.
  Result<GroupPage> groups(DocumentId id, const HistoryFilter& filter, std::uint64_t cursor,
                           std::size_t limit) const;
  // The revisions whose index time is in [from_ms, to_ms]: (first, last); nullopt when none.
  Result<std::optional<std::pair<std::uint64_t, std::uint64_t>>> time_range(
      DocumentId id, std::int64_t from_ms, std::int64_t to_ms) const;
  // How many revisions 1..rev touched the section; per institution.
  Result<std::uint64_t> section_revisions(DocumentId id, std::string_view section,
                                          std::uint64_t rev) const;
  Result<std::vector<InstitutionRevisions>> section_institutions(DocumentId id,
                                                                 std::string_view section,
                                                                 std::uint64_t rev) const;

  // Names revision rev. Errors: invalid_argument (name empty, too long, control characters),
  // not_found (no such revision), already_exists (rev is named already).
  Status name_version(DocumentId id, std::uint64_t rev, std::string_view name, std::string_view who,
                      std::int64_t time_ms);
  // The named versions, by revision.
  Result<std::vector<NamedVersion>> versions(DocumentId id) const;

  // Blame of a section as of revision rev. It starts from the section's last blame checkpoint
  // at or before rev and replays the section's revisions after it (fewer than kBlameInterval
  // once checkpoints exist); checkpoints it passes that are missing, it writes (computed
  // lazily, kept). Errors: not_found (no such document or revision), storage errors.
  Result<SectionBlame> blame(DocumentId id, std::string_view section, std::uint64_t rev);

  // Compares the revision indexes of a document with those rebuilt from its log; returns the
  // differences (empty: they agree). Holds every index entry of the document in memory: for
  // tests and checks of modest documents.
  Result<std::vector<std::string>> verify(DocumentId id) const;

 private:
  Store& store_;
};

}  // namespace jointly::storage
