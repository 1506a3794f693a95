// The history indexes (storage/history_index.hpp): pages, groups, time ranges, counts, named
// versions and blame checked against naive recomputations over random histories; the indexes
// after reopening, after upgrading a version 1 store, and after a crash; restored_from.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "storage/encoding.hpp"
#include "storage/history_index.hpp"
#include "storage/store.hpp"
#include "tests/storage/history_random.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::storage {
namespace {

using testing::append_random;
using testing::RandomHistory;
using testing::TempDir;
using History_ = std::vector<std::pair<protocol::DocOp, RevisionInfo>>;

Options small_k() {
  Options o;
  o.snapshot_interval = 16;
  o.durability = Durability::none;
  return o;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<Store> store;
  DocumentId id = 0;
  protocol::Document doc;
  std::uint64_t rev = 0;
  History_ ops;

  explicit Fixture(std::uint64_t seed, int n, Options o = small_k()) {
    store = std::move(Store::open(dir.sub("s"), o)).value();
    id = *store->create_document("T");
    RandomHistory h(seed);
    ops = append_random(*store, id, doc, rev, h, n);
  }
};

std::vector<std::int64_t> index_times(const History_& ops) {
  std::vector<std::int64_t> out;
  std::int64_t high = 0;
  for (const auto& [op, info] : ops) {
    high = std::max(high, info.server_time_ms);
    out.push_back(high);
  }
  return out;
}

bool matches(const RevisionInfo& info, std::int64_t index_time, const HistoryFilter& f) {
  if (f.section &&
      std::find(info.sections.begin(), info.sections.end(), *f.section) == info.sections.end()) {
    return false;
  }
  if (f.author && info.author != *f.author) return false;
  if (f.institution && info.institution != *f.institution) return false;
  if (f.from_ms && index_time < *f.from_ms) return false;
  if (f.to_ms && index_time > *f.to_ms) return false;
  return true;
}

HistoryFilter random_filter(std::mt19937_64& rng, const History_& ops) {
  HistoryFilter f;
  auto coin = [&] { return rng() % 3 == 0; };
  const auto& some = ops[rng() % ops.size()].second;
  if (coin() && !some.sections.empty()) f.section = some.sections.front();
  if (coin()) f.author = some.author;
  if (coin()) f.institution = ops[rng() % ops.size()].second.institution;
  if (coin()) {
    const auto times = index_times(ops);
    const auto a = times[rng() % times.size()], b = times[rng() % times.size()];
    f.from_ms = std::min(a, b);
    f.to_ms = std::max(a, b);
  }
  return f;
}

TEST(HistoryIndex, RevisionPagesMatchAFilterOfTheLog) {
  Fixture fx(1, 700);
  History h(*fx.store);
  const auto times = index_times(fx.ops);
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 60; ++trial) {
    const HistoryFilter f = trial == 0 ? HistoryFilter{} : random_filter(rng, fx.ops);
    std::vector<std::uint64_t> expected;
    for (std::uint64_t r = fx.rev; r >= 1; --r) {
      if (matches(fx.ops[r - 1].second, times[r - 1], f)) expected.push_back(r);
    }
    std::vector<std::uint64_t> got;
    std::uint64_t cursor = 0;
    const std::size_t limit = 1 + rng() % 40;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = h.revisions(fx.id, f, cursor, limit);
      ASSERT_TRUE(page.ok()) << page.status().to_string();
      ASSERT_LE(page->entries.size(), limit);
      for (const auto& e : page->entries) {
        got.push_back(e.rev);
        EXPECT_EQ(e.info, fx.ops[e.rev - 1].second);
      }
      if (page->next_cursor == 0) break;
      EXPECT_EQ(page->entries.size(), limit);
      cursor = page->next_cursor;
    }
    EXPECT_EQ(got, expected) << "trial " << trial;
  }
}

struct NaiveGroup {
  std::uint64_t first = 0, last = 0;
  std::string author, institution;
  std::map<std::string, std::uint64_t> sections;
};

std::vector<NaiveGroup> naive_groups(const History_& ops) {
  std::vector<NaiveGroup> out;
  const auto times = index_times(ops);
  for (std::uint64_t r = 1; r <= ops.size(); ++r) {
    const auto& info = ops[r - 1].second;
    if (out.empty() || out.back().author != info.author ||
        out.back().institution != info.institution ||
        times[r - 1] - times[out.back().last - 1] > kGroupGapMs) {
      out.push_back(NaiveGroup{r, r, info.author, info.institution, {}});
    }
    out.back().last = r;
    for (const auto& s : info.sections) ++out.back().sections[s];
  }
  return out;
}

TEST(HistoryIndex, GroupsMatchANaiveGrouping) {
  Fixture fx(2, 900);
  History h(*fx.store);
  const auto groups = naive_groups(fx.ops);
  ASSERT_GT(groups.size(), 20u);
  ASSERT_LT(groups.size(), 400u);
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 40; ++trial) {
    HistoryFilter f = trial == 0 ? HistoryFilter{} : random_filter(rng, fx.ops);
    f.from_ms.reset();  // time ranges: below
    f.to_ms.reset();
    std::vector<NaiveGroup> expected;
    for (auto it = groups.rbegin(); it != groups.rend(); ++it) {
      if (f.author && it->author != *f.author) continue;
      if (f.institution && it->institution != *f.institution) continue;
      if (f.section && it->sections.count(*f.section) == 0) continue;
      expected.push_back(*it);
    }
    std::vector<GroupEntry> got;
    std::uint64_t cursor = 0;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = h.groups(fx.id, f, cursor, 7);
      ASSERT_TRUE(page.ok()) << page.status().to_string();
      got.insert(got.end(), page->entries.begin(), page->entries.end());
      if (page->next_cursor == 0) break;
      cursor = page->next_cursor;
    }
    ASSERT_EQ(got.size(), expected.size()) << "trial " << trial;
    for (std::size_t i = 0; i < got.size(); ++i) {
      const auto& g = got[i];
      const auto& e = expected[i];
      EXPECT_EQ(g.first_rev, e.first);
      EXPECT_EQ(g.last_rev, e.last);
      EXPECT_EQ(g.revisions, e.last - e.first + 1);
      EXPECT_EQ(g.author, e.author);
      EXPECT_EQ(g.institution, e.institution);
      EXPECT_EQ(g.first_time_ms, fx.ops[e.first - 1].second.server_time_ms);
      EXPECT_EQ(g.last_time_ms, fx.ops[e.last - 1].second.server_time_ms);
      const std::map<std::string, std::uint64_t> sections(g.sections.begin(), g.sections.end());
      EXPECT_EQ(sections, e.sections);
      EXPECT_EQ(g.matching, f.section ? e.sections.at(*f.section) : g.revisions);
    }
  }
}

TEST(HistoryIndex, GroupsClippedToATimeRangeCountOnlyTheRevisionsInIt) {
  Fixture fx(4, 600);
  History h(*fx.store);
  const auto times = index_times(fx.ops);
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 30; ++trial) {
    HistoryFilter f;
    const auto a = times[rng() % times.size()], b = times[rng() % times.size()];
    f.from_ms = std::min(a, b);
    f.to_ms = std::max(a, b);
    if (trial % 2 == 1) f.section = fx.ops[rng() % fx.ops.size()].second.sections.front();
    std::uint64_t covered = 0, matching = 0;
    for (std::uint64_t r = 1; r <= fx.rev; ++r) {
      if (matches(fx.ops[r - 1].second, times[r - 1], f)) ++matching;
    }
    std::uint64_t cursor = 0;
    std::uint64_t previous_first = UINT64_MAX;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = h.groups(fx.id, f, cursor, 5);
      ASSERT_TRUE(page.ok());
      for (const auto& g : page->entries) {
        EXPECT_LT(g.last_rev, previous_first);
        previous_first = g.first_rev;
        EXPECT_GE(times[g.first_rev - 1], *f.from_ms);
        EXPECT_LE(times[g.last_rev - 1], *f.to_ms);
        covered += g.revisions;
        std::uint64_t in_section = 0;
        for (auto r = g.first_rev; r <= g.last_rev; ++r) {
          EXPECT_EQ(fx.ops[r - 1].second.author, g.author);
          if (f.section) {
            const auto& s = fx.ops[r - 1].second.sections;
            in_section += std::count(s.begin(), s.end(), *f.section);
          }
        }
        EXPECT_EQ(g.matching, f.section ? in_section : g.revisions);
        if (f.section) EXPECT_GT(g.matching, 0u);
      }
      if (page->next_cursor == 0) break;
      cursor = page->next_cursor;
    }
    if (!f.section) EXPECT_EQ(covered, matching);
  }
}

TEST(HistoryIndex, TimeRangesFollowTheHighWaterMarkWhenTheClockStepsBack) {
  TempDir dir;
  auto store = std::move(Store::open(dir.sub("s"), small_k())).value();
  const DocumentId id = *store->create_document("T");
  protocol::Document doc;
  const std::int64_t times[] = {1000, 2000, 1500, 3000, 2500, 4000};
  for (std::uint64_t r = 1; r <= 6; ++r) {
    auto op = r == 1 ? testing::RandomHistory(1).next(doc).first : protocol::DocOp{};
    ASSERT_TRUE(protocol::apply(doc, op).ok());
    RevisionInfo info{"ana", "uni-graz", times[r - 1], {}, "c", r, 0};
    ASSERT_TRUE(store->append(id, r, op, info, doc).ok());
  }
  History h(*store);
  auto range = h.time_range(id, 1600, 2900);
  ASSERT_TRUE(range.ok());
  // Revision 3 (1500) was made after revision 2 (2000): it counts at 2000.
  ASSERT_TRUE(range->has_value());
  EXPECT_EQ(**range, (std::pair<std::uint64_t, std::uint64_t>{2, 3}));
  range = h.time_range(id, 3000, 3999);
  EXPECT_EQ(**range, (std::pair<std::uint64_t, std::uint64_t>{4, 5}));
  range = h.time_range(id, 4001, 9000);
  EXPECT_FALSE(range->has_value());
  range = h.time_range(id, 9000, 10);
  EXPECT_FALSE(range->has_value());
}

TEST(HistoryIndex, SectionCountsPerInstitution) {
  Fixture fx(6, 500);
  History h(*fx.store);
  std::mt19937_64 rng(8);
  for (int trial = 0; trial < 20; ++trial) {
    const std::uint64_t at = 1 + rng() % fx.rev;
    const std::string section = fx.ops[rng() % at].second.sections.front();
    std::map<std::string, std::uint64_t> expected;
    std::uint64_t total = 0;
    for (std::uint64_t r = 1; r <= at; ++r) {
      const auto& info = fx.ops[r - 1].second;
      if (std::count(info.sections.begin(), info.sections.end(), section)) {
        ++expected[info.institution];
        ++total;
      }
    }
    auto n = h.section_revisions(fx.id, section, at);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, total);
    auto per = h.section_institutions(fx.id, section, at);
    ASSERT_TRUE(per.ok());
    std::map<std::string, std::uint64_t> got;
    for (const auto& p : *per) got[p.institution] = p.revisions;
    EXPECT_EQ(got, expected);
  }
}

void expect_blame(History& h, const Fixture& fx, const std::string& section, std::uint64_t at) {
  auto b = h.blame(fx.id, section, at);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  const auto naive = testing::naive_blame(fx.ops, section, at);
  EXPECT_EQ(b->live, naive.live) << section << " at " << at;
  auto expand = [](const std::vector<BlameRun>& runs) {
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      EXPECT_GT(runs[i].length, 0u);
      if (i > 0) EXPECT_NE(runs[i].rev, runs[i - 1].rev) << "adjacent runs are merged";
      out.insert(out.end(), runs[i].length, runs[i].rev);
    }
    return out;
  };
  std::set<std::uint64_t> named;
  std::vector<const std::vector<BlameRun>*> all{&b->title, &b->body};
  for (const auto& [name, runs] : b->fields) all.push_back(&runs);
  for (const auto* runs : all) {
    for (const auto& run : *runs) {
      named.insert(run.rev);
      const BlameAuthor* who = b->author_of(run.rev);
      ASSERT_NE(who, nullptr) << "revision " << run.rev;
      const auto& info = fx.ops[run.rev - 1].second;
      EXPECT_EQ(*who, (BlameAuthor{run.rev, info.author, info.institution, info.server_time_ms}));
    }
  }
  EXPECT_EQ(b->authors.size(), named.size()) << "authors of revisions no longer in the text";
  EXPECT_EQ(expand(b->title), naive.title) << section << " at " << at;
  EXPECT_EQ(expand(b->body), naive.body) << section << " at " << at;
  std::map<std::string, std::vector<std::uint64_t>> fields;
  for (const auto& [name, runs] : b->fields) fields[name] = expand(runs);
  EXPECT_EQ(fields, naive.fields) << section << " at " << at;
}

TEST(HistoryIndex, BlameMatchesANaiveReplayOverManySeeds) {
  for (std::uint64_t seed = 100; seed < 112; ++seed) {
    Fixture fx(seed, seed % 3 == 0 ? 1500 : 400);
    History h(*fx.store);
    std::set<std::string> sections;
    for (const auto& [op, info] : fx.ops)
      sections.insert(info.sections.begin(), info.sections.end());
    std::mt19937_64 rng(seed);
    // The latest revision first: that writes the checkpoints the earlier ones then start from.
    for (const auto& s : sections) expect_blame(h, fx, s, fx.rev);
    for (int trial = 0; trial < 25; ++trial) {
      auto it = sections.begin();
      std::advance(it, rng() % sections.size());
      expect_blame(h, fx, *it, rng() % (fx.rev + 1));
    }
  }
}

TEST(HistoryIndex, NamedFieldsAreBlamedAndVersion1CheckpointsAreReplaced) {
  Fixture fx(41, 1500);
  History h(*fx.store);
  std::set<std::string> sections;
  for (const auto& [op, info] : fx.ops) sections.insert(info.sections.begin(), info.sections.end());
  std::size_t with_fields = 0;
  for (const auto& s : sections) {
    expect_blame(h, fx, s, fx.rev);
    const auto* now = fx.doc.find(s);
    if (now != nullptr && !now->fields.empty()) ++with_fields;
  }
  ASSERT_GT(with_fields, 0u) << "the random history gives some sections named fields";
  // Every checkpoint written so far, turned into a version 1 record (title and body only, here
  // empty): a blame must not start from one.
  std::string lower;
  encoding::put_be64(lower, fx.id);
  lower.push_back('B');
  const std::string upper = lower + std::string(1, '\xff');
  std::vector<std::pair<std::string, std::string>> old;
  ASSERT_TRUE(fx.store->log()
                  .history_scan(lower, upper, false,
                                [&](std::string_view k, std::string_view) {
                                  old.emplace_back(std::string(k),
                                                   std::string("\x01\x01\x00\x00\x00\x00", 6));
                                  return true;
                                })
                  .ok());
  ASSERT_GT(old.size(), 0u);
  ASSERT_TRUE(fx.store->log().history_write(old).ok());
  std::mt19937_64 rng(41);
  for (const auto& s : sections) expect_blame(h, fx, s, rng() % (fx.rev + 1));
  for (const auto& s : sections) expect_blame(h, fx, s, fx.rev);
  std::size_t version2 = 0;
  ASSERT_TRUE(fx.store->log()
                  .history_scan(lower, upper, false,
                                [&](std::string_view, std::string_view v) {
                                  EXPECT_EQ(v.front(), '\x02');
                                  ++version2;
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(version2, old.size()) << "each old checkpoint written again in version 2";
}

TEST(HistoryIndex, BlameOfARevisionPastTheEndIsNotFound) {
  Fixture fx(9, 20);
  History h(*fx.store);
  EXPECT_EQ(h.blame(fx.id, "s1", fx.rev + 1).status().code(), Code::not_found);
  auto none = h.blame(fx.id, "no-such-section", fx.rev);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->live);
}

TEST(HistoryIndex, NamedVersions) {
  Fixture fx(10, 30);
  History h(*fx.store);
  ASSERT_TRUE(h.name_version(fx.id, 12, "sent to programme boards", "ana", 5000).ok());
  ASSERT_TRUE(h.name_version(fx.id, 3, "first draft", "ben", 4000).ok());
  EXPECT_EQ(h.name_version(fx.id, 12, "again", "ben", 1).code(), Code::already_exists);
  EXPECT_EQ(h.name_version(fx.id, 31, "future", "ben", 1).code(), Code::not_found);
  EXPECT_EQ(h.name_version(fx.id, 4, "", "ben", 1).code(), Code::invalid_argument);
  EXPECT_EQ(h.name_version(fx.id, 4, "a\nb", "ben", 1).code(), Code::invalid_argument);
  EXPECT_EQ(h.name_version(fx.id, 4, std::string(kMaxVersionNameBytes + 1, 'x'), "b", 1).code(),
            Code::invalid_argument);
  auto v = h.versions(fx.id);
  ASSERT_TRUE(v.ok());
  const std::vector<NamedVersion> expected{{3, "first draft", "ben", 4000},
                                           {12, "sent to programme boards", "ana", 5000}};
  EXPECT_EQ(*v, expected);
  EXPECT_EQ(h.versions(999).status().code(), Code::not_found);
  // Named versions and blame checkpoints are not revision indexes: verify ignores them.
  ASSERT_TRUE(h.blame(fx.id, "s1", fx.rev).ok());
  EXPECT_TRUE(h.verify(fx.id)->empty());
}

TEST(HistoryIndex, IndexesSurviveReopeningAndKeepGrowing) {
  TempDir dir;
  protocol::Document doc;
  std::uint64_t rev = 0;
  RandomHistory rh(11);
  History_ ops;
  DocumentId id = 0;
  for (int round = 0; round < 3; ++round) {
    Options o = small_k();
    o.durability = round == 1 ? Durability::sync : Durability::none;
    auto store = std::move(Store::open(dir.sub("s"), o)).value();
    if (round == 0) id = *store->create_document("T");
    auto more = append_random(*store, id, doc, rev, rh, 150);
    ops.insert(ops.end(), more.begin(), more.end());
    History h(*store);
    auto problems = h.verify(id);
    ASSERT_TRUE(problems.ok());
    EXPECT_TRUE(problems->empty()) << problems->front();
  }
  auto store = std::move(Store::open(dir.sub("s"), small_k())).value();
  History h(*store);
  EXPECT_TRUE(h.verify(id)->empty());
  auto page = h.revisions(id, HistoryFilter{}, 0, 450);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 450u);
  EXPECT_EQ(page->entries.front().rev, 450u);
  EXPECT_EQ(page->next_cursor, 0u);
}

TEST(HistoryIndex, RestoredFromIsStoredAndOldRecordsReadAsZero) {
  TempDir dir;
  auto store = std::move(Store::open(dir.sub("s"), small_k())).value();
  const DocumentId id = *store->create_document("T");
  protocol::Document doc;
  RandomHistory rh(12);
  std::uint64_t rev = 0;
  append_random(*store, id, doc, rev, rh, 5);
  RevisionInfo info{"ana", "uni-graz", 1, {}, "c-restore", 1, 3};
  ASSERT_TRUE(store->append(id, 6, protocol::DocOp{}, info, doc).ok());
  EXPECT_EQ(store->revision(id, 6)->info.restored_from, 3u);
  EXPECT_EQ(store->revision(id, 5)->info.restored_from, 0u);

  // A record as the format wrote it before restored_from existed.
  RevisionInfo old{"ben", "tu-delft", 77, {"s1"}, "c", 9, 0};
  std::string legacy(1, '\x01');
  encoding::put_varint(legacy, 77);
  encoding::put_bytes(legacy, "ben");
  encoding::put_bytes(legacy, "tu-delft");
  encoding::put_bytes(legacy, "c");
  encoding::put_varint(legacy, 9);
  encoding::put_varint(legacy, 1);
  encoding::put_bytes(legacy, "s1");
  encoding::put_bytes(legacy, "OP");
  EXPECT_EQ(encoding::encode_revision(old, "OP"), legacy);
  RawRevision decoded;
  ASSERT_TRUE(encoding::decode_revision(legacy, decoded));
  EXPECT_EQ(decoded.info, old);
  // A zero written explicitly is not the format (it is written only when not 0).
  std::string explicit_zero = legacy;
  encoding::put_varint(explicit_zero, 0);
  EXPECT_FALSE(encoding::decode_revision(explicit_zero, decoded));
}

// Turns a store into what format version 1 wrote: no history family, version "1".
void downgrade_to_version_1(const std::string& path) {
  rocksdb::DBOptions d;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(d, path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
  for (const auto& n : names) cfds.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(d, path, cfds, &handles, &db).ok());
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "history") ASSERT_TRUE(db->DropColumnFamily(handles[i]).ok());
  }
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0], "jointly.format_version", "1").ok());
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
  delete db;
}

TEST(HistoryIndex, AVersion1StoreIsIndexedWhenOpenedForWriting) {
  TempDir dir;
  DocumentId id = 0;
  History_ ops;
  {
    auto store = std::move(Store::open(dir.sub("s"), small_k())).value();
    id = *store->create_document("T");
    protocol::Document doc;
    std::uint64_t rev = 0;
    RandomHistory rh(13);
    ops = append_random(*store, id, doc, rev, rh, 300);
  }
  downgrade_to_version_1(dir.sub("s"));
  {
    Options ro = small_k();
    ro.read_only = true;
    auto store = std::move(Store::open(dir.sub("s"), ro)).value();
    EXPECT_EQ(store->load(id)->rev, 300u);  // the log reads as before
    History h(*store);
    EXPECT_EQ(h.revisions(id, HistoryFilter{}, 0, 10)->entries.size(), 10u);  // the log alone
    HistoryFilter by_ana;
    by_ana.author = "ana";
    EXPECT_EQ(h.revisions(id, by_ana, 0, 10).status().code(), Code::unsupported_format);
  }
  auto store = std::move(Store::open(dir.sub("s"), small_k())).value();
  History h(*store);
  auto problems = h.verify(id);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty()) << problems->front();
  HistoryFilter f;
  f.author = "ana";
  auto page = h.revisions(id, f, 0, 1000);
  std::size_t expected = 0;
  for (const auto& [op, info] : ops) expected += info.author == "ana";
  EXPECT_EQ(page->entries.size(), expected);
}

// A child appends random revisions in durability sync until it is killed; the indexes must
// agree with whatever log survives.
TEST(HistoryIndex, IndexesAgreeWithTheLogAfterACrash) {
  for (int trial = 0; trial < 6; ++trial) {
    TempDir dir;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      Options o;
      o.snapshot_interval = 16;
      auto store = Store::open(dir.sub("s"), o);
      if (!store.ok()) std::_Exit(2);
      const DocumentId id = *(*store)->create_document("T");
      protocol::Document doc;
      RandomHistory rh(200 + trial);
      for (std::uint64_t rev = 1;; ++rev) {
        auto [op, info] = rh.next(doc);
        if (!protocol::apply(doc, op).ok()) std::_Exit(3);
        if (!(*store)->append(id, rev, op, info, doc).ok()) std::_Exit(4);
        if (rev == 1 && ::write(fds[1], "x", 1) != 1) std::_Exit(5);
      }
    }
    ::close(fds[1]);
    char c = 0;
    ASSERT_EQ(::read(fds[0], &c, 1), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + 60 * trial));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own: " << status;
    auto store = std::move(Store::open(dir.sub("s"), Options{})).value();
    const auto last = store->load(1)->rev;
    EXPECT_GE(last, 1u);
    History h(*store);
    auto problems = h.verify(1);
    ASSERT_TRUE(problems.ok());
    EXPECT_TRUE(problems->empty()) << "trial " << trial << ": " << problems->front();
    auto page = h.revisions(1, HistoryFilter{}, 0, 1);
    EXPECT_EQ(page->entries.front().rev, last);
  }
}

}  // namespace
}  // namespace jointly::storage
