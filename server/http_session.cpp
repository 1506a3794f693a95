// An HTTP session: see server/http_session.hpp.
#include "server/http_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <optional>

#include "server/http_api.hpp"
#include "server/log.hpp"
#include "server/static_files.hpp"
#include "server/websocket_session.hpp"

namespace jointly::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
// Password requests waiting for the slow pool at most; beyond, 429 at once.
constexpr std::uint64_t kMaxSlowQueued = 64;

template <class Name>  // http::field or the header's name
std::string header(const http::request<http::string_body>& req, Name name) {
  const auto v = req[name];
  return std::string(v.data(), v.size());
}

// The longest a request thread waits for a restore's revision to be durable.
constexpr std::chrono::seconds kRestoreWait{30};

// Runs a restore on the document's strand (DocumentHost) and waits for its answer. Called on a
// slow-pool thread (is_slow_api), never on an I/O thread or a strand.
protocol::Result<RestoreOutcome> restore_on_strand(ServerState& state, storage::DocumentId id,
                                                   const Caller& caller, std::uint64_t from,
                                                   std::optional<std::string> section) {
  using Outcome = protocol::Result<RestoreOutcome>;
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto answer = promise->get_future();
  const Peer peer{0, std::string(kRestoreClient), caller.user_id, caller.name, caller.institution};
  auto entry = state.host.acquire(id);
  state.host.run(entry, [promise, peer, from, section = std::move(section)](
                            DocumentAuthority* a, std::string_view error) mutable {
    if (!a) {
      promise->set_value(
          error == "unknown_document"
              ? protocol::make_error("not_found", "no such document")
              : protocol::make_error("storage_failed", "the document cannot be read now"));
      return;
    }
    a->restore(peer, from, std::move(section),
               [promise](Outcome outcome) { promise->set_value(std::move(outcome)); });
  });
  const bool ready = answer.wait_for(kRestoreWait) == std::future_status::ready;
  // The document stays loaded while the revision is in flight, whoever holds it.
  state.host.release(entry);
  if (!ready) {
    log::error("a restore did not complete in time", {{"doc", id}, {"from", from}});
    return protocol::make_error("storage_failed", "the restore did not complete in time");
  }
  return answer.get();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class Body>
void common_headers(http::response<Body>& res) {
  res.set(http::field::server, "jointly/0.1.0");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy", kContentSecurityPolicy);
  res.set("Referrer-Policy", "no-referrer");
}

}  // namespace

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)),
        state_(std::move(state)),
        slot_(std::make_unique<ConnectionSlot>(state_)) {
    state_->metrics.http_connections.add(1);
  }
  ~http_session() { state_->metrics.http_connections.sub(1); }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(state_->config.max_body_bytes);
    parser_->header_limit(kMaxHeaderBytes);
    stream_.expires_after(
        std::chrono::milliseconds(static_cast<long>(state_->config.handshake_timeout_s * 1000)));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::body_limit) {
      return send_answer(json_error(413, "too_large", "the request body is too large"), false);
    }
    if (ec == http::error::header_limit) {
      return send_answer(json_error(431, "headers_too_large", "the request headers are too large"),
                         false);
    }
    if (ec == beast::error::timeout) {
      log::debug("http request timed out", {});
      return do_close();
    }
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        return send_answer(json_error(400, "bad_request", "the request is not valid HTTP"), false);
      }
      return do_close();
    }
    try {
      handle();
    } catch (const std::exception& e) {
      log::error("handling an HTTP request failed", {{"error", e.what()}});
      send_answer(json_error(500, "internal", "the server failed; see its log"), false);
    }
  }

  void handle() {
    auto& req = parser_->get();
    const bool keep_alive = req.keep_alive();
    // RFC 9112 6.3: a Transfer-Encoding whose last coding is not chunked leaves the body's length
    // unknowable. Reading on would take the body for a next request (request smuggling), so the
    // request is refused and the connection closed.
    if (req.find(http::field::transfer_encoding) != req.end() && !req.chunked()) {
      return send_answer(json_error(400, "bad_request",
                                    "a Transfer-Encoding must end in chunked; the request is "
                                    "refused and the connection closed"),
                         false);
    }
    if (slot_->count_at_accept() > state_->config.max_connections) {
      return send_answer(json_error(503, "too_many_connections",
                                    "the server has too many open connections; try again later"),
                         false);
    }
    if (state_->stopping) {
      return send_answer(json_error(503, "shutting_down", "the server is shutting down"), false);
    }
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/ws") {
      if (!beast::websocket::is_upgrade(req)) {
        return send_answer(json_error(400, "not_websocket", "/ws takes a WebSocket upgrade"),
                           keep_alive);
      }
      auto who = authenticate(state_->accounts, header(req, http::field::cookie), now_ms(),
                              state_->accounts_catch_up);
      if (!who) {
        log::info("websocket without a session refused", {});
        return send_answer(json_error(401, "unauthenticated", "log in first"), false);
      }
      if (!origin_allowed(header(req, http::field::origin), header(req, http::field::host),
                          state_->config.allowed_origins)) {
        log::info("websocket origin refused", {});
        return send_answer(json_error(403, "origin_not_allowed",
                                      "this page's origin may not open a connection here"),
                           false);
      }
      stream_.expires_never();
      start_websocket_session(stream_.release_socket(), parser_->release(), state_,
                              std::move(slot_), std::move(*who));
      return;
    }
    if (path == "/api" || path.substr(0, 5) == "/api/" || path == "/healthz" ||
        path == "/metrics" || path.substr(0, 10) == "/internal/") {
      return serve_api(req, keep_alive);
    }
    serve_static(req.method(), target, keep_alive);
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // The request's fields the API reads, owned (a slow request is answered on another thread).
  struct OwnedRequest {
    std::string method, target, content_type, body, cookie, origin, host, address;
    std::string cluster_secret;
    bool secure = false;
    bool head = false;
    ApiRequest view() const {
      return ApiRequest{method, target, content_type, body,   cookie,
                        origin, host,   address,      secure, cluster_secret};
    }
  };

  OwnedRequest own(http::request<http::string_body>& req) {
    OwnedRequest o;
    o.method = std::string(req.method_string());
    o.target = std::string(req.target());
    o.content_type = header(req, http::field::content_type);
    o.body = std::move(req.body());
    o.cookie = header(req, http::field::cookie);
    o.origin = header(req, http::field::origin);
    o.host = header(req, http::field::host);
    o.cluster_secret = header(req, "X-Jointly-Cluster-Secret");
    o.head = req.method() == http::verb::head;
    // The client's address, and whether it came over TLS: X-Forwarded-For (its last entry,
    // the one the proxy added) and X-Forwarded-Proto only from a trusted proxy.
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    o.address = ec ? std::string("unknown") : peer.address().to_string();
    o.secure = state_->config.secure_cookies;
    const auto& trusted = state_->config.trusted_proxies;
    if (std::find(trusted.begin(), trusted.end(), o.address) != trusted.end()) {
      const std::string xff = header(req, "X-Forwarded-For");
      const auto comma = xff.rfind(',');
      const std::string_view last =
          trim(comma == std::string::npos ? std::string_view(xff)
                                          : std::string_view(xff).substr(comma + 1));
      if (!last.empty()) o.address = std::string(last);
      if (storage::ascii_lower(trim(header(req, "X-Forwarded-Proto"))) == "https") o.secure = true;
    }
    return o;
  }

  ApiContext api_context() const {
    return ApiContext{state_->store,
                      state_->accounts,
                      state_->metrics,
                      state_->limiter,
                      state_->config.allowed_origins,
                      std::chrono::seconds(std::llround(state_->config.session_ttl_hours * 3600)),
                      [state = state_](storage::DocumentId id, const Caller& caller,
                                       std::uint64_t from, std::optional<std::string> section) {
                        return restore_on_strand(*state, id, caller, from, std::move(section));
                      },
                      state_->cluster_secret,
                      state_->accounts_catch_up,
                      state_->config.clustered(),
                      state_->ensure_document,
                      state_->hand_off};
  }

  void serve_api(http::request<http::string_body>& req, bool keep_alive) {
    auto owned = std::make_shared<OwnedRequest>(own(req));
    if (!is_slow_api(owned->method, owned->target)) {
      auto ctx = api_context();
      auto api = route_api(ctx, owned->view());
      if (!api) api = json_error(404, "not_found", "no such API");
      if (owned->head) api->body.clear();
      return send_answer(std::move(*api), keep_alive);
    }
    // Password hashing and verification (argon2, tens of milliseconds), and the requests that
    // wait for durability (creating a document, a restore), run on the slow pool, never on an
    // I/O thread; a flood of them is refused, not queued without bound.
    if (state_->slow_queued.fetch_add(1) >= kMaxSlowQueued) {
      state_->slow_queued.fetch_sub(1);
      HttpAnswer a =
          json_error(429, "too_many_attempts", "too many slow requests at once; try again");
      a.headers.emplace_back("Retry-After", "1");
      return send_answer(std::move(a), keep_alive);
    }
    net::post(state_->slow_pool, [self = shared_from_this(), owned, keep_alive] {
      std::optional<HttpAnswer> api;
      try {
        auto ctx = self->api_context();
        api = route_api(ctx, owned->view());
      } catch (const std::exception& e) {
        log::error("handling an HTTP request failed", {{"error", e.what()}});
        api = json_error(500, "internal", "the server failed; see its log");
      }
      self->state_->slow_queued.fetch_sub(1);
      if (!api) api = json_error(404, "not_found", "no such API");
      net::post(self->stream_.get_executor(), [self, a = std::move(*api), keep_alive]() mutable {
        self->send_answer(std::move(a), keep_alive);
      });
    });
  }

  void serve_static(http::verb method, std::string_view target, bool keep_alive) {
    if (method != http::verb::get && method != http::verb::head) {
      return send_answer(json_error(405, "method_not_allowed", "only GET and HEAD serve files"),
                         keep_alive);
    }
    auto rel = resolve_static_target(target);
    if (!rel) {
      return send_answer(json_error(400, "bad_path", rel.error().message), keep_alive);
    }
    auto file = locate_static_file(state_->config.static_dir, *rel);
    if (!file) {
      if (*rel == "index.html") {
        return send_answer(json_error(404, "client_not_built",
                                      "the browser client is not built yet: build client-web "
                                      "(see README.md) or point --static at its dist folder"),
                           keep_alive);
      }
      return send_answer(json_error(404, "not_found", "no such file"), keep_alive);
    }
    beast::error_code ec;
    http::file_body::value_type body;
    body.open(file->c_str(), beast::file_mode::scan, ec);
    if (ec) return send_answer(json_error(404, "not_found", "no such file"), keep_alive);
    const auto size = body.size();
    const auto type = mime_type(*file);
    if (method == http::verb::head) {
      auto res = std::make_shared<http::response<http::empty_body>>(http::status::ok, 11);
      common_headers(*res);
      res->set(http::field::content_type, type);
      res->content_length(size);
      res->keep_alive(keep_alive);
      return write(res);
    }
    auto res = std::make_shared<http::response<http::file_body>>(
        std::piecewise_construct, std::make_tuple(std::move(body)),
        std::make_tuple(http::status::ok, 11));
    common_headers(*res);
    res->set(http::field::content_type, type);
    res->set(http::field::cache_control, "no-cache");
    res->content_length(size);
    res->keep_alive(keep_alive);
    write(res);
  }

  void send_answer(HttpAnswer a, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(a.status), 11);
    common_headers(*res);
    res->set(http::field::content_type, a.content_type);
    res->set(http::field::cache_control, "no-store");
    for (auto& [k, v] : a.headers) {
      // An answer's own policy replaces the app's (an HTML export's is stricter): one header.
      if (beast::iequals(k, "Content-Security-Policy")) res->erase(k);
      res->insert(k, v);
    }
    res->body() = std::move(a.body);
    res->prepare_payload();
    res->keep_alive(keep_alive);
    write(res);
  }

  template <class Response>
  void write(std::shared_ptr<Response> res) {
    const bool close = !res->keep_alive();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, close](beast::error_code ec, std::size_t) {
                        self->on_write(close, ec);
                      });
  }

  void on_write(bool close, beast::error_code ec) {
    if (ec) return do_close();
    if (close) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    // Linger: read and drop what the client is still sending (a refused body, say), for at most
    // a second and 8 MiB, so that closing does not reset the connection before the client has
    // read the answer.
    stream_.expires_after(std::chrono::seconds(1));
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (std::size_t{8} << 20)) return;
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<ServerState> state_;
  std::unique_ptr<ConnectionSlot> slot_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 8192> scratch_;
  std::size_t drained_ = 0;
};

void start_http_session(tcp::socket socket, std::shared_ptr<ServerState> state) {
  std::make_shared<http_session>(std::move(socket), std::move(state))->run();
}

}  // namespace jointly::server
