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
constexpr char kDocument = 'D';         // D be64(doc)           -> registry record
constexpr char kChange = '~';           // ~ be64(seq)           -> change record
constexpr char kLocal = '!';            // ! be64(doc)           -> "" (handed off; local)
constexpr std::string_view kChangeCounter = "change";  // # change -> be64(last seq)

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

std::string encode(const DocumentRecord& d) {
  std::string v(1, kVersion);
  enc::put_bytes(v, d.title);
  enc::put_bytes(v, d.template_name);
  enc::put_varint(v, d.creator);
  enc::put_varint(v, static_cast<std::uint64_t>(d.created_ms));
  return v;
}
bool decode(std::string_view in, DocumentRecord& d) {
  if (in.empty() || in[0] != kVersion) return false;
  in.remove_prefix(1);
  std::uint64_t created = 0;
  if (!enc::get_bytes(in, d.title) || !enc::get_bytes(in, d.template_name) ||
      !enc::get_varint(in, d.creator) || !enc::get_varint(in, created) || !in.empty()) {
    return false;
  }
  d.created_ms = static_cast<std::int64_t>(created);
  return true;
}

// A list of writes: count, then per write family(0/1) put(0/1) key [value].
void put_writes(std::string& out, const std::vector<RevisionLog::KvWrite>& writes) {
  enc::put_varint(out, writes.size());
  for (const auto& w : writes) {
    out.push_back(static_cast<char>(w.family));
    out.push_back(w.value ? 1 : 0);
    enc::put_bytes(out, w.key);
    if (w.value) enc::put_bytes(out, *w.value);
  }
}
bool get_writes(std::string_view& in, std::vector<RevisionLog::KvWrite>& writes) {
  std::uint64_t n = 0;
  if (!enc::get_varint(in, n) || n > in.size()) return false;
  writes.clear();
  writes.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    if (in.size() < 2) return false;
    const auto family = static_cast<unsigned char>(in[0]);
    const auto put = static_cast<unsigned char>(in[1]);
    in.remove_prefix(2);
    if (family > 1 || put > 1) return false;
    RevisionLog::KvWrite w;
    w.family = static_cast<Fam>(family);
    if (!enc::get_bytes(in, w.key)) return false;
    if (put) {
      std::string v;
      if (!enc::get_bytes(in, v)) return false;
      w.value = std::move(v);
    }
    writes.push_back(std::move(w));
  }
  return true;
}

std::string encode_change(const std::vector<RevisionLog::KvWrite>& writes) {
  std::string v(1, kVersion);
  put_writes(v, writes);
  return v;
}
bool decode_change(std::string_view in, std::vector<RevisionLog::KvWrite>& writes) {
  if (in.empty() || in[0] != kVersion) return false;
  in.remove_prefix(1);
  return get_writes(in, writes) && in.empty();
}

// The change log's own keys and this node's local marks, which no change or snapshot carries.
bool is_log_key(Fam fam, std::string_view k) {
  return fam == Fam::accounts && ((!k.empty() && (k[0] == kChange || k[0] == kLocal)) ||
                                  k == key(kCounter, kChangeCounter));
}
bool is_local_key(Fam fam, std::string_view k) {
  return fam == Fam::accounts && !k.empty() && k[0] == kLocal;
}

Status replica_refusal() {
  return Status(Code::read_only,
                "this node's accounts are a replica; the accounts primary makes every change");
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

Accounts::Accounts(RevisionLog& log, std::uint64_t retained_changes)
    : log_(log), retained_(std::max<std::uint64_t>(1, retained_changes)) {}

Result<std::uint64_t> Accounts::loaded_seq() const {
  if (seq_) return *seq_;
  auto last = read_id(log_, key(kCounter, kChangeCounter), "change counter");
  if (!last.ok() && !last.status().is_not_found()) return last.status();
  seq_ = last.ok() ? *last : 0;
  return *seq_;
}

Result<std::uint64_t> Accounts::last_seq() const {
  std::lock_guard lk(log_mu_);
  return loaded_seq();
}

Status Accounts::commit(std::vector<RevisionLog::KvWrite> writes) {
  if (replica_.load()) return replica_refusal();
  std::lock_guard lk(log_mu_);
  auto seq = loaded_seq();
  if (!seq.ok()) return seq.status();
  const std::uint64_t next = *seq + 1;
  std::string record = encode_change(writes);
  writes.push_back({Fam::accounts, key(kChange, next), std::move(record)});
  writes.push_back({Fam::accounts, key(kCounter, kChangeCounter), be64(next)});
  if (next > retained_) writes.push_back({Fam::accounts, key(kChange, next - retained_), {}});
  auto s = log_.kv_write(writes);
  if (s.ok()) seq_ = next;  // a failed batch wrote nothing
  return s;
}

void Accounts::note_applied(const std::vector<RevisionLog::KvWrite>& writes) {
  bool session_ended = false, members_changed = false;
  for (const auto& w : writes) {
    if (w.family == Fam::sessions && !w.value) session_ended = true;
    if (w.family == Fam::accounts && !w.key.empty() && w.key[0] == kMember) members_changed = true;
  }
  if (session_ended) sessions_gen_.fetch_add(1);
  if (members_changed) members_gen_.fetch_add(1);
}

Result<ChangeFeed> Accounts::changes_after(std::uint64_t after, std::size_t max_changes) const {
  ChangeFeed feed;
  {
    std::lock_guard lk(log_mu_);
    auto seq = loaded_seq();
    if (!seq.ok()) return seq.status();
    feed.last_seq = *seq;
  }
  const std::uint64_t first_kept = feed.last_seq > retained_ ? feed.last_seq - retained_ + 1 : 1;
  if (after > feed.last_seq || after + 1 < first_kept) {
    feed.snapshot_needed = true;
    return feed;
  }
  // Records are keyed by big-endian number: scan block by block (the keys sharing all but the
  // last byte), from the block of after + 1, never from the oldest retained record.
  bool bad = false;
  std::uint64_t expect = after + 1;
  bool more = true;
  while (more && expect <= feed.last_seq && feed.changes.size() < max_changes) {
    std::string prefix = key(kChange, expect);
    prefix.pop_back();
    const std::uint64_t before = expect;
    auto s = log_.kv_scan(Fam::accounts, prefix, [&](std::string_view k, std::string_view v) {
      if (k.size() != 9) return !(bad = true);
      const std::uint64_t seq = enc::get_be64(k.data() + 1);
      if (seq < expect) return true;
      if (seq != expect || seq > feed.last_seq) return more = false;
      AccountsChange c;
      c.seq = seq;
      if (!decode_change(v, c.writes)) return !(bad = true);
      feed.changes.push_back(std::move(c));
      ++expect;
      return feed.changes.size() < max_changes;
    });
    if (!s.ok()) return s;
    if (bad) return corrupt("change record");
    // A block ends at a multiple of 256; a block that gave nothing has a gap.
    if (expect == before || (expect & 0xff) != 0) more = false;
  }
  // A change trimmed while we scanned: the replica must start over from a snapshot.
  if (feed.changes.empty() && after < feed.last_seq && max_changes > 0) {
    feed.snapshot_needed = true;
  }
  return feed;
}

Status Accounts::apply_changes(const std::vector<AccountsChange>& changes) {
  if (changes.empty()) return Status::Ok();
  std::lock_guard lk(log_mu_);
  auto seq = loaded_seq();
  if (!seq.ok()) return seq.status();
  std::vector<RevisionLog::KvWrite> batch;
  std::uint64_t next = *seq;
  Status gap;
  std::size_t applied = 0;
  for (const auto& c : changes) {
    if (c.seq <= next) continue;  // applied already (a catch-up pull raced the loop)
    if (c.seq != next + 1) {
      gap = Status(Code::conflict,
                   "change " + std::to_string(c.seq) + " does not follow " + std::to_string(next));
      break;
    }
    next = c.seq;
    for (const auto& w : c.writes) {
      if (is_log_key(w.family, w.key)) {
        return Status(Code::invalid_argument, "a change may not write the change log itself");
      }
      batch.push_back(w);
    }
    batch.push_back({Fam::accounts, key(kChange, next), encode_change(c.writes)});
    if (next > retained_) batch.push_back({Fam::accounts, key(kChange, next - retained_), {}});
    ++applied;
  }
  if (applied == 0) return gap;
  batch.push_back({Fam::accounts, key(kCounter, kChangeCounter), be64(next)});
  if (auto s = log_.kv_write(batch); !s.ok()) return s;
  seq_ = next;
  note_applied(batch);
  return gap;
}

Result<AccountsSnapshot> Accounts::snapshot() const {
  std::lock_guard lk(log_mu_);
  AccountsSnapshot snap;
  auto seq = loaded_seq();
  if (!seq.ok()) return seq.status();
  snap.seq = *seq;
  for (Fam fam : {Fam::accounts, Fam::sessions}) {
    auto s = log_.kv_scan(fam, {}, [&](std::string_view k, std::string_view v) {
      if (!is_log_key(fam, k)) snap.entries.push_back({fam, std::string(k), std::string(v)});
      return true;
    });
    if (!s.ok()) return s;
  }
  return snap;
}

Status Accounts::install_snapshot(const AccountsSnapshot& snapshot) {
  std::lock_guard lk(log_mu_);
  std::vector<RevisionLog::KvWrite> batch;
  for (Fam fam : {Fam::accounts, Fam::sessions}) {
    auto s = log_.kv_scan(fam, {}, [&](std::string_view k, std::string_view) {
      if (!is_local_key(fam, k)) batch.push_back({fam, std::string(k), {}});
      return true;
    });
    if (!s.ok()) return s;
  }
  for (const auto& e : snapshot.entries) {
    if (!e.value || is_log_key(e.family, e.key)) {
      return Status(Code::invalid_argument, "a snapshot holds values, not the change log");
    }
    batch.push_back(e);  // a later write of the same key wins within the batch
  }
  batch.push_back({Fam::accounts, key(kCounter, kChangeCounter), be64(snapshot.seq)});
  if (auto s = log_.kv_write(batch); !s.ok()) return s;
  seq_ = snapshot.seq;
  sessions_gen_.fetch_add(1);
  members_gen_.fetch_add(1);
  return Status::Ok();
}

Status Accounts::register_document(const DocumentRecord& record, UserId leader_user) {
  if (record.id == 0) return Status(Code::invalid_argument, "a document id starts at 1");
  std::lock_guard lk(mu_);
  const std::string k = key(kDocument, record.id);
  auto existing = log_.kv_get(Fam::accounts, k);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status(Code::already_exists, "this document id is registered");
  const std::string role = encode_role(kLeader);
  auto s = commit({{Fam::accounts, k, encode(record)},
                   {Fam::accounts, key(kMember, record.id, leader_user), role},
                   {Fam::accounts, key(kMemberOf, leader_user, record.id), role}});
  if (s.ok()) members_gen_.fetch_add(1);
  return s;
}

Status Accounts::set_handed_off(DocumentId doc, bool handed_off) {
  return log_.kv_write({{Fam::accounts, key(kLocal, doc),
                         handed_off ? std::optional<std::string>("") : std::nullopt}});
}

Result<bool> Accounts::handed_off(DocumentId doc) const {
  auto v = log_.kv_get(Fam::accounts, key(kLocal, doc));
  if (!v.ok()) return v.status();
  return v->has_value();
}

Result<DocumentRecord> Accounts::document_record(DocumentId id) const {
  auto d = read<DocumentRecord>(log_, Fam::accounts, key(kDocument, id), "registered document");
  if (d.ok()) d->id = id;
  return d;
}

std::string encode_feed(const ChangeFeed& feed) {
  std::string out(1, kVersion);
  enc::put_varint(out, feed.last_seq);
  out.push_back(feed.snapshot_needed ? 1 : 0);
  enc::put_varint(out, feed.changes.size());
  for (const auto& c : feed.changes) {
    enc::put_varint(out, c.seq);
    put_writes(out, c.writes);
  }
  return out;
}

bool decode_feed(std::string_view in, ChangeFeed& feed) {
  if (in.size() < 2 || in[0] != kVersion) return false;
  in.remove_prefix(1);
  std::uint64_t n = 0;
  if (!enc::get_varint(in, feed.last_seq) || in.empty()) return false;
  const auto flag = static_cast<unsigned char>(in[0]);
  in.remove_prefix(1);
  if (flag > 1 || !enc::get_varint(in, n) || n > in.size()) return false;
  feed.snapshot_needed = flag == 1;
  feed.changes.clear();
  for (std::uint64_t i = 0; i < n; ++i) {
    AccountsChange c;
    if (!enc::get_varint(in, c.seq) || !get_writes(in, c.writes)) return false;
    feed.changes.push_back(std::move(c));
  }
  return in.empty();
}

std::string encode_snapshot(const AccountsSnapshot& snapshot) {
  std::string out(1, kVersion);
  enc::put_varint(out, snapshot.seq);
  put_writes(out, snapshot.entries);
  return out;
}

bool decode_snapshot(std::string_view in, AccountsSnapshot& snapshot) {
  if (in.empty() || in[0] != kVersion) return false;
  in.remove_prefix(1);
  return enc::get_varint(in, snapshot.seq) && get_writes(in, snapshot.entries) && in.empty();
}

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
  auto s = commit({{Fam::accounts, key(kCounter, "institution"), be64(i.id)},
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
  auto s = commit({{Fam::accounts, key(kCounter, "user"), be64(u.id)},
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
  return commit({{Fam::sessions, s.token_hash, encode(s)}});
}

Result<Session> Accounts::session(std::string_view token_hash) const {
  auto s = read<Session>(log_, Fam::sessions, std::string(token_hash), "session");
  if (s.ok()) s->token_hash = std::string(token_hash);
  return s;
}

Status Accounts::delete_session(std::string_view token_hash) {
  auto s = commit({{Fam::sessions, std::string(token_hash), std::nullopt}});
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
  if (auto w = commit(dels); !w.ok()) return w;
  sessions_gen_.fetch_add(1);
  return dels.size();
}

Result<std::optional<std::string>> Accounts::role(DocumentId doc, UserId user) const {
  // The generation is read before the store: a change written after this read bumps it, so an
  // answer read here is never kept past that change.
  const std::uint64_t gen = members_gen_.load();
  {
    std::lock_guard lk(role_cache_mu_);
    if (role_cache_gen_ != gen) {
      role_cache_.clear();
      role_cache_gen_ = gen;
    } else if (auto it = role_cache_.find({doc, user}); it != role_cache_.end()) {
      return it->second;
    }
  }
  auto v = log_.kv_get(Fam::accounts, key(kMember, doc, user));
  if (!v.ok()) return v.status();
  std::optional<std::string> answer;
  if (*v) {
    std::string role;
    if (!decode_role(**v, role)) return corrupt("membership");
    answer = std::move(role);
  }
  std::lock_guard lk(role_cache_mu_);
  if (role_cache_gen_ == gen) {
    if (role_cache_.size() >= kRoleCacheEntries) role_cache_.clear();
    role_cache_.emplace(std::make_pair(doc, user), answer);
  }
  return answer;
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
  auto s = commit(
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
  auto s = commit({{Fam::accounts, key(kMember, doc, user), std::nullopt},
                   {Fam::accounts, key(kMemberOf, user, doc), std::nullopt}});
  members_gen_.fetch_add(1);
  return s;
}

Status Accounts::put_invite(const Invite& invite) {
  if (invite.token_hash.empty()) {
    return Status(Code::invalid_argument, "an invite needs a token hash");
  }
  return commit({{Fam::accounts, key(kInvite, invite.token_hash), encode(invite)}});
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
  if (auto s = commit({{Fam::accounts, key(kInvite, token_hash), encode(*i)}}); !s.ok()) {
    return s;
  }
  return i;
}

}  // namespace jointly::storage
