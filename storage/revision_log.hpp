// RevisionLog: the durable, append-only revision log of every document, in RocksDB.
//
// It stores bytes: an operation and a snapshot are opaque strings here; storage/store.hpp
// puts protocol's DocOp and Document on top. What it keeps, each in its own column family
// (see storage/README.md for the key and value formats):
//   documents  document id                        -> title, creation time
//   revisions  (document id, revision)            -> author, institution, time, sections,
//                                                    client id and sequence number, operation
//   snapshots  (document id, revision)            -> the document after that revision
//   dedupe     (document id, client id, seq)      -> revision
//   history    (document id, kind, ...)           -> the history indexes, named versions and
//                                                    blame checkpoints (history_index.hpp)
//   accounts, sessions  opaque keys and values (kv_* below; storage/accounts.hpp), and in the
//   default family the format-version record.
// Keys are big-endian, so RocksDB's order is revision order.
//
// The write path (leveldb's DBImpl::Write and BuildBatchGroup, with a dedicated writer):
// every write (append, create) joins a bounded queue; one writer thread takes everything
// queued, checks each append against the log (r == last + 1, (client id, seq) not yet used),
// merges the accepted ones into ONE WriteBatch, writes it with one WAL sync and completes each
// waiter in queue order with its own status. A failed write makes the store unhealthy: that
// write and every later one fail with Code::failed, with no retry that could reorder or
// half-apply anything. Below the free-space reserve (Options::min_free_bytes) a write is refused
// with no_space before RocksDB sees it, leaving the store healthy (storage/README.md).
//
// Thread-safety: every method may be called from any thread. Completion callbacks run on the
// writer thread, one at a time, in the order the writes were queued; a callback must be quick
// and must not call a blocking write (append, create_document) of the same store, which would
// wait for itself. It may call append_async and the reads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/options.hpp"
#include "storage/status.hpp"

namespace jointly::storage {

using DocumentId = std::uint64_t;

// Who made a revision, when, where, and which client submission it was.
struct RevisionInfo {
  std::string author;
  std::string institution;
  std::int64_t server_time_ms = 0;    // milliseconds since the Unix epoch, server clock
  std::vector<std::string> sections;  // ids of the sections the operation touched
  std::string client_id;              // the submitting client; with client_seq, the dedupe key
  std::uint64_t client_seq = 0;
  // A restore from history (server/history.hpp): the revision whose state this one brought
  // back; 0 when it is no restore. Records written before the field existed read as 0.
  std::uint64_t restored_from = 0;

  friend bool operator==(const RevisionInfo&, const RevisionInfo&) = default;
};

// A revision as stored: the operation is the caller's encoding.
struct RawRevision {
  DocumentId document = 0;
  std::uint64_t rev = 0;
  RevisionInfo info;
  std::string op;

  friend bool operator==(const RawRevision&, const RawRevision&) = default;
};

struct RawSnapshot {
  std::uint64_t rev = 0;
  std::string data;
};

// An append of revision `rev` of `document`. snapshot holds the document after the operation;
// REQUIRES: it is non-empty iff rev % Options::snapshot_interval == 0.
struct RawAppend {
  DocumentId document = 0;
  std::uint64_t rev = 0;
  RevisionInfo info;
  std::string op;
  std::string snapshot;
};

struct DocumentMeta {
  DocumentId id = 0;
  std::string title;
  std::int64_t created_ms = 0;
  std::uint64_t last_rev = 0;  // 0: no revision yet (the document as created)
};

class RevisionLog {
 public:
  // Opens the store in dir. Creates it only if dir is absent or empty (and
  // options.create_if_missing). Refuses, with a message that says why: a directory holding
  // anything that is not a Jointly store (not_a_store), a store RocksDB reports damaged
  // (corruption), a format version this build does not know (unsupported_format).
  static Result<std::unique_ptr<RevisionLog>> open(const std::string& dir, Options options);

  // Completes every queued write (or fails it, if the store is unhealthy), stops the writer
  // and closes RocksDB (in durability none, after flushing the memtables).
  ~RevisionLog();
  RevisionLog(const RevisionLog&) = delete;
  RevisionLog& operator=(const RevisionLog&) = delete;

  const Options& options() const;
  const std::string& dir() const;

  // Creates a document whose revision 0 is initial_snapshot; returns its id (ids are 1, 2, ...
  // in creation order). Blocks until durable.
  Result<DocumentId> create_document(std::string title, std::int64_t created_ms,
                                     std::string initial_snapshot);
  // The same under a given id (a cluster's registered id, storage/accounts.hpp; 0: the next
  // one). already_exists when the store has that document.
  Result<DocumentId> create_document_as(DocumentId id, std::string title, std::int64_t created_ms,
                                        std::string initial_snapshot);

  // Appends a revision and blocks until it is durable (per Options::durability) or failed.
  // Errors: not_found (no such document), conflict (rev != last + 1), already_exists
  // ((client id, seq) already used), invalid_argument (snapshot present iff rev % K == 0),
  // failed (the store is unhealthy), read_only, closed, io_error, no_space (below the
  // free-space reserve: nothing written, the store stays healthy).
  // When the queue is full it waits for room.
  Status append(RawAppend a);

  // Queues an append and returns at once. On ok, done(status) is called exactly once, later,
  // on the writer thread, with what append() would have returned. On error (busy: the queue is
  // full; no_space: below the free-space reserve; failed; read_only; closed) done is never
  // called.
  using Callback = std::function<void(const Status&)>;
  Status append_async(RawAppend a, Callback done);

  // Reads. They see every completed write.
  Result<DocumentMeta> document(DocumentId id) const;
  Result<std::vector<DocumentMeta>> list_documents() const;
  // not_found if the document does not exist.
  Result<std::uint64_t> last_revision(DocumentId id) const;
  // The snapshot with the greatest revision <= rev. not_found if the document has none.
  Result<RawSnapshot> snapshot_at_or_before(DocumentId id, std::uint64_t rev) const;
  // The revisions of snapshots of a document, ascending.
  Result<std::vector<std::uint64_t>> snapshot_revisions(DocumentId id) const;
  // Revisions from..to (inclusive) in order, at most limit of them. Missing ones are skipped
  // (the log has none unless it is damaged; check() reports gaps).
  Result<std::vector<RawRevision>> revisions(DocumentId id, std::uint64_t from, std::uint64_t to,
                                             std::size_t limit = SIZE_MAX) const;
  // Calls f for revisions from..to in order until f returns false.
  Status for_each_revision(DocumentId id, std::uint64_t from, std::uint64_t to,
                           const std::function<bool(RawRevision&&)>& f) const;
  // The revision that (client_id, seq) produced in the document. not_found if none.
  Result<std::uint64_t> find_by_client(DocumentId id, std::string_view client_id,
                                       std::uint64_t seq) const;
  // The highest seq of client_id with a revision in the document (0 if none).
  Result<std::uint64_t> max_client_seq(DocumentId id, std::string_view client_id) const;

  // False once a write has failed; error() then says which and why (Status::Ok() if healthy).
  bool healthy() const;
  Status error() const;
  // Whether a write would be tried now: Status::Ok(); error() once a write has failed; or
  // no_space while the store is below its free-space reserve (Options::min_free_bytes; the
  // file system is looked at again when the last look is over 100 ms old), which passes by
  // itself once space is freed.
  Status writable() const;

  // A consistent copy of the store in a new directory (RocksDB Checkpoint: hard links where
  // it can, copies otherwise). The store keeps running meanwhile.
  Status checkpoint(const std::string& to_dir);
  // Writes the memtables to table files and compacts everything (benchmarks, tests).
  Status compact();
  // Counters of the write path since open.
  struct WriteStats {
    std::uint64_t groups = 0;  // WriteBatches written (= WAL syncs in durability sync)
    std::uint64_t writes = 0;  // appends and creates in them
  };
  WriteStats write_stats() const;
  // Bytes on disk per column family (table files only; the WAL and memtables not counted).
  struct FamilySize {
    std::string name;
    std::uint64_t bytes = 0;
    std::uint64_t entries = 0;
  };
  std::vector<FamilySize> family_sizes() const;

  // ---- Key/value face of the accounts and sessions families (storage/accounts.hpp) ----
  // Plain bytes under caller-chosen keys, apart from the revision log and its writer thread:
  // each kv_write is one atomic WriteBatch, always WAL-synced (whatever the durability; these
  // writes are rare), and does not touch the store's health (a failed one returns io_error).
  enum class KvFamily : std::uint8_t { accounts, sessions };
  struct KvWrite {
    KvFamily family = KvFamily::accounts;
    std::string key;
    std::optional<std::string> value;  // absent: delete the key
  };
  // Errors: read_only, io_error, no_space (below a quarter of the free-space reserve).
  Status kv_write(const std::vector<KvWrite>& writes);
  // The value under key, or nullopt when there is none.
  Result<std::optional<std::string>> kv_get(KvFamily family, std::string_view key) const;
  // Calls f(key, value) for every key that starts with prefix, in byte order, until f returns
  // false.
  Status kv_scan(KvFamily family, std::string_view prefix,
                 const std::function<bool(std::string_view, std::string_view)>& f) const;

  // ---- The history family (storage/history_index.hpp) ----
  // The revision indexes are written by the writer, in each revision's own WriteBatch; these
  // two calls serve the history index's reads and its other keys (named versions, blame
  // checkpoints), written apart from the writer as one WriteBatch, WAL-synced in durability
  // sync. A store opened read-only that predates the history family answers
  // unsupported_format (open it writable once: that builds the indexes from the log).
  // Errors: read_only, io_error, unsupported_format, no_space (below the free-space reserve).
  Status history_write(const std::vector<std::pair<std::string, std::string>>& puts);
  // Calls f(key, value) for the keys in [lower, upper] (both inclusive), ascending, or
  // descending when reverse, until f returns false.
  Status history_scan(std::string_view lower, std::string_view upper, bool reverse,
                      const std::function<bool(std::string_view, std::string_view)>& f) const;

  struct Impl;  // storage/revision_log.cpp

 private:
  explicit RevisionLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jointly::storage
