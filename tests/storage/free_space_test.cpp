// A full disk (issue #9): the free-space reserve (Options::min_free_bytes) refuses writes with
// no_space before RocksDB sees them and lets them through again once space returns, the store
// staying healthy; and a store whose file system really fills up (a small tmpfs, when this
// process may mount one) fails its writes with an error instead of aborting the process, as
// RocksDB's own info log did.
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/fault_injection.hpp"
#include "storage/revision_log.hpp"
#include "tests/storage/raw_append.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::storage {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

constexpr std::uint64_t kReserve = 1 << 20;

Options with_reserve(std::shared_ptr<FaultInjection> faults) {
  Options o;
  o.snapshot_interval = 3;
  o.min_free_bytes = kReserve;
  o.fault_injection = std::move(faults);
  return o;
}

RawAppend make(DocumentId doc, std::uint64_t rev, std::string op = "") {
  return testing::make_raw_append(doc, rev, 3, "c1", std::move(op));
}

// Waits out the reserve's recheck interval (100 ms) so that the next write looks again.
void past_recheck() { std::this_thread::sleep_for(std::chrono::milliseconds(150)); }

// A store with a 1 MiB reserve whose free space the test sets, holding one document.
class FreeSpaceReserve : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = RevisionLog::open(tmp_.sub("s"), with_reserve(faults_));
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    log_ = std::move(opened).value();
    auto id = log_->create_document("Course", 1000, "snap0");
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    id_ = *id;
  }
  TempDir tmp_;
  std::shared_ptr<FaultInjection> faults_ = std::make_shared<FaultInjection>();
  std::unique_ptr<RevisionLog> log_;
  DocumentId id_ = 0;
};

TEST_F(FreeSpaceReserve, RefusesWritesBelowItAndWritesAgainOnceSpaceReturns) {
  auto& log = *log_;
  ASSERT_TRUE(log.append(make(id_, 1)).ok());
  EXPECT_TRUE(log.writable().ok());

  faults_->report_free_bytes(kReserve - 1);
  const Status refused = log.append(make(id_, 2));
  EXPECT_EQ(refused.code(), Code::no_space) << refused.to_string();
  EXPECT_NE(refused.message().find("reserve"), std::string::npos) << refused.message();
  // Refused, not failed: nothing written, the store healthy, and it says why it will not write.
  EXPECT_TRUE(log.healthy());
  EXPECT_EQ(log.writable().code(), Code::no_space);
  EXPECT_EQ(*log.last_revision(id_), 1u);
  // Queued writes are refused at once (their callback never runs), creations too.
  std::atomic<int> called{0};
  EXPECT_EQ(log.append_async(make(id_, 2), [&](const Status&) { ++called; }).code(),
            Code::no_space);
  EXPECT_EQ(log.create_document("Other", 1000, "snap0").status().code(), Code::no_space);
  EXPECT_EQ(log.history_write({{"k", "v"}}).code(), Code::no_space);
  // Account and session writes may use the reserve down to a quarter of it.
  EXPECT_TRUE(log.kv_write({{RevisionLog::KvFamily::sessions, "s", std::string("v")}}).ok());
  faults_->report_free_bytes(kReserve / 4 - 1);
  EXPECT_EQ(log.kv_write({{RevisionLog::KvFamily::sessions, "s", std::nullopt}}).code(),
            Code::no_space);

  faults_->report_free_bytes(kReserve);  // space returns
  past_recheck();
  EXPECT_TRUE(log.writable().ok());
  ASSERT_TRUE(log.append(make(id_, 2)).ok());
  std::atomic<bool> done{false};
  Status async_status(Code::internal, "not called");
  ASSERT_TRUE(log.append_async(make(id_, 3),
                               [&](const Status& s) {
                                 async_status = s;
                                 done = true;
                               })
                  .ok());
  while (!done.load()) std::this_thread::yield();
  EXPECT_TRUE(async_status.ok()) << async_status.to_string();
  EXPECT_EQ(*log.last_revision(id_), 3u);
  EXPECT_EQ(called.load(), 0);
  EXPECT_TRUE(log.healthy());
  EXPECT_EQ(faults_->injected(), 0);
}

TEST_F(FreeSpaceReserve, AWriterCheckFailsAGroupQueuedBeforeSpaceRanOut) {
  // Space runs out after writes were queued (the enqueue saw enough): the writer's own check,
  // before the group reaches RocksDB, fails each of them with no_space, in order.
  auto& log = *log_;
  const auto id = id_;
  const auto blocker = *log.create_document("Blocker", 1000, "snap0");
  std::atomic<bool> held{false}, release{false};
  ASSERT_TRUE(log.append_async(make(blocker, 1),
                               [&](const Status&) {
                                 held = true;
                                 while (!release.load()) std::this_thread::yield();
                               })
                  .ok());
  while (!held.load()) std::this_thread::yield();
  std::vector<Status> results(3, Status(Code::internal, "not called"));
  std::atomic<int> completed{0};
  for (std::uint64_t r = 1; r <= 3; ++r) {
    ASSERT_TRUE(log.append_async(make(id, r),
                                 [&, r](const Status& s) {
                                   results[r - 1] = s;
                                   ++completed;
                                 })
                    .ok());
  }
  faults_->report_free_bytes(0);
  release = true;
  while (completed.load() < 3) std::this_thread::yield();
  for (const auto& s : results) EXPECT_EQ(s.code(), Code::no_space) << s.to_string();
  EXPECT_TRUE(log.healthy());
  EXPECT_EQ(*log.last_revision(id), 0u);
  faults_->report_free_bytes(-1);  // statvfs again: this machine's disk has room
  past_recheck();
  EXPECT_TRUE(log.append(make(id, 1)).ok());
}

// A real full disk: a tmpfs (8 MiB) filled while a store on it writes. Needs the right to
// mount (root in CI); skipped otherwise.
class SmallFileSystem : public ::testing::Test {
 protected:
  virtual const char* mount_options() const { return "size=8m"; }
  void SetUp() override {
    mnt_ = tmp_.sub("mnt");
    fs::create_directories(mnt_);
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, mount_options()) != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                   << "): the real full-disk case is not run";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
  }
  // Writes a file until the file system is full; returns the bytes written.
  std::uint64_t fill(const std::string& name) {
    std::FILE* f = std::fopen((fs::path(mnt_) / name).c_str(), "wb");
    if (f == nullptr) return 0;
    std::setvbuf(f, nullptr, _IONBF, 0);
    std::vector<char> chunk(4096, 'a');
    std::uint64_t n = 0;
    for (;;) {
      const std::size_t w = std::fwrite(chunk.data(), 1, chunk.size(), f);
      n += w;
      if (w < chunk.size()) break;
    }
    std::fclose(f);
    return n;
  }
  TempDir tmp_;
  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(SmallFileSystem, AFullDiskFailsWritesWithoutAbortingAndTheStoreReopens) {
  const std::string dir = (fs::path(mnt_) / "store").string();
  Options o;
  o.snapshot_interval = 3;
  o.min_free_bytes = 0;  // no reserve: RocksDB's WAL write itself meets the full disk
  DocumentId id = 0;
  std::uint64_t written = 0;
  {
    auto opened = RevisionLog::open(dir, o);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    auto& log = **opened;
    id = *log.create_document("Course", 1000, "snap0");
    ASSERT_TRUE(log.append(make(id, 1)).ok());
    written = 1;
    EXPECT_GT(fill("filler"), 0u);
    // Writes of a few KiB until one fails: before, RocksDB aborted the process (its info log's
    // writer asserted after a failed write) right here.
    Status s;
    for (std::uint64_t r = 2; r < 10000; ++r) {
      s = log.append(make(id, r, std::string(4096, 'x')));
      if (!s.ok()) break;
      written = r;
    }
    EXPECT_EQ(s.code(), Code::failed) << s.to_string();
    EXPECT_FALSE(log.healthy());
    EXPECT_EQ(log.writable().code(), Code::failed);
    // Reads still answer.
    EXPECT_EQ(*log.last_revision(id), written);
  }  // closes without aborting either
  fs::remove(fs::path(mnt_) / "filler");
  auto reopened = RevisionLog::open(dir, o);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  // Every acknowledged append is there; the one that failed may be (it was never acknowledged).
  const auto last = *(*reopened)->last_revision(id);
  EXPECT_GE(last, written);
  EXPECT_LE(last, written + 1);
  EXPECT_TRUE((*reopened)->append(make(id, last + 1)).ok());
}

TEST_F(SmallFileSystem, TheReserveKeepsTheStoreHealthyWhenTheDiskFills) {
  const std::string dir = (fs::path(mnt_) / "store").string();
  Options o;
  o.snapshot_interval = 3;
  o.min_free_bytes = kReserve;
  auto opened = RevisionLog::open(dir, o);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  auto& log = **opened;
  const auto id = *log.create_document("Course", 1000, "snap0");
  ASSERT_TRUE(log.append(make(id, 1)).ok());
  fill("filler");
  EXPECT_EQ(log.append(make(id, 2)).code(), Code::no_space);
  EXPECT_TRUE(log.healthy());
  fs::remove(fs::path(mnt_) / "filler");
  past_recheck();
  EXPECT_TRUE(log.writable().ok());
  EXPECT_TRUE(log.append(make(id, 2)).ok());
  EXPECT_EQ(*log.last_revision(id), 2u);
}

// 96 MiB: once the filler is gone RocksDB's SstFileManager finds the room it waits for (a
// write buffer, 64 MiB) and would resume the database after a failed WAL write, whose next
// write then aborted the process (RocksDB 7.8 keeps the WAL writer's failed state).
class RoomyFileSystem : public SmallFileSystem {
 protected:
  const char* mount_options() const override { return "size=96m"; }
};

TEST_F(RoomyFileSystem, AfterAFailedWalWriteTheStoreStaysStoppedUntilReopenedEvenWhenSpaceReturns) {
  const std::string dir = (fs::path(mnt_) / "store").string();
  Options o;
  o.snapshot_interval = 3;
  o.min_free_bytes = 0;  // no reserve: the WAL write itself meets the full disk
  DocumentId id = 0;
  {
    auto opened = RevisionLog::open(dir, o);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    auto& log = **opened;
    id = *log.create_document("Course", 1000, "snap0");
    ASSERT_TRUE(log.append(make(id, 1)).ok());
    fill("filler");
    Status s;
    for (std::uint64_t r = 2; r < 100000 && s.ok(); ++r) {
      s = log.append(make(id, r, std::string(4096, 'x')));
    }
    ASSERT_EQ(s.code(), Code::failed) << s.to_string();
    fs::remove(fs::path(mnt_) / "filler");
    // RocksDB's own recovery would come within ~5 s of its first look: give it 7.
    std::this_thread::sleep_for(std::chrono::seconds(7));
    // Still refused, by the store and by RocksDB (which stays stopped): an error each, no abort.
    EXPECT_EQ(log.append(make(id, *log.last_revision(id) + 1)).code(), Code::failed);
    EXPECT_FALSE(log.kv_write({{RevisionLog::KvFamily::sessions, "s", std::string("v")}}).ok());
    EXPECT_FALSE(log.history_write({{"k", "v"}}).ok());
    EXPECT_FALSE(log.healthy());
  }
  auto reopened = RevisionLog::open(dir, o);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_TRUE((*reopened)->healthy());
  const auto last = *(*reopened)->last_revision(id);
  EXPECT_TRUE((*reopened)->append(make(id, last + 1)).ok());
  EXPECT_TRUE(
      (*reopened)->kv_write({{RevisionLog::KvFamily::sessions, "s", std::string("v")}}).ok());
}

}  // namespace
}  // namespace jointly::storage
