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
// Thread-safety: every method may be called from any thread. Writes that check before they
// write (unique names, ids, the last leader, one-time invites) are serialised by a mutex;
// reads take no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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
  // REQUIRES: log outlives this object.
  explicit Accounts(RevisionLog& log) : log_(log) {}
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

 private:
  Result<std::uint64_t> next_id(std::string_view counter);  // REQUIRES: mu_ held
  Result<std::size_t> leaders(DocumentId doc) const;

  RevisionLog& log_;
  std::mutex mu_;  // serialises check-then-write mutations
  std::atomic<std::uint64_t> sessions_gen_{0};
  std::atomic<std::uint64_t> members_gen_{0};
};

// Lower-case ASCII letters (emails and institution names compare so).
std::string ascii_lower(std::string_view s);

}  // namespace jointly::storage
