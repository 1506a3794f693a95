#include "storage/store.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace jointly::storage {

namespace {

// Both encodings are one version byte then MessagePack of the protocol JSON (PROTOCOL.md):
// about 30 % smaller than the JSON text for a one-character edit, and faster to parse.
constexpr char kOpEncoding = 1;
constexpr char kDocumentEncoding = 1;

std::string pack(char version, const nlohmann::json& j) {
  std::string out(1, version);
  nlohmann::json::to_msgpack(j, nlohmann::detail::output_adapter<char>(out));
  return out;
}

Result<nlohmann::json> unpack(std::string_view bytes, char version, const char* what) {
  if (bytes.empty() || bytes.front() != version) {
    return Status(Code::corruption,
                  std::string("an encoded ") + what + " has an unknown encoding version");
  }
  bytes.remove_prefix(1);
  auto j = nlohmann::json::from_msgpack(bytes.begin(), bytes.end(), /*strict=*/true,
                                        /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status(Code::corruption,
                  std::string("an encoded ") + what + " is not valid MessagePack");
  }
  return j;
}

std::string doc_name(DocumentId id) { return "document " + std::to_string(id); }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string Store::encode_op(const protocol::DocOp& op) { return pack(kOpEncoding, to_json(op)); }

Result<protocol::DocOp> Store::decode_op(std::string_view bytes) {
  auto j = unpack(bytes, kOpEncoding, "operation");
  if (!j.ok()) return j.status();
  auto op = protocol::parse_doc_op(*j);
  if (!op.ok()) {
    return Status(Code::corruption, "a stored operation does not parse: " + op.error().message);
  }
  return std::move(op).value();
}

std::string Store::encode_document(const protocol::Document& doc) {
  return pack(kDocumentEncoding, to_json(doc));
}

Result<protocol::Document> Store::decode_document(std::string_view bytes) {
  auto j = unpack(bytes, kDocumentEncoding, "snapshot");
  if (!j.ok()) return j.status();
  auto doc = protocol::parse_document(*j);
  if (!doc.ok()) {
    return Status(Code::corruption, "a stored snapshot does not parse: " + doc.error().message);
  }
  return std::move(doc).value();
}

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, Options options) {
  auto log = RevisionLog::open(dir, std::move(options));
  if (!log.ok()) return log.status();
  return std::unique_ptr<Store>(new Store(std::move(log).value()));
}

Result<DocumentId> Store::create_document(std::string title, const protocol::Document& initial,
                                          std::int64_t created_ms) {
  return create_document_as(0, std::move(title), initial, created_ms);
}

Result<DocumentId> Store::create_document_as(DocumentId id, std::string title,
                                             const protocol::Document& initial,
                                             std::int64_t created_ms) {
  try {
    return log_->create_document_as(id, std::move(title), created_ms != 0 ? created_ms : now_ms(),
                                    encode_document(initial));
  } catch (const std::exception& e) {
    return Status(Code::internal, std::string("creating a document: ") + e.what());
  }
}

Result<RawAppend> Store::make_append(DocumentId id, std::uint64_t rev, const protocol::DocOp& op,
                                     RevisionInfo info, const protocol::Document& after) const {
  try {
    RawAppend a;
    a.document = id;
    a.rev = rev;
    info.sections = protocol::sections_touched(op);
    a.info = std::move(info);
    a.op = encode_op(op);
    if (rev % options().snapshot_interval == 0) a.snapshot = encode_document(after);
    return a;
  } catch (const std::exception& e) {
    return Status(Code::internal, "encoding revision " + std::to_string(rev) + " of " +
                                      doc_name(id) + ": " + e.what());
  }
}

Status Store::append(DocumentId id, std::uint64_t rev, const protocol::DocOp& op, RevisionInfo info,
                     const protocol::Document& after) {
  auto a = make_append(id, rev, op, std::move(info), after);
  if (!a.ok()) return a.status();
  return log_->append(std::move(a).value());
}

Status Store::append_async(DocumentId id, std::uint64_t rev, const protocol::DocOp& op,
                           RevisionInfo info, const protocol::Document& after,
                           RevisionLog::Callback done) {
  auto a = make_append(id, rev, op, std::move(info), after);
  if (!a.ok()) return a.status();
  return log_->append_async(std::move(a).value(), std::move(done));
}

Result<LoadedDocument> Store::replay(DocumentId id, std::uint64_t to) const {
  auto snap = log_->snapshot_at_or_before(id, to);
  if (!snap.ok()) return snap.status();
  auto doc = decode_document(snap->data);
  if (!doc.ok()) {
    return Status(Code::corruption, "snapshot " + std::to_string(snap->rev) + " of " +
                                        doc_name(id) + ": " + doc.status().message());
  }
  LoadedDocument out{snap->rev, std::move(doc).value()};
  Status failure;
  auto s = log_->for_each_revision(id, snap->rev + 1, to, [&](RawRevision&& r) {
    if (r.rev != out.rev + 1) {
      failure =
          Status(Code::corruption, doc_name(id) + " lacks revision " + std::to_string(out.rev + 1));
      return false;
    }
    auto op = decode_op(r.op);
    if (!op.ok()) {
      failure = Status(Code::corruption, "revision " + std::to_string(r.rev) + " of " +
                                             doc_name(id) + ": " + op.status().message());
      return false;
    }
    if (auto applied = protocol::apply(out.doc, *op); !applied.ok()) {
      failure = Status(Code::corruption,
                       "revision " + std::to_string(r.rev) + " of " + doc_name(id) +
                           " does not apply to its document: " + applied.error().message);
      return false;
    }
    out.rev = r.rev;
    return true;
  });
  if (!s.ok()) return s;
  if (!failure.ok()) return failure;
  if (out.rev != to) {
    return Status(Code::corruption,
                  doc_name(id) + " lacks revision " + std::to_string(out.rev + 1));
  }
  return out;
}

Result<LoadedDocument> Store::load(DocumentId id) const {
  try {
    auto last = log_->last_revision(id);
    if (!last.ok()) return last.status();
    return replay(id, *last);
  } catch (const std::exception& e) {
    return Status(Code::internal, "loading " + doc_name(id) + ": " + e.what());
  }
}

Result<LoadedDocument> Store::load_at(DocumentId id, std::uint64_t rev) const {
  try {
    auto last = log_->last_revision(id);
    if (!last.ok()) return last.status();
    if (rev > *last) {
      return Status(Code::not_found, doc_name(id) + " has no revision " + std::to_string(rev) +
                                         " (its log ends at " + std::to_string(*last) + ")");
    }
    return replay(id, rev);
  } catch (const std::exception& e) {
    return Status(Code::internal, "loading " + doc_name(id) + ": " + e.what());
  }
}

Result<std::vector<Revision>> Store::revisions(DocumentId id, std::uint64_t from, std::uint64_t to,
                                               std::size_t limit) const {
  try {
    std::vector<Revision> out;
    if (limit == 0) return out;
    Status failure;
    auto s = log_->for_each_revision(id, from, to, [&](RawRevision&& r) {
      auto op = decode_op(r.op);
      if (!op.ok()) {
        failure = Status(Code::corruption, "revision " + std::to_string(r.rev) + " of " +
                                               doc_name(id) + ": " + op.status().message());
        return false;
      }
      out.push_back(Revision{r.rev, std::move(op).value(), std::move(r.info)});
      return out.size() < limit;
    });
    if (!s.ok()) return s;
    if (!failure.ok()) return failure;
    return out;
  } catch (const std::exception& e) {
    return Status(Code::internal, "reading " + doc_name(id) + ": " + e.what());
  }
}

Result<Revision> Store::revision(DocumentId id, std::uint64_t rev) const {
  auto r = revisions(id, rev, rev, 1);
  if (!r.ok()) return r.status();
  if (r->empty()) {
    return Status(Code::not_found, doc_name(id) + " has no revision " + std::to_string(rev));
  }
  return std::move(r->front());
}

Result<DocumentCheck> Store::check_document(DocumentId id) const {
  try {
    DocumentCheck c;
    c.id = id;
    auto meta = log_->document(id);
    if (!meta.ok()) return meta.status();
    c.last_rev = meta->last_rev;
    auto snaps = log_->snapshot_revisions(id);
    if (!snaps.ok()) return snaps.status();
    c.snapshots = snaps->size();
    const std::set<std::uint64_t> snapshot_revs(snaps->begin(), snaps->end());
    auto problem = [&](std::string p) {
      if (c.problems.size() < 50) c.problems.push_back(std::move(p));
    };
    if (snapshot_revs.empty() || *snapshot_revs.begin() != 0) {
      problem("no snapshot at revision 0");
      return c;
    }
    if (*snapshot_revs.rbegin() > c.last_rev) {
      problem("a snapshot at revision " + std::to_string(*snapshot_revs.rbegin()) +
              " is past the end of the log (" + std::to_string(c.last_rev) + ")");
    }
    auto first = log_->snapshot_at_or_before(id, 0);
    if (!first.ok()) return first.status();
    auto doc = decode_document(first->data);
    if (!doc.ok()) {
      problem("snapshot 0: " + doc.status().message());
      return c;
    }
    protocol::Document current = std::move(doc).value();
    std::uint64_t expected = 1;
    bool broken = false;  // after an operation fails, later snapshots cannot be compared
    auto s = log_->for_each_revision(id, 1, UINT64_MAX, [&](RawRevision&& r) {
      if (r.rev != expected) {
        problem("revisions " + std::to_string(expected) + ".." + std::to_string(r.rev - 1) +
                " are missing");
        broken = true;
      }
      expected = r.rev + 1;
      auto dedupe = log_->find_by_client(id, r.info.client_id, r.info.client_seq);
      if (!dedupe.ok() || *dedupe != r.rev) {
        problem(
            "revision " + std::to_string(r.rev) + ": its dedupe entry (client " + r.info.client_id +
            " seq " + std::to_string(r.info.client_seq) + ") is " +
            (dedupe.ok() ? "revision " + std::to_string(*dedupe) : dedupe.status().to_string()));
      }
      auto op = decode_op(r.op);
      if (!op.ok()) {
        problem("revision " + std::to_string(r.rev) + ": " + op.status().message());
        broken = true;
        return true;
      }
      if (!broken) {
        if (auto applied = protocol::apply(current, *op); !applied.ok()) {
          problem("revision " + std::to_string(r.rev) +
                  " does not apply: " + applied.error().message);
          broken = true;
        }
      }
      if (!broken && snapshot_revs.count(r.rev) > 0) {
        auto snap = log_->snapshot_at_or_before(id, r.rev);
        auto stored =
            snap.ok() ? decode_document(snap->data) : Result<protocol::Document>(snap.status());
        if (!stored.ok()) {
          problem("snapshot " + std::to_string(r.rev) + ": " + stored.status().message());
        } else if (!(*stored == current)) {
          problem("snapshot " + std::to_string(r.rev) + " differs from the replay of the log");
        }
      }
      return true;
    });
    if (!s.ok()) return s;
    if (expected - 1 != c.last_rev) {
      problem("the log ends at " + std::to_string(expected - 1) + ", expected " +
              std::to_string(c.last_rev));
    }
    return c;
  } catch (const std::exception& e) {
    return Status(Code::internal, "checking " + doc_name(id) + ": " + e.what());
  }
}

Result<std::vector<DocumentCheck>> Store::check() const {
  auto docs = log_->list_documents();
  if (!docs.ok()) return docs.status();
  std::vector<DocumentCheck> out;
  for (const auto& m : *docs) {
    auto c = check_document(m.id);
    if (!c.ok()) return c.status();
    out.push_back(std::move(c).value());
  }
  return out;
}

}  // namespace jointly::storage
