// Accounts: institutions, users, sessions, document memberships and invites, stored in the
// `accounts` and `sessions` column families through RevisionLog's key/value face (key and
// value formats in storage/README.md, "Accounts and sessions").
//
// Storage keeps what it is given: a user's password hash is an opaque string (the server makes
// it with argon2id), a session and an invite are keyed by the SHA-256 of their token (the token
// itself is never stored), a role is its name (server/access.hpp says what each may do; only
// "leader" means something here: remove_member and set_role never leave a document without
// one). Emails are stored and looked up lower-case; institution names are unique without case.
//
// Every write is one atomic, synced WriteBatch. Errors are Status codes: already_exists (an
// email or institution name in use), not_found, conflict (the last leader, a used invite),
// invalid_argument (an expired invite, a bad value), and the store's io_error/read_only.
//
// The change log (scale-out, deploy/README.md "Scale-out"): every write also appends, in the
// same WriteBatch, one change record (the writes themselves) under the next sequence number,
// so a crash can never keep one without the other. A replica node pulls changes_after() from
// the accounts primary and apply_changes() them in order (each applied change is logged under
// its primary's number, in the batch that applies it); one that fell behind the retained log
// (the last `retained_changes`) installs a snapshot() instead. A replica (set_replica) refuses
// every other write with read_only, so its copy only ever follows the primary's.
//
// Thread-safety: every method may be called from any thread. Writes that check before they
// write (unique names, ids, the last leader, one-time invites) are serialised by a mutex;
// every write takes a second, inner mutex to number its change and write it, so changes are
// durable in sequence order; reads take no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/revision_log.hpp"
#include "storage/status.hpp"

namespace jointly::storage {

using UserId = std::uint64_t;
using InstitutionId = std::uint64_t;

struct Institution {
  InstitutionId id = 0;
  std::string name;
  std::string country;
  friend bool operator==(const Institution&, const Institution&) = default;
};

struct User {
  UserId id = 0;
  std::string email;  // lower-case
  std::string name;   // display name
  InstitutionId institution = 0;
  bool admin = false;
  std::string password_hash;  // opaque (argon2id string)
  friend bool operator==(const User&, const User&) = default;
};

struct Session {
  std::string token_hash;  // SHA-256 of the token, 32 bytes
  UserId user = 0;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  friend bool operator==(const Session&, const Session&) = default;
};

struct Membership {
  DocumentId doc = 0;
  UserId user = 0;
  std::string role;
  friend bool operator==(const Membership&, const Membership&) = default;
};

// A document known to the cluster (the registry): the node that owns it by the hash ring builds
// it from this on first access (server/replication.hpp).
struct DocumentRecord {
  DocumentId id = 0;
  std::string title;
  std::string template_name;  // server/templates.hpp
  UserId creator = 0;
  std::int64_t created_ms = 0;
  friend bool operator==(const DocumentRecord&, const DocumentRecord&) = default;
};

// One change of the log: the writes of one accounts/sessions WriteBatch, numbered from 1.
struct AccountsChange {
  std::uint64_t seq = 0;
  std::vector<RevisionLog::KvWrite> writes;
};

// What a replica is sent after its last applied change.
struct ChangeFeed {
  std::uint64_t last_seq = 0;           // the sender's newest change
  bool snapshot_needed = false;         // the replica's position is not in the retained log
  std::vector<AccountsChange> changes;  // in order, from after + 1
};

// Every key and value of the accounts and sessions families (but the change log) as of seq.
struct AccountsSnapshot {
  std::uint64_t seq = 0;
  std::vector<RevisionLog::KvWrite> entries;
};

struct Invite {
  std::string token_hash;  // SHA-256 of the token, 32 bytes
  DocumentId doc = 0;
  std::string role;
  std::int64_t expires_ms = 0;
  UserId created_by = 0;
  bool used = false;
  friend bool operator==(const Invite&, const Invite&) = default;
};

class Accounts {
 public:
  static constexpr std::uint64_t kDefaultRetainedChanges = 100000;
  // REQUIRES: log outlives this object. The change log keeps the last retained_changes (>= 1).
  explicit Accounts(RevisionLog& log, std::uint64_t retained_changes = kDefaultRetainedChanges);
  Accounts(const Accounts&) = delete;
  Accounts& operator=(const Accounts&) = delete;

  // ---- Institutions and users ----
  // already_exists when the name (without case) is taken.
  Result<Institution> create_institution(std::string name, std::string country);
  Result<Institution> institution(InstitutionId id) const;               // not_found
  Result<Institution> institution_by_name(std::string_view name) const;  // without case
  Result<std::vector<Institution>> institutions() const;                 // by id
  // email is lower-cased; already_exists when it is taken; not_found without the institution.
  Result<User> create_user(std::string email, std::string name, InstitutionId institution,
                           bool admin, std::string password_hash);
  Result<User> user(UserId id) const;                        // not_found
  Result<User> user_by_email(std::string_view email) const;  // any case; not_found
  Result<std::vector<User>> users() const;                   // by id

  // ---- Sessions ----
  Status put_session(const Session& s);
  // not_found when there is no such session (expiry is the caller's check).
  Result<Session> session(std::string_view token_hash) const;
  // Deletes it (no error when absent) and bumps sessions_generation().
  Status delete_session(std::string_view token_hash);
  // Deletes every session that expired before now_ms; returns how many.
  Result<std::size_t> delete_expired_sessions(std::int64_t now_ms);
  // Grows by one at every session deletion: a cheap "did any session end?" for the server.
  std::uint64_t sessions_generation() const { return sessions_gen_.load(); }

  // ---- Memberships ----
  // Adds or changes a member. conflict when it would demote the document's last leader.
  Status set_role(DocumentId doc, UserId user, std::string role);
  // not_found when not a member; conflict when it is the last leader.
  Status remove_member(DocumentId doc, UserId user);
  // The member's role, or nullopt.
  Result<std::optional<std::string>> role(DocumentId doc, UserId user) const;
  Result<std::vector<Membership>> members(DocumentId doc) const;   // by user id
  Result<std::vector<Membership>> memberships(UserId user) const;  // by document id
  // Grows by one at every membership change.
  std::uint64_t members_generation() const { return members_gen_.load(); }

  // ---- Invites ----
  Status put_invite(const Invite& invite);
  Result<Invite> invite(std::string_view token_hash) const;  // not_found
  // Marks the invite used and returns it. not_found; conflict (already used);
  // invalid_argument (expired at now_ms).
  Result<Invite> take_invite(std::string_view token_hash, std::int64_t now_ms);

  // ---- Document registry ----
  // Records a new document and makes leader_user its leader, in one write. already_exists when
  // the id is registered; invalid_argument for id 0.
  Status register_document(const DocumentRecord& record, UserId leader_user);
  Result<DocumentRecord> document_record(DocumentId id) const;  // not_found

  // ---- Replication ----
  // The newest change's number (0 before the first write). Errors: the store's.
  Result<std::uint64_t> last_seq() const;
  // Up to max_changes changes after `after`, or snapshot_needed when `after` is ahead of the
  // log or older than its retained part.
  Result<ChangeFeed> changes_after(std::uint64_t after, std::size_t max_changes) const;
  // Applies changes that follow last_seq() in order, all in one WriteBatch: those at or before
  // last_seq() are skipped (already applied); conflict when one leaves a gap (the ones before
  // it are applied). Bumps the generations below
  // when a session was deleted or a membership changed.
  Status apply_changes(const std::vector<AccountsChange>& changes);
  // Every entry as of last_seq(), read while no write can commit.
  Result<AccountsSnapshot> snapshot() const;
  // Replaces everything (change log included) with the snapshot's entries, in one WriteBatch.
  Status install_snapshot(const AccountsSnapshot& snapshot);
  // ---- Local marks (this node's own; never in a change or a snapshot, kept by
  // install_snapshot) ----
  // Document hand-off (server/replication.hpp): this node's copy of doc was handed to another
  // node, so it is final here until the document comes back. Allowed on a replica.
  Status set_handed_off(DocumentId doc, bool handed_off);
  Result<bool> handed_off(DocumentId doc) const;

  // A replica refuses every write but apply_changes and install_snapshot with read_only.
  void set_replica(bool replica) { replica_.store(replica); }
  bool replica() const { return replica_.load(); }

 private:
  Result<std::uint64_t> next_id(std::string_view counter);  // REQUIRES: mu_ held
  Result<std::size_t> leaders(DocumentId doc) const;
  // Writes `writes` with the next change record, in one WriteBatch (read_only on a replica).
  Status commit(std::vector<RevisionLog::KvWrite> writes);
  Result<std::uint64_t> loaded_seq() const;  // REQUIRES: log_mu_ held
  void note_applied(const std::vector<RevisionLog::KvWrite>& writes);

  RevisionLog& log_;
  const std::uint64_t retained_;
  std::mutex mu_;              // serialises check-then-write mutations
  mutable std::mutex log_mu_;  // numbers and writes changes; taken after mu_, never before
  mutable std::optional<std::uint64_t> seq_;  // GUARDED_BY(log_mu_); read from the store once
  std::atomic<bool> replica_{false};
  std::atomic<std::uint64_t> sessions_gen_{0};
  std::atomic<std::uint64_t> members_gen_{0};
  // role()'s answers at members_gen_ == role_cache_gen_: every message on a WebSocket asks
  // again, and a membership changes rarely. Every change of a membership bumps members_gen_
  // after its write, which empties the cache at the next lookup.
  static constexpr std::size_t kRoleCacheEntries = 1 << 16;
  mutable std::mutex role_cache_mu_;
  mutable std::uint64_t role_cache_gen_ = 0;  // GUARDED_BY(role_cache_mu_)
  mutable std::map<std::pair<DocumentId, UserId>, std::optional<std::string>>
      role_cache_;  // GUARDED_BY(role_cache_mu_)
};

// The wire forms of a feed and a snapshot (GET /internal/accounts/changes and .../snapshot).
std::string encode_feed(const ChangeFeed& feed);
bool decode_feed(std::string_view in, ChangeFeed& feed);
std::string encode_snapshot(const AccountsSnapshot& snapshot);
bool decode_snapshot(std::string_view in, AccountsSnapshot& snapshot);

// Lower-case ASCII letters (emails and institution names compare so).
std::string ascii_lower(std::string_view s);

}  // namespace jointly::storage
