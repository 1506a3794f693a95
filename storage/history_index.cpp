// The history indexes: see storage/history_index.hpp, and storage/README.md for the formats.
#include "storage/history_index.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <unordered_set>
#include <variant>

#include "protocol/utf8.hpp"
#include "storage/encoding.hpp"
#include "storage/store.hpp"

namespace jointly::storage {

namespace enc = encoding;

namespace {

// Key kinds, the byte after be64(document). Revision indexes (value: varint ordinal, the
// number of revisions in that index up to and including this one):
constexpr char kByAuthor = 'a';              // bytes(author) be64(rev)
constexpr char kByInstitution = 'i';         // bytes(institution) be64(rev)
constexpr char kBySection = 's';             // bytes(section) be64(rev)
constexpr char kBySectionInstitution = 'c';  // bytes(section) bytes(institution) be64(rev)
// be64(index time) be64(rev) -> varint(server time)
constexpr char kByTime = 't';
// Groups: be64(first rev) -> the group record; group starts by author, institution, section
// (value empty).
constexpr char kGroup = 'G';
constexpr char kGroupByAuthor = 'A';
constexpr char kGroupByInstitution = 'I';
constexpr char kGroupBySection = 'S';
// Written outside the writer: be64(rev) -> version record; bytes(section) be64(rev) -> blame
// checkpoint.
constexpr char kVersion = 'V';
constexpr char kBlame = 'B';

constexpr char kGroupRecordVersion = 1;
constexpr char kVersionRecordVersion = 1;
// Version 1 records (title and body only, before named fields were blamed) are not read: a
// blame that meets one starts from revision 0 and writes version 2 records in their place.
constexpr char kBlameRecordVersion = 2;

using KeyValue = HistoryIndexWriter::KeyValue;

std::string doc_name(DocumentId id) { return "document " + std::to_string(id); }

std::string prefix(DocumentId id, char kind) {
  std::string k;
  enc::put_be64(k, id);
  k.push_back(kind);
  return k;
}
std::string prefix(DocumentId id, char kind, std::string_view name) {
  std::string k = prefix(id, kind);
  enc::put_bytes(k, name);
  return k;
}
std::string with_be64(std::string k, std::uint64_t v) {
  enc::put_be64(k, v);
  return k;
}
// A bound above every key that starts with p (no key suffix is this long).
std::string past(std::string p) {
  p.append(24, '\xff');
  return p;
}
std::string varint(std::uint64_t v) {
  std::string s;
  enc::put_varint(s, v);
  return s;
}
// The be64 at the end of a key.
std::uint64_t tail64(std::string_view key) { return enc::get_be64(key.data() + key.size() - 8); }

std::int64_t clamp_time(std::int64_t t) { return t < 0 ? 0 : t; }

struct GroupRecord {
  std::uint64_t last_rev = 0;
  std::uint64_t count = 0;
  std::string author;
  std::string institution;
  std::int64_t first_time = 0;
  std::int64_t last_time = 0;
  std::int64_t last_index_time = 0;
  std::vector<std::pair<std::string, std::uint64_t>> sections;  // sorted by id
};

std::string encode_group(const GroupRecord& g) {
  std::string v(1, kGroupRecordVersion);
  enc::put_varint(v, g.last_rev);
  enc::put_varint(v, g.count);
  enc::put_bytes(v, g.author);
  enc::put_bytes(v, g.institution);
  enc::put_varint(v, static_cast<std::uint64_t>(g.first_time));
  enc::put_varint(v, static_cast<std::uint64_t>(g.last_time));
  enc::put_varint(v, static_cast<std::uint64_t>(g.last_index_time));
  enc::put_varint(v, g.sections.size());
  for (const auto& [s, n] : g.sections) {
    enc::put_bytes(v, s);
    enc::put_varint(v, n);
  }
  return v;
}

bool decode_group(std::string_view in, GroupRecord& g) {
  if (in.empty() || in.front() != kGroupRecordVersion) return false;
  in.remove_prefix(1);
  std::uint64_t first = 0, last = 0, index = 0, n = 0;
  if (!enc::get_varint(in, g.last_rev) || !enc::get_varint(in, g.count) ||
      !enc::get_bytes(in, g.author) || !enc::get_bytes(in, g.institution) ||
      !enc::get_varint(in, first) || !enc::get_varint(in, last) || !enc::get_varint(in, index) ||
      !enc::get_varint(in, n) || n > in.size()) {
    return false;
  }
  g.first_time = static_cast<std::int64_t>(first);
  g.last_time = static_cast<std::int64_t>(last);
  g.last_index_time = static_cast<std::int64_t>(index);
  g.sections.resize(n);
  for (auto& [s, c] : g.sections) {
    if (!enc::get_bytes(in, s) || !enc::get_varint(in, c)) return false;
  }
  return in.empty();
}

Status corrupt(DocumentId id, std::string what) {
  return Status(Code::corruption, "the history index of " + doc_name(id) + ": " + what);
}

}  // namespace

// ---- HistoryIndexWriter ----

Result<HistoryIndexWriter::DocState*> HistoryIndexWriter::doc_state(DocumentId id) {
  if (auto it = docs_.find(id); it != docs_.end()) return &it->second;
  DocState d;
  const std::string time_prefix = prefix(id, kByTime);
  auto last_time = read_last_(time_prefix, past(time_prefix));
  if (!last_time.ok()) return last_time.status();
  if (*last_time) {
    if ((*last_time)->first.size() != time_prefix.size() + 16) {
      return corrupt(id, "a time key has the wrong size");
    }
    d.index_time = static_cast<std::int64_t>(enc::get_be64((*last_time)->first.data() + 9));
  }
  const std::string group_prefix = prefix(id, kGroup);
  auto last_group = read_last_(group_prefix, past(group_prefix));
  if (!last_group.ok()) return last_group.status();
  if (*last_group) {
    if ((*last_group)->first.size() != group_prefix.size() + 8) {
      return corrupt(id, "a group key has the wrong size");
    }
    d.group.start = tail64((*last_group)->first);
    d.group.record = std::move((*last_group)->second);
  }
  return &docs_.emplace(id, std::move(d)).first->second;
}

Result<std::uint64_t> HistoryIndexWriter::next_ordinal(DocState& d, const std::string& p) {
  auto it = d.counters.find(p);
  if (it == d.counters.end()) {
    auto last = read_last_(p, past(p));
    if (!last.ok()) return last.status();
    std::uint64_t n = 0;
    if (*last) {
      std::string_view v = (*last)->second;
      if (!enc::get_varint(v, n)) return Status(Code::corruption, "a history ordinal is damaged");
    }
    it = d.counters.emplace(p, n).first;
  }
  return ++it->second;
}

Status HistoryIndexWriter::add(const RawAppend& a, std::vector<KeyValue>& out) {
  auto state = doc_state(a.document);
  if (!state.ok()) return state.status();
  DocState& d = **state;
  const DocumentId id = a.document;
  const RevisionInfo& info = a.info;
  const std::int64_t time = clamp_time(info.server_time_ms);
  d.index_time = std::max(d.index_time, time);
  out.emplace_back(with_be64(with_be64(prefix(id, kByTime), d.index_time), a.rev),
                   varint(static_cast<std::uint64_t>(time)));

  auto index = [&](std::string p) -> Status {
    auto n = next_ordinal(d, p);
    if (!n.ok()) return n.status();
    out.emplace_back(with_be64(std::move(p), a.rev), varint(*n));
    return Status();
  };
  if (auto s = index(prefix(id, kByAuthor, info.author)); !s.ok()) return s;
  if (auto s = index(prefix(id, kByInstitution, info.institution)); !s.ok()) return s;
  for (const auto& section : info.sections) {
    if (auto s = index(prefix(id, kBySection, section)); !s.ok()) return s;
    std::string p = prefix(id, kBySectionInstitution, section);
    enc::put_bytes(p, info.institution);
    if (auto s = index(std::move(p)); !s.ok()) return s;
  }

  GroupRecord g;
  if (d.group.start != 0 && !decode_group(d.group.record, g)) {
    return corrupt(id,
                   "the group at revision " + std::to_string(d.group.start) + " cannot be decoded");
  }
  const bool starts = d.group.start == 0 || g.author != info.author ||
                      g.institution != info.institution ||
                      d.index_time - g.last_index_time > kGroupGapMs;
  if (starts) {
    g = GroupRecord{};
    g.author = info.author;
    g.institution = info.institution;
    g.first_time = time;
    d.group.start = a.rev;
    out.emplace_back(with_be64(prefix(id, kGroupByAuthor, info.author), a.rev), std::string());
    out.emplace_back(with_be64(prefix(id, kGroupByInstitution, info.institution), a.rev),
                     std::string());
  }
  g.last_rev = a.rev;
  ++g.count;
  g.last_time = time;
  g.last_index_time = d.index_time;
  for (const auto& section : info.sections) {
    auto it = std::lower_bound(g.sections.begin(), g.sections.end(), section,
                               [](const auto& e, const std::string& s) { return e.first < s; });
    if (it == g.sections.end() || it->first != section) {
      it = g.sections.insert(it, {section, 0});
      out.emplace_back(with_be64(prefix(id, kGroupBySection, section), d.group.start),
                       std::string());
    }
    ++it->second;
  }
  d.group.record = encode_group(g);
  out.emplace_back(with_be64(prefix(id, kGroup), d.group.start), d.group.record);
  return Status();
}

// ---- History: reading helpers ----

namespace {

Result<std::optional<KeyValue>> edge(const RevisionLog& log, const std::string& lower,
                                     const std::string& upper, bool last) {
  std::optional<KeyValue> found;
  auto s = log.history_scan(lower, upper, last, [&](std::string_view k, std::string_view v) {
    found.emplace(std::string(k), std::string(v));
    return false;
  });
  if (!s.ok()) return s;
  return found;
}

// The greatest revision <= at in the index under p (keys p be64(rev)), >= lo; 0 when none.
Result<std::uint64_t> last_rev_in(const RevisionLog& log, const std::string& p, std::uint64_t lo,
                                  std::uint64_t at) {
  if (at < lo) return std::uint64_t{0};
  auto e = edge(log, with_be64(p, lo), with_be64(p, at), true);
  if (!e.ok()) return e.status();
  return *e ? tail64((*e)->first) : std::uint64_t{0};
}

// The ordinal of the index under p at revision <= at (0 when none).
Result<std::uint64_t> ordinal_at(const RevisionLog& log, const std::string& p, std::uint64_t at) {
  auto e = edge(log, with_be64(p, 0), with_be64(p, at), true);
  if (!e.ok()) return e.status();
  if (!*e) return std::uint64_t{0};
  std::string_view v = (*e)->second;
  std::uint64_t n = 0;
  if (!enc::get_varint(v, n)) return Status(Code::corruption, "a history ordinal is damaged");
  return n;
}

// Leapfrog intersection: the greatest revision in [lo, at] present in every index under
// prefixes (all of them non-empty); 0 when none.
Result<std::uint64_t> intersect_down(const RevisionLog& log,
                                     const std::vector<std::string>& prefixes, std::uint64_t lo,
                                     std::uint64_t at) {
  std::uint64_t x = at;
  std::size_t agree = 0, i = 0;
  while (x >= lo && x != 0) {
    auto r = last_rev_in(log, prefixes[i], lo, x);
    if (!r.ok()) return r.status();
    if (*r == 0) return std::uint64_t{0};
    if (*r == x) {
      ++agree;
    } else {
      x = *r;
      agree = 1;
    }
    if (agree == prefixes.size()) return x;
    i = (i + 1) % prefixes.size();
  }
  return std::uint64_t{0};
}

Result<RevisionInfo> revision_info(const RevisionLog& log, DocumentId id, std::uint64_t rev) {
  auto r = log.revisions(id, rev, rev, 1);
  if (!r.ok()) return r.status();
  if (r->empty())
    return Status(Code::corruption, doc_name(id) + " lacks revision " + std::to_string(rev) +
                                        " that its index names");
  return std::move(r->front().info);
}

}  // namespace

Result<std::optional<std::pair<std::uint64_t, std::uint64_t>>> History::time_range(
    DocumentId id, std::int64_t from_ms, std::int64_t to_ms) const {
  using Range = std::optional<std::pair<std::uint64_t, std::uint64_t>>;
  from_ms = clamp_time(from_ms);
  if (to_ms < from_ms) return Range();
  const std::string p = prefix(id, kByTime);
  const std::string lower = with_be64(p, static_cast<std::uint64_t>(from_ms));
  const std::string upper = with_be64(with_be64(p, static_cast<std::uint64_t>(to_ms)), UINT64_MAX);
  auto first = edge(store_.log(), lower, upper, false);
  if (!first.ok()) return first.status();
  if (!*first) return Range();
  auto last = edge(store_.log(), lower, upper, true);
  if (!last.ok()) return last.status();
  return Range(std::pair{tail64((*first)->first), tail64((**last).first)});
}

namespace {

// The revisions a filter's time range allows, within 1..last: [lo, hi]; nullopt when none.
struct Bounds {
  std::uint64_t lo = 1;
  std::uint64_t hi = 0;
};

Result<std::optional<Bounds>> filter_bounds(const History& h, const RevisionLog& log, DocumentId id,
                                            const HistoryFilter& f) {
  auto last = log.last_revision(id);
  if (!last.ok()) return last.status();
  if (!f.from_ms && !f.to_ms) return std::optional<Bounds>(Bounds{1, *last});
  auto r = h.time_range(id, f.from_ms.value_or(0), f.to_ms.value_or(INT64_MAX));
  if (!r.ok()) return r.status();
  if (!*r) return std::optional<Bounds>();
  return std::optional<Bounds>(Bounds{(*r)->first, (*r)->second});
}

}  // namespace

Result<RevisionPage> History::revisions(DocumentId id, const HistoryFilter& f, std::uint64_t cursor,
                                        std::size_t limit) const {
  try {
    const RevisionLog& log = store_.log();
    auto bounds = filter_bounds(*this, log, id, f);
    if (!bounds.ok()) return bounds.status();
    if (!*bounds) return RevisionPage{};
    Bounds b = **bounds;
    if (cursor != 0) b.hi = std::min(b.hi, cursor - 1);
    std::vector<std::string> prefixes;
    if (f.section && f.institution) {
      // One index holds exactly these: no intersection needed.
      std::string p = prefix(id, kBySectionInstitution, *f.section);
      enc::put_bytes(p, *f.institution);
      prefixes.push_back(std::move(p));
    } else if (f.section) {
      prefixes.push_back(prefix(id, kBySection, *f.section));
    } else if (f.institution) {
      prefixes.push_back(prefix(id, kByInstitution, *f.institution));
    }
    if (f.author) prefixes.push_back(prefix(id, kByAuthor, *f.author));
    RevisionPage page;
    std::uint64_t x = b.hi;
    // One match more than the page holds tells whether there is a next page.
    while (x >= b.lo && x != 0 && page.entries.size() <= limit) {
      std::uint64_t match = x;
      if (!prefixes.empty()) {
        auto m = intersect_down(log, prefixes, b.lo, x);
        if (!m.ok()) return m.status();
        match = *m;
      }
      if (match == 0) break;
      if (page.entries.size() == limit) {
        page.next_cursor = page.entries.empty() ? match + 1 : page.entries.back().rev;
        break;
      }
      auto info = revision_info(log, id, match);
      if (!info.ok()) return info.status();
      page.entries.push_back(RevisionEntry{match, std::move(info).value()});
      x = match - 1;
    }
    return page;
  } catch (const std::exception& e) {
    return Status(Code::internal, "reading the history of " + doc_name(id) + ": " + e.what());
  }
}

Result<GroupPage> History::groups(DocumentId id, const HistoryFilter& f, std::uint64_t cursor,
                                  std::size_t limit) const {
  try {
    const RevisionLog& log = store_.log();
    auto bounds = filter_bounds(*this, log, id, f);
    if (!bounds.ok()) return bounds.status();
    if (!*bounds) return GroupPage{};
    const Bounds b = **bounds;
    // Every key of these indexes is a group's first revision; without a filter, the groups'.
    std::vector<std::string> prefixes;
    if (f.section) prefixes.push_back(prefix(id, kGroupBySection, *f.section));
    if (f.author) prefixes.push_back(prefix(id, kGroupByAuthor, *f.author));
    if (f.institution) prefixes.push_back(prefix(id, kGroupByInstitution, *f.institution));
    if (prefixes.empty()) prefixes.push_back(prefix(id, kGroup));
    GroupPage page;
    std::uint64_t x = b.hi;
    if (cursor != 0) x = std::min(x, cursor - 1);
    while (x != 0) {
      auto start = intersect_down(log, prefixes, 1, x);
      if (!start.ok()) return start.status();
      if (*start == 0) break;
      auto rec = edge(log, with_be64(prefix(id, kGroup), *start),
                      with_be64(prefix(id, kGroup), *start), false);
      if (!rec.ok()) return rec.status();
      GroupRecord g;
      if (!*rec || !decode_group((*rec)->second, g)) {
        return corrupt(
            id, "the group at revision " + std::to_string(*start) + " is missing or damaged");
      }
      if (g.last_rev < b.lo) break;  // this group and every earlier one end before the range
      GroupEntry e;
      e.first_rev = std::max(*start, b.lo);
      e.last_rev = std::min(g.last_rev, b.hi);
      e.author = std::move(g.author);
      e.institution = std::move(g.institution);
      e.revisions = e.last_rev - e.first_rev + 1;
      const bool clipped = e.first_rev != *start || e.last_rev != g.last_rev;
      if (!clipped) {
        e.first_time_ms = g.first_time;
        e.last_time_ms = g.last_time;
        e.sections = std::move(g.sections);
      } else {
        auto first_info = revision_info(log, id, e.first_rev);
        if (!first_info.ok()) return first_info.status();
        auto last_info = revision_info(log, id, e.last_rev);
        if (!last_info.ok()) return last_info.status();
        e.first_time_ms = first_info->server_time_ms;
        e.last_time_ms = last_info->server_time_ms;
        for (auto& [section, n] : g.sections) {
          const std::string p = prefix(id, kBySection, section);
          auto upto = ordinal_at(log, p, e.last_rev);
          if (!upto.ok()) return upto.status();
          auto before = ordinal_at(log, p, e.first_rev - 1);
          if (!before.ok()) return before.status();
          if (*upto > *before) e.sections.emplace_back(std::move(section), *upto - *before);
        }
      }
      e.matching = e.revisions;
      if (f.section) {
        e.matching = 0;
        for (const auto& [section, n] : e.sections) {
          if (section == *f.section) e.matching = n;
        }
      }
      x = *start - 1;
      if (e.matching == 0) continue;  // the section was touched only outside the time range
      if (page.entries.size() == limit) {
        page.next_cursor = page.entries.back().first_rev;
        break;
      }
      page.entries.push_back(std::move(e));
    }
    return page;
  } catch (const std::exception& e) {
    return Status(Code::internal, "reading the history of " + doc_name(id) + ": " + e.what());
  }
}

Result<std::uint64_t> History::section_revisions(DocumentId id, std::string_view section,
                                                 std::uint64_t rev) const {
  return ordinal_at(store_.log(), prefix(id, kBySection, section), rev);
}

Result<std::vector<InstitutionRevisions>> History::section_institutions(DocumentId id,
                                                                        std::string_view section,
                                                                        std::uint64_t rev) const {
  std::vector<InstitutionRevisions> out;
  const std::string p = prefix(id, kBySectionInstitution, section);
  std::string lower = p;
  for (;;) {
    auto next = edge(store_.log(), lower, past(p), false);
    if (!next.ok()) return next.status();
    if (!*next) break;
    std::string_view rest = std::string_view((*next)->first).substr(p.size());
    std::string institution;
    if (!enc::get_bytes(rest, institution) || rest.size() != 8) {
      return corrupt(id, "a section-institution key is damaged");
    }
    std::string inst_prefix = p;
    enc::put_bytes(inst_prefix, institution);
    auto n = ordinal_at(store_.log(), inst_prefix, rev);
    if (!n.ok()) return n.status();
    if (*n > 0) out.push_back(InstitutionRevisions{institution, *n});
    lower = with_be64(inst_prefix, UINT64_MAX);
    lower.push_back('\0');
  }
  return out;
}

// ---- Named versions ----

namespace {
std::mutex& versions_mutex() {
  static std::mutex mu;
  return mu;
}
}  // namespace

Status History::name_version(DocumentId id, std::uint64_t rev, std::string_view name,
                             std::string_view who, std::int64_t time_ms) {
  if (name.empty() || name.size() > kMaxVersionNameBytes) {
    return Status(Code::invalid_argument,
                  "a version name is 1 to " + std::to_string(kMaxVersionNameBytes) + " bytes long");
  }
  if (!protocol::utf8::validate(name).ok()) {
    return Status(Code::invalid_argument, "a version name must be valid UTF-8");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return Status(Code::invalid_argument, "a version name holds a control character");
    }
  }
  auto last = store_.log().last_revision(id);
  if (!last.ok()) return last.status();
  if (rev > *last) {
    return Status(Code::not_found, doc_name(id) + " has no revision " + std::to_string(rev));
  }
  const std::string key = with_be64(prefix(id, kVersion), rev);
  std::lock_guard lk(versions_mutex());
  auto existing = edge(store_.log(), key, key, false);
  if (!existing.ok()) return existing.status();
  if (*existing) {
    return Status(Code::already_exists,
                  "revision " + std::to_string(rev) + " of " + doc_name(id) + " is named already");
  }
  std::string v(1, kVersionRecordVersion);
  enc::put_bytes(v, name);
  enc::put_bytes(v, who);
  enc::put_varint(v, static_cast<std::uint64_t>(clamp_time(time_ms)));
  return store_.log().history_write({{key, v}});
}

Result<std::vector<NamedVersion>> History::versions(DocumentId id) const {
  if (auto m = store_.log().document(id); !m.ok()) return m.status();
  std::vector<NamedVersion> out;
  Status bad;
  const std::string p = prefix(id, kVersion);
  auto s = store_.log().history_scan(
      with_be64(p, 0), with_be64(p, UINT64_MAX), false,
      [&](std::string_view k, std::string_view v) {
        NamedVersion nv;
        nv.rev = tail64(k);
        std::uint64_t t = 0;
        if (v.empty() || v.front() != kVersionRecordVersion) {
          bad = corrupt(id, "a named version is damaged");
          return false;
        }
        v.remove_prefix(1);
        if (!enc::get_bytes(v, nv.name) || !enc::get_bytes(v, nv.who) || !enc::get_varint(v, t)) {
          bad = corrupt(id, "a named version is damaged");
          return false;
        }
        nv.time_ms = static_cast<std::int64_t>(t);
        out.push_back(std::move(nv));
        return true;
      });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

// ---- Blame ----

namespace {

using Runs = std::vector<BlameRun>;

void push_run(Runs& out, std::uint64_t length, std::uint64_t rev) {
  if (length == 0) return;
  if (!out.empty() && out.back().rev == rev) {
    out.back().length += length;
  } else {
    out.push_back(BlameRun{length, rev});
  }
}

Runs fresh_runs(std::string_view text, std::uint64_t rev) {
  Runs r;
  push_run(r, protocol::utf8::count(text), rev);
  return r;
}

// runs after a text op of revision rev. False when the op does not fit the runs.
bool apply_text(Runs& runs, const protocol::TextOp& op, std::uint64_t rev) {
  Runs out;
  out.reserve(runs.size() + 2);
  std::size_t i = 0;
  std::uint64_t offset = 0;  // into runs[i]
  auto take = [&](std::uint64_t n, bool keep) {
    while (n > 0) {
      if (i == runs.size()) return false;
      const std::uint64_t here = std::min(n, runs[i].length - offset);
      if (keep) push_run(out, here, runs[i].rev);
      offset += here;
      n -= here;
      if (offset == runs[i].length) {
        ++i;
        offset = 0;
      }
    }
    return true;
  };
  for (const auto& c : op.components()) {
    switch (c.kind) {
      case protocol::TextComponent::Kind::skip:
        if (!take(c.n, true)) return false;
        break;
      case protocol::TextComponent::Kind::insert:
        push_run(out, c.n, rev);
        break;
      case protocol::TextComponent::Kind::del:
        if (!take(c.n, false)) return false;
        break;
    }
  }
  if (i < runs.size()) {
    push_run(out, runs[i].length - offset, runs[i].rev);
    for (++i; i < runs.size(); ++i) push_run(out, runs[i].length, runs[i].rev);
  }
  runs = std::move(out);
  return true;
}

// The blame state after op (revision rev). False when op does not fit.
bool apply_blame(SectionBlame& b, const protocol::DocOp& op, std::string_view section,
                 std::uint64_t rev) {
  for (const auto& component : op.components) {
    if (protocol::section_of(component) != section) continue;
    const bool ok = std::visit(
        [&](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, protocol::SectionEdit>) {
            if (!b.live) return true;  // an edit of a removed section is dropped
            if (c.field == protocol::Field::title) return apply_text(b.title, c.op, rev);
            if (c.field == protocol::Field::body) return apply_text(b.body, c.op, rev);
            // A field the blame has not met yet is empty (a restore left it out).
            auto& runs = b.fields[std::string(c.field.name())];
            return apply_text(runs, c.op, rev);
          } else if constexpr (std::is_same_v<T, protocol::SectionAdd> ||
                               std::is_same_v<T, protocol::SectionRestore>) {
            b.live = true;
            b.title = fresh_runs(c.title, rev);
            b.body = fresh_runs(c.body, rev);
            if constexpr (std::is_same_v<T, protocol::SectionAdd>) b.fields.clear();
            // A restore brings back the fields the section has; one it leaves out comes back "".
            for (auto& [name, runs] : b.fields) runs.clear();
            for (const auto& [name, text] : c.fields) b.fields[name] = fresh_runs(text, rev);
            return true;
          } else if constexpr (std::is_same_v<T, protocol::SectionRemove>) {
            b.live = false;
            b.title.clear();
            b.body.clear();
            for (auto& [name, runs] : b.fields) runs.clear();  // the names stay, as in the document
            return true;
          } else {
            return true;  // move, lock, unlock, approve: the text stays as it is
          }
        },
        component);
    if (!ok) return false;
  }
  return true;
}

void put_runs(std::string& v, const Runs& runs) {
  enc::put_varint(v, runs.size());
  for (const auto& r : runs) {
    enc::put_varint(v, r.length);
    enc::put_varint(v, r.rev);
  }
}
bool get_runs(std::string_view& in, Runs& runs) {
  std::uint64_t n = 0;
  if (!enc::get_varint(in, n) || n > in.size()) return false;
  runs.resize(n);
  for (auto& r : runs) {
    if (!enc::get_varint(in, r.length) || !enc::get_varint(in, r.rev)) return false;
  }
  return true;
}

// Drops the authors of revisions no run names any more.
void prune_authors(SectionBlame& b) {
  std::unordered_set<std::uint64_t> used;
  for (const auto* runs : {&b.title, &b.body}) {
    for (const auto& r : *runs) used.insert(r.rev);
  }
  for (const auto& [name, runs] : b.fields) {
    for (const auto& r : runs) used.insert(r.rev);
  }
  std::erase_if(b.authors, [&](const BlameAuthor& a) { return used.count(a.rev) == 0; });
}

// 02 live title-runs body-runs #fields (name runs)... #people (author institution)...
// #authors (rev person time)...
std::string encode_blame(const SectionBlame& b) {
  std::string v(1, kBlameRecordVersion);
  v.push_back(b.live ? 1 : 0);
  put_runs(v, b.title);
  put_runs(v, b.body);
  enc::put_varint(v, b.fields.size());
  for (const auto& [name, runs] : b.fields) {
    enc::put_bytes(v, name);
    put_runs(v, runs);
  }
  std::vector<std::pair<std::string_view, std::string_view>> people;
  std::string who;
  for (const auto& a : b.authors) {
    const std::pair<std::string_view, std::string_view> p{a.author, a.institution};
    auto it = std::find(people.begin(), people.end(), p);
    if (it == people.end()) it = people.insert(people.end(), p);
    enc::put_varint(who, a.rev);
    enc::put_varint(who, static_cast<std::uint64_t>(it - people.begin()));
    enc::put_varint(who, static_cast<std::uint64_t>(a.time_ms));
  }
  enc::put_varint(v, people.size());
  for (const auto& [author, institution] : people) {
    enc::put_bytes(v, author);
    enc::put_bytes(v, institution);
  }
  enc::put_varint(v, b.authors.size());
  v += who;
  return v;
}
bool decode_blame(std::string_view in, SectionBlame& b) {
  if (in.size() < 2 || in.front() != kBlameRecordVersion) return false;
  b.live = in[1] != 0;
  in.remove_prefix(2);
  std::uint64_t n = 0;
  if (!get_runs(in, b.title) || !get_runs(in, b.body) || !enc::get_varint(in, n) || n > in.size()) {
    return false;
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string name;
    if (!enc::get_bytes(in, name) || !get_runs(in, b.fields[name])) return false;
  }
  if (!enc::get_varint(in, n) || n > in.size()) return false;
  std::vector<std::pair<std::string, std::string>> people(n);
  for (auto& [author, institution] : people) {
    if (!enc::get_bytes(in, author) || !enc::get_bytes(in, institution)) return false;
  }
  if (!enc::get_varint(in, n) || n > in.size()) return false;
  b.authors.resize(n);
  for (auto& a : b.authors) {
    std::uint64_t person = 0, time = 0;
    if (!enc::get_varint(in, a.rev) || !enc::get_varint(in, person) || !enc::get_varint(in, time) ||
        person >= people.size()) {
      return false;
    }
    a.author = people[person].first;
    a.institution = people[person].second;
    a.time_ms = static_cast<std::int64_t>(time);
  }
  return in.empty();
}

}  // namespace

Result<SectionBlame> History::blame(DocumentId id, std::string_view section, std::uint64_t rev) {
  try {
    RevisionLog& log = store_.log();
    auto last = log.last_revision(id);
    if (!last.ok()) return last.status();
    if (rev > *last) {
      return Status(Code::not_found, doc_name(id) + " has no revision " + std::to_string(rev));
    }
    const std::string checkpoints = prefix(id, kBlame, section);
    SectionBlame b;
    std::uint64_t from = 0;
    auto cp = edge(log, with_be64(checkpoints, 0), with_be64(checkpoints, rev), true);
    if (!cp.ok()) return cp.status();
    // A version 1 checkpoint has no named fields: start over from revision 0 (this blame
    // writes version 2 checkpoints over the old ones as it passes them).
    if (*cp && !(*cp)->second.empty() && (*cp)->second.front() == 1) cp->reset();
    if (*cp) {
      if (!decode_blame((*cp)->second, b)) return corrupt(id, "a blame checkpoint is damaged");
      from = tail64((*cp)->first);
    } else {
      // The text the document was created with (a template) counts as revision 0's.
      auto created = store_.load_at(id, 0);
      if (!created.ok()) return created.status();
      if (const auto* s = created->doc.find(section); s != nullptr && !s->removed) {
        b.live = true;
        b.title = fresh_runs(s->title.to_string(), 0);
        b.body = fresh_runs(s->body.to_string(), 0);
        for (const auto& [name, text] : s->fields) b.fields[name] = fresh_runs(text.to_string(), 0);
        b.authors.push_back(BlameAuthor{0, "", "", 0});
      }
    }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> todo;  // (revision, section ordinal)
    Status bad;
    const std::string touched = prefix(id, kBySection, section);
    auto s = log.history_scan(with_be64(touched, from + 1), with_be64(touched, rev), false,
                              [&](std::string_view k, std::string_view v) {
                                std::uint64_t n = 0;
                                if (!enc::get_varint(v, n)) {
                                  bad = corrupt(id, "a section ordinal is damaged");
                                  return false;
                                }
                                todo.emplace_back(tail64(k), n);
                                return true;
                              });
    if (!s.ok()) return s;
    if (!bad.ok()) return bad;
    std::vector<std::pair<std::string, std::string>> new_checkpoints;
    const bool can_write = !store_.options().read_only;
    for (const auto& [r, n] : todo) {
      auto revision = store_.revision(id, r);
      if (!revision.ok()) return revision.status();
      if (!apply_blame(b, revision->op, section, r)) {
        return Status(Code::corruption, "revision " + std::to_string(r) + " of " + doc_name(id) +
                                            " does not fit the text of section " +
                                            std::string(section));
      }
      // Revisions come in increasing order: the authors stay sorted.
      b.authors.push_back(BlameAuthor{r, std::move(revision->info.author),
                                      std::move(revision->info.institution),
                                      revision->info.server_time_ms});
      if (can_write && n % kBlameInterval == 0) {
        prune_authors(b);
        new_checkpoints.emplace_back(with_be64(checkpoints, r), encode_blame(b));
        if (new_checkpoints.size() >= 64) {
          if (auto w = log.history_write(new_checkpoints); !w.ok()) return w;
          new_checkpoints.clear();
        }
      }
    }
    if (!new_checkpoints.empty()) {
      if (auto w = log.history_write(new_checkpoints); !w.ok()) return w;
    }
    prune_authors(b);
    b.rev = rev;
    return b;
  } catch (const std::exception& e) {
    return Status(Code::internal, "blaming section " + std::string(section) + " of " +
                                      doc_name(id) + ": " + e.what());
  }
}

const BlameAuthor* SectionBlame::author_of(std::uint64_t r) const {
  auto it = std::lower_bound(authors.begin(), authors.end(), r,
                             [](const BlameAuthor& a, std::uint64_t v) { return a.rev < v; });
  return it != authors.end() && it->rev == r ? &*it : nullptr;
}

// ---- Verification ----

Result<std::vector<std::string>> History::verify(DocumentId id) const {
  try {
    const RevisionLog& log = store_.log();
    HistoryIndexWriter rebuild([](const std::string&, const std::string&) {
      return Result<std::optional<KeyValue>>(std::optional<KeyValue>());
    });
    std::map<std::string, std::string> expected;
    std::vector<KeyValue> entries;
    Status failed;
    auto s = log.for_each_revision(id, 1, UINT64_MAX, [&](RawRevision&& r) {
      RawAppend a;
      a.document = id;
      a.rev = r.rev;
      a.info = std::move(r.info);
      entries.clear();
      failed = rebuild.add(a, entries);
      for (auto& [k, v] : entries) expected[std::move(k)] = std::move(v);
      return failed.ok();
    });
    if (!s.ok()) return s;
    if (!failed.ok()) return failed;
    std::vector<std::string> problems;
    auto problem = [&](std::string p) {
      if (problems.size() < 20) problems.push_back(std::move(p));
    };
    auto describe = [](std::string_view k) {
      std::string out(1, k.size() > 8 ? k[8] : '?');
      out += " key of " + std::to_string(k.size()) + " bytes";
      if (k.size() >= 17) out += " ending at revision " + std::to_string(tail64(k));
      return out;
    };
    const std::string doc_prefix = prefix(id, '\0').substr(0, 8);
    auto it = expected.begin();
    s = log.history_scan(doc_prefix, past(doc_prefix), false,
                         [&](std::string_view k, std::string_view v) {
                           if (k.size() > 8 && (k[8] == kVersion || k[8] == kBlame)) return true;
                           while (it != expected.end() && it->first < k) {
                             problem("missing: " + describe(it->first));
                             ++it;
                           }
                           if (it == expected.end() || it->first != k) {
                             problem("not in the log: " + describe(k));
                           } else {
                             if (it->second != v) problem("differs: " + describe(k));
                             ++it;
                           }
                           return true;
                         });
    if (!s.ok()) return s;
    for (; it != expected.end(); ++it) problem("missing: " + describe(it->first));
    return problems;
  } catch (const std::exception& e) {
    return Status(Code::internal,
                  "verifying the history index of " + doc_name(id) + ": " + e.what());
  }
}

}  // namespace jointly::storage
