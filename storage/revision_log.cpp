#include "storage/revision_log.hpp"

#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/statvfs.h>
#include <unistd.h>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <deque>
#include <exception>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "storage/encoding.hpp"
#include "storage/fault_injection.hpp"
#include "storage/history_index.hpp"

namespace jointly::storage {

namespace fs = std::filesystem;
namespace enc = encoding;

namespace {

// Where a history index key's run starts, as a memtable insert hint (history_index.cpp's key
// layout: document id (8 bytes), kind (1), name, revision (8); the time index 't' has time and
// revision after the kind). Each revision adds keys to several runs at once; without a hint
// every insert searches the skip list from the top, which made appends ~3-5x slower in CPU.
// Only a hint: it changes where an insert starts looking, never what is stored.
class HistoryRunHint : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "jointly.HistoryRunHint"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    if (key[8] == 't') return rocksdb::Slice(key.data(), 9);
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() >= 17; }
};

// The format-version record, in the default column family. Bump kFormatVersion when a change
// makes old builds misread new stores or new builds misread old ones.
constexpr std::string_view kFormatKey = "jointly.format_version";
// Version 2 added the history family; a version 1 store gets it, built from its log, when it
// is first opened for writing (read-only, it is read without it).
constexpr std::string_view kFormatVersion = "2";
constexpr std::string_view kFormatVersionWithoutHistory = "1";

// Memory RocksDB may hold, as one budget: the block cache, shared by all families, holds the
// data blocks read and a reservation for the memtables of all families together (kWriteBuffers
// of it at most; they flush at that size). Table files are read
// through the page cache as well, so a small cache costs little; an open document lives in the
// server's memory, not here.
constexpr std::size_t kMemoryBudget = std::size_t{24} << 20;
constexpr std::size_t kWriteBuffers = std::size_t{12} << 20;

// The cache of kMemoryBudget, one for every store of the process.
const std::shared_ptr<rocksdb::Cache>& shared_cache() {
  static const std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(kMemoryBudget);
  return cache;
}

// glibc's malloc serves a block above its mmap threshold from a mapping of its own, which goes
// back to the system when freed; but it raises the threshold to the size of every such block
// freed, after which the memtables' arena blocks (write_buffer_size / 8 each) come from the heap
// like small ones, where a flush leaves holes that other data pins. A fixed threshold (the
// default's starting value) keeps large blocks in mappings. Process-wide; set once at the first
// open of a store.
void keep_large_blocks_mapped() {
#if defined(__GLIBC__)
  static const bool done = [] { return mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1; }();
  (void)done;
#endif
}

enum Family : std::size_t {
  kDefault,
  kDocuments,
  kRevisions,
  kSnapshots,
  kDedupe,
  kAccounts,
  kSessions,
  kHistory,
  kFamilyCount
};
const char* const kFamilyNames[kFamilyCount] = {"default", "documents", "revisions", "snapshots",
                                                "dedupe",  "accounts",  "sessions",  "history"};

Status from_rocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status();
  std::string msg = std::string(context) + ": " + s.ToString();
  if (s.IsCorruption()) return Status(Code::corruption, std::move(msg));
  if (s.IsNotFound()) return Status(Code::not_found, std::move(msg));
  if (s.IsIOError() || s.IsNoSpace()) return Status(Code::io_error, std::move(msg));
  if (s.IsNotSupported() || s.IsInvalidArgument()) {
    return Status(Code::invalid_argument, std::move(msg));
  }
  return Status(Code::internal, std::move(msg));
}

std::string doc_name(DocumentId id) { return "document " + std::to_string(id); }

// A file system that fails writes or syncs while a FaultInjection switch is on.
class FaultyFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyFile(std::unique_ptr<rocksdb::FSWritableFile> f, std::shared_ptr<FaultInjection> faults)
      : FSWritableFileOwnerWrapper(std::move(f)), faults_(std::move(faults)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->writes_fail()) return injected("append");
    return FSWritableFileOwnerWrapper::Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->writes_fail()) return injected("append");
    return FSWritableFileOwnerWrapper::Append(data, o, v, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (faults_->syncs_fail()) return injected("sync");
    return FSWritableFileOwnerWrapper::Sync(o, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (faults_->syncs_fail()) return injected("fsync");
    return FSWritableFileOwnerWrapper::Fsync(o, dbg);
  }
  rocksdb::IOStatus RangeSync(uint64_t off, uint64_t n, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    if (faults_->syncs_fail()) return injected("range sync");
    return FSWritableFileOwnerWrapper::RangeSync(off, n, o, dbg);
  }

 private:
  rocksdb::IOStatus injected(const char* what) {
    faults_->count_injected();
    return rocksdb::IOStatus::IOError(std::string("injected ") + what + " failure");
  }
  std::shared_ptr<FaultInjection> faults_;
};

class FaultyFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem(std::shared_ptr<rocksdb::FileSystem> base,
                   std::shared_ptr<FaultInjection> faults)
      : FileSystemWrapper(std::move(base)), faults_(std::move(faults)) {}
  const char* Name() const override { return "JointlyFaultyFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = FileSystemWrapper::NewWritableFile(name, o, out, dbg);
    if (s.ok()) *out = std::make_unique<FaultyFile>(std::move(*out), faults_);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* out,
                                       rocksdb::IODebugContext* dbg) override {
    auto s = FileSystemWrapper::ReopenWritableFile(name, o, out, dbg);
    if (s.ok()) *out = std::make_unique<FaultyFile>(std::move(*out), faults_);
    return s;
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* out,
                                      rocksdb::IODebugContext* dbg) override {
    auto s = FileSystemWrapper::ReuseWritableFile(name, old, o, out, dbg);
    if (s.ok()) *out = std::make_unique<FaultyFile>(std::move(*out), faults_);
    return s;
  }

 private:
  std::shared_ptr<FaultInjection> faults_;
};

// RocksDB's info log (<store>/LOG), written here rather than by RocksDB's own file logger:
// that one goes through a WritableFileWriter which, once a write has failed (a full disk),
// asserts on the next line it logs, and Debian's librocksdb keeps its assertions, so the
// process aborted as soon as RocksDB logged the error of a failed WAL write. This one writes
// each line with one write(2) and ignores a failure: a lost line, never a lost process.
// Thread-safe: Logv keeps no state but the file descriptor (O_APPEND: whole lines).
class InfoLog final : public rocksdb::Logger {
 public:
  // Logs to dir/LOG, after moving the previous run's LOG to LOG.old. Without a file (it
  // cannot be opened, or dir is empty: a read-only open, which writes nothing into the
  // store) every line is dropped.
  explicit InfoLog(const std::string& dir) : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {
    if (dir.empty()) return;
    const fs::path log = fs::path(dir) / "LOG";
    std::error_code ec;
    fs::rename(log, fs::path(dir) / "LOG.old", ec);  // absent on a new store: nothing to keep
    fd_ = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  ~InfoLog() override {
    if (fd_ >= 0) ::close(fd_);
  }
  InfoLog(const InfoLog&) = delete;
  InfoLog& operator=(const InfoLog&) = delete;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (fd_ < 0) return;
    char line[2048];
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    tm utc{};
    ::gmtime_r(&now.tv_sec, &utc);
    std::size_t n = std::strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &utc);
    n += static_cast<std::size_t>(
        std::snprintf(line + n, sizeof line - n, ".%06ldZ ", now.tv_nsec / 1000));
    const int m = std::vsnprintf(line + n, sizeof line - n - 1, format, ap);
    if (m < 0) return;
    n = std::min(n + static_cast<std::size_t>(m), sizeof line - 2);
    if (line[n - 1] == '\n') --n;  // some of RocksDB's lines end in one already
    line[n++] = '\n';
    [[maybe_unused]] const ssize_t written = ::write(fd_, line, n);
  }

 private:
  int fd_ = -1;
};

// Keeps RocksDB stopped after a failed WAL write. RocksDB 7.8 resumes by itself from a full
// disk once its SstFileManager sees room again (or on DB::Resume()), but the WAL writer keeps
// its failed state, and the next write asserts in WritableFileWriter and aborts the process
// (Debian's build keeps assertions). Stopped, RocksDB refuses every write with its error
// instead; the store reports failed until it is reopened (storage/README.md). Errors of
// flushes and compactions, which leave the WAL alone, still recover by themselves.
// Thread-safe: no state.
class NoResumeAfterWalFailure final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "jointly.NoResumeAfterWalFailure"; }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason reason, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    if (reason == rocksdb::BackgroundErrorReason::kWriteCallback ||
        reason == rocksdb::BackgroundErrorReason::kMemTable) {
      *auto_recovery = false;
    }
  }
};

}  // namespace

std::string_view code_name(Code code) {
  switch (code) {
    case Code::ok:
      return "ok";
    case Code::not_found:
      return "not_found";
    case Code::conflict:
      return "conflict";
    case Code::already_exists:
      return "already_exists";
    case Code::invalid_argument:
      return "invalid_argument";
    case Code::busy:
      return "busy";
    case Code::corruption:
      return "corruption";
    case Code::unsupported_format:
      return "unsupported_format";
    case Code::not_a_store:
      return "not_a_store";
    case Code::io_error:
      return "io_error";
    case Code::failed:
      return "failed";
    case Code::read_only:
      return "read_only";
    case Code::closed:
      return "closed";
    case Code::no_space:
      return "no_space";
    case Code::internal:
      return "internal";
  }
  return "internal";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

std::string_view durability_name(Durability d) {
  switch (d) {
    case Durability::sync:
      return "sync";
    case Durability::flush:
      return "flush";
    case Durability::none:
      return "none";
  }
  return "sync";
}

Result<Durability> parse_durability(std::string_view name) {
  if (name == "sync") return Durability::sync;
  if (name == "flush") return Durability::flush;
  if (name == "none") return Durability::none;
  return Status(Code::invalid_argument,
                "unknown durability \"" + std::string(name) + "\" (expected sync, flush or none)");
}

// One queued write: an append, or the creation of a document.
struct QueuedWrite {
  bool create = false;
  DocumentId create_id = 0;  // create: this id (a cluster's registered id); 0: the next one
  RawAppend append;          // !create
  std::string title;         // create
  std::int64_t created_ms = 0;
  std::string initial_snapshot;
  std::size_t bytes = 0;
  // Called once with the outcome and, on success, the revision appended or the new document
  // id.
  std::function<void(const Status&, std::uint64_t)> done;
};

struct RevisionLog::Impl {
  std::string dir_;
  Options options_;
  std::unique_ptr<rocksdb::Env> env_;  // owns the fault-injecting file system, if any
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cf_;  // indexed by Family

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the writer waits for work
  std::condition_variable room_cv_;  // blocking appends wait for room
  std::deque<QueuedWrite> queue_;    // GUARDED_BY(mu_)
  std::size_t queued_bytes_ = 0;     // GUARDED_BY(mu_)
  bool stopping_ = false;            // GUARDED_BY(mu_)
  Status bg_error_;                  // GUARDED_BY(mu_)
  // The largest recent group: the last group's size, or one less than the previous peak when
  // that is more (the writer waits for this many writes to gather; see writer_loop).
  std::size_t peak_group_size_ = 1;  // GUARDED_BY(mu_)
  // The writer's gathering wait lasts at most this many group_wait periods.
  static constexpr int kMaxGatherRounds = 4;
  // While the writer gathers a group, the queue size it waits for; SIZE_MAX otherwise.
  std::size_t gather_target_ = SIZE_MAX;  // GUARDED_BY(mu_)
  std::atomic<bool> healthy_{true};
  // The free-space reserve (Options::min_free_bytes): whether the last check found the file
  // system below it, and when that check ran (steady clock, ns).
  mutable std::atomic<bool> low_space_{false};
  mutable std::atomic<std::int64_t> space_checked_ns_{0};
  static constexpr std::chrono::milliseconds kSpaceRecheck{100};
  std::atomic<std::uint64_t> groups_written_{0};
  std::atomic<std::uint64_t> writes_written_{0};

  // Last revision of each document the writer has seen; only the writer inserts or changes
  // entries (after its write succeeded), readers may look.
  mutable std::mutex cache_mu_;
  std::unordered_map<DocumentId, std::uint64_t> last_rev_;  // GUARDED_BY(cache_mu_)
  DocumentId next_document_id_ = 1;                         // writer thread only

  std::thread writer_;
  bool opened_ = false;  // open() succeeded; set before the writer starts

  // The history indexes' writer-side state (writer thread only) and whether the store is a
  // version 1 store without them (set by verify).
  HistoryIndexWriter history_{[this](const std::string& lower, const std::string& upper) {
    return read_last_history(lower, upper);
  }};
  bool lacks_history_ = false;

  ~Impl() { close(); }

  rocksdb::DBOptions db_options() {
    rocksdb::DBOptions d;
    d.paranoid_checks = true;
    // A torn record at the end of the WAL (a crash during a write that was never acknowledged)
    // is dropped; corruption anywhere else fails the open instead of silently truncating.
    d.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
    // A revision, its dedupe entry and its snapshot live in different column families: flush
    // them together, so that without a WAL (durability none) a crash cannot keep one and lose
    // another.
    d.atomic_flush = true;
    d.max_background_jobs = 2;
    // Memory is bounded, not left to RocksDB's defaults (64 MiB of memtable per family, eight
    // families): all memtables together flush at kWriteBuffers, reserved in the block cache, so
    // a server editing for hours stays flat (the 30-minute soak grew from 28 to 173 MiB with
    // the defaults).
    d.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(kWriteBuffers, shared_cache());
    d.keep_log_file_num = 5;
    d.avoid_flush_during_shutdown = false;
    d.listeners.push_back(std::make_shared<NoResumeAfterWalFailure>());
    if (options_.fault_injection) {
      auto faulty = std::make_shared<FaultyFileSystem>(rocksdb::FileSystem::Default(),
                                                       options_.fault_injection);
      env_ = rocksdb::NewCompositeEnv(faulty);
      d.env = env_.get();
    }
    return d;
  }

  static rocksdb::ColumnFamilyOptions family_options(std::size_t family) {
    rocksdb::ColumnFamilyOptions c;
    c.write_buffer_size = kWriteBuffers / 2;
    if (family == kHistory) {
      c.memtable_insert_with_hint_prefix_extractor = std::make_shared<HistoryRunHint>();
    }
    rocksdb::BlockBasedTableOptions t;
    // Index and filter blocks stay with their table readers, outside the cache: in it, a large
    // store's can be evicted and read again at every seek, and the 1M-revision history bench
    // regressed with them there (pages 0.8 -> 255 ms median, bulk load 40 -> 1,186 s).
    t.block_cache = shared_cache();
    t.format_version = 5;
    if (family == kDedupe || family == kDocuments) {
      // Every append looks its (client id, seq) up, and almost always misses: bloom filters
      // in the table files and in the memtable answer a miss without a search.
      t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      c.memtable_whole_key_filtering = true;
      c.memtable_prefix_bloom_size_ratio = 0.02;
    }
    c.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    const auto supported = rocksdb::GetSupportedCompressions();
    auto has = [&](rocksdb::CompressionType type) {
      return std::find(supported.begin(), supported.end(), type) != supported.end();
    };
    c.compression =
        has(rocksdb::kLZ4Compression) ? rocksdb::kLZ4Compression : rocksdb::kSnappyCompression;
    if (has(rocksdb::kZSTD)) c.bottommost_compression = rocksdb::kZSTD;
    return c;
  }

  Status open() {
    std::error_code ec;
    const bool exists = fs::exists(dir_, ec);
    if (ec) return Status(Code::io_error, "cannot look at " + dir_ + ": " + ec.message());
    if (exists && !fs::is_directory(dir_, ec)) {
      return Status(Code::not_a_store, dir_ + " is not a directory");
    }
    const bool empty = !exists || fs::is_empty(dir_, ec);
    if (ec) return Status(Code::io_error, "cannot list " + dir_ + ": " + ec.message());
    if (empty) {
      if (options_.read_only || !options_.create_if_missing) {
        return Status(Code::not_found, "no store at " + dir_ + " (the directory is " +
                                           (exists ? "empty)" : "absent)"));
      }
      return create();
    }
    if (!fs::exists(fs::path(dir_) / "CURRENT", ec)) {
      return Status(Code::not_a_store,
                    dir_ +
                        " holds files but no RocksDB store (no CURRENT file); refusing to "
                        "open it or to create a store there");
    }
    return open_existing();
  }

  // Creates the store in a hidden sibling directory and renames it into place (rename(2)
  // replaces an empty directory atomically), so a crash during creation leaves either no store
  // or a whole one, never a half-made directory that a later open would refuse.
  Status create() {
    const fs::path target = fs::absolute(fs::path(dir_)).lexically_normal();
    const fs::path staging =
        target.parent_path() / ("." + target.filename().string() + ".jointly-creating");
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec)
      return Status(Code::io_error,
                    "cannot create " + target.parent_path().string() + ": " + ec.message());
    fs::remove_all(staging, ec);  // left by a creation that stopped
    if (ec)
      return Status(Code::io_error, "cannot remove " + staging.string() + ": " + ec.message());
    {
      auto d = db_options();
      d.info_log = std::make_shared<InfoLog>(staging.string());
      d.create_if_missing = true;
      d.create_missing_column_families = true;
      d.error_if_exists = true;
      std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
      for (std::size_t f = 0; f < kFamilyCount; ++f) {
        cfds.emplace_back(kFamilyNames[f], family_options(f));
      }
      if (auto s = from_rocks(rocksdb::DB::Open(d, staging.string(), cfds, &cf_, &db_),
                              "creating a store in " + staging.string());
          !s.ok()) {
        return s;
      }
      Status s = write_format_record();
      for (auto* h : cf_) db_->DestroyColumnFamilyHandle(h);
      cf_.clear();
      if (s.ok()) s = from_rocks(db_->Close(), "closing the new store");
      delete db_;
      db_ = nullptr;
      if (!s.ok()) return s;
    }
    if (auto s = sync_dir(staging); !s.ok()) return s;
    fs::rename(staging, target, ec);
    if (ec) {
      return Status(Code::io_error, "cannot move the new store from " + staging.string() + " to " +
                                        target.string() + ": " + ec.message());
    }
    if (auto s = sync_dir(target.parent_path()); !s.ok()) return s;
    return open_existing();
  }

  static Status sync_dir(const fs::path& p) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status(Code::io_error, "cannot open " + p.string() + " to sync it");
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return Status(Code::io_error, "cannot sync " + p.string());
    return Status();
  }

  Status write_format_record() {
    rocksdb::WriteOptions w;
    w.sync = true;
    return from_rocks(
        db_->Put(w, cf_[kDefault], rocksdb::Slice(kFormatKey.data(), kFormatKey.size()),
                 rocksdb::Slice(kFormatVersion.data(), kFormatVersion.size())),
        "writing the format version of " + dir_);
  }

  // Opens an existing store. It is first opened read-only and verified, so that a directory
  // we refuse (someone else's RocksDB, an unknown format version) is not written to at all;
  // then, unless options_.read_only, reopened for writing.
  Status open_existing() {
    std::vector<std::string> names;
    if (auto s = from_rocks(rocksdb::DB::ListColumnFamilies(db_options(), dir_, &names),
                            "reading the column families of " + dir_);
        !s.ok()) {
      return s;
    }
    if (auto s = open_db(names, /*read_only=*/true); !s.ok()) return s;
    bool half = false;
    if (auto s = verify(names, half); !s.ok()) return s;
    if (options_.read_only) {
      if (half) return not_ours();
      return load_next_document_id();
    }
    close_db();
    if (auto s = open_db(names, /*read_only=*/false); !s.ok()) return s;
    if (half) {
      if (auto s = finish_creation(); !s.ok()) return s;
    }
    if (auto s = verify(names, half); !s.ok()) return s;
    if (lacks_history_) {
      if (auto s = add_history(); !s.ok()) return s;
    }
    return load_next_document_id();
  }

  // Upgrades a version 1 store: (re)creates the history family (a crash during an earlier
  // upgrade may have left part of it), builds its indexes from the log, then writes the
  // format record, so a store is version 2 only with its indexes complete.
  Status add_history() {
    if (cf_[kHistory] != nullptr) {
      if (auto s = from_rocks(db_->DropColumnFamily(cf_[kHistory]), "dropping a partial index");
          !s.ok()) {
        return s;
      }
      db_->DestroyColumnFamilyHandle(cf_[kHistory]);
      cf_[kHistory] = nullptr;
    }
    if (auto s = from_rocks(db_->CreateColumnFamily(family_options(kHistory),
                                                    kFamilyNames[kHistory], &cf_[kHistory]),
                            "creating the history family");
        !s.ok()) {
      return s;
    }
    rocksdb::WriteBatch batch;
    std::vector<HistoryIndexWriter::KeyValue> entries;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf_[kRevisions]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      RawRevision r;
      if (it->key().size() != 16 || !enc::decode_revision(it->value().ToStringView(), r)) {
        return Status(Code::corruption, "a revision in " + dir_ + " cannot be decoded");
      }
      RawAppend a;
      a.document = enc::get_be64(it->key().data());
      a.rev = enc::get_be64(it->key().data() + 8);
      a.info = std::move(r.info);
      entries.clear();
      if (auto s = history_.add(a, entries); !s.ok()) return s;
      for (const auto& [k, v] : entries) batch.Put(cf_[kHistory], k, v);
      if (batch.Count() >= 100000) {
        if (auto s = from_rocks(db_->Write(rocksdb::WriteOptions(), &batch), "indexing the log");
            !s.ok()) {
          return s;
        }
        batch.Clear();
      }
    }
    if (auto s = from_rocks(it->status(), "reading the log of " + dir_); !s.ok()) return s;
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (auto s = from_rocks(db_->Write(wo, &batch), "indexing the log"); !s.ok()) return s;
    if (auto s = write_format_record(); !s.ok()) return s;
    lacks_history_ = false;
    return Status();
  }

  // The last key and value in [lower, upper] of the history family (HistoryIndexWriter).
  Result<std::optional<HistoryIndexWriter::KeyValue>> read_last_history(
      const std::string& lower, const std::string& upper) const {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kHistory]));
    it->SeekForPrev(upper);
    if (it->Valid() && it->key().compare(rocksdb::Slice(lower)) >= 0) {
      return std::optional<HistoryIndexWriter::KeyValue>(std::in_place, it->key().ToString(),
                                                         it->value().ToString());
    }
    if (auto s = from_rocks(it->status(), "reading the history index"); !s.ok()) return s;
    return std::optional<HistoryIndexWriter::KeyValue>();
  }

  Status not_ours() const {
    return Status(Code::not_a_store, dir_ +
                                         " is a RocksDB database but not a Jointly store (it has "
                                         "no format-version record); refusing to use it");
  }

  // Opens every family present (RocksDB requires it), ours with our options; keeps ours in
  // cf_ (nullptr for those missing).
  Status open_db(const std::vector<std::string>& names, bool read_only) {
    auto d = db_options();
    d.info_log = std::make_shared<InfoLog>(read_only ? std::string() : dir_);
    std::vector<rocksdb::ColumnFamilyDescriptor> cfds;
    for (const auto& name : names) {
      std::size_t f = 0;
      while (f < kFamilyCount && name != kFamilyNames[f]) ++f;
      cfds.emplace_back(name,
                        f < kFamilyCount ? family_options(f) : rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status rs = read_only ? rocksdb::DB::OpenForReadOnly(d, dir_, cfds, &handles, &db_)
                                   : rocksdb::DB::Open(d, dir_, cfds, &handles, &db_);
    if (!rs.ok()) {
      db_ = nullptr;
      auto s = from_rocks(rs, "opening " + dir_);
      if (s.code() == Code::corruption) {
        return Status(Code::corruption, "the store in " + dir_ +
                                            " is damaged and was not opened (restore it from a "
                                            "backup): " +
                                            rs.ToString());
      }
      return s;
    }
    cf_.assign(kFamilyCount, nullptr);
    for (std::size_t i = 0; i < handles.size(); ++i) {
      std::size_t f = 0;
      while (f < kFamilyCount && names[i] != kFamilyNames[f]) ++f;
      if (f < kFamilyCount) {
        cf_[f] = handles[i];
      } else {
        db_->DestroyColumnFamilyHandle(handles[i]);
      }
    }
    return Status();
  }

  void close_db() {
    for (auto* h : cf_) {
      if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
    }
    cf_.clear();
    db_->Close().PermitUncheckedError();
    delete db_;
    db_ = nullptr;
  }

  // Checks the format record and the families. half: the store's creation stopped before its
  // format record (see half_created); then it is ok but must be finished.
  Status verify(const std::vector<std::string>& names, bool& half) {
    half = false;
    std::string version;
    auto gs = db_->Get(rocksdb::ReadOptions(), cf_[kDefault],
                       rocksdb::Slice(kFormatKey.data(), kFormatKey.size()), &version);
    if (gs.IsNotFound()) {
      if (!half_created(names)) return not_ours();
      half = true;
      return Status();
    }
    if (!gs.ok()) return from_rocks(gs, "reading the format version of " + dir_);
    lacks_history_ = version == kFormatVersionWithoutHistory;
    if (version != kFormatVersion && !lacks_history_) {
      return Status(Code::unsupported_format, "the store in " + dir_ + " has format version \"" +
                                                  version + "\"; this build reads format version " +
                                                  std::string(kFormatVersion));
    }
    for (std::size_t f = 0; f < kFamilyCount; ++f) {
      if (cf_[f] == nullptr && !(f == kHistory && lacks_history_)) {
        return Status(Code::corruption,
                      "the store in " + dir_ + " lacks its column family " + kFamilyNames[f]);
      }
    }
    return Status();
  }

  // A store whose creation stopped before it wrote the format record: only families of ours
  // (perhaps not all of them yet), all empty. Finishing it loses nothing.
  bool half_created(const std::vector<std::string>& names) {
    std::size_t ours = 0;
    for (std::size_t f = 0; f < kFamilyCount; ++f) {
      if (cf_[f] == nullptr) continue;
      ++ours;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[f]));
      it->SeekToFirst();
      if (it->Valid() || !it->status().ok()) return false;
    }
    return ours == names.size();
  }

  Status finish_creation() {
    for (std::size_t f = 0; f < kFamilyCount; ++f) {
      if (cf_[f] != nullptr) continue;
      if (auto s = from_rocks(db_->CreateColumnFamily(family_options(f), kFamilyNames[f], &cf_[f]),
                              "creating the column family " + std::string(kFamilyNames[f]));
          !s.ok()) {
        return s;
      }
    }
    return write_format_record();
  }

  Status load_next_document_id() {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf_[kDocuments]));
    it->SeekToLast();
    if (it->Valid()) {
      if (it->key().size() != 8) {
        return Status(Code::corruption, "a documents key in " + dir_ + " has the wrong size");
      }
      next_document_id_ = enc::get_be64(it->key().data()) + 1;
    }
    return from_rocks(it->status(), "reading the documents of " + dir_);
  }

  void start_writer() {
    writer_ = std::thread([this] { writer_loop(); });
  }

  void close() {
    {
      std::lock_guard lk(mu_);
      if (stopping_ && !writer_.joinable() && db_ == nullptr) return;
      stopping_ = true;
    }
    work_cv_.notify_all();
    room_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (db_ == nullptr) return;
    if (opened_ && !options_.read_only && options_.durability == Durability::none &&
        healthy_.load()) {
      std::vector<rocksdb::ColumnFamilyHandle*> all(cf_.begin(), cf_.end());
      db_->Flush(rocksdb::FlushOptions(), all).PermitUncheckedError();
    }
    close_db();
  }

  // ---- the free-space reserve ----

  // no_space when the file system holding the store has fewer than `reserve` bytes free (to
  // unprivileged users, statvfs f_bavail); ok otherwise, also when statvfs fails (then the
  // write is tried, and RocksDB reports what goes wrong). Thread-safe.
  Status check_space(std::uint64_t reserve) const {
    if (reserve == 0) return Status();
    space_checked_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count(),
                            std::memory_order_relaxed);
    std::uint64_t free = 0;
    if (options_.fault_injection && options_.fault_injection->reported_free_bytes() >= 0) {
      free = static_cast<std::uint64_t>(options_.fault_injection->reported_free_bytes());
    } else {
      struct statvfs v {};
      if (::statvfs(dir_.c_str(), &v) != 0) return Status();
      free = static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
    }
    // The flag follows the full reserve only (a check against a quarter of it for an account
    // write says nothing about whether revisions may be written).
    if (reserve == options_.min_free_bytes) low_space_.store(free < reserve);
    if (free >= reserve) return Status();
    return Status(Code::no_space, dir_ + " has " + std::to_string(free) +
                                      " bytes free, less than the reserve of " +
                                      std::to_string(reserve) +
                                      " bytes; nothing was written (writes resume once space "
                                      "is freed)");
  }

  // The reserve check for a write about to be queued, and for writable(): the last check's
  // verdict while it is under kSpaceRecheck old (the writer checks before every group too),
  // else a new check.
  Status space_for_new_write() const {
    if (options_.min_free_bytes == 0) return Status();
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    if (now - space_checked_ns_.load(std::memory_order_relaxed) >=
        std::chrono::nanoseconds(kSpaceRecheck).count()) {
      return check_space(options_.min_free_bytes);
    }
    if (!low_space_.load(std::memory_order_relaxed)) return Status();
    return Status(Code::no_space, dir_ + " is below its free-space reserve of " +
                                      std::to_string(options_.min_free_bytes) +
                                      " bytes; nothing was written (writes resume once space is "
                                      "freed)");
  }

  // ---- the write path ----

  // Queues w. REQUIRES: mu_ not held.
  Status enqueue(QueuedWrite w, bool wait_for_room) {
    if (options_.read_only) return Status(Code::read_only, dir_ + " is open read-only");
    if (auto space = space_for_new_write(); !space.ok()) return space;
    std::unique_lock lk(mu_);
    for (;;) {
      if (stopping_) return Status(Code::closed, "the store in " + dir_ + " is closing");
      if (!bg_error_.ok()) return bg_error_;
      const bool room = queue_.empty() || (queue_.size() < options_.max_queued_writes &&
                                           queued_bytes_ + w.bytes <= options_.max_queued_bytes);
      if (room) break;
      if (!wait_for_room) {
        return Status(Code::busy, "the write queue of " + dir_ + " is full (" +
                                      std::to_string(queue_.size()) + " writes queued)");
      }
      room_cv_.wait(lk);
    }
    queued_bytes_ += w.bytes;
    queue_.push_back(std::move(w));
    if (queue_.size() == 1 || queue_.size() == gather_target_) work_cv_.notify_one();
    return Status();
  }

  void writer_loop() {
    std::vector<QueuedWrite> group;
    std::unique_lock lk(mu_);
    for (;;) {
      work_cv_.wait(lk, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;  // stopping, and everything queued is done
      // Fewer writes queued than recent groups held: the writers those groups woke are
      // probably about to append again. Give them a moment (far less than a sync) to join:
      // up to group_wait, and another group_wait (at most kMaxGatherRounds in all) as long as
      // writes keep arriving. The target is the recent peak group size, which decays by one
      // per smaller group, so one small group does not shrink the next ones and a lonely
      // writer (peak 1) never waits. Only in durability sync: without a sync to share,
      // waiting gains nothing.
      if (options_.durability == Durability::sync && options_.group_wait.count() > 0 &&
          queue_.size() < peak_group_size_ && !stopping_) {
        gather_target_ = peak_group_size_;
        for (int round = 0; round < kMaxGatherRounds; ++round) {
          const std::size_t before = queue_.size();
          if (work_cv_.wait_for(lk, options_.group_wait,
                                [&] { return queue_.size() >= gather_target_ || stopping_; })) {
            break;
          }
          if (queue_.size() == before) break;  // nobody came: the others are not appending
        }
        gather_target_ = SIZE_MAX;
      }
      // BuildBatchGroup: take what is queued, up to max_group_bytes (at least one write).
      std::size_t bytes = 0;
      group.clear();
      while (!queue_.empty() &&
             (group.empty() || bytes + queue_.front().bytes <= options_.max_group_bytes)) {
        bytes += queue_.front().bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_bytes_ -= bytes;
      peak_group_size_ = std::max(group.size(), peak_group_size_ - 1);
      Status failed = bg_error_;
      lk.unlock();
      room_cv_.notify_all();
      write_group(group, failed);
      lk.lock();
    }
  }

  // Checks a, in a group whose earlier accepted appends left `pending` as the last revisions.
  // REQUIRES: on the writer thread.
  Status check_append(const RawAppend& a, std::unordered_map<DocumentId, std::uint64_t>& pending,
                      const std::unordered_set<std::string>& pending_dedupe,
                      const std::string& dedupe) {
    std::uint64_t last = 0;
    if (auto p = pending.find(a.document); p != pending.end()) {
      last = p->second;
    } else {
      auto known = cached_last(a.document);
      if (!known) {
        auto r = read_last_revision(a.document);
        if (!r.ok()) return r.status();
        std::lock_guard lk(cache_mu_);
        last_rev_[a.document] = *r;
        last = *r;
      } else {
        last = *known;
      }
    }
    if (a.rev != last + 1) {
      return Status(Code::conflict, "cannot append revision " + std::to_string(a.rev) + " to " +
                                        doc_name(a.document) + ": its log ends at revision " +
                                        std::to_string(last));
    }
    const bool snapshot_due = a.rev % options_.snapshot_interval == 0;
    if (snapshot_due == a.snapshot.empty()) {
      return Status(
          Code::invalid_argument,
          "revision " + std::to_string(a.rev) + " of " + doc_name(a.document) +
              (snapshot_due ? " needs a snapshot (every " +
                                  std::to_string(options_.snapshot_interval) + " revisions)"
                            : " must not carry a snapshot"));
    }
    std::string existing;
    bool used = pending_dedupe.count(dedupe) > 0;
    if (!used) {
      auto s = db_->Get(rocksdb::ReadOptions(), cf_[kDedupe], dedupe, &existing);
      if (!s.ok() && !s.IsNotFound()) return from_rocks(s, "reading the dedupe index");
      used = s.ok();
    }
    if (used) {
      std::string_view v = existing;
      std::uint64_t rev = 0;
      const std::string where =
          v.empty() || !enc::get_varint(v, rev) ? "this batch" : "revision " + std::to_string(rev);
      return Status(Code::already_exists, "client " + a.info.client_id + " seq " +
                                              std::to_string(a.info.client_seq) + " of " +
                                              doc_name(a.document) + " is already " + where);
    }
    return Status();
  }

  // Writes one group as one WriteBatch and completes its writes, in order.
  // REQUIRES: on the writer thread, mu_ not held.
  void write_group(std::vector<QueuedWrite>& group, const Status& failed) {
    std::vector<Status> results(group.size());
    std::vector<std::uint64_t> values(group.size(), 0);
    if (!failed.ok()) {
      for (auto& r : results) r = failed;
      complete(group, results, values);
      return;
    }
    // Below the reserve, the group is refused before RocksDB sees it: a WAL write that hit a
    // full disk would stop RocksDB (and this store) until it is reopened, while a refusal
    // leaves both healthy, writing again as soon as space returns.
    if (Status space = check_space(options_.min_free_bytes); !space.ok()) {
      for (auto& r : results) r = space;
      complete(group, results, values);
      return;
    }
    std::unordered_map<DocumentId, std::uint64_t> pending;
    std::unordered_set<std::string> pending_dedupe;
    DocumentId next_id = next_document_id_;
    rocksdb::WriteBatch batch;
    std::vector<HistoryIndexWriter::KeyValue> index_entries;
    std::size_t accepted = 0;
    Status write_status;
    try {
      for (std::size_t i = 0; i < group.size(); ++i) {
        auto& w = group[i];
        if (w.create && w.create_id != 0) {
          // A given id (scale-out): refused when it is taken, in the store or in this group.
          const auto existing = read_document(w.create_id);
          if (existing.ok() || pending.count(w.create_id) > 0) {
            results[i] = Status(Code::already_exists, doc_name(w.create_id) + " exists");
            continue;
          }
          if (!existing.status().is_not_found()) {
            results[i] = existing.status();
            continue;
          }
        }
        if (w.create) {
          const DocumentId id = w.create_id != 0 ? w.create_id : next_id++;
          batch.Put(cf_[kDocuments], enc::document_key(id),
                    enc::encode_document(w.title, w.created_ms));
          batch.Put(cf_[kSnapshots], enc::revision_key(id, 0), w.initial_snapshot);
          pending[id] = 0;
          values[i] = id;
          ++accepted;
          continue;
        }
        const RawAppend& a = w.append;
        std::string dedupe = enc::dedupe_key(a.document, a.info.client_id, a.info.client_seq);
        results[i] = check_append(a, pending, pending_dedupe, dedupe);
        if (!results[i].ok()) continue;
        // The history indexes go into the revision's own batch: never one without the other.
        index_entries.clear();
        results[i] = history_.add(a, index_entries);
        if (!results[i].ok()) continue;
        for (const auto& [k, v] : index_entries) batch.Put(cf_[kHistory], k, v);
        const std::string key = enc::revision_key(a.document, a.rev);
        batch.Put(cf_[kRevisions], key, enc::encode_revision(a.info, a.op));
        std::string rev_value;
        enc::put_varint(rev_value, a.rev);
        batch.Put(cf_[kDedupe], dedupe, rev_value);
        if (!a.snapshot.empty()) batch.Put(cf_[kSnapshots], key, a.snapshot);
        pending[a.document] = a.rev;
        pending_dedupe.insert(std::move(dedupe));
        values[i] = a.rev;
        ++accepted;
      }
      if (accepted > 0) {
        rocksdb::WriteOptions wo;
        wo.sync = options_.durability == Durability::sync;
        wo.disableWAL = options_.durability == Durability::none;
        write_status = from_rocks(db_->Write(wo, &batch), "writing to " + dir_);
      }
    } catch (const std::exception& e) {
      write_status = Status(Code::internal, std::string("writing to ") + dir_ + ": " + e.what());
    }
    if (write_status.ok()) {
      if (accepted > 0) {
        groups_written_.fetch_add(1, std::memory_order_relaxed);
        writes_written_.fetch_add(accepted, std::memory_order_relaxed);
      }
      std::lock_guard lk(cache_mu_);
      for (const auto& [doc, rev] : pending) last_rev_[doc] = rev;
      next_document_id_ = next_id;
    } else {
      Status err(Code::failed,
                 "a write failed, so the store refuses every later write until "
                 "it is reopened (" +
                     write_status.to_string() + ")");
      {
        std::lock_guard lk(mu_);
        if (bg_error_.ok()) bg_error_ = err;
        healthy_.store(false);
      }
      for (std::size_t i = 0; i < group.size(); ++i) {
        if (results[i].ok()) results[i] = err;
      }
      history_.reset();
    }
    complete(group, results, values);
  }

  static void complete(std::vector<QueuedWrite>& group, const std::vector<Status>& results,
                       const std::vector<std::uint64_t>& values) {
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!group[i].done) continue;
      try {
        group[i].done(results[i], values[i]);
      } catch (...) {
        // A callback must not throw; if one does, the others still run.
      }
    }
  }

  // ---- reads ----

  std::optional<std::uint64_t> cached_last(DocumentId id) const {
    std::lock_guard lk(cache_mu_);
    auto it = last_rev_.find(id);
    if (it == last_rev_.end()) return std::nullopt;
    return it->second;
  }

  Result<DocumentMeta> read_document(DocumentId id) const {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_[kDocuments], enc::document_key(id), &value);
    if (s.IsNotFound()) return Status(Code::not_found, "no " + doc_name(id));
    if (!s.ok()) return from_rocks(s, "reading " + doc_name(id));
    DocumentMeta m;
    m.id = id;
    if (!enc::decode_document(value, m)) {
      return Status(Code::corruption, "the metadata of " + doc_name(id) + " cannot be decoded");
    }
    return m;
  }

  // The last revision in the log (0 if none). not_found if the document does not exist.
  Result<std::uint64_t> read_last_revision(DocumentId id) const {
    if (auto m = read_document(id); !m.ok()) return m.status();
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf_[kRevisions]));
    it->SeekForPrev(enc::revision_key(id, UINT64_MAX));
    if (it->Valid() && it->key().size() == 16 && enc::get_be64(it->key().data()) == id) {
      return enc::get_be64(it->key().data() + 8);
    }
    if (!it->status().ok()) return from_rocks(it->status(), "reading the log of " + doc_name(id));
    return std::uint64_t{0};
  }

  Result<std::uint64_t> last_revision(DocumentId id) const {
    if (auto known = cached_last(id)) return *known;
    return read_last_revision(id);
  }

  // An iterator over one document's keys in a (document, revision)-keyed family.
  struct DocIterator {
    std::string upper;
    rocksdb::Slice upper_slice;
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it;
  };
  std::unique_ptr<DocIterator> doc_iterator(std::size_t family, DocumentId id) const {
    auto d = std::make_unique<DocIterator>();
    d->upper = enc::document_key(id + 1);
    d->upper_slice = rocksdb::Slice(d->upper);
    if (id != UINT64_MAX) d->ro.iterate_upper_bound = &d->upper_slice;
    d->it.reset(db_->NewIterator(d->ro, cf_[family]));
    return d;
  }
};

// ---- RevisionLog ----

RevisionLog::RevisionLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RevisionLog::~RevisionLog() = default;

Result<std::unique_ptr<RevisionLog>> RevisionLog::open(const std::string& dir, Options options) {
  if (options.snapshot_interval == 0) {
    return Status(Code::invalid_argument, "the snapshot interval must be at least 1");
  }
  if (options.max_queued_writes == 0) {
    return Status(Code::invalid_argument, "the write queue must hold at least one write");
  }
  try {
    auto impl = std::make_unique<Impl>();
    impl->dir_ = dir;
    impl->options_ = std::move(options);
    keep_large_blocks_mapped();
    if (auto s = impl->open(); !s.ok()) return s;
    impl->opened_ = true;
    if (!impl->options_.read_only) impl->start_writer();
    return std::unique_ptr<RevisionLog>(new RevisionLog(std::move(impl)));
  } catch (const std::exception& e) {
    return Status(Code::internal, "opening " + dir + ": " + e.what());
  }
}

const Options& RevisionLog::options() const { return impl_->options_; }
const std::string& RevisionLog::dir() const { return impl_->dir_; }

Result<DocumentId> RevisionLog::create_document(std::string title, std::int64_t created_ms,
                                                std::string initial_snapshot) {
  return create_document_as(0, std::move(title), created_ms, std::move(initial_snapshot));
}

Result<DocumentId> RevisionLog::create_document_as(DocumentId wanted, std::string title,
                                                   std::int64_t created_ms,
                                                   std::string initial_snapshot) {
  if (initial_snapshot.empty()) {
    return Status(Code::invalid_argument, "a document needs an initial snapshot");
  }
  std::promise<std::pair<Status, std::uint64_t>> promise;
  auto future = promise.get_future();
  QueuedWrite w;
  w.create = true;
  w.create_id = wanted;
  w.bytes = title.size() + initial_snapshot.size() + 32;
  w.title = std::move(title);
  w.created_ms = created_ms;
  w.initial_snapshot = std::move(initial_snapshot);
  w.done = [&promise](const Status& s, std::uint64_t id) { promise.set_value({s, id}); };
  if (auto s = impl_->enqueue(std::move(w), /*wait_for_room=*/true); !s.ok()) return s;
  auto [status, id] = future.get();
  if (!status.ok()) return status;
  return id;
}

Status RevisionLog::append(RawAppend a) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  QueuedWrite w;
  w.bytes = a.op.size() + a.snapshot.size() + a.info.author.size() + 64;
  w.append = std::move(a);
  w.done = [&promise](const Status& s, std::uint64_t) { promise.set_value(s); };
  if (auto s = impl_->enqueue(std::move(w), /*wait_for_room=*/true); !s.ok()) return s;
  return future.get();
}

Status RevisionLog::append_async(RawAppend a, Callback done) {
  QueuedWrite w;
  w.bytes = a.op.size() + a.snapshot.size() + a.info.author.size() + 64;
  w.append = std::move(a);
  w.done = [done = std::move(done)](const Status& s, std::uint64_t) {
    if (done) done(s);
  };
  return impl_->enqueue(std::move(w), /*wait_for_room=*/false);
}

Result<DocumentMeta> RevisionLog::document(DocumentId id) const {
  auto m = impl_->read_document(id);
  if (!m.ok()) return m;
  auto last = impl_->last_revision(id);
  if (!last.ok()) return last.status();
  m->last_rev = *last;
  return m;
}

Result<std::vector<DocumentMeta>> RevisionLog::list_documents() const {
  std::vector<DocumentMeta> out;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db_->NewIterator(rocksdb::ReadOptions(), impl_->cf_[kDocuments]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    DocumentMeta m;
    if (it->key().size() != 8 || !enc::decode_document(it->value().ToStringView(), m)) {
      return Status(Code::corruption,
                    "a documents record in " + impl_->dir_ + " cannot be decoded");
    }
    m.id = enc::get_be64(it->key().data());
    auto last = impl_->last_revision(m.id);
    if (!last.ok()) return last.status();
    m.last_rev = *last;
    out.push_back(std::move(m));
  }
  if (auto s = from_rocks(it->status(), "listing the documents of " + impl_->dir_); !s.ok()) {
    return s;
  }
  return out;
}

Result<std::uint64_t> RevisionLog::last_revision(DocumentId id) const {
  return impl_->last_revision(id);
}

Result<RawSnapshot> RevisionLog::snapshot_at_or_before(DocumentId id, std::uint64_t rev) const {
  auto d = impl_->doc_iterator(kSnapshots, id);
  d->it->SeekForPrev(enc::revision_key(id, rev));
  if (d->it->Valid() && d->it->key().size() == 16 && enc::get_be64(d->it->key().data()) == id) {
    RawSnapshot snap;
    snap.rev = enc::get_be64(d->it->key().data() + 8);
    snap.data = d->it->value().ToString();
    return snap;
  }
  if (!d->it->status().ok()) {
    return from_rocks(d->it->status(), "reading the snapshots of " + doc_name(id));
  }
  return Status(Code::not_found,
                "no snapshot of " + doc_name(id) + " at or before revision " + std::to_string(rev));
}

Result<std::vector<std::uint64_t>> RevisionLog::snapshot_revisions(DocumentId id) const {
  std::vector<std::uint64_t> out;
  auto d = impl_->doc_iterator(kSnapshots, id);
  for (d->it->Seek(enc::document_key(id)); d->it->Valid(); d->it->Next()) {
    if (d->it->key().size() != 16) {
      return Status(Code::corruption, "a snapshot key of " + doc_name(id) + " has the wrong size");
    }
    out.push_back(enc::get_be64(d->it->key().data() + 8));
  }
  if (auto s = from_rocks(d->it->status(), "reading the snapshots of " + doc_name(id)); !s.ok()) {
    return s;
  }
  return out;
}

Status RevisionLog::for_each_revision(DocumentId id, std::uint64_t from, std::uint64_t to,
                                      const std::function<bool(RawRevision&&)>& f) const {
  if (from > to) return Status();
  auto d = impl_->doc_iterator(kRevisions, id);
  for (d->it->Seek(enc::revision_key(id, from)); d->it->Valid(); d->it->Next()) {
    if (d->it->key().size() != 16) {
      return Status(Code::corruption, "a revision key of " + doc_name(id) + " has the wrong size");
    }
    RawRevision r;
    r.document = id;
    r.rev = enc::get_be64(d->it->key().data() + 8);
    if (r.rev > to) break;
    if (!enc::decode_revision(d->it->value().ToStringView(), r)) {
      return Status(Code::corruption, "revision " + std::to_string(r.rev) + " of " + doc_name(id) +
                                          " cannot be decoded");
    }
    if (!f(std::move(r))) break;
  }
  return from_rocks(d->it->status(), "reading the log of " + doc_name(id));
}

Result<std::vector<RawRevision>> RevisionLog::revisions(DocumentId id, std::uint64_t from,
                                                        std::uint64_t to, std::size_t limit) const {
  std::vector<RawRevision> out;
  if (limit == 0) return out;
  auto s = for_each_revision(id, from, to, [&](RawRevision&& r) {
    out.push_back(std::move(r));
    return out.size() < limit;
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::uint64_t> RevisionLog::find_by_client(DocumentId id, std::string_view client_id,
                                                  std::uint64_t seq) const {
  std::string value;
  auto s = impl_->db_->Get(rocksdb::ReadOptions(), impl_->cf_[kDedupe],
                           enc::dedupe_key(id, client_id, seq), &value);
  if (s.IsNotFound()) {
    return Status(Code::not_found, "no revision of " + doc_name(id) + " from client " +
                                       std::string(client_id) + " seq " + std::to_string(seq));
  }
  if (!s.ok()) return from_rocks(s, "reading the dedupe index");
  std::string_view v = value;
  std::uint64_t rev = 0;
  if (!enc::get_varint(v, rev) || !v.empty()) {
    return Status(Code::corruption, "a dedupe entry of " + doc_name(id) + " cannot be decoded");
  }
  return rev;
}

Result<std::uint64_t> RevisionLog::max_client_seq(DocumentId id, std::string_view client_id) const {
  // The dedupe keys of one (document, client) differ only in their big-endian seq: the last
  // one at or before the prefix followed by the highest seq is the client's highest.
  std::string prefix = enc::dedupe_key(id, client_id, 0);
  prefix.resize(prefix.size() - 8);
  const std::string last = enc::dedupe_key(id, client_id, ~std::uint64_t{0});
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db_->NewIterator(rocksdb::ReadOptions(), impl_->cf_[kDedupe]));
  it->SeekForPrev(last);
  if (!it->status().ok()) return from_rocks(it->status(), "reading the dedupe index");
  if (!it->Valid()) return std::uint64_t{0};
  const rocksdb::Slice k = it->key();
  if (k.size() != prefix.size() + 8 || !k.starts_with(prefix)) return std::uint64_t{0};
  return enc::get_be64(k.data() + prefix.size());
}

bool RevisionLog::healthy() const { return impl_->healthy_.load(); }

Status RevisionLog::writable() const {
  if (!impl_->healthy_.load()) return error();
  return impl_->space_for_new_write();
}

Status RevisionLog::error() const {
  std::lock_guard lk(impl_->mu_);
  return impl_->bg_error_;
}

Status RevisionLog::checkpoint(const std::string& to_dir) {
  rocksdb::Checkpoint* raw = nullptr;
  if (auto s = from_rocks(rocksdb::Checkpoint::Create(impl_->db_, &raw), "starting a checkpoint");
      !s.ok()) {
    return s;
  }
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // A writable store flushes its memtables first (in durability none they are not in any
  // WAL); a read-only one cannot, and copies the WAL instead.
  const std::uint64_t log_size_for_flush = impl_->options_.read_only ? UINT64_MAX : 0;
  return from_rocks(cp->CreateCheckpoint(to_dir, log_size_for_flush),
                    "writing a checkpoint of " + impl_->dir_ + " to " + to_dir);
}

Status RevisionLog::compact() {
  if (impl_->options_.read_only) return Status(Code::read_only, impl_->dir_ + " is read-only");
  std::vector<rocksdb::ColumnFamilyHandle*> all(impl_->cf_.begin(), impl_->cf_.end());
  if (auto s = from_rocks(impl_->db_->Flush(rocksdb::FlushOptions(), all), "flushing"); !s.ok()) {
    return s;
  }
  for (auto* h : all) {
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    if (auto s = from_rocks(impl_->db_->CompactRange(o, h, nullptr, nullptr), "compacting");
        !s.ok()) {
      return s;
    }
  }
  return Status();
}

RevisionLog::WriteStats RevisionLog::write_stats() const {
  return WriteStats{impl_->groups_written_.load(), impl_->writes_written_.load()};
}

std::vector<RevisionLog::FamilySize> RevisionLog::family_sizes() const {
  std::vector<FamilySize> out;
  for (std::size_t f = 0; f < kFamilyCount; ++f) {
    if (impl_->cf_[f] == nullptr) continue;  // history, in a version 1 store opened read-only
    rocksdb::ColumnFamilyMetaData meta;
    impl_->db_->GetColumnFamilyMetaData(impl_->cf_[f], &meta);
    std::uint64_t entries = 0;
    for (const auto& level : meta.levels) {
      for (const auto& file : level.files) entries += file.num_entries;
    }
    out.push_back(FamilySize{kFamilyNames[f], meta.size, entries});
  }
  return out;
}

// ---- Key/value face of the accounts and sessions families ----

namespace {
std::size_t kv_family(RevisionLog::KvFamily f) {
  return f == RevisionLog::KvFamily::accounts ? kAccounts : kSessions;
}
}  // namespace

Status RevisionLog::kv_write(const std::vector<KvWrite>& writes) {
  if (impl_->options_.read_only) return Status(Code::read_only, impl_->dir_ + " is read-only");
  if (auto space = impl_->check_space(impl_->options_.min_free_bytes / 4); !space.ok()) {
    return space;
  }
  rocksdb::WriteBatch batch;
  for (const auto& w : writes) {
    auto* cf = impl_->cf_[kv_family(w.family)];
    if (w.value) {
      batch.Put(cf, w.key, *w.value);
    } else {
      batch.Delete(cf, w.key);
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return from_rocks(impl_->db_->Write(wo, &batch), "writing accounts or sessions");
}

Result<std::optional<std::string>> RevisionLog::kv_get(KvFamily family,
                                                       std::string_view key) const {
  std::string value;
  auto s = impl_->db_->Get(rocksdb::ReadOptions(), impl_->cf_[kv_family(family)],
                           rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_rocks(s, "reading accounts or sessions");
  return std::optional<std::string>(std::move(value));
}

Status RevisionLog::kv_scan(
    KvFamily family, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& f) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db_->NewIterator(rocksdb::ReadOptions(), impl_->cf_[kv_family(family)]));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, prefix.size()) != prefix) break;
    if (!f(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return from_rocks(it->status(), "scanning accounts or sessions");
}

// ---- The history family ----

Status RevisionLog::history_write(const std::vector<std::pair<std::string, std::string>>& puts) {
  if (impl_->options_.read_only) return Status(Code::read_only, impl_->dir_ + " is read-only");
  if (auto space = impl_->check_space(impl_->options_.min_free_bytes); !space.ok()) return space;
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : puts) batch.Put(impl_->cf_[kHistory], k, v);
  rocksdb::WriteOptions wo;
  wo.sync = impl_->options_.durability == Durability::sync;
  wo.disableWAL = impl_->options_.durability == Durability::none;
  return from_rocks(impl_->db_->Write(wo, &batch), "writing the history index");
}

Status RevisionLog::history_scan(
    std::string_view lower, std::string_view upper, bool reverse,
    const std::function<bool(std::string_view, std::string_view)>& f) const {
  if (impl_->cf_[kHistory] == nullptr) {
    return Status(Code::unsupported_format,
                  "the store in " + impl_->dir_ +
                      " predates the history index; open it for writing once to build it");
  }
  const rocksdb::Slice lo(lower.data(), lower.size()), hi(upper.data(), upper.size());
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db_->NewIterator(rocksdb::ReadOptions(), impl_->cf_[kHistory]));
  if (reverse) {
    for (it->SeekForPrev(hi); it->Valid() && it->key().compare(lo) >= 0; it->Prev()) {
      if (!f(it->key().ToStringView(), it->value().ToStringView())) break;
    }
  } else {
    for (it->Seek(lo); it->Valid() && it->key().compare(hi) <= 0; it->Next()) {
      if (!f(it->key().ToStringView(), it->value().ToStringView())) break;
    }
  }
  return from_rocks(it->status(), "reading the history index");
}

}  // namespace jointly::storage
