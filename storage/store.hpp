// Store: the durable revision log of Jointly documents, in protocol's types.
//
// A thin layer over RevisionLog (storage/revision_log.hpp), which holds the bytes and the write
// path: this one encodes DocOps and Documents (MessagePack of their protocol JSON), fills in
// the sections a revision touched, writes a snapshot every K revisions, and rebuilds a
// document from its nearest snapshot plus at most K - 1 operations (protocol::apply).
//
// Typical use by a document's strand:
//   auto store = Store::open(dir, options);            // once per process
//   auto loaded = (*store)->load(id);                  // when the document is first opened
//   ... apply op to the in-memory document, giving `after` at revision loaded.rev + 1 ...
//   (*store)->append_async(id, rev, op, info, after, [](const Status& s) { post to strand });
//
// Thread-safety: every method may be called from any thread (see RevisionLog for the callback
// rules: callbacks run on the writer thread, in queue order, and must not block).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/document.hpp"
#include "storage/options.hpp"
#include "storage/revision_log.hpp"
#include "storage/status.hpp"

namespace jointly::storage {

struct Revision {
  std::uint64_t rev = 0;
  protocol::DocOp op;
  RevisionInfo info;

  friend bool operator==(const Revision&, const Revision&) = default;
};

// A document as of a revision.
struct LoadedDocument {
  std::uint64_t rev = 0;
  protocol::Document doc;
};

// What check() found in one document.
struct DocumentCheck {
  DocumentId id = 0;
  std::uint64_t last_rev = 0;
  std::uint64_t snapshots = 0;
  std::vector<std::string> problems;  // empty: the document is sound
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& dir, Options options);

  // The byte-level log underneath (health, checkpoints, raw reads).
  RevisionLog& log() { return *log_; }
  const RevisionLog& log() const { return *log_; }
  const Options& options() const { return log_->options(); }
  bool healthy() const { return log_->healthy(); }
  Status error() const { return log_->error(); }
  // See RevisionLog::writable: ok, failed, or no_space while below the free-space reserve.
  Status writable() const { return log_->writable(); }

  // Creates a document whose revision 0 is `initial` (by default, no sections).
  // created_ms 0 means now.
  Result<DocumentId> create_document(std::string title,
                                     const protocol::Document& initial = protocol::Document(),
                                     std::int64_t created_ms = 0);
  // The same under a given id (a cluster's registered document); already_exists when taken.
  Result<DocumentId> create_document_as(DocumentId id, std::string title,
                                        const protocol::Document& initial, std::int64_t created_ms);

  // Appends revision rev of a document: op, applied to the document at rev - 1, gave `after`
  // (the caller has applied it; `after` is encoded only when rev % K == 0, on the caller's
  // thread). info.sections is replaced by protocol::sections_touched(op). Blocks until durable;
  // errors as RevisionLog::append.
  Status append(DocumentId id, std::uint64_t rev, const protocol::DocOp& op, RevisionInfo info,
                const protocol::Document& after);
  // The same, queued: see RevisionLog::append_async (done runs on the writer thread).
  Status append_async(DocumentId id, std::uint64_t rev, const protocol::DocOp& op,
                      RevisionInfo info, const protocol::Document& after,
                      RevisionLog::Callback done);

  // The latest document: the latest snapshot plus the operations after it.
  Result<LoadedDocument> load(DocumentId id) const;
  // The document as of revision rev (0: as created). not_found if rev is past the end.
  Result<LoadedDocument> load_at(DocumentId id, std::uint64_t rev) const;
  // Revisions from..to (inclusive), at most limit.
  Result<std::vector<Revision>> revisions(DocumentId id, std::uint64_t from, std::uint64_t to,
                                          std::size_t limit = SIZE_MAX) const;
  // One revision; not_found if absent.
  Result<Revision> revision(DocumentId id, std::uint64_t rev) const;
  // The revision that (client_id, seq) produced; not_found if none.
  Result<std::uint64_t> find_by_client(DocumentId id, std::string_view client_id,
                                       std::uint64_t seq) const {
    return log_->find_by_client(id, client_id, seq);
  }
  // The highest seq of client_id with a revision in the document (0 if none).
  Result<std::uint64_t> max_client_seq(DocumentId id, std::string_view client_id) const {
    return log_->max_client_seq(id, client_id);
  }
  Result<DocumentMeta> document(DocumentId id) const { return log_->document(id); }
  Result<std::vector<DocumentMeta>> list_documents() const { return log_->list_documents(); }

  // Verifies one document: revisions contiguous from 1, every operation decodes and applies,
  // every snapshot decodes and equals the replay from revision 0, every revision's dedupe entry
  // points back at it.
  Result<DocumentCheck> check_document(DocumentId id) const;
  // check_document for every document.
  Result<std::vector<DocumentCheck>> check() const;

  // The encodings, for tools and tests. Errors: corruption.
  static std::string encode_op(const protocol::DocOp& op);
  static Result<protocol::DocOp> decode_op(std::string_view bytes);
  static std::string encode_document(const protocol::Document& doc);
  static Result<protocol::Document> decode_document(std::string_view bytes);

 private:
  explicit Store(std::unique_ptr<RevisionLog> log) : log_(std::move(log)) {}
  Result<RawAppend> make_append(DocumentId id, std::uint64_t rev, const protocol::DocOp& op,
                                RevisionInfo info, const protocol::Document& after) const;
  Result<LoadedDocument> replay(DocumentId id, std::uint64_t to) const;

  std::unique_ptr<RevisionLog> log_;
};

}  // namespace jointly::storage
