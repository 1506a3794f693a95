// The HTTP API without sockets (protocol/PROTOCOL.md, "HTTP API" and "Accounts and access"):
// login, logout, me, institutions, users, documents (member-only), members, invites, a
// document's history (server/history_api.hpp, for members; its restore through
// ApiContext::restore), its course checks and course description (server/course_checks.hpp),
// GET /healthz and GET /metrics, and the cluster's /internal/* routes (PROTOCOL.md, "Cluster
// internals": the accounts change feed and snapshot; only with the cluster secret).
// http_session turns an HttpAnswer into a Beast response; tests call route_api directly.
//
// Every POST, PUT and DELETE needs an allowed Origin (a missing one is refused); every /api/*
// request but POST /api/login needs a session (the jointly_session cookie), whose expiry is
// checked at every lookup. Login checks the rate limit before it verifies the password (argon2,
// tens of milliseconds: http_session runs requests for which is_slow_api() holds off the I/O
// threads, like creating a document and restoring from history, which wait for durability).
// No token, cookie, password or hash is ever logged.
//
// Thread-safety: functions may be called from any thread (Store, Accounts, Metrics and
// LoginLimiter are thread-safe). Creating a document blocks until it is durable; a restore
// blocks until its revision is (both are is_slow_api()).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/access.hpp"
#include "server/auth.hpp"
#include "server/document_authority.hpp"
#include "server/metrics.hpp"
#include "storage/accounts.hpp"
#include "storage/store.hpp"

namespace jointly::server {

struct HttpAnswer {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location, ...)
};

// {"error":{"code","message"}} with this status.
HttpAnswer json_error(unsigned status, std::string_view code, std::string_view message);

inline constexpr std::size_t kMaxTitleBytes = 200;
inline constexpr std::int64_t kInviteLifetimeMs = 7LL * 24 * 3600 * 1000;

// Restores a document from its history through the document's authority
// (DocumentAuthority::restore, on its strand) and waits for the answer: the server's posts to
// the document's strand and blocks its caller (a slow-pool thread, never an I/O thread) until
// the revision is durable; tests may call an authority directly.
using Restorer = std::function<protocol::Result<RestoreOutcome>(
    storage::DocumentId id, const Caller& caller, std::uint64_t from,
    std::optional<std::string> section)>;

// What the API works on.
struct ApiContext {
  storage::Store& store;
  storage::Accounts& accounts;
  const Metrics& metrics;
  auth::LoginLimiter& limiter;
  std::vector<std::string> allowed_origins;  // --allowed-origin
  std::chrono::seconds session_ttl{std::chrono::hours(168)};
  Restorer restore;  // unset: POST .../history/restore answers 503 unavailable
  // Scale-out (deploy/README.md "Scale-out"). Empty: /internal/* answers 403 (not in a cluster).
  std::string cluster_secret;
  // A replica's one synchronous pull from the accounts primary (server/replication.hpp), tried
  // before an unknown session or document is refused. Unset: none (the primary, a single node).
  std::function<bool()> catch_up;
  // In a cluster (--accounts-primary or --peers): POST /api/documents registers a random id in
  // the accounts' document registry, and the node that owns a registered document builds it on
  // first access (materialise_document).
  bool cluster = false;
  // In a cluster: whether this node can serve a document now, without waiting (it runs on an
  // I/O thread): ok; not_found when no node has it; busy when this node's copy is being
  // brought (from a peer by hand-off, or built from the registry) in the background: the
  // document's routes answer 503 document_moved with Retry-After. Unset: none needed.
  std::function<storage::Status(storage::DocumentId)> ensure_document;
  // In a cluster: hands this node's copy of a document off (DocumentHost::hand_off) and waits;
  // unset: POST /internal/documents/:id/handoff answers 503.
  std::function<storage::Status(storage::DocumentId)> hand_off;
};

// The hand-off answer's body (PROTOCOL.md, "Cluster internals"): a document's metadata, its
// revision-0 document unless have is given, and its revisions after have (all when absent).
storage::Result<nlohmann::json> export_document(const storage::Store& store, storage::DocumentId id,
                                                std::optional<std::uint64_t> have);

// One request, as http_session read it. Headers absent are empty.
struct ApiRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // the raw request target
  std::string_view content_type;
  std::string_view body;
  std::string_view cookie;  // the Cookie header
  std::string_view origin;  // the Origin header
  std::string_view host;    // the Host header
  std::string address;      // the client's address (X-Forwarded-For from a trusted proxy)
  bool secure = false;      // came over TLS (--secure-cookies, or a trusted proxy said https)
  std::string_view cluster_secret;  // the X-Jointly-Cluster-Secret header (/internal/*)
};

// A valid session: who, and which session (for closing its WebSockets when it ends).
struct Authenticated {
  Caller caller;
  std::string token_hash;
  std::int64_t expires_ms = 0;
};

// The session the Cookie header names, if it exists, has not expired and its user exists. An
// expired session is deleted (on the primary; a replica leaves that to the primary's change).
// A session not found is looked for once more after catch_up() when it is set (a replica's
// read-your-writes after a login on the primary). nullopt also when storage fails (logged).
std::optional<Authenticated> authenticate(storage::Accounts& accounts, std::string_view cookie,
                                          std::int64_t now_ms,
                                          const std::function<bool()>& catch_up = {});

// PROTOCOL.md's USER object; "admin" only when with_admin.
nlohmann::json user_json(const Caller& c, bool with_admin = true);
// The Caller for a stored user (its institution read too). Errors: storage's.
storage::Result<Caller> caller_of(const storage::Accounts& accounts, const storage::User& u);

// A request that may take long: verify or hash a password (tens of milliseconds), wait for a
// new document to be durable (POST /api/documents) or for a restore's revision (POST
// /api/documents/:id/history/restore), or hand a document off (POST
// /internal/documents/:id/handoff). Run it off the I/O threads.
bool is_slow_api(std::string_view method, std::string_view target);

// Makes sure the store holds document id: when it has none but the registry (after one
// catch_up, when set) has the id, creates it from the record's template and title under that
// id. not_found when neither has it; the store's errors.
storage::Status materialise_document(storage::Store& store, storage::Accounts& accounts,
                                     storage::DocumentId id, const std::function<bool()>& catch_up);

// True when the request changes accounts, sessions, memberships, invites or the document
// registry: the routes HAProxy sends to the accounts primary, and a replica refuses with 421
// not_primary.
bool changes_accounts(std::string_view method, std::string_view path);

// Answers an API, health or metrics request; nothing when the path is none of those (it is then
// a static file).
std::optional<HttpAnswer> route_api(ApiContext& ctx, const ApiRequest& req);

// The Origin check (PROTOCOL.md, "The handshake" and "Accounts and access"). origin: the
// Origin header, empty when absent (refused); host: the Host header. With allowed origins,
// origin must equal one of them (without case; a configured trailing "/" is ignored); without,
// its host[:port] after http:// or https:// must equal host (without case). "null", other
// schemes, paths, and anything after the host are refused.
bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed);

}  // namespace jointly::server
