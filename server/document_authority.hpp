// DocumentAuthority: the one authority over one open document. It owns the document's head
// revision, its Document, the tail of its history, its subscribers and their presence, and
// implements the sync rules of protocol/PROTOCOL.md ("WebSocket protocol"):
//
//   submit(rev, client, seq, op):
//     dedupe (client, seq) -> the original ack (in memory; storage's find_by_client for
//     revisions before the in-memory tail, e.g. after a reload);
//     rev newer than the durable head -> rev_in_future; older than head - max_rev_lag ->
//     rev_too_old;
//     transform op (left side) against every revision after rev (from the tail, or from
//     storage for older ones), apply it (the document model rejects section_locked, ...),
//     check the document size, append it with Store::append_async;
//     and only when storage says the revision is durable (the completion is posted back here):
//     ack the sender and broadcast the op to the other subscribers.
//   open(rev?): a snapshot, or the revisions after rev; sent once every revision it includes
//     is durable, so a client never sees anything that a crash could take back.
//   restore(from, section?): the op that brings the state of revision `from` back, applied and
//     made durable like a submitted op, recorded with restored_from (history API).
//   presence: one cursor per client, kept at the durable revision, moved by every later
//     revision's text ops, cleared on leave.
//
// Access (PROTOCOL.md, "Accounts and access"): every open, submit and presence looks the
// caller's role up again (RoleLookup, at the time it arrives); a non-member is answered
// `forbidden` and unsubscribed. A submit is authorised component by component (edit, add, move,
// remove, restore: editor; lock, unlock: leader; approve: reviewer and up); an approve's inst,
// user and time are overwritten with the caller's institution, display name and the server's
// clock, and its hash must equal the section hash (auth::section_hash) of the section when the
// op is applied, else `stale_approval`. A refused submit changes nothing.
//
// No sockets here: a subscriber is the Subscriber interface, and completions reach the
// authority through the Post function given at load (in the server, a post onto the
// document's strand; in tests, a queue the test drains).
//
// Thread-safety: NOT thread-safe. Every method, and the posted completions, must run on the
// document's one serialised executor (its strand). The Subscriber methods it calls are
// thread-safe and never block. The Store is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "protocol/messages.hpp"
#include "server/access.hpp"
#include "server/metrics.hpp"
#include "storage/store.hpp"

namespace jointly::server {

// Who is on a connection: the account of its session and the client id of its hello.
// Immutable once made.
struct Peer {
  std::uint64_t connection = 0;  // unique per connection in this process
  std::string client;
  std::uint64_t user = 0;   // the account's user id
  std::string name;         // its display name
  std::string institution;  // its institution's name
};

// The caller's role in a document now: nullopt for a non-member; an error when storage cannot
// tell. Called on the document's strand for every message; must be thread-safe and quick.
using RoleLookup =
    std::function<storage::Result<std::optional<Role>>(storage::DocumentId, std::uint64_t user)>;

// The authority's view of a connection. Implementations are thread-safe and never block.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Queues a text message (a slow consumer is closed by the implementation, not here).
  virtual void send(std::shared_ptr<const std::string> message) = 0;
  // Queues messages of document doc, in order. A connection that takes `batch` messages
  // (its hello said so) may send them as one frame; by default each is sent alone.
  virtual void send_all(storage::DocumentId doc,
                        std::vector<std::shared_ptr<const std::string>> messages) {
    (void)doc;
    for (auto& m : messages) send(std::move(m));
  }
  // Closes the connection with a WebSocket close code.
  virtual void close(std::uint16_t code, std::string reason) = 0;
  // The authority unsubscribed this connection from doc on its own (its membership ended).
  virtual void unsubscribed(storage::DocumentId doc) { (void)doc; }
};

struct AuthorityOptions {
  std::uint64_t max_rev_lag = 10000;  // the retained window for submit/presence revs
  // Durable revisions kept in memory (older ones are read from storage when needed): at most
  // history_tail of them, and at most history_tail_bytes by their estimated footprint, so that
  // a document of large ops (pastes) keeps no more than one of small ones. Not the window of
  // revisions a client may name (max_rev_lag): that holds whatever is in memory.
  std::size_t history_tail = 1000;
  std::size_t history_tail_bytes = 256 << 10;
  std::uint64_t max_document_bytes = 8 << 20;  // UTF-8 bytes of all titles and bodies
};

// What a restore from history did (PROTOCOL.md, "History API").
struct RestoreOutcome {
  std::uint64_t rev = 0;            // the new revision; the head when nothing changed
  std::uint64_t restored_from = 0;  // the revision whose state it brought back
  bool changed = false;             // false: the state was already that of restored_from
  friend bool operator==(const RestoreOutcome&, const RestoreOutcome&) = default;
};

// The client id a restore's revision is recorded with (its seq is the revision). No client can
// submit with it: ':' is not allowed in a client id.
inline constexpr std::string_view kRestoreClient = "history:restore";

class DocumentAuthority : public std::enable_shared_from_this<DocumentAuthority> {
 public:
  // Runs a function later on the document's executor.
  using Post = std::function<void(std::function<void()>)>;
  using Clock = std::chrono::steady_clock;

  // Loads the document's latest durable state. Errors: storage's (not_found: no document).
  // REQUIRES: store outlives the authority; roles is set.
  static storage::Result<std::shared_ptr<DocumentAuthority>> load(storage::Store& store,
                                                                  storage::DocumentId id,
                                                                  AuthorityOptions options,
                                                                  Post post, Metrics& metrics,
                                                                  RoleLookup roles);
  ~DocumentAuthority();
  DocumentAuthority(const DocumentAuthority&) = delete;
  DocumentAuthority& operator=(const DocumentAuthority&) = delete;

  // Subscribes peer.connection (replacing an earlier subscription of the same connection) and
  // answers with a snapshot (no rev, or rev older than the window) or the revisions after rev.
  void open(const Peer& peer, std::shared_ptr<Subscriber> s, std::optional<std::uint64_t> rev);
  // REQUIRES: m.client == peer.client (the session checks; client_mismatch). Errors (sent to
  // s): not_open unless peer.connection opened the document, then those of PROTOCOL.md.
  void submit(const Peer& peer, std::shared_ptr<Subscriber> s, protocol::SubmitMessage m);
  void presence(const Peer& peer, const std::shared_ptr<Subscriber>& s,
                const protocol::PresenceMessage& m);
  // Restores a section (or, section nullopt, the whole document) to its state at revision
  // `from`, as a new revision made like a submitted op (make_restore_op of server/history.hpp,
  // recorded with RevisionInfo::restored_from = from), broadcast to every subscriber with
  // "restored_from". done runs on the strand: when the revision is durable; at once with
  // changed false when there is nothing to restore; or with an error, nothing changed:
  // forbidden (not an editor or leader), invalid_request (from 0: the log cannot record a
  // restore of revision 0), not_found (no revision `from` yet durable, or the
  // section is in neither state), section_locked, document_too_large, busy (the write queue
  // is full), storage_unavailable (the disk is below its free-space reserve),
  // storage_failed (also when the write fails later).
  using RestoreDone = std::function<void(protocol::Result<RestoreOutcome>)>;
  void restore(const Peer& peer, std::uint64_t from, std::optional<std::string> section,
               RestoreDone done);
  // Unsubscribes the connection and clears its presence. Unknown connections are ignored.
  void leave(std::uint64_t connection);
  // Looks up every subscriber's role again (after a membership change): a subscriber that is
  // no longer a member is sent `forbidden`, unsubscribed and told so (Subscriber::unsubscribed).
  void recheck_members();
  // Scale-out hand-off (server/document_host.hpp): closes every subscriber's connection with
  // code and reason and forgets them and their presence; revisions in flight still complete
  // (idle() tells when they have).
  void close_all(std::uint16_t code, const std::string& reason);

  storage::DocumentId id() const { return id_; }
  // The last revision applied in memory, and the last one known durable (<= head()).
  std::uint64_t head() const { return head_; }
  std::uint64_t durable_rev() const { return durable_rev_; }
  const protocol::Document& document() const { return doc_; }
  std::uint64_t document_bytes() const { return doc_bytes_; }
  bool subscribed(std::uint64_t connection) const { return subs_.count(connection) != 0; }
  // The revisions in memory (AuthorityOptions::history_tail) and their estimated footprint.
  std::size_t tail_revisions() const { return tail_.size(); }
  std::size_t tail_bytes() const { return tail_bytes_; }
  std::size_t subscribers() const { return subs_.size(); }
  // No subscriber and no revision waiting for storage: safe to unload.
  bool idle() const { return subs_.empty() && in_flight_ == 0; }
  // Storage completions handed over and not yet processed (tests, diagnostics). Thread-safe.
  std::size_t completions_waiting() const {
    std::lock_guard lock(inbox_->mu);
    return inbox_->items.size();
  }
  // A write failed: every subscriber was closed; the authority refuses everything until it is
  // unloaded (a reload reads what storage has).
  bool failed() const { return failed_; }

 private:
  struct TailEntry {
    std::uint64_t rev = 0;
    protocol::DocOp op;
    storage::RevisionInfo info;
    std::uint64_t origin = 0;  // the submitting connection
  };
  struct Waiter {  // a connection owed an ack when a revision is durable
    std::weak_ptr<Subscriber> sub;
    std::uint64_t connection = 0;
    std::uint64_t seq = 0;
    bool duplicate = false;
    Clock::time_point received;
  };
  struct Sub {
    std::weak_ptr<Subscriber> sub;
    Peer peer;
    Role role = Role::viewer;     // at open (sent with the snapshot or ops)
    std::uint64_t start_rev = 0;  // the revision its snapshot/ops reaches
    // Until released: the snapshot (kind snapshot) or the revisions (kind ops) to send once
    // durable_rev_ reaches start_rev.
    bool ready = false;
    bool snapshot = false;
    std::uint64_t from = 0;
    nlohmann::json snapshot_json;
    std::vector<protocol::RevisionMessage> ops;
  };
  struct PresenceState {
    std::uint64_t connection = 0;
    protocol::PresenceEntry entry;
  };
  struct Completion {
    storage::Status status;
    Clock::time_point queued;
  };

  DocumentAuthority(storage::Store& store, storage::DocumentId id, AuthorityOptions options,
                    Post post, Metrics& metrics, RoleLookup roles);

  void reject(Subscriber& s, const protocol::MessageContext& ctx, std::string code,
              std::string message);
  // The caller's role, or nullopt after answering (forbidden, and unsubscribing a non-member;
  // storage_failed when the lookup failed).
  std::optional<Role> authorise(const Peer& peer, const std::shared_ptr<Subscriber>& s,
                                const protocol::MessageContext& ctx, Action action,
                                std::string_view what);
  // Forbidden component of op for role, or nullopt; fills in approvals' inst, user and time.
  std::optional<std::string> authorise_op(protocol::DocOp& op, Role role, const Peer& peer) const;
  // stale_approval's message for the first approve of op whose hash is not the section hash
  // of its section at the point of the op where it applies to doc_, or nullopt.
  std::optional<std::string> stale_approval(const protocol::DocOp& op) const;
  // Calls f(rev, op, info) for revisions from..to (durable ones from storage when they are
  // before the tail, the rest from the tail).
  storage::Status for_each_revision(
      std::uint64_t from, std::uint64_t to,
      const std::function<void(std::uint64_t, const protocol::DocOp&,
                               const storage::RevisionInfo&)>& f) const;
  // Applies op (already transformed to head_) to doc_ and queues it to storage as revision
  // head_ + 1 (info's time is set here). Returns that revision, or the error with nothing
  // changed: the apply's, document_too_large, busy (the write queue is full: the apply is taken
  // back), storage_unavailable (storage is below its free-space reserve: the same), and
  // storage_failed.
  protocol::Result<std::uint64_t> append_revision(protocol::DocOp op, storage::RevisionInfo info,
                                                  std::uint64_t origin);
  // Rebuilds doc_ at head_ from storage and the tail (taking back an apply that was not queued).
  storage::Status rebuild_head();
  // The "op" message of a revision, with "restored_from" for a restore.
  std::string encode_revision(std::uint64_t rev, const TailEntry& e) const;
  // Storage's completions, handed over from its writer thread: one post to the document's
  // executor covers every completion that arrives before it runs (a write group's, usually).
  struct CompletionInbox {
    std::mutex mu;
    std::vector<std::tuple<std::uint64_t, storage::Status, Clock::time_point>> items;
    bool posted = false;
  };
  // Takes the completions in the inbox and processes them, the messages they cause going out
  // per connection together (deliver).
  void drain_completions();
  // Sends msg to s now, or, while completions are processed, adds it to s's messages in the
  // outbox, sent (send_all) once they are all processed.
  void deliver(const std::shared_ptr<Subscriber>& s, std::shared_ptr<const std::string> msg);
  void flush_outbox();
  // Processes completions in revision order.
  void on_complete(std::uint64_t rev, storage::Status status, Clock::time_point queued);
  void on_durable(std::uint64_t rev, const Completion& c);
  void fail(const storage::Status& status);
  void release(Sub& sub);
  std::vector<protocol::PresenceEntry> presence_for(const std::string& client) const;
  void broadcast(const std::shared_ptr<const std::string>& msg, std::uint64_t except);
  void clear_presence(const std::string& client, std::uint64_t connection);
  std::uint64_t section_bytes(const protocol::DocOp& op) const;
  // True when (client, seq) certainly has no revision yet (seq above the client's highest);
  // false when it may have one (or storage cannot tell): look it up.
  bool certainly_new(const std::string& client, std::uint64_t seq);
  void prune_tail();
  // The memory an entry of tail_ holds, estimated: its own size, its strings and op, and its
  // dedupe_ node.
  static std::size_t footprint(const TailEntry& e);
  std::uint64_t tail_first() const { return tail_.empty() ? head_ + 1 : tail_.front().rev; }

  storage::Store& store_;
  const storage::DocumentId id_;
  const AuthorityOptions options_;
  const Post post_;
  Metrics& metrics_;
  const RoleLookup roles_;
  std::string title_;

  protocol::Document doc_;  // at head_
  std::uint64_t doc_bytes_ = 0;
  std::uint64_t head_ = 0;
  std::uint64_t durable_rev_ = 0;
  std::size_t in_flight_ = 0;  // revisions queued to storage, not yet processed here
  bool failed_ = false;
  // Revisions in memory: every one not yet durable, and up to history_tail durable ones.
  std::deque<TailEntry> tail_;
  std::size_t tail_bytes_ = 0;  // footprint() of every entry of tail_
  // (client, seq) -> revision, for every revision in tail_ (and every pending one).
  std::map<std::pair<std::string, std::uint64_t>, std::uint64_t> dedupe_;
  // client -> the highest seq it has a revision with (durable or pending), for the clients
  // asked about since the load: a submit with a higher seq is new without a storage lookup.
  static constexpr std::size_t kTrackedClients = 4096;
  std::unordered_map<std::string, std::uint64_t> max_seq_;
  std::map<std::uint64_t, std::vector<Waiter>> waiters_;  // by revision
  std::map<std::uint64_t, Completion> completed_;         // out of order, by revision
  std::map<std::uint64_t, RestoreDone> restores_;         // restores owed an answer, by revision
  std::map<std::uint64_t, Sub> subs_;                     // by connection
  std::map<std::string, PresenceState> presence_;         // by client, at durable_rev_
  const std::shared_ptr<CompletionInbox> inbox_ = std::make_shared<CompletionInbox>();
  bool batching_ = false;  // deliver() adds to the outbox
  std::vector<
      std::pair<std::shared_ptr<Subscriber>, std::vector<std::shared_ptr<const std::string>>>>
      outbox_;
  std::unordered_map<const Subscriber*, std::size_t> outbox_index_;  // into outbox_
};

}  // namespace jointly::server
