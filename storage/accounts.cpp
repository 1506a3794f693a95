// Accounts on the key/value face of RevisionLog: see storage/accounts.hpp and
// storage/README.md ("Accounts and sessions") for the formats.
#include "storage/accounts.hpp"

#include <algorithm>

#include "storage/encoding.hpp"

namespace jointly::storage {
namespace {

namespace enc = encoding;
using Fam = RevisionLog::KvFamily;

constexpr char kVersion = 1;
constexpr std::string_view kLeader = "leader";

// Key tags in the accounts family.
constexpr char kInstitution = 'I';      // I be64(id)            -> institution
constexpr char kInstitutionName = 'i';  // i lower(name)         -> be64(id)
constexpr char kUser = 'U';             // U be64(id)            -> user
constexpr char kUserEmail = 'u';        // u email               -> be64(id)
constexpr char kMember = 'M';           // M be64(doc) be64(user) -> role
constexpr char kMemberOf = 'm';         // m be64(user) be64(doc) -> role
constexpr char kInvite = 'V';           // V token hash          -> invite
constexpr char kCounter = '#';          // # name                -> be64(last id)

std::string key(char tag, std::string_view rest = {}) {
  std::string k(1, tag);
  k.append(rest);
  return k;
}
std::string key(char tag, std::uint64_t a) {
  std::string k(1, tag);
  enc::put_be64(k, a);
  return k;
}
std::string key(char tag, std::uint64_t a, std::uint64_t b) {
  std::string k = key(tag, a);
  enc::put_be64(k, b);
  return k;
}
std::string be64(std::uint64_t v) {
  std::string s;
  enc::put_be64(s, v);
  return s;
}

Status corrupt(std::string_view what) {
  return Status(Code::corruption, "a stored " + std::string(what) + " cannot be decoded");
}

std::string encode(const Institution& i) {
  std::string v(1, kVersion);
  enc::put_bytes(v, i.name);
  enc::put_bytes(v, i.country);
  return v;
}
bool decode(std::string_view in, Institution& i) {
  if (in.empty() || in[0] != kVersion) return false;
  in.remove_prefix(1);
  return enc::get_bytes(in, i.name) && enc::get_bytes(in, i.country) && in.empty();
}

std::string encode(const User& u) {
  std::string v(1, kVersion);
  enc::put_bytes(v, u.email);
  enc::put_bytes(v, u.name);
  enc::put_varint(v, u.institution);
  enc::put_varint(v, u.admin ? 1 : 0);
  enc::put_bytes(v, u.password_hash);
  return v;
}
bool decode(std::string_view in, User& u) {
  if (in.empty() || in[0] != kVersion) return false;
  in.remove_prefix(1);
  std::uint64_t admin = 0;
  if (!enc::get_bytes(in, u.email) || !enc::get_bytes(in, u.name) ||
      !enc::get_varint(in, u.institution) || !enc::get_varint(in, admin) ||
      !enc::get_bytes(in, u.password_hash) || !in.empty()) {
    return false;
  }
  u.admin = admin != 0;
  return true;
}

std::string encode(const Session& s) {
  std::string v(1, kVersion);
  enc::put_varint(v, s.user);
  enc::put_varint(v, static_cast<std::uint64_t>(s.created_ms));
  enc::put_varint(v, static_cast<std::uint64_t>(s.expires_ms));
  return v;
}
bool decode(std::string_view in, Session& s) {
  if (in.empty() || in[0] != kVersion) return false;
  in.remove_prefix(1);
  std::uint64_t created = 0, expires = 0;
  if (!enc::get_varint(in, s.user) || !enc::get_varint(in, created) ||
      !enc::get_varint(in, expires) || !in.empty()) {
    return false;
  }
  s.created_ms = static_cast<std::int64_t>(created);
  s.expires_ms = static_cast<std::int64_t>(expires);
  return true;
}

std::string encode_role(std::string_view role) {
  std::string v(1, kVersion);
  enc::put_bytes(v, role);
  return v;
}
bool decode_role(std::string_view in, std::string& role) {
  if (in.empty() || in[0] != kVersion) return false;
  in.remove_prefix(1);
  return enc::get_bytes(in, role) && in.empty();
}

std::string encode(const Invite& i) {
  std::string v(1, kVersion);
  enc::put_varint(v, i.doc);
  enc::put_bytes(v, i.role);
  enc::put_varint(v, static_cast<std::uint64_t>(i.expires_ms));
  enc::put_varint(v, i.created_by);
  enc::put_varint(v, i.used ? 1 : 0);
  return v;
}
bool decode(std::string_view in, Invite& i) {
  if (in.empty() || in[0] != kVersion) return false;
  in.remove_prefix(1);
  std::uint64_t expires = 0, used = 0;
  if (!enc::get_varint(in, i.doc) || !enc::get_bytes(in, i.role) || !enc::get_varint(in, expires) ||
      !enc::get_varint(in, i.created_by) || !enc::get_varint(in, used) || !in.empty()) {
    return false;
  }
  i.expires_ms = static_cast<std::int64_t>(expires);
  i.used = used != 0;
  return true;
}

// Reads and decodes one value; not_found (with `what` named) when absent.
template <class T>
Result<T> read(const RevisionLog& log, Fam fam, const std::string& k, std::string_view what) {
  auto v = log.kv_get(fam, k);
  if (!v.ok()) return v.status();
  if (!*v) return Status(Code::not_found, "no such " + std::string(what));
  T out;
  if (!decode(**v, out)) return corrupt(what);
  return out;
}

Result<std::uint64_t> read_id(const RevisionLog& log, const std::string& k, std::string_view what) {
  auto v = log.kv_get(Fam::accounts, k);
  if (!v.ok()) return v.status();
  if (!*v) return Status(Code::not_found, "no such " + std::string(what));
  if ((*v)->size() != 8) return corrupt(what);
  return enc::get_be64((*v)->data());
}

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Result<std::uint64_t> Accounts::next_id(std::string_view counter) {
  auto last = read_id(log_, key(kCounter, counter), counter);
  if (!last.ok() && !last.status().is_not_found()) return last.status();
  return (last.ok() ? *last : 0) + 1;
}

Result<Institution> Accounts::create_institution(std::string name, std::string country) {
  std::lock_guard lk(mu_);
  const std::string name_key = key(kInstitutionName, ascii_lower(name));
  auto existing = log_.kv_get(Fam::accounts, name_key);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status(Code::already_exists, "an institution with this name exists");
  auto id = next_id("institution");
  if (!id.ok()) return id.status();
  Institution i{*id, std::move(name), std::move(country)};
  auto s = log_.kv_write({{Fam::accounts, key(kCounter, "institution"), be64(i.id)},
                          {Fam::accounts, key(kInstitution, i.id), encode(i)},
                          {Fam::accounts, name_key, be64(i.id)}});
  if (!s.ok()) return s;
  return i;
}

Result<Institution> Accounts::institution(InstitutionId id) const {
  auto i = read<Institution>(log_, Fam::accounts, key(kInstitution, id), "institution");
  if (i.ok()) i->id = id;
  return i;
}

Result<Institution> Accounts::institution_by_name(std::string_view name) const {
  auto id = read_id(log_, key(kInstitutionName, ascii_lower(name)), "institution");
  if (!id.ok()) return id.status();
  return institution(*id);
}

Result<std::vector<Institution>> Accounts::institutions() const {
  std::vector<Institution> out;
  bool bad = false;
  auto s =
      log_.kv_scan(Fam::accounts, key(kInstitution), [&](std::string_view k, std::string_view v) {
        Institution i;
        if (k.size() != 9 || !decode(v, i)) return !(bad = true);
        i.id = enc::get_be64(k.data() + 1);
        out.push_back(std::move(i));
        return true;
      });
  if (!s.ok()) return s;
  if (bad) return corrupt("institution");
  return out;
}

Result<User> Accounts::create_user(std::string email, std::string name,
                                   InstitutionId institution_id, bool admin,
                                   std::string password_hash) {
  std::lock_guard lk(mu_);
  email = ascii_lower(email);
  if (auto inst = institution(institution_id); !inst.ok()) return inst.status();
  const std::string email_key = key(kUserEmail, email);
  auto existing = log_.kv_get(Fam::accounts, email_key);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status(Code::already_exists, "a user with this email exists");
  auto id = next_id("user");
  if (!id.ok()) return id.status();
  User u{*id, std::move(email), std::move(name), institution_id, admin, std::move(password_hash)};
  auto s = log_.kv_write({{Fam::accounts, key(kCounter, "user"), be64(u.id)},
                          {Fam::accounts, key(kUser, u.id), encode(u)},
                          {Fam::accounts, email_key, be64(u.id)}});
  if (!s.ok()) return s;
  return u;
}

Result<User> Accounts::user(UserId id) const {
  auto u = read<User>(log_, Fam::accounts, key(kUser, id), "user");
  if (u.ok()) u->id = id;
  return u;
}

Result<User> Accounts::user_by_email(std::string_view email) const {
  auto id = read_id(log_, key(kUserEmail, ascii_lower(email)), "user");
  if (!id.ok()) return id.status();
  return user(*id);
}

Result<std::vector<User>> Accounts::users() const {
  std::vector<User> out;
  bool bad = false;
  auto s = log_.kv_scan(Fam::accounts, key(kUser), [&](std::string_view k, std::string_view v) {
    User u;
    if (k.size() != 9 || !decode(v, u)) return !(bad = true);
    u.id = enc::get_be64(k.data() + 1);
    out.push_back(std::move(u));
    return true;
  });
  if (!s.ok()) return s;
  if (bad) return corrupt("user");
  return out;
}

Status Accounts::put_session(const Session& s) {
  if (s.token_hash.empty()) return Status(Code::invalid_argument, "a session needs a token hash");
  return log_.kv_write({{Fam::sessions, s.token_hash, encode(s)}});
}

Result<Session> Accounts::session(std::string_view token_hash) const {
  auto s = read<Session>(log_, Fam::sessions, std::string(token_hash), "session");
  if (s.ok()) s->token_hash = std::string(token_hash);
  return s;
}

Status Accounts::delete_session(std::string_view token_hash) {
  auto s = log_.kv_write({{Fam::sessions, std::string(token_hash), std::nullopt}});
  sessions_gen_.fetch_add(1);
  return s;
}

Result<std::size_t> Accounts::delete_expired_sessions(std::int64_t now_ms) {
  std::vector<RevisionLog::KvWrite> dels;
  auto s = log_.kv_scan(Fam::sessions, {}, [&](std::string_view k, std::string_view v) {
    Session sess;
    if (!decode(v, sess) || sess.expires_ms <= now_ms) {
      dels.push_back({Fam::sessions, std::string(k), std::nullopt});
    }
    return true;
  });
  if (!s.ok()) return s;
  if (dels.empty()) return std::size_t{0};
  if (auto w = log_.kv_write(dels); !w.ok()) return w;
  sessions_gen_.fetch_add(1);
  return dels.size();
}

Result<std::optional<std::string>> Accounts::role(DocumentId doc, UserId user) const {
  auto v = log_.kv_get(Fam::accounts, key(kMember, doc, user));
  if (!v.ok()) return v.status();
  if (!*v) return std::optional<std::string>();
  std::string role;
  if (!decode_role(**v, role)) return corrupt("membership");
  return std::optional<std::string>(std::move(role));
}

Result<std::vector<Membership>> Accounts::members(DocumentId doc) const {
  std::vector<Membership> out;
  bool bad = false;
  auto s =
      log_.kv_scan(Fam::accounts, key(kMember, doc), [&](std::string_view k, std::string_view v) {
        Membership m;
        if (k.size() != 17 || !decode_role(v, m.role)) return !(bad = true);
        m.doc = doc;
        m.user = enc::get_be64(k.data() + 9);
        out.push_back(std::move(m));
        return true;
      });
  if (!s.ok()) return s;
  if (bad) return corrupt("membership");
  return out;
}

Result<std::vector<Membership>> Accounts::memberships(UserId user) const {
  std::vector<Membership> out;
  bool bad = false;
  auto s = log_.kv_scan(Fam::accounts, key(kMemberOf, user),
                        [&](std::string_view k, std::string_view v) {
                          Membership m;
                          if (k.size() != 17 || !decode_role(v, m.role)) return !(bad = true);
                          m.user = user;
                          m.doc = enc::get_be64(k.data() + 9);
                          out.push_back(std::move(m));
                          return true;
                        });
  if (!s.ok()) return s;
  if (bad) return corrupt("membership");
  return out;
}

Result<std::size_t> Accounts::leaders(DocumentId doc) const {
  auto all = members(doc);
  if (!all.ok()) return all.status();
  return static_cast<std::size_t>(std::count_if(
      all->begin(), all->end(), [](const Membership& m) { return m.role == kLeader; }));
}

Status Accounts::set_role(DocumentId doc, UserId user, std::string role) {
  if (role.empty()) return Status(Code::invalid_argument, "a role needs a name");
  std::lock_guard lk(mu_);
  auto current = this->role(doc, user);
  if (!current.ok()) return current.status();
  if (*current && **current == kLeader && role != kLeader) {
    auto n = leaders(doc);
    if (!n.ok()) return n.status();
    if (*n <= 1) return Status(Code::conflict, "the document would have no leader");
  }
  const std::string v = encode_role(role);
  auto s = log_.kv_write(
      {{Fam::accounts, key(kMember, doc, user), v}, {Fam::accounts, key(kMemberOf, user, doc), v}});
  members_gen_.fetch_add(1);
  return s;
}

Status Accounts::remove_member(DocumentId doc, UserId user) {
  std::lock_guard lk(mu_);
  auto current = role(doc, user);
  if (!current.ok()) return current.status();
  if (!*current) return Status(Code::not_found, "not a member of this document");
  if (**current == kLeader) {
    auto n = leaders(doc);
    if (!n.ok()) return n.status();
    if (*n <= 1) return Status(Code::conflict, "the document would have no leader");
  }
  auto s = log_.kv_write({{Fam::accounts, key(kMember, doc, user), std::nullopt},
                          {Fam::accounts, key(kMemberOf, user, doc), std::nullopt}});
  members_gen_.fetch_add(1);
  return s;
}

Status Accounts::put_invite(const Invite& invite) {
  if (invite.token_hash.empty()) {
    return Status(Code::invalid_argument, "an invite needs a token hash");
  }
  return log_.kv_write({{Fam::accounts, key(kInvite, invite.token_hash), encode(invite)}});
}

Result<Invite> Accounts::invite(std::string_view token_hash) const {
  auto i = read<Invite>(log_, Fam::accounts, key(kInvite, token_hash), "invite");
  if (i.ok()) i->token_hash = std::string(token_hash);
  return i;
}

Result<Invite> Accounts::take_invite(std::string_view token_hash, std::int64_t now_ms) {
  std::lock_guard lk(mu_);
  auto i = invite(token_hash);
  if (!i.ok()) return i.status();
  if (i->used) return Status(Code::conflict, "the invite was already used");
  if (i->expires_ms <= now_ms) return Status(Code::invalid_argument, "the invite has expired");
  i->used = true;
  if (auto s = log_.kv_write({{Fam::accounts, key(kInvite, token_hash), encode(*i)}}); !s.ok()) {
    return s;
  }
  return i;
}

}  // namespace jointly::storage
