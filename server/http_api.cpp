// The HTTP API: see server/http_api.hpp and protocol/PROTOCOL.md ("HTTP API", "Accounts and
// access").
#include "server/http_api.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <variant>

#include "protocol/document.hpp"
#include "protocol/messages.hpp"
#include "server/course_checks.hpp"
#include "server/history_api.hpp"
#include "server/log.hpp"
#include "server/templates.hpp"
#include "storage/history_index.hpp"

namespace jointly::server {
namespace {

using json = nlohmann::json;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::size_t kFeedPage = 1000;  // changes per /internal/accounts/changes answer

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpAnswer json_answer(unsigned status, const json& j) {
  HttpAnswer a;
  a.status = status;
  a.body = dump(j);
  return a;
}

HttpAnswer no_content() {
  HttpAnswer a;
  a.status = 204;
  return a;
}

json meta_json(const storage::DocumentMeta& m) {
  return {{"id", m.id}, {"title", m.title}, {"created", m.created_ms}, {"rev", m.last_rev}};
}

json institution_json(const storage::Institution& i) {
  return {{"id", i.id}, {"name", i.name}, {"country", i.country}};
}

HttpAnswer storage_error(const storage::Status& s) {
  log::error("storage request failed", {{"error", s.to_string()}});
  return json_error(503, "storage_failed", "storage cannot serve this request now");
}

HttpAnswer invalid(std::string_view message) { return json_error(400, "invalid_request", message); }
HttpAnswer forbidden(std::string_view message) { return json_error(403, "forbidden", message); }
HttpAnswer not_found(std::string_view message) { return json_error(404, "not_found", message); }
HttpAnswer not_allowed() {
  return json_error(405, "method_not_allowed", "this method is not allowed here");
}

bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  std::string_view base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  return storage::ascii_lower(base) == "application/json";
}

// Reads the body as a JSON object into out; the answer refusing it otherwise.
std::optional<HttpAnswer> read_body(const ApiRequest& req, json& out) {
  if (!is_json_content_type(req.content_type)) {
    return json_error(415, "unsupported_media_type",
                      "send the body as Content-Type: application/json");
  }
  out = json::parse(req.body.begin(), req.body.end(), nullptr, false);
  if (out.is_discarded()) return json_error(400, "invalid_json", "the body is not valid JSON text");
  if (!out.is_object()) return invalid("the body must be a JSON object");
  return std::nullopt;
}

// Text of 1..max bytes without control characters, or the message saying what is wrong.
std::optional<std::string> bad_text(const json& j, const char* field, std::size_t max) {
  const auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return "\"" + std::string(field) + "\" must be a string";
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > max) {
    return "\"" + std::string(field) + "\" must be 1 to " + std::to_string(max) + " bytes long";
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return "\"" + std::string(field) + "\" holds a control character";
  }
  return std::nullopt;
}

bool valid_email(std::string_view e) {
  if (e.size() < 3 || e.size() > 254) return false;
  if (std::count(e.begin(), e.end(), '@') != 1) return false;
  const auto at = e.find('@');
  if (at == 0 || at + 1 == e.size()) return false;
  return std::none_of(e.begin(), e.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

bool valid_country(std::string_view c) {
  return c.size() == 2 &&
         std::all_of(c.begin(), c.end(), [](char x) { return x >= 'A' && x <= 'Z'; });
}

// A whole number from 1 written without sign or leading zero.
std::optional<std::uint64_t> parse_id(std::string_view text) {
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id == 0 ||
      id > protocol::kMaxWholeNumber || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  return id;
}

// A whole number from 0 (a revision or sequence to read after), written like an id.
std::optional<std::uint64_t> parse_count(std::string_view text) {
  return text == "0" ? std::optional<std::uint64_t>(0) : parse_id(text);
}

// ---- Login, logout, me ----

HttpAnswer login(ApiContext& ctx, const ApiRequest& req) {
  json j;
  if (auto refused = read_body(req, j)) return *refused;
  const auto email_it = j.find("email");
  const auto password_it = j.find("password");
  if (email_it == j.end() || !email_it->is_string()) return invalid("\"email\" must be a string");
  if (password_it == j.end() || !password_it->is_string()) {
    return invalid("\"password\" must be a string");
  }
  const std::string email = storage::ascii_lower(email_it->get_ref<const std::string&>());
  const auto& password = password_it->get_ref<const std::string&>();
  if (email.size() > 254 || password.size() > auth::kMaxPasswordBytes) {
    return json_error(401, "invalid_credentials", "the email or the password is wrong");
  }
  // The rate limit first: a refused attempt costs no argon2.
  const auto now = auth::LoginLimiter::Clock::now();
  if (auto wait = ctx.limiter.check(email, req.address, now)) {
    log::warn("login refused by the rate limit", {{"retry_after_s", wait->count()}});
    HttpAnswer a = json_error(
        429, "too_many_attempts",
        "too many failed logins; try again in " + std::to_string(wait->count()) + " seconds");
    a.headers.emplace_back("Retry-After", std::to_string(wait->count()));
    return a;
  }
  auto user = ctx.accounts.user_by_email(email);
  if (!user.ok() && !user.status().is_not_found()) return storage_error(user.status());
  // An unknown email costs one verification too, so that timing does not tell it apart.
  const bool ok =
      auth::verify_password(user.ok() ? user->password_hash : auth::dummy_hash(), password) &&
      user.ok();
  if (!ok) {
    ctx.limiter.failed(email, req.address, now);
    log::info("login failed", {{"known_user", user.ok()}});
    return json_error(401, "invalid_credentials", "the email or the password is wrong");
  }
  ctx.limiter.succeeded(email);
  auto caller = caller_of(ctx.accounts, *user);
  if (!caller.ok()) return storage_error(caller.status());
  // Always a fresh token: a session id the client brought is never adopted.
  const std::string token = auth::new_token();
  const std::int64_t created = now_ms();
  const auto ttl_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.session_ttl);
  storage::Session s{auth::token_hash(token), user->id, created, created + ttl_ms.count()};
  if (auto st = ctx.accounts.put_session(s); !st.ok()) return storage_error(st);
  log::info("login", {{"user", user->id}});
  HttpAnswer a = json_answer(200, {{"user", user_json(*caller)}});
  a.headers.emplace_back(
      "Set-Cookie",
      auth::session_set_cookie(
          token, std::chrono::duration_cast<std::chrono::seconds>(ctx.session_ttl).count(),
          req.secure));
  return a;
}

HttpAnswer logout(ApiContext& ctx, const ApiRequest& req, const Authenticated& who) {
  if (auto st = ctx.accounts.delete_session(who.token_hash); !st.ok()) return storage_error(st);
  log::info("logout", {{"user", who.caller.user_id}});
  HttpAnswer a = no_content();
  a.headers.emplace_back("Set-Cookie", auth::session_clear_cookie(req.secure));
  return a;
}

// ---- Institutions and users ----

HttpAnswer list_institutions(ApiContext& ctx) {
  auto all = ctx.accounts.institutions();
  if (!all.ok()) return storage_error(all.status());
  json list = json::array();
  for (const auto& i : *all) list.push_back(institution_json(i));
  return json_answer(200, {{"institutions", std::move(list)}});
}

HttpAnswer create_institution(ApiContext& ctx, const ApiRequest& req, const Caller& caller) {
  if (!caller.admin) return forbidden("only an administrator may create institutions");
  json j;
  if (auto refused = read_body(req, j)) return *refused;
  if (auto bad = bad_text(j, "name", protocol::kMaxNameLength)) return invalid(*bad);
  const auto country = j.find("country");
  if (country == j.end() || !country->is_string() || !valid_country(country->get<std::string>())) {
    return invalid("\"country\" must be an ISO 3166-1 alpha-2 code such as \"AT\"");
  }
  auto i =
      ctx.accounts.create_institution(j["name"].get<std::string>(), country->get<std::string>());
  if (!i.ok()) {
    if (i.status().code() == storage::Code::already_exists) {
      return json_error(409, "institution_exists", "an institution with this name exists");
    }
    return storage_error(i.status());
  }
  log::info("institution created", {{"institution", i->id}, {"by", caller.user_id}});
  return json_answer(201, institution_json(*i));
}

HttpAnswer list_users(ApiContext& ctx, const Caller& caller) {
  auto all = ctx.accounts.users();
  if (!all.ok()) return storage_error(all.status());
  json list = json::array();
  for (const auto& u : *all) {
    auto c = caller_of(ctx.accounts, u);
    if (!c.ok()) return storage_error(c.status());
    list.push_back(user_json(*c, caller.admin));
  }
  return json_answer(200, {{"users", std::move(list)}});
}

HttpAnswer create_user(ApiContext& ctx, const ApiRequest& req, const Caller& caller) {
  if (!caller.admin) return forbidden("only an administrator may create users");
  json j;
  if (auto refused = read_body(req, j)) return *refused;
  const auto email = j.find("email");
  if (email == j.end() || !email->is_string() || !valid_email(email->get<std::string>())) {
    return invalid("\"email\" must be an email address (3 to 254 bytes, one @)");
  }
  if (auto bad = bad_text(j, "name", protocol::kMaxNameLength)) return invalid(*bad);
  const auto password = j.find("password");
  if (password == j.end() || !password->is_string() ||
      password->get_ref<const std::string&>().size() < auth::kMinPasswordBytes ||
      password->get_ref<const std::string&>().size() > auth::kMaxPasswordBytes) {
    return invalid("\"password\" must be a string of 10 to 1024 bytes");
  }
  const auto inst = j.find("institution");
  if (inst == j.end() || !inst->is_number_unsigned()) {
    return invalid("\"institution\" must be an institution id");
  }
  if (auto i = ctx.accounts.institution(inst->get<std::uint64_t>()); !i.ok()) {
    if (i.status().is_not_found()) return invalid("\"institution\": there is no such institution");
    return storage_error(i.status());
  }
  bool admin = false;
  if (const auto a = j.find("admin"); a != j.end() && !a->is_null()) {
    if (!a->is_boolean()) return invalid("\"admin\" must be true or false");
    admin = a->get<bool>();
  }
  auto hash = auth::hash_password(password->get_ref<const std::string&>());
  if (!hash) return json_error(503, "busy", "the server cannot hash a password now");
  auto u = ctx.accounts.create_user(email->get<std::string>(), j["name"].get<std::string>(),
                                    inst->get<std::uint64_t>(), admin, std::move(*hash));
  if (!u.ok()) {
    if (u.status().code() == storage::Code::already_exists) {
      return json_error(409, "user_exists", "a user with this email exists");
    }
    return storage_error(u.status());
  }
  auto c = caller_of(ctx.accounts, *u);
  if (!c.ok()) return storage_error(c.status());
  log::info("user created", {{"user", u->id}, {"by", caller.user_id}});
  return json_answer(201, user_json(*c));
}

// ---- Documents ----

// The caller's role in document id, or the answer refusing access: 403 for a non-member of any
// id, existing or not (an administrator gets 404 for one that does not exist).
std::variant<Role, HttpAnswer> member_role(ApiContext& ctx, const Caller& caller,
                                           storage::DocumentId id) {
  auto role = ctx.accounts.role(id, caller.user_id);
  // A replica may not have a membership just made on the primary (a creation) yet.
  if (role.ok() && !*role && ctx.catch_up && ctx.catch_up()) {
    role = ctx.accounts.role(id, caller.user_id);
  }
  if (!role.ok()) return storage_error(role.status());
  if (*role) {
    if (auto r = parse_role(**role)) return *r;
  }
  if (caller.admin) {
    auto meta = ctx.store.document(id);
    if (!meta.ok() && meta.status().is_not_found()) return not_found("no such document");
  }
  return forbidden("you are not a member of this document");
}

HttpAnswer list_documents(ApiContext& ctx, const Caller& caller) {
  auto mine = ctx.accounts.memberships(caller.user_id);
  if (!mine.ok()) return storage_error(mine.status());
  json list = json::array();
  for (const auto& m : *mine) {
    auto meta = ctx.store.document(m.doc);
    if (!meta.ok() && meta.status().is_not_found() && ctx.cluster) {
      // Another node holds it: the registry has its title (its revision is that node's).
      auto rec = ctx.accounts.document_record(m.doc);
      if (rec.ok()) meta = storage::DocumentMeta{rec->id, rec->title, rec->created_ms, 0};
    }
    if (!meta.ok()) {
      if (meta.status().is_not_found()) continue;
      return storage_error(meta.status());
    }
    json d = meta_json(*meta);
    d["role"] = m.role;
    list.push_back(std::move(d));
  }
  return json_answer(200, {{"documents", std::move(list)}});
}

HttpAnswer created_answer(json out, storage::DocumentId id) {
  out["role"] = role_name(Role::leader);
  HttpAnswer a = json_answer(201, out);
  a.headers.emplace_back("Location", "/api/documents/" + std::to_string(id));
  return a;
}

// In a cluster: a random id in the registry, with the caller as its leader; the owning node
// builds the document on first access (materialise_document).
HttpAnswer register_document(ApiContext& ctx, const std::string& title,
                             const std::string& template_name, const Caller& caller) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const storage::DocumentRecord rec{auth::random_document_id(), title, template_name,
                                      caller.user_id, now_ms()};
    auto st = ctx.accounts.register_document(rec, caller.user_id);
    if (st.code() == storage::Code::already_exists) continue;
    if (!st.ok()) return storage_error(st);
    log::info("document registered",
              {{"doc", rec.id}, {"template", template_name}, {"by", caller.user_id}});
    return created_answer(
        {{"id", rec.id}, {"title", rec.title}, {"created", rec.created_ms}, {"rev", 0}}, rec.id);
  }
  return json_error(503, "busy", "no free document id was found; try again");
}

HttpAnswer create_document(ApiContext& ctx, const ApiRequest& req, const Caller& caller) {
  json j;
  if (auto refused = read_body(req, j)) return *refused;
  if (auto bad = bad_text(j, "title", kMaxTitleBytes)) return invalid(*bad);
  const std::string title = j["title"].get<std::string>();
  std::string template_name = "blank";
  if (const auto t = j.find("template"); t != j.end() && !t->is_null()) {
    if (!t->is_string()) return invalid("\"template\" must be a string");
    template_name = t->get<std::string>();
  }
  auto doc = make_template(template_name);
  if (!doc) return invalid("\"template\" must be \"blank\", \"course\" or \"demo\"");
  if (ctx.cluster) return register_document(ctx, title, template_name, caller);
  auto id = ctx.store.create_document(title, *doc);
  if (!id.ok()) return storage_error(id.status());
  if (auto st = ctx.accounts.set_role(*id, caller.user_id, std::string(role_name(Role::leader)));
      !st.ok()) {
    return storage_error(st);
  }
  auto meta = ctx.store.document(*id);
  if (!meta.ok()) return storage_error(meta.status());
  log::info("document created",
            {{"doc", *id}, {"template", template_name}, {"by", caller.user_id}});
  return created_answer(meta_json(*meta), *id);
}

HttpAnswer get_document(ApiContext& ctx, storage::DocumentId id, Role role) {
  auto meta = ctx.store.document(id);
  if (!meta.ok()) {
    if (meta.status().is_not_found()) return not_found("no such document");
    return storage_error(meta.status());
  }
  auto loaded = ctx.store.load(id);
  if (!loaded.ok()) return storage_error(loaded.status());
  json j = meta_json(*meta);
  j["rev"] = loaded->rev;
  j["role"] = role_name(role);
  j["snapshot"] = protocol::to_json(loaded->doc);
  return json_answer(200, j);
}

// A document's team: the institutions of its members who may approve (reviewers, editors and
// leaders), by id. An institution whose members only read could never approve, so it is not
// part of the sign-off (PROTOCOL.md, "Documents, members and roles").
storage::Result<std::map<storage::InstitutionId, storage::Institution>> team_of(
    ApiContext& ctx, const std::vector<storage::Membership>& members) {
  std::map<storage::InstitutionId, storage::Institution> team;
  for (const auto& m : members) {
    const auto role = parse_role(m.role);
    if (!role || !allowed(*role, Action::approve)) continue;
    auto u = ctx.accounts.user(m.user);
    if (!u.ok()) {
      if (u.status().is_not_found()) continue;
      return u.status();
    }
    if (team.contains(u->institution)) continue;
    auto inst = ctx.accounts.institution(u->institution);
    if (!inst.ok()) return inst.status();
    team.emplace(u->institution, std::move(*inst));
  }
  return team;
}

HttpAnswer list_members(ApiContext& ctx, storage::DocumentId id) {
  auto members = ctx.accounts.members(id);
  if (!members.ok()) return storage_error(members.status());
  json list = json::array();
  for (const auto& m : *members) {
    auto u = ctx.accounts.user(m.user);
    if (!u.ok()) {
      if (u.status().is_not_found()) continue;
      return storage_error(u.status());
    }
    auto c = caller_of(ctx.accounts, *u);
    if (!c.ok()) return storage_error(c.status());
    list.push_back({{"user", user_json(*c, false)}, {"role", m.role}});
  }
  auto team = team_of(ctx, *members);
  if (!team.ok()) return storage_error(team.status());
  json team_list = json::array();
  for (const auto& [inst_id, inst] : *team) {
    team_list.push_back({{"id", inst_id}, {"name", inst.name}, {"country", inst.country}});
  }
  return json_answer(200, {{"members", std::move(list)}, {"team", std::move(team_list)}});
}

HttpAnswer set_member(ApiContext& ctx, const ApiRequest& req, storage::DocumentId id,
                      std::string_view user_text, const Caller& caller) {
  const auto user_id = parse_id(user_text);
  if (!user_id) return invalid("a user id is a whole number from 1");
  json j;
  if (auto refused = read_body(req, j)) return *refused;
  const auto r = j.find("role");
  if (r == j.end() || !r->is_string() || !parse_role(r->get<std::string>())) {
    return invalid("\"role\" must be \"viewer\", \"reviewer\", \"editor\" or \"leader\"");
  }
  auto u = ctx.accounts.user(*user_id);
  if (!u.ok()) {
    if (u.status().is_not_found()) return not_found("no such user");
    return storage_error(u.status());
  }
  if (auto st = ctx.accounts.set_role(id, *user_id, r->get<std::string>()); !st.ok()) {
    if (st.code() == storage::Code::conflict) {
      return json_error(409, "last_leader", "the document would be left without a leader");
    }
    return storage_error(st);
  }
  auto c = caller_of(ctx.accounts, *u);
  if (!c.ok()) return storage_error(c.status());
  log::info(
      "member set",
      {{"doc", id}, {"user", *user_id}, {"role", r->get<std::string>()}, {"by", caller.user_id}});
  return json_answer(200, {{"user", user_json(*c, false)}, {"role", r->get<std::string>()}});
}

HttpAnswer remove_member(ApiContext& ctx, storage::DocumentId id, std::string_view user_text,
                         const Caller& caller) {
  const auto user_id = parse_id(user_text);
  if (!user_id) return invalid("a user id is a whole number from 1");
  if (auto st = ctx.accounts.remove_member(id, *user_id); !st.ok()) {
    if (st.is_not_found()) return not_found("no such member");
    if (st.code() == storage::Code::conflict) {
      return json_error(409, "last_leader", "the document would be left without a leader");
    }
    return storage_error(st);
  }
  log::info("member removed", {{"doc", id}, {"user", *user_id}, {"by", caller.user_id}});
  return no_content();
}

HttpAnswer create_invite(ApiContext& ctx, const ApiRequest& req, storage::DocumentId id,
                         const Caller& caller) {
  json j;
  if (auto refused = read_body(req, j)) return *refused;
  const auto r = j.find("role");
  if (r == j.end() || !r->is_string() || !parse_role(r->get<std::string>())) {
    return invalid("\"role\" must be \"viewer\", \"reviewer\", \"editor\" or \"leader\"");
  }
  const std::string token = auth::new_token();
  storage::Invite inv{auth::token_hash(token), id,
                      r->get<std::string>(),   now_ms() + kInviteLifetimeMs,
                      caller.user_id,          false};
  if (auto st = ctx.accounts.put_invite(inv); !st.ok()) return storage_error(st);
  log::info("invite created", {{"doc", id}, {"role", inv.role}, {"by", caller.user_id}});
  return json_answer(201, {{"token", token},
                           {"url", "/#/invite/" + token},
                           {"role", inv.role},
                           {"expires", inv.expires_ms}});
}

HttpAnswer accept_invite(ApiContext& ctx, std::string_view token, const Caller& caller) {
  if (!auth::token_well_formed(token)) return not_found("no such invite");
  auto inv = ctx.accounts.take_invite(auth::token_hash(token), now_ms());
  if (!inv.ok()) {
    switch (inv.status().code()) {
      case storage::Code::not_found:
        return not_found("no such invite");
      case storage::Code::conflict:
        return json_error(410, "invite_used", "this invite was already used");
      case storage::Code::invalid_argument:
        return json_error(410, "invite_expired", "this invite has expired");
      default:
        return storage_error(inv.status());
    }
  }
  Role role = parse_role(inv->role).value_or(Role::viewer);
  auto current = ctx.accounts.role(inv->doc, caller.user_id);
  if (!current.ok()) return storage_error(current.status());
  if (*current) {
    if (auto had = parse_role(**current); had && *had > role) role = *had;
  }
  if (auto st = ctx.accounts.set_role(inv->doc, caller.user_id, std::string(role_name(role)));
      !st.ok() && st.code() != storage::Code::conflict) {
    return storage_error(st);
  }
  log::info("invite accepted", {{"doc", inv->doc}, {"user", caller.user_id}});
  return json_answer(200, {{"doc", inv->doc}, {"role", role_name(role)}});
}

// ---- Restore, course checks, course description ----

// The status of a restore's refusal (DocumentAuthority::restore's errors).
unsigned restore_error_status(std::string_view code) {
  if (code == "forbidden") return 403;
  if (code == "not_found") return 404;
  if (code == "invalid_request") return 400;
  if (code == "busy" || code == "storage_unavailable" || code == "storage_failed") return 503;
  return 409;  // section_locked, document_too_large: the document's state refuses it
}

// POST /api/documents/:id/history/restore {"rev":R,"section":ID?}
HttpAnswer restore_document(ApiContext& ctx, const ApiRequest& req, storage::DocumentId id,
                            const Caller& caller) {
  json j;
  if (auto refused = read_body(req, j)) return *refused;
  for (const auto& [key, value] : j.items()) {
    if (key != "rev" && key != "section") return invalid("unknown field \"" + key + "\"");
  }
  const auto rev = j.find("rev");
  if (rev == j.end() || !rev->is_number_unsigned() ||
      rev->get<std::uint64_t>() > protocol::kMaxWholeNumber) {
    return invalid("\"rev\" must be a revision: a whole number from 1");
  }
  std::optional<std::string> section;
  if (const auto sec = j.find("section"); sec != j.end() && !sec->is_null()) {
    if (!sec->is_string() || sec->get_ref<const std::string&>().empty()) {
      return invalid("\"section\" must be a section id");
    }
    section = sec->get<std::string>();
  }
  if (!ctx.restore) {
    return json_error(503, "unavailable", "restoring is not available on this server");
  }
  auto out = ctx.restore(id, caller, rev->get<std::uint64_t>(), std::move(section));
  if (!out) {
    HttpAnswer a =
        json_error(restore_error_status(out.error().code), out.error().code, out.error().message);
    if (out.error().code == "busy") a.headers.emplace_back("Retry-After", "1");
    if (out.error().code == "storage_unavailable") a.headers.emplace_back("Retry-After", "5");
    return a;
  }
  return json_answer(
      200, {{"rev", out->rev}, {"restored_from", out->restored_from}, {"changed", out->changed}});
}

// GET /api/documents/:id/checks: the checks of the document at its last durable revision.
HttpAnswer document_checks(ApiContext& ctx, storage::DocumentId id) {
  auto loaded = ctx.store.load(id);
  if (!loaded.ok()) {
    if (loaded.status().is_not_found()) return not_found("no such document");
    return storage_error(loaded.status());
  }
  json out = checks_json(loaded->doc);
  out["rev"] = loaded->rev;
  return json_answer(200, out);
}

// The names of the institutions of a document's team, sorted.
storage::Result<std::vector<std::string>> team_institutions(ApiContext& ctx,
                                                            storage::DocumentId id) {
  auto members = ctx.accounts.members(id);
  if (!members.ok()) return members.status();
  auto team = team_of(ctx, *members);
  if (!team.ok()) return team.status();
  std::set<std::string> names;
  for (const auto& [inst_id, inst] : *team) names.insert(inst.name);
  return std::vector<std::string>(names.begin(), names.end());
}

// GET /api/documents/:id/course-description[?rev=R | ?version=NAME]
HttpAnswer course_description(ApiContext& ctx, const ApiRequest& req, storage::DocumentId id) {
  const auto q = req.target.find('?');
  auto query =
      parse_query(q == std::string_view::npos ? std::string_view() : req.target.substr(q + 1));
  if (!query) return invalid("the query string is malformed");
  for (const auto& [key, value] : *query) {
    if (key != "rev" && key != "version") return invalid("unknown parameter \"" + key + "\"");
  }
  if (query->count("rev") > 0 && query->count("version") > 0) {
    return invalid("give \"rev\" or \"version\", not both");
  }
  auto meta = ctx.store.document(id);
  if (!meta.ok()) {
    if (meta.status().is_not_found()) return not_found("no such document");
    return storage_error(meta.status());
  }
  std::uint64_t rev = meta->last_rev;
  if (const auto v = query->find("version"); v != query->end()) {
    auto versions = storage::History(ctx.store).versions(id);
    if (!versions.ok()) return storage_error(versions.status());
    const auto named = std::find_if(versions->begin(), versions->end(),
                                    [&](const auto& nv) { return nv.name == v->second; });
    if (named == versions->end()) return not_found("no version named " + v->second);
    rev = named->rev;
  } else if (const auto r = query->find("rev"); r != query->end()) {
    const auto parsed = parse_count(r->second);
    if (!parsed) return invalid("\"rev\" must be a whole number from 0");
    if (*parsed > meta->last_rev) {
      return not_found("no revision " + r->second + " (the last is " +
                       std::to_string(meta->last_rev) + ")");
    }
    rev = *parsed;
  }
  auto loaded = ctx.store.load_at(id, rev);
  if (!loaded.ok()) return storage_error(loaded.status());
  auto team = team_institutions(ctx, id);
  if (!team.ok()) return storage_error(team.status());
  auto out = course_description_json(loaded->doc, rev,
                                     CourseExportInfo{id, meta->title, std::move(*team)});
  if (!out) return json_error(409, out.error().code, out.error().message);
  return json_answer(200, *out);
}

// /api/documents/:id[/members[/:user]|/invites]
HttpAnswer document_routes(ApiContext& ctx, const ApiRequest& req, std::string_view rest,
                           const Authenticated& who) {
  const auto slash = rest.find('/');
  const auto id = parse_id(rest.substr(0, slash));
  if (!id) return invalid("a document id is a whole number from 1");
  std::string_view sub = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  auto access = member_role(ctx, who.caller, *id);
  if (auto* a = std::get_if<HttpAnswer>(&access)) return *a;
  const Role role = std::get<Role>(access);
  // Membership and invites are accounts data (the primary's): they need no copy of the document,
  // and asking for one would bring every document to the primary at its first member change.
  const bool accounts_only = sub == "members" || sub.substr(0, 8) == "members/" || sub == "invites";
  if (ctx.ensure_document && !accounts_only) {
    if (auto st = ctx.ensure_document(*id); !st.ok() && !st.is_not_found()) {
      // busy: being brought to this node in the background (not worth a warning); the
      // acquisition itself logs a peer that does not answer.
      if (st.code() != storage::Code::busy) {
        log::warn("a document cannot be had from the cluster now",
                  {{"doc", *id}, {"error", st.to_string()}});
      }
      HttpAnswer a = json_error(503, "document_moved",
                                "the document is moving to this node; try again shortly");
      a.headers.emplace_back("Retry-After", "1");
      return a;
    }
  }
  const bool get = req.method == "GET" || req.method == "HEAD";
  auto need = [&](Action action) { return allowed(role, action); };
  if (sub.empty()) {
    if (!get) return not_allowed();
    return get_document(ctx, *id, role);
  }
  if (sub == "history/restore") {
    if (req.method != "POST") return not_allowed();
    if (!need(Action::edit)) return forbidden("only an editor or a leader may restore");
    return restore_document(ctx, req, *id, who.caller);
  }
  if (sub == "checks") {
    if (!get) return not_allowed();
    return document_checks(ctx, *id);
  }
  if (sub == "course-description") {
    if (!get) return not_allowed();
    return course_description(ctx, req, *id);
  }
  if (sub == "history" || sub.substr(0, 8) == "history/") {
    if (auto h = route_history(ctx.store, who.caller, role, req.method, req.target,
                               req.content_type, req.body)) {
      return *h;
    }
    return not_found("no such API");
  }
  if (sub == "members") {
    if (!get) return not_allowed();
    return list_members(ctx, *id);
  }
  if (sub.substr(0, 8) == "members/") {
    if (req.method != "PUT" && req.method != "DELETE") return not_allowed();
    if (!need(Action::manage_members)) return forbidden("only a leader may manage members");
    if (req.method == "PUT") return set_member(ctx, req, *id, sub.substr(8), who.caller);
    return remove_member(ctx, *id, sub.substr(8), who.caller);
  }
  if (sub == "invites") {
    if (req.method != "POST") return not_allowed();
    if (!need(Action::manage_members)) return forbidden("only a leader may invite members");
    return create_invite(ctx, req, *id, who.caller);
  }
  return not_found("no such API");
}

// ---- Cluster internals (PROTOCOL.md, "Cluster internals") ----

HttpAnswer binary_answer(std::string body) {
  HttpAnswer a;
  a.content_type = "application/octet-stream";
  a.body = std::move(body);
  return a;
}

HttpAnswer not_primary() {
  return json_error(421, "not_primary",
                    "this node is an accounts replica; send account changes to the primary");
}

// GET /internal/accounts/changes?after=N
HttpAnswer accounts_changes(ApiContext& ctx, const ApiRequest& req) {
  const auto q = req.target.find('?');
  auto query =
      parse_query(q == std::string_view::npos ? std::string_view() : req.target.substr(q + 1));
  if (!query) return invalid("the query string is malformed");
  const auto after_it = query->find("after");
  if (after_it == query->end() || query->size() != 1) return invalid("give \"after\" only");
  const auto after = parse_count(after_it->second);
  if (!after) return invalid("\"after\" must be a whole number from 0");
  auto feed = ctx.accounts.changes_after(*after, kFeedPage);
  if (!feed.ok()) return storage_error(feed.status());
  return binary_answer(storage::encode_feed(*feed));
}

// POST /internal/documents/:id/handoff[?have=R]: this node's copy, after handing it off.
HttpAnswer handoff(ApiContext& ctx, const ApiRequest& req, storage::DocumentId id) {
  const auto q = req.target.find('?');
  auto query =
      parse_query(q == std::string_view::npos ? std::string_view() : req.target.substr(q + 1));
  if (!query) return invalid("the query string is malformed");
  std::optional<std::uint64_t> have;
  for (const auto& [k, v] : *query) {
    if (k != "have") return invalid("unknown parameter \"" + k + "\"");
    have = parse_count(v);
    if (!have) return invalid("\"have\" must be a whole number from 0");
  }
  auto meta = ctx.store.document(id);
  if (!meta.ok()) {
    if (meta.status().is_not_found()) {
      return json_error(404, "not_held", "this node holds no copy of the document");
    }
    return storage_error(meta.status());
  }
  if (!ctx.hand_off) return json_error(503, "unavailable", "this node cannot hand documents off");
  if (auto st = ctx.hand_off(id); !st.ok()) return storage_error(st);
  auto out = export_document(ctx.store, id, have);
  if (!out.ok()) return storage_error(out.status());
  log::info("document handed to a peer", {{"doc", id}, {"last_rev", (*out)["last_rev"]}});
  return json_answer(200, *out);
}

HttpAnswer internal(ApiContext& ctx, const ApiRequest& req, std::string_view path) {
  if (ctx.cluster_secret.empty()) {
    return forbidden("this node is not in a cluster");
  }
  if (!auth::secret_matches(req.cluster_secret, ctx.cluster_secret)) {
    log::warn("internal request without the cluster secret refused", {{"address", req.address}});
    return forbidden("the cluster secret is missing or wrong");
  }
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (path == "/internal/accounts/changes") {
    if (!get) return not_allowed();
    if (ctx.accounts.replica()) return not_primary();
    return accounts_changes(ctx, req);
  }
  constexpr std::string_view kDocs = "/internal/documents/";
  constexpr std::string_view kHandoff = "/handoff";
  if (path.substr(0, kDocs.size()) == kDocs && path.size() > kDocs.size() + kHandoff.size() &&
      path.substr(path.size() - kHandoff.size()) == kHandoff) {
    if (req.method != "POST") return not_allowed();
    const auto id =
        parse_id(path.substr(kDocs.size(), path.size() - kDocs.size() - kHandoff.size()));
    if (!id) return invalid("a document id is a whole number from 1");
    return handoff(ctx, req, *id);
  }
  if (path == "/internal/accounts/snapshot") {
    if (!get) return not_allowed();
    if (ctx.accounts.replica()) return not_primary();
    auto snap = ctx.accounts.snapshot();
    if (!snap.ok()) return storage_error(snap.status());
    return binary_answer(storage::encode_snapshot(*snap));
  }
  return not_found("no such internal API");
}

HttpAnswer api(ApiContext& ctx, const ApiRequest& req, std::string_view path) {
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool changes = req.method == "POST" || req.method == "PUT" || req.method == "DELETE";
  if (changes && !origin_allowed(req.origin, req.host, ctx.allowed_origins)) {
    log::info("api origin refused", {{"method", std::string(req.method)}});
    return json_error(403, "origin_not_allowed", "this page's origin may not change anything here");
  }
  if (ctx.accounts.replica() && changes_accounts(req.method, path)) return not_primary();
  if (path == "/api/login") {
    if (req.method != "POST") return not_allowed();
    return login(ctx, req);
  }
  auto who = authenticate(ctx.accounts, req.cookie, now_ms(), ctx.catch_up);
  if (!who) return json_error(401, "unauthenticated", "log in first");
  const Caller& caller = who->caller;
  if (path == "/api/logout") {
    if (req.method != "POST") return not_allowed();
    return logout(ctx, req, *who);
  }
  if (path == "/api/me") {
    if (!get) return not_allowed();
    return json_answer(200, {{"user", user_json(caller)}});
  }
  if (path == "/api/institutions") {
    if (get) return list_institutions(ctx);
    if (req.method == "POST") return create_institution(ctx, req, caller);
    return not_allowed();
  }
  if (path == "/api/users") {
    if (get) return list_users(ctx, caller);
    if (req.method == "POST") return create_user(ctx, req, caller);
    return not_allowed();
  }
  if (path == "/api/documents" || path == "/api/documents/") {
    if (get) return list_documents(ctx, caller);
    if (req.method == "POST") return create_document(ctx, req, caller);
    return not_allowed();
  }
  constexpr std::string_view kDocs = "/api/documents/";
  if (path.substr(0, kDocs.size()) == kDocs) {
    return document_routes(ctx, req, path.substr(kDocs.size()), *who);
  }
  constexpr std::string_view kInvites = "/api/invites/";
  constexpr std::string_view kAccept = "/accept";
  if (path.substr(0, kInvites.size()) == kInvites &&
      path.size() > kInvites.size() + kAccept.size() &&
      path.substr(path.size() - kAccept.size()) == kAccept) {
    if (req.method != "POST") return not_allowed();
    return accept_invite(
        ctx, path.substr(kInvites.size(), path.size() - kInvites.size() - kAccept.size()), caller);
  }
  return not_found("no such API");
}

}  // namespace

std::optional<Authenticated> authenticate(storage::Accounts& accounts, std::string_view cookie,
                                          std::int64_t now, const std::function<bool()>& catch_up) {
  const auto token = auth::session_cookie(cookie);
  if (!token) return std::nullopt;
  const std::string hash = auth::token_hash(*token);
  auto s = accounts.session(hash);
  if (!s.ok() && s.status().is_not_found() && catch_up && catch_up()) s = accounts.session(hash);
  if (!s.ok()) {
    if (!s.status().is_not_found()) {
      log::error("session lookup failed", {{"error", s.status().to_string()}});
    }
    return std::nullopt;
  }
  if (s->expires_ms <= now) {
    if (accounts.replica()) return std::nullopt;  // the primary deletes it; the change follows
    if (auto st = accounts.delete_session(hash); !st.ok()) {
      log::error("deleting an expired session failed", {{"error", st.to_string()}});
    }
    return std::nullopt;
  }
  auto u = accounts.user(s->user);
  if (!u.ok()) return std::nullopt;
  auto c = caller_of(accounts, *u);
  if (!c.ok()) return std::nullopt;
  return Authenticated{std::move(*c), hash, s->expires_ms};
}

storage::Result<Caller> caller_of(const storage::Accounts& accounts, const storage::User& u) {
  auto inst = accounts.institution(u.institution);
  if (!inst.ok()) return inst.status();
  Caller c;
  c.user_id = u.id;
  c.email = u.email;
  c.name = u.name;
  c.institution_id = inst->id;
  c.institution = inst->name;
  c.country = inst->country;
  c.admin = u.admin;
  return c;
}

json user_json(const Caller& c, bool with_admin) {
  json j = {
      {"id", c.user_id},
      {"email", c.email},
      {"name", c.name},
      {"institution", {{"id", c.institution_id}, {"name", c.institution}, {"country", c.country}}}};
  if (with_admin) j["admin"] = c.admin;
  return j;
}

storage::Result<json> export_document(const storage::Store& store, storage::DocumentId id,
                                      std::optional<std::uint64_t> have) {
  auto meta = store.document(id);
  if (!meta.ok()) return meta.status();
  json out = {{"id", id},
              {"title", meta->title},
              {"created", meta->created_ms},
              {"last_rev", meta->last_rev}};
  if (!have) {
    auto initial = store.load_at(id, 0);
    if (!initial.ok()) return initial.status();
    out["initial"] = protocol::to_json(initial->doc);
  }
  json revs = json::array();
  const std::uint64_t from = have.value_or(0) + 1;
  if (from <= meta->last_rev) {
    auto all = store.revisions(id, from, meta->last_rev);
    if (!all.ok()) return all.status();
    for (const auto& r : *all) {
      json j = {{"rev", r.rev},
                {"op", protocol::to_json(r.op)},
                {"author", r.info.author},
                {"institution", r.info.institution},
                {"time", r.info.server_time_ms},
                {"client", r.info.client_id},
                {"seq", r.info.client_seq}};
      if (r.info.restored_from != 0) j["restored_from"] = r.info.restored_from;
      revs.push_back(std::move(j));
    }
  }
  out["revisions"] = std::move(revs);
  return out;
}

storage::Status materialise_document(storage::Store& store, storage::Accounts& accounts,
                                     storage::DocumentId id,
                                     const std::function<bool()>& catch_up) {
  auto meta = store.document(id);
  if (meta.ok() || !meta.status().is_not_found()) return meta.status();
  auto rec = accounts.document_record(id);
  if (!rec.ok() && rec.status().is_not_found() && catch_up && catch_up()) {
    rec = accounts.document_record(id);
  }
  if (!rec.ok()) return rec.status();
  auto doc = make_template(rec->template_name);
  if (!doc) {
    return storage::Status(storage::Code::corruption,
                           "registered document " + std::to_string(id) + " names template \"" +
                               rec->template_name + "\", which this build does not have");
  }
  auto created = store.create_document_as(id, rec->title, *doc, rec->created_ms);
  if (!created.ok() && created.status().code() != storage::Code::already_exists) {
    return created.status();  // already_exists: another request built it first
  }
  log::info("registered document materialised",
            {{"doc", id}, {"template", rec->template_name}, {"creator", rec->creator}});
  return storage::Status::Ok();
}

bool changes_accounts(std::string_view method, std::string_view path) {
  if (method != "POST" && method != "PUT" && method != "DELETE") return false;
  constexpr std::string_view kDocs = "/api/documents/";
  if (path == "/api/login" || path == "/api/logout" || path == "/api/institutions" ||
      path == "/api/users" || path == "/api/documents" || path == "/api/documents/" ||
      path.substr(0, 13) == "/api/invites/") {
    return true;
  }
  if (path.substr(0, kDocs.size()) != kDocs) return false;
  const std::string_view rest = path.substr(kDocs.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view sub = rest.substr(slash + 1);
  return sub == "members" || sub.substr(0, 8) == "members/" || sub == "invites";
}

bool is_slow_api(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  constexpr std::string_view kDocs = "/api/documents/";
  constexpr std::string_view kRestore = "/history/restore";
  const bool restore = path.size() > kDocs.size() + kRestore.size() &&
                       path.substr(0, kDocs.size()) == kDocs &&
                       path.substr(path.size() - kRestore.size()) == kRestore;
  constexpr std::string_view kInternal = "/internal/documents/";
  constexpr std::string_view kHandoff = "/handoff";
  const bool handoff = path.size() > kInternal.size() + kHandoff.size() &&
                       path.substr(0, kInternal.size()) == kInternal &&
                       path.substr(path.size() - kHandoff.size()) == kHandoff;
  return method == "POST" &&
         (path == "/api/login" || path == "/api/users" || path == "/api/documents" ||
          path == "/api/documents/" || restore || handoff);
}

bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed) {
  if (origin.empty()) return false;
  const std::string o = storage::ascii_lower(origin);
  if (!allowed.empty()) {
    for (const auto& a : allowed) {
      std::string_view want = a;
      while (!want.empty() && want.back() == '/') want.remove_suffix(1);
      if (o == storage::ascii_lower(want)) return true;
    }
    return false;
  }
  std::string_view rest;
  if (o.rfind("http://", 0) == 0) {
    rest = std::string_view(o).substr(7);
  } else if (o.rfind("https://", 0) == 0) {
    rest = std::string_view(o).substr(8);
  } else {
    return false;  // "null", other schemes
  }
  return !rest.empty() && !host.empty() && rest == storage::ascii_lower(host);
}

HttpAnswer json_error(unsigned status, std::string_view code, std::string_view message) {
  return json_answer(status, {{"error", {{"code", code}, {"message", message}}}});
}

std::optional<HttpAnswer> route_api(ApiContext& ctx, const ApiRequest& req) {
  const std::string_view path = req.target.substr(0, req.target.find('?'));
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (path == "/healthz") {
    if (!get) return not_allowed();
    // Unhealthy after a failed write (until a restart) and while the disk is below the
    // free-space reserve (until space is freed).
    const storage::Status writable = ctx.store.writable();
    if (writable.ok()) return json_answer(200, {{"status", "ok"}});
    return json_answer(503, {{"status", "unhealthy"}, {"error", writable.to_string()}});
  }
  if (path == "/metrics") {
    if (!get) return not_allowed();
    HttpAnswer a;
    a.content_type = "text/plain; version=0.0.4; charset=utf-8";
    const auto w = ctx.store.log().write_stats();
    const Metrics::StorageWrites writes{w.groups, w.writes};
    a.body = ctx.metrics.render(&writes);
    return a;
  }
  if (path == "/api" || path.substr(0, 5) == "/api/") return api(ctx, req, path);
  if (path.substr(0, 10) == "/internal/") return internal(ctx, req, path);
  return std::nullopt;
}

}  // namespace jointly::server
