// RevisionLog: the byte-level log, its write path, open checks, failure and durability modes.
#include "storage/revision_log.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/fault_injection.hpp"
#include "tests/storage/raw_append.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::storage {
namespace {

using testing::TempDir;
using testing::write_file;
namespace fs = std::filesystem;

Options small_k(std::uint64_t k = 3) {
  Options o;
  o.snapshot_interval = k;
  return o;
}

std::unique_ptr<RevisionLog> open_or_die(const std::string& dir, Options o = small_k()) {
  auto log = RevisionLog::open(dir, std::move(o));
  EXPECT_TRUE(log.ok()) << log.status().to_string();
  if (!log.ok()) return nullptr;
  return std::move(log).value();
}

RawAppend make(DocumentId doc, std::uint64_t rev, std::uint64_t k = 3, std::string client = "c1") {
  return testing::make_raw_append(doc, rev, k, std::move(client));
}

// The log of a document as a string: "1:op1 2:op2 ...".
std::string contents(const RevisionLog& log, DocumentId doc) {
  auto revs = log.revisions(doc, 1, UINT64_MAX);
  if (!revs.ok()) return revs.status().to_string();
  std::string out;
  for (const auto& r : *revs) {
    if (!out.empty()) out += ' ';
    out += std::to_string(r.rev) + ":" + r.op;
  }
  return out;
}

DocumentId create(RevisionLog& log, const std::string& title = "Course") {
  auto id = log.create_document(title, 1000, "snap0");
  EXPECT_TRUE(id.ok()) << id.status().to_string();
  return id.ok() ? *id : 0;
}

TEST(RevisionLog, CreatesAStoreInAnAbsentDirectoryAndReopensIt) {
  TempDir tmp;
  const auto dir = tmp.sub("store");
  {
    auto log = open_or_die(dir);
    const auto id = create(*log, "Joint vision");
    ASSERT_TRUE(log->append(make(id, 1)).ok());
    EXPECT_TRUE(log->healthy());
  }
  auto log = open_or_die(dir);
  EXPECT_EQ(contents(*log, 1), "1:op1");
  auto meta = log->document(1);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->title, "Joint vision");
  EXPECT_EQ(meta->created_ms, 1000);
  EXPECT_EQ(meta->last_rev, 1u);
}

TEST(RevisionLog, AssignsDocumentIdsInCreationOrderAndListsThem) {
  TempDir tmp;
  {
    auto log = open_or_die(tmp.sub("s"));
    EXPECT_EQ(create(*log, "A"), 1u);
    EXPECT_EQ(create(*log, "B"), 2u);
    ASSERT_TRUE(log->append(make(2, 1)).ok());
  }
  auto log = open_or_die(tmp.sub("s"));
  EXPECT_EQ(create(*log, "C"), 3u);  // the counter survives a reopen
  auto docs = log->list_documents();
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ((*docs)[0].title, "A");
  EXPECT_EQ((*docs)[0].last_rev, 0u);
  EXPECT_EQ((*docs)[1].title, "B");
  EXPECT_EQ((*docs)[1].last_rev, 1u);
  EXPECT_EQ((*docs)[2].id, 3u);
}

TEST(RevisionLog, ReadsBackEveryFieldOfARevision) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto id = create(*log);
  auto a = make(id, 1);
  a.info.sections = {"s1", "s2"};
  a.info.author = "bob \xF0\x9F\x98\x80";
  a.op = std::string("\0\x01binary", 8);
  ASSERT_TRUE(log->append(a).ok());
  auto r = log->revisions(id, 1, 1);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].document, id);
  EXPECT_EQ((*r)[0].rev, 1u);
  EXPECT_EQ((*r)[0].info, a.info);
  EXPECT_EQ((*r)[0].op, a.op);
}

TEST(RevisionLog, ReadsARangeOfRevisionsWithALimit) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto a = create(*log);
  const auto b = create(*log);
  for (std::uint64_t r = 1; r <= 10; ++r) {
    ASSERT_TRUE(log->append(make(a, r)).ok());
    ASSERT_TRUE(log->append(make(b, r, 3, "c2")).ok());
  }
  auto mid = log->revisions(a, 4, 7);
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->size(), 4u);
  EXPECT_EQ(mid->front().rev, 4u);
  EXPECT_EQ(mid->back().rev, 7u);
  auto limited = log->revisions(b, 2, 100, 3);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 3u);
  EXPECT_EQ(limited->back().rev, 4u);
  EXPECT_EQ(contents(*log, a), "1:op1 2:op2 3:op3 4:op4 5:op5 6:op6 7:op7 8:op8 9:op9 10:op10");
  auto none = log->revisions(a, 11, 20);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(RevisionLog, RefusesAnAppendThatIsNotTheNextRevision) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto id = create(*log);
  auto skipped = log->append(make(id, 2));
  EXPECT_EQ(skipped.code(), Code::conflict) << skipped.to_string();
  EXPECT_NE(skipped.message().find("ends at revision 0"), std::string::npos);
  EXPECT_EQ(log->append(make(id, 0)).code(), Code::conflict);
  ASSERT_TRUE(log->append(make(id, 1)).ok());
  EXPECT_EQ(log->append(make(id, 1, 3, "other")).code(), Code::conflict);
  EXPECT_EQ(log->append(make(id, 3)).code(), Code::conflict);
  ASSERT_TRUE(log->append(make(id, 2)).ok());
  EXPECT_TRUE(log->healthy());  // a refused append is the caller's mistake, not a failure
  EXPECT_EQ(contents(*log, id), "1:op1 2:op2");
}

TEST(RevisionLog, RefusesAnAppendToADocumentThatDoesNotExist) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  EXPECT_EQ(log->append(make(42, 1)).code(), Code::not_found);
  EXPECT_EQ(log->last_revision(42).status().code(), Code::not_found);
  EXPECT_EQ(log->document(42).status().code(), Code::not_found);
}

TEST(RevisionLog, FindsTheRevisionOfAClientSequencePair) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto id = create(*log);
  const auto other = create(*log);
  auto a = make(id, 1, 3, "client-a");
  a.info.client_seq = 7;
  ASSERT_TRUE(log->append(a).ok());
  auto b = make(id, 2, 3, "client-b");
  b.info.client_seq = 7;
  ASSERT_TRUE(log->append(b).ok());
  EXPECT_EQ(*log->find_by_client(id, "client-a", 7), 1u);
  EXPECT_EQ(*log->find_by_client(id, "client-b", 7), 2u);
  EXPECT_EQ(log->find_by_client(id, "client-a", 8).status().code(), Code::not_found);
  EXPECT_EQ(log->find_by_client(other, "client-a", 7).status().code(), Code::not_found);
}

TEST(RevisionLog, RefusesAClientSequencePairThatIsAlreadyInTheLog) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto id = create(*log);
  ASSERT_TRUE(log->append(make(id, 1)).ok());
  auto again = make(id, 2);
  again.info.client_seq = 1;
  auto s = log->append(again);
  EXPECT_EQ(s.code(), Code::already_exists) << s.to_string();
  EXPECT_NE(s.message().find("revision 1"), std::string::npos) << s.message();
  EXPECT_EQ(contents(*log, id), "1:op1");
}

TEST(RevisionLog, RefusesAClientSequencePairUsedTwiceInOneBatch) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto id = create(*log);
  // Hold the writer in a callback so both appends queue up and go in one group.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  const auto other = create(*log);
  ASSERT_TRUE(log->append_async(make(other, 1),
                                [&](const Status&) {
                                  std::unique_lock lk(mu);
                                  cv.wait(lk, [&] { return release; });
                                })
                  .ok());
  std::vector<Status> results(2);
  std::atomic<int> done{0};
  ASSERT_TRUE(
      log->append_async(make(id, 1), [&](const Status& s) { results[0] = s, ++done; }).ok());
  auto dup = make(id, 2);
  dup.info.client_seq = 1;
  ASSERT_TRUE(log->append_async(dup, [&](const Status& s) { results[1] = s, ++done; }).ok());
  {
    std::lock_guard lk(mu);
    release = true;
  }
  cv.notify_all();
  while (done.load() < 2) std::this_thread::yield();
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[1].code(), Code::already_exists);
}

TEST(RevisionLog, RequiresASnapshotExactlyAtMultiplesOfK) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"), small_k(3));
  const auto id = create(*log);
  ASSERT_TRUE(log->append(make(id, 1)).ok());
  ASSERT_TRUE(log->append(make(id, 2)).ok());
  auto missing = make(id, 3);
  missing.snapshot.clear();
  EXPECT_EQ(log->append(missing).code(), Code::invalid_argument);
  ASSERT_TRUE(log->append(make(id, 3)).ok());
  auto extra = make(id, 4);
  extra.snapshot = "not due";
  EXPECT_EQ(log->append(extra).code(), Code::invalid_argument);
}

TEST(RevisionLog, FindsTheNearestSnapshotAtOrBeforeARevision) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"), small_k(3));
  const auto id = create(*log);
  const auto other = create(*log);
  for (std::uint64_t r = 1; r <= 7; ++r) ASSERT_TRUE(log->append(make(id, r)).ok());
  for (std::uint64_t r = 1; r <= 4; ++r) ASSERT_TRUE(log->append(make(other, r, 3, "x")).ok());
  auto expect_snapshot = [&](std::uint64_t at, std::uint64_t want) {
    auto s = log->snapshot_at_or_before(id, at);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ(s->rev, want) << "at " << at;
    EXPECT_EQ(s->data, want == 0 ? "snap0" : "snap" + std::to_string(want));
  };
  expect_snapshot(0, 0);
  expect_snapshot(2, 0);  // K - 1
  expect_snapshot(3, 3);  // K
  expect_snapshot(4, 3);  // K + 1
  expect_snapshot(6, 6);
  expect_snapshot(100, 6);
  EXPECT_EQ(*log->snapshot_revisions(id), (std::vector<std::uint64_t>{0, 3, 6}));
  EXPECT_EQ(log->snapshot_at_or_before(99, 5).status().code(), Code::not_found);
}

TEST(RevisionLog, CompletesAsynchronousAppendsInQueueOrderOnTheWriterThread) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto id = create(*log);
  std::mutex mu;
  std::vector<std::uint64_t> order;
  std::vector<std::thread::id> threads;
  const int n = 500;
  for (int r = 1; r <= n; ++r) {
    Status s;
    do {
      s = log->append_async(make(id, r), [&, r](const Status& st) {
        EXPECT_TRUE(st.ok()) << st.to_string();
        std::lock_guard lk(mu);
        order.push_back(r);
        threads.push_back(std::this_thread::get_id());
      });
      if (s.code() == Code::busy) std::this_thread::yield();
    } while (s.code() == Code::busy);
    ASSERT_TRUE(s.ok()) << s.to_string();
  }
  log.reset();  // completes everything queued
  ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(order[i], static_cast<std::uint64_t>(i + 1));
  for (const auto& t : threads) {
    EXPECT_NE(t, std::this_thread::get_id());
    EXPECT_EQ(t, threads.front());
  }
  auto reopened = open_or_die(tmp.sub("s"));
  EXPECT_EQ(*reopened->last_revision(id), static_cast<std::uint64_t>(n));
}

TEST(RevisionLog, AnswersBusyWhenTheQueueIsFull) {
  TempDir tmp;
  auto o = small_k();
  o.max_queued_writes = 4;
  auto log = open_or_die(tmp.sub("s"), o);
  const auto id = create(*log);
  const auto blocker = create(*log);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> writer_held{false};
  ASSERT_TRUE(log->append_async(make(blocker, 1),
                                [&](const Status&) {
                                  writer_held = true;
                                  std::unique_lock lk(mu);
                                  cv.wait(lk, [&] { return release; });
                                })
                  .ok());
  while (!writer_held.load()) std::this_thread::yield();
  std::atomic<int> completed{0};
  for (int r = 1; r <= 4; ++r) {
    ASSERT_TRUE(log->append_async(make(id, r), [&](const Status& s) { completed += s.ok(); }).ok());
  }
  auto full = log->append_async(make(id, 5), [](const Status&) { ADD_FAILURE(); });
  EXPECT_EQ(full.code(), Code::busy) << full.to_string();
  {
    std::lock_guard lk(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(log->append(make(id, 5)).ok());  // a blocking append waits for room instead
  EXPECT_EQ(completed.load(), 4);
}

TEST(RevisionLog, AppendsFromManyThreadsToManyDocumentsAllLand) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"), small_k(10));
  const int docs = 8, revs = 60;
  std::vector<DocumentId> ids;
  for (int d = 0; d < docs; ++d) ids.push_back(create(*log));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int d = 0; d < docs; ++d) {
    threads.emplace_back([&, d] {
      for (int r = 1; r <= revs; ++r) {
        if (!log->append(make(ids[d], r, 10)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Group commit: concurrent appends shared syncs.
  const auto stats = log->write_stats();
  EXPECT_EQ(stats.writes, static_cast<std::uint64_t>(docs * revs + docs));
  EXPECT_LT(stats.groups, stats.writes) << "every append paid its own sync";
  for (auto id : ids) {
    auto revs_read = log->revisions(id, 1, UINT64_MAX);
    ASSERT_TRUE(revs_read.ok());
    ASSERT_EQ(revs_read->size(), static_cast<std::size_t>(revs));
    for (int r = 1; r <= revs; ++r)
      EXPECT_EQ((*revs_read)[r - 1].rev, static_cast<std::uint64_t>(r));
  }
}

// Group commit waits only for writers that are appending: one writer alone (every group of
// one) never waits, however long group_wait is.
TEST(RevisionLog, ALonelyWriterNeverWaitsForAGroup) {
  TempDir tmp;
  Options o = small_k(10);
  o.group_wait = std::chrono::seconds(1);
  auto log = open_or_die(tmp.sub("s"), o);
  const DocumentId id = create(*log);
  const auto start = std::chrono::steady_clock::now();
  for (int r = 1; r <= 10; ++r) ASSERT_TRUE(log->append(make(id, r, 10)).ok());
  // Waiting even once per append would take 10 s; ten synced appends take milliseconds.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(log->write_stats().groups, log->write_stats().writes);
}

// After groups of several writes, a writer that is then alone waits for a group at most a
// few times (the target decays by one per smaller group), each wait bounded by group_wait.
TEST(RevisionLog, GroupWaitDecaysWhenTheOthersStop) {
  TempDir tmp;
  Options o = small_k(10);
  o.group_wait = std::chrono::milliseconds(300);
  auto log = open_or_die(tmp.sub("s"), o);
  std::vector<DocumentId> ids;
  for (int d = 0; d < 4; ++d) ids.push_back(create(*log));
  std::vector<std::thread> threads;
  for (int d = 0; d < 4; ++d) {
    threads.emplace_back([&, d] {
      for (int r = 1; r <= 20; ++r) EXPECT_TRUE(log->append(make(ids[d], r, 10)).ok());
    });
  }
  for (auto& t : threads) t.join();
  // Alone now: the first appends may wait (a group_wait each, the writer sees nobody come
  // and stops), then the peak has decayed to one and the rest go straight to the sync.
  const auto start = std::chrono::steady_clock::now();
  for (int r = 21; r <= 40; ++r) ASSERT_TRUE(log->append(make(ids[0], r, 10)).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(4 * 300 + 2000));
  auto revs = log->revisions(ids[0], 1, UINT64_MAX);
  ASSERT_TRUE(revs.ok());
  EXPECT_EQ(revs->size(), 40u);
}

// ---- open: what is refused ----

TEST(RevisionLog, RefusesADirectoryThatHoldsSomethingElse) {
  TempDir tmp;
  fs::create_directories(tmp.sub("photos"));
  write_file(tmp.path() / "photos" / "holiday.jpg", "not a store");
  auto log = RevisionLog::open(tmp.sub("photos"), Options());
  EXPECT_EQ(log.status().code(), Code::not_a_store) << log.status().to_string();
  EXPECT_TRUE(fs::exists(tmp.path() / "photos" / "holiday.jpg"));
  EXPECT_FALSE(fs::exists(tmp.path() / "photos" / "CURRENT"));  // nothing was written there
}

TEST(RevisionLog, RefusesAFileInsteadOfADirectory) {
  TempDir tmp;
  write_file(tmp.path() / "file", "x");
  EXPECT_EQ(RevisionLog::open(tmp.sub("file"), Options()).status().code(), Code::not_a_store);
}

TEST(RevisionLog, CreatesAStoreInAnEmptyDirectory) {
  TempDir tmp;
  fs::create_directories(tmp.sub("empty"));
  EXPECT_TRUE(RevisionLog::open(tmp.sub("empty"), Options()).ok());
}

TEST(RevisionLog, DoesNotCreateAStoreWhenAskedNotTo) {
  TempDir tmp;
  Options o;
  o.create_if_missing = false;
  EXPECT_EQ(RevisionLog::open(tmp.sub("absent"), o).status().code(), Code::not_found);
  Options ro;
  ro.read_only = true;
  EXPECT_EQ(RevisionLog::open(tmp.sub("absent"), ro).status().code(), Code::not_found);
  EXPECT_FALSE(fs::exists(tmp.sub("absent")));
}

// The names and sizes of the files in dir: "CURRENT:16 LOCK:0 ...".
std::string listing(const std::string& dir) {
  std::map<std::string, std::uintmax_t> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    files[e.path().filename()] = e.is_regular_file() ? fs::file_size(e.path()) : 0;
  }
  std::string out;
  for (const auto& [name, size] : files) out += name + ":" + std::to_string(size) + " ";
  return out;
}

TEST(RevisionLog, RefusesARocksDbDatabaseThatIsNotAJointlyStore) {
  TempDir tmp;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, tmp.sub("other"), &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "user:1", "somebody else's data").ok());
    delete db;
  }
  const auto before = listing(tmp.sub("other"));
  auto log = RevisionLog::open(tmp.sub("other"), Options());
  EXPECT_EQ(log.status().code(), Code::not_a_store) << log.status().to_string();
  EXPECT_EQ(listing(tmp.sub("other")), before) << "a refused directory must not be written to";
}

TEST(RevisionLog, RefusesAnUnknownFormatVersion) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  open_or_die(dir).reset();
  {
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
    for (const auto& n : names) cfds.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfds, &handles, &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "jointly.format_version", "99").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  const auto before = listing(dir);
  auto log = RevisionLog::open(dir, Options());
  EXPECT_EQ(log.status().code(), Code::unsupported_format) << log.status().to_string();
  EXPECT_EQ(listing(dir), before) << "a refused store must not be written to";
  EXPECT_NE(log.status().message().find("\"99\""), std::string::npos);
}

TEST(RevisionLog, FinishesAStoreWhoseCreationStoppedBeforeTheFormatRecord) {
  // Creation happens in a staging directory renamed into place, so this only arises from an
  // older build or a copy taken mid-creation: our families (some or all), all empty.
  const std::vector<std::vector<const char*>> stopped_at = {
      {"default", "documents", "revisions", "snapshots", "dedupe", "accounts", "sessions"},
      {"default", "documents"}};
  for (const auto& families : stopped_at) {
    TempDir tmp;
    const auto dir = tmp.sub("s");
    {
      rocksdb::DBOptions o;
      o.create_if_missing = true;
      o.create_missing_column_families = true;
      std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
      for (const char* n : families) cfds.emplace_back(n, rocksdb::ColumnFamilyOptions());
      std::vector<rocksdb::ColumnFamilyHandle*> handles;
      rocksdb::DB* db = nullptr;
      ASSERT_TRUE(rocksdb::DB::Open(o, dir, cfds, &handles, &db).ok());
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
      delete db;
    }
    auto log = RevisionLog::open(dir, Options());
    ASSERT_TRUE(log.ok()) << log.status().to_string();
    const auto id = create(**log);
    EXPECT_TRUE((*log)->append(make(id, 1, 100)).ok());
  }
}

TEST(RevisionLog, LeavesNoStagingDirectoryBehind) {
  TempDir tmp;
  open_or_die(tmp.sub("s")).reset();
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(tmp.path())) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"s"});
}

// Overwrites the first bytes of every file whose name starts with prefix.
int damage(const fs::path& dir, const std::string& prefix) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) {
      const auto size = fs::file_size(e.path());
      std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
      const std::string garbage(std::min<std::uintmax_t>(size, 4096), '\x5a');
      f.seekp(0);
      f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
      ++n;
    }
  }
  return n;
}

void make_store_with_tables(const std::string& dir) {
  auto log = open_or_die(dir);
  const auto id = create(*log);
  for (std::uint64_t r = 1; r <= 20; ++r) ASSERT_TRUE(log->append(make(id, r)).ok());
  ASSERT_TRUE(log->compact().ok());
}

TEST(RevisionLog, RefusesAStoreWithADamagedManifest) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  make_store_with_tables(dir);
  ASSERT_GT(damage(dir, "MANIFEST-"), 0);
  auto log = RevisionLog::open(dir, Options());
  EXPECT_EQ(log.status().code(), Code::corruption) << log.status().to_string();
  EXPECT_NE(log.status().message().find("damaged"), std::string::npos);
}

TEST(RevisionLog, RefusesAStoreWithADamagedTableFile) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  make_store_with_tables(dir);
  int damaged = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".sst") {
      // Garbage over the footer, where RocksDB looks first.
      const auto size = fs::file_size(e.path());
      std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(size - 64));
      const std::string garbage(64, '\x5a');
      f.write(garbage.data(), 64);
      ++damaged;
    }
  }
  ASSERT_GT(damaged, 0);
  auto log = RevisionLog::open(dir, Options());
  EXPECT_EQ(log.status().code(), Code::corruption) << log.status().to_string();
}

TEST(RevisionLog, RefusesAStoreWithADamagedCurrentFile) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  make_store_with_tables(dir);
  write_file(fs::path(dir) / "CURRENT", "garbage\n");
  auto log = RevisionLog::open(dir, Options());
  EXPECT_FALSE(log.ok());
  EXPECT_TRUE(log.status().code() == Code::corruption || log.status().code() == Code::io_error)
      << log.status().to_string();
}

TEST(RevisionLog, RefusesAStoreWithADamagedWriteAheadLog) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  {
    auto log = open_or_die(dir);
    const auto id = create(*log);
    for (std::uint64_t r = 1; r <= 50; ++r) ASSERT_TRUE(log->append(make(id, r)).ok());
  }
  // Damage the middle of the WAL, where acknowledged revisions are: not a torn tail.
  int damaged = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log" && fs::file_size(e.path()) > 1000) {
      std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(fs::file_size(e.path()) / 2));
      const std::string garbage(8, '\x01');
      f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
      ++damaged;
    }
  }
  if (damaged == 0) GTEST_SKIP() << "RocksDB flushed the WAL on close; nothing to damage";
  auto log = RevisionLog::open(dir, Options());
  EXPECT_EQ(log.status().code(), Code::corruption) << log.status().to_string();
}

// ---- failure ----

TEST(RevisionLog, AFailedSyncMakesTheStoreUnhealthyAndRefuseLaterWrites) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  auto faults = std::make_shared<FaultInjection>();
  auto o = small_k();
  o.fault_injection = faults;
  DocumentId id = 0;
  {
    auto log = open_or_die(dir, o);
    id = create(*log);
    ASSERT_TRUE(log->append(make(id, 1)).ok());
    faults->fail_syncs(true);
    auto failed = log->append(make(id, 2));
    EXPECT_EQ(failed.code(), Code::failed) << failed.to_string();
    EXPECT_NE(failed.message().find("injected"), std::string::npos) << failed.message();
    EXPECT_GT(faults->injected(), 0);
    EXPECT_FALSE(log->healthy());
    EXPECT_EQ(log->error().code(), Code::failed);
    faults->fail_syncs(false);  // the disk recovers; the store still refuses
    EXPECT_EQ(log->append(make(id, 3)).code(), Code::failed);
    EXPECT_EQ(log->append(make(id, 2)).code(), Code::failed);
    EXPECT_EQ(log->append_async(make(id, 2), [](const Status&) { ADD_FAILURE(); }).code(),
              Code::failed);
    EXPECT_EQ(log->create_document("x", 1, "s").status().code(), Code::failed);
    // Reads still answer.
    EXPECT_EQ(contents(*log, id).substr(0, 5), "1:op1");
  }
  auto log = open_or_die(dir, o);
  EXPECT_TRUE(log->healthy());
  auto last = log->last_revision(id);
  ASSERT_TRUE(last.ok());
  EXPECT_GE(*last, 1u);  // revision 2 was never acknowledged: it may or may not be there
  EXPECT_LE(*last, 2u);
  EXPECT_TRUE(log->append(make(id, *last + 1)).ok());
}

TEST(RevisionLog, AFailedWalWriteFailsEveryWaiterOfItsGroup) {
  TempDir tmp;
  auto faults = std::make_shared<FaultInjection>();
  auto o = small_k();
  o.fault_injection = faults;
  auto log = open_or_die(tmp.sub("s"), o);
  const auto id = create(*log);
  const auto blocker = create(*log);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> held{false};
  ASSERT_TRUE(log->append_async(make(blocker, 1),
                                [&](const Status&) {
                                  held = true;
                                  std::unique_lock lk(mu);
                                  cv.wait(lk, [&] { return release; });
                                })
                  .ok());
  while (!held.load()) std::this_thread::yield();
  std::vector<Status> results(5);
  std::atomic<int> done{0};
  for (int r = 1; r <= 5; ++r) {
    ASSERT_TRUE(log->append_async(make(id, r),
                                  [&, r](const Status& s) {
                                    results[r - 1] = s;
                                    ++done;
                                  })
                    .ok());
  }
  faults->fail_writes(true);
  {
    std::lock_guard lk(mu);
    release = true;
  }
  cv.notify_all();
  while (done.load() < 5) std::this_thread::yield();
  for (const auto& s : results) EXPECT_EQ(s.code(), Code::failed) << s.to_string();
  EXPECT_FALSE(log->healthy());
}

// ---- durability modes ----

std::uintmax_t wal_bytes(const std::string& dir) {
  std::uintmax_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log") n += fs::file_size(e.path());
  }
  return n;
}

class DurabilityModes : public ::testing::TestWithParam<Durability> {};

TEST_P(DurabilityModes, KeepEveryAppendAcrossACleanClose) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  auto o = small_k();
  o.durability = GetParam();
  {
    auto log = open_or_die(dir, o);
    const auto id = create(*log);
    const auto wal_before = wal_bytes(dir);
    for (std::uint64_t r = 1; r <= 30; ++r) ASSERT_TRUE(log->append(make(id, r)).ok());
    if (GetParam() == Durability::none) {
      EXPECT_EQ(wal_bytes(dir), wal_before) << "durability none must not write to the WAL";
    } else {
      EXPECT_GT(wal_bytes(dir), 0u);
    }
  }
  auto log = open_or_die(dir, o);
  EXPECT_EQ(*log->last_revision(1), 30u);
  EXPECT_EQ(*log->snapshot_revisions(1),
            (std::vector<std::uint64_t>{0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30}));
}

INSTANTIATE_TEST_SUITE_P(RevisionLog, DurabilityModes,
                         ::testing::Values(Durability::sync, Durability::flush, Durability::none),
                         [](const auto& info) { return std::string(durability_name(info.param)); });

TEST(RevisionLog, ParsesDurabilityNames) {
  EXPECT_EQ(*parse_durability("sync"), Durability::sync);
  EXPECT_EQ(*parse_durability("flush"), Durability::flush);
  EXPECT_EQ(*parse_durability("none"), Durability::none);
  EXPECT_EQ(parse_durability("fsync").status().code(), Code::invalid_argument);
  EXPECT_EQ(Options().durability, Durability::sync);  // the safe default
}

// ---- read-only and checkpoints ----

TEST(RevisionLog, AReadOnlyStoreReadsButRefusesWrites) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  auto writer = open_or_die(dir);  // stays open, like a running server
  const auto id = create(*writer);
  ASSERT_TRUE(writer->append(make(id, 1)).ok());
  auto o = small_k();
  o.read_only = true;
  auto reader = open_or_die(dir, o);
  EXPECT_EQ(contents(*reader, id), "1:op1");
  EXPECT_EQ(reader->append(make(id, 2)).code(), Code::read_only);
  EXPECT_EQ(reader->create_document("x", 1, "s").status().code(), Code::read_only);
}

TEST(RevisionLog, ASecondWriterOfTheSameDirectoryIsRefused) {
  TempDir tmp;
  auto first = open_or_die(tmp.sub("s"));
  auto second = RevisionLog::open(tmp.sub("s"), small_k());
  EXPECT_EQ(second.status().code(), Code::io_error) << second.status().to_string();
}

TEST(RevisionLog, ACheckpointHoldsEveryCompletedAppend) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto id = create(*log, "Backed up");
  for (std::uint64_t r = 1; r <= 10; ++r) ASSERT_TRUE(log->append(make(id, r)).ok());
  ASSERT_TRUE(log->checkpoint(tmp.sub("copy")).ok());
  ASSERT_TRUE(log->append(make(id, 11)).ok());  // after the checkpoint: not in it
  auto copy = open_or_die(tmp.sub("copy"));
  EXPECT_EQ(contents(*copy, id), contents(*log, id).substr(0, contents(*copy, id).size()));
  EXPECT_EQ(*copy->last_revision(id), 10u);
  EXPECT_EQ(copy->document(id)->title, "Backed up");
}

TEST(RevisionLog, AReadOnlyInstanceCheckpointsAStoreThatIsInUse) {
  TempDir tmp;
  auto log = open_or_die(tmp.sub("s"));
  const auto id = create(*log);
  for (std::uint64_t r = 1; r <= 10; ++r) ASSERT_TRUE(log->append(make(id, r)).ok());
  auto o = small_k();
  o.read_only = true;
  auto reader = open_or_die(tmp.sub("s"), o);
  ASSERT_TRUE(reader->checkpoint(tmp.sub("copy")).ok());
  reader.reset();
  auto copy = open_or_die(tmp.sub("copy"));
  EXPECT_EQ(*copy->last_revision(id), 10u);
}

}  // namespace
}  // namespace jointly::storage
