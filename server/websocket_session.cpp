// A WebSocket session: see server/websocket_session.hpp.
#include "server/websocket_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <string>

#include "protocol/messages.hpp"
#include "server/http_api.hpp"
#include "server/log.hpp"
#include "server/write_behind.hpp"

namespace jointly::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// The document named by the upgrade's target, /ws?doc=<id>: a document id in canonical decimal
// (no sign, no leading zero, 1..2^53-1, so that the proxy's hash and the server agree on it), or
// 0 when the query has no such `doc`.
std::uint64_t target_document(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return 0;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.substr(0, 4) != "doc=") continue;
    const std::string_view digits = param.substr(4);
    if (digits.empty() || digits.size() > 16 || digits[0] == '0') return 0;
    std::uint64_t id = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return 0;
      id = id * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return id <= (std::uint64_t{1} << 53) - 1 ? id : 0;
  }
  return 0;
}

}  // namespace

class websocket_session : public std::enable_shared_from_this<websocket_session>,
                          public Subscriber {
 public:
  websocket_session(tcp::socket&& socket, std::shared_ptr<ServerState> state,
                    std::unique_ptr<ConnectionSlot> slot, Authenticated who)
      : ws_(kWriteBehindCapacity, std::move(socket)),
        state_(std::move(state)),
        slot_(std::move(slot)),
        id_(state_->next_connection.fetch_add(1)),
        who_(std::move(who)),
        seen_sessions_gen_(state_->accounts.sessions_generation()),
        tokens_(static_cast<double>(state_->config.message_burst)),
        last_refill_(std::chrono::steady_clock::now()),
        message_timer_(ws_.get_executor()) {
    state_->metrics.connections.add(1);
  }

  ~websocket_session() override {
    {
      std::lock_guard lock(state_->mu);
      state_->sessions.erase(id_);  // also when the handshake failed and finish() never ran
    }
    state_->metrics.connections.sub(1);
    state_->metrics.outbound_queue_bytes.sub(static_cast<std::int64_t>(queued_bytes_));
  }

  void run(http::request<http::string_body> req) {
    const Config& c = state_->config;
    target_doc_ = target_document(std::string_view(req.target().data(), req.target().size()));
    beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts take over
    websocket::stream_base::timeout t{};
    t.handshake_timeout =
        std::chrono::milliseconds(static_cast<long>(c.handshake_timeout_s * 1000));
    t.idle_timeout = std::chrono::milliseconds(static_cast<long>(c.idle_timeout_s * 1000));
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(c.max_message_bytes);
    ws_.auto_fragment(false);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "jointly/0.1.0"); }));
    {
      std::lock_guard lock(state_->mu);
      state_->sessions[id_] = weak_from_this();
    }
    ws_.async_accept(req,
                     beast::bind_front_handler(&websocket_session::on_accept, shared_from_this()));
  }

  // Subscriber: thread-safe, posts onto this session's strand.
  void send(std::shared_ptr<const std::string> message) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), m = std::move(message)]() mutable {
      self->enqueue(std::move(m));
    });
  }
  void send_all(storage::DocumentId doc,
                std::vector<std::shared_ptr<const std::string>> messages) override {
    net::post(
        ws_.get_executor(), [self = shared_from_this(), doc, ms = std::move(messages)]() mutable {
          if (self->batch_ && ms.size() > 1) {
            // One frame for the lot: one write through Beast instead of one per message.
            self->enqueue(std::make_shared<const std::string>(protocol::encode_batch(doc, ms)));
            return;
          }
          for (auto& m : ms) self->enqueue(std::move(m));
        });
  }
  void close(std::uint16_t code, std::string reason) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), code, r = std::move(reason)] {
      self->do_close(code, r);
    });
  }
  void unsubscribed(storage::DocumentId doc) override {
    net::post(ws_.get_executor(), [self = shared_from_this(), doc] {
      auto it = self->docs_.find(doc);
      if (it == self->docs_.end()) return;
      auto e = it->second;
      self->docs_.erase(it);
      self->state_->host.release(e);
    });
  }

  // Any thread: has the session's account check run on its strand when its session may have
  // ended (sessions_gen moved since the last check) or has expired.
  void check_session(std::uint64_t sessions_gen, std::int64_t now_ms) {
    if (sessions_gen == seen_sessions_gen_.load() && now_ms < who_.expires_ms) return;
    net::post(ws_.get_executor(), [self = shared_from_this(), sessions_gen, now_ms] {
      self->seen_sessions_gen_.store(sessions_gen);
      if (self->closing_ || self->finished_) return;
      bool ended = now_ms >= self->who_.expires_ms;
      if (!ended) {
        auto s = self->state_->accounts.session(self->who_.token_hash);
        ended = !s.ok() && s.status().is_not_found();
      }
      if (!ended) return;
      log::info("session ended; closing its websocket", {{"conn", self->id_}});
      self->do_close(websocket::close_code::policy_error, "session_ended");
    });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return fail(ec, "accept");
    log::debug("websocket open", {{"conn", id_}});
    if (state_->stopping) return do_close(websocket::close_code::going_away, "shutting down");
    do_read();
  }

  // Reads what has arrived of the current message (0: as much as Beast suggests; the message
  // size limit still holds), so that a message's first bytes start its deadline.
  void do_read() {
    ws_.async_read_some(buffer_, 0,
                        beast::bind_front_handler(&websocket_session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return finish(ec);
    if (closing_) {  // draining until the close handshake completes
      buffer_.consume(buffer_.size());
      return do_read();
    }
    if (!ws_.is_message_done()) {  // part of a message: more to come, within its deadline
      if (!in_message_) start_message_deadline();
      return do_read();
    }
    if (in_message_) {  // it came in time
      in_message_ = false;
      message_timer_.cancel();
    }
    if (!ws_.got_text()) {
      buffer_.consume(buffer_.size());
      log::info("binary frame; closing", {{"conn", id_}});
      do_close(websocket::close_code::unknown_data, "binary frames are not accepted");
      return do_read();
    }
    const std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    // A large message (up to --max-message-bytes) leaves the buffer that large: not kept for a
    // connection that goes back to typing.
    if (buffer_.capacity() > kKeptReadBuffer) buffer_.shrink_to_fit();
    try {
      if (admit()) handle(text);
    } catch (const std::exception& e) {
      log::error("handling a message failed", {{"conn", id_}, {"error", e.what()}});
      error_to_client(protocol::make_error("internal", "the server failed; see its log"), {});
    }
    do_read();
  }

  // ---- The per-message deadline ----
  // Beast's idle timeout counts bytes, so a peer that sends one byte of a frame every few
  // seconds would hold its connection (and up to --max-message-bytes of buffer) forever. A
  // message must arrive whole within --message-timeout of its first payload bytes, else the
  // connection is closed with 1008 (RFC 6455 7.4.1: a message that violates the server's
  // policy) and counted in the metrics as a rejected `message_timeout`. A frame header is at
  // most 14 bytes, and its bytes are bounded by the idle timeout.

  void start_message_deadline() {
    in_message_ = true;
    const std::uint64_t gen = ++message_gen_;
    message_timer_.expires_after(
        std::chrono::milliseconds(static_cast<long>(state_->config.message_timeout_s * 1000)));
    message_timer_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      // A later message's deadline, or none: this one's message arrived in time.
      if (ec || !self->in_message_ || gen != self->message_gen_ || self->finished_) return;
      self->on_message_timeout();
    });
  }

  void on_message_timeout() {
    log::info("a message took longer than the message timeout; closing", {{"conn", id_}});
    state_->metrics.rejected.inc("message_timeout");
    do_close(websocket::close_code::policy_error, "message_timeout");
    // A peer still trickling its message is not reading a closing handshake either: after a
    // moment for the close frame to leave, the TCP connection goes.
    message_timer_.expires_after(kCloseGrace);
    message_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_) return;
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->ws_).close();
    });
  }

  // The rate limit: a token bucket of message_burst tokens refilled at messages_per_second.
  // False: the message is refused (and answered, or the connection closed, here).
  bool admit() {
    const Config& c = state_->config;
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    tokens_ = std::min(static_cast<double>(c.message_burst),
                       tokens_ + dt * static_cast<double>(c.messages_per_second));
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return true;
    }
    if (now - window_start_ > std::chrono::seconds(1)) {
      window_start_ = now;
      refused_in_window_ = 0;
    }
    if (++refused_in_window_ > c.message_burst) {
      log::warn("flooding beyond the rate limit; closing", {{"conn", id_}});
      do_close(websocket::close_code::policy_error, "too many messages");
      return false;
    }
    error_to_client(protocol::make_error("rate_limited",
                                         "more than " + std::to_string(c.messages_per_second) +
                                             " messages per second; this one was not processed"),
                    {});
    return false;
  }

  void error_to_client(const protocol::Error& e, const protocol::MessageContext& ctx) {
    state_->metrics.rejected.inc(e.code);
    enqueue(std::make_shared<const std::string>(protocol::encode_error(e, ctx)));
  }

  void handle(const std::string& text) {
    protocol::MessageContext ctx;
    auto parsed = protocol::parse_client_message(text, &ctx);
    if (!parsed) return error_to_client(parsed.error(), ctx);
    std::visit([&](auto& m) { on_message(m, ctx); }, *parsed);
  }

  void on_message(protocol::HelloMessage& m, const protocol::MessageContext& ctx) {
    if (peer_) {
      return error_to_client(
          protocol::make_error("duplicate_hello", "hello was already said on this connection"),
          ctx);
    }
    // Who is on the connection comes from its session's account, never from the client.
    auto p = std::make_shared<Peer>();
    p->connection = id_;
    p->client = std::move(m.client);
    batch_ = m.batch;
    p->user = who_.caller.user_id;
    p->name = who_.caller.name;
    p->institution = who_.caller.institution;
    peer_ = std::move(p);
    const Config& c = state_->config;
    protocol::Limits limits{c.max_message_bytes, c.max_documents_per_connection,
                            c.messages_per_second, c.message_burst};
    enqueue(std::make_shared<const std::string>(protocol::encode_welcome(
        std::to_string(id_), "jointly/0.1.0", limits, user_json(who_.caller))));
  }

  bool need_hello(const protocol::MessageContext& ctx) {
    if (peer_) return false;
    error_to_client(protocol::make_error("hello_required", "say hello first"), ctx);
    return true;
  }

  // The entry of an open document, or nullptr after answering not_open.
  std::shared_ptr<DocumentHost::Entry> open_entry(std::uint64_t doc,
                                                  const protocol::MessageContext& ctx) {
    auto it = docs_.find(doc);
    if (it != docs_.end()) return it->second;
    error_to_client(protocol::make_error("not_open", "document " + std::to_string(doc) +
                                                         " is not open on this connection"),
                    ctx);
    return nullptr;
  }

  std::shared_ptr<Subscriber> self_subscriber() { return shared_from_this(); }

  // Runs f(authority) on the document's strand; a failed load answers with its error code.
  template <class F>
  void on_document(const std::shared_ptr<DocumentHost::Entry>& e,
                   const protocol::MessageContext& ctx, F f) {
    state_->host.run(e, [self = shared_from_this(), ctx, f = std::move(f)](
                            DocumentAuthority* a, std::string_view error) mutable {
      if (a) return f(*a);
      const std::string code(error);
      std::string message = code == "unknown_document" ? "there is no such document"
                                                       : "the document cannot be read now";
      self->state_->metrics.rejected.inc(code);
      self->send(std::make_shared<const std::string>(
          protocol::encode_error(protocol::make_error(code, message), ctx)));
      // In a cluster the socket is the document's: reconnecting finds where it lives now.
      if (code == "document_moved") self->close(1001, "document moved");
    });
  }

  void on_message(protocol::OpenMessage& m, const protocol::MessageContext& ctx) {
    if (need_hello(ctx)) return;
    // A node of a cluster holds only some documents; the proxy chose this node for the document
    // in the URL, so that is the only one this socket may open.
    if (!state_->config.node_id.empty() && m.doc != target_doc_) {
      return error_to_client(
          protocol::make_error(
              "wrong_document",
              target_doc_ == 0
                  ? "in a cluster a connection opens only the document named in "
                    "its URL, /ws?doc=<id>, and this one names none"
                  : "this connection was made for document " + std::to_string(target_doc_) +
                        " (/ws?doc=" + std::to_string(target_doc_) + "); open document " +
                        std::to_string(m.doc) + " on a connection of its own"),
          ctx);
    }
    // A non-member is refused here, before the document is even loaded, for every id, existing
    // or not (membership cannot be probed). The authority checks again when the open arrives.
    auto role = state_->accounts.role(m.doc, who_.caller.user_id);
    if (role.ok() && !*role && state_->accounts_catch_up && state_->accounts_catch_up()) {
      role = state_->accounts.role(m.doc, who_.caller.user_id);  // just made on the primary
    }
    if (!role.ok()) {
      log::error("role lookup failed", {{"conn", id_}, {"error", role.status().to_string()}});
      return error_to_client(
          protocol::make_error("storage_failed", "the document's members cannot be read now"), ctx);
    }
    if (!*role) {
      return error_to_client(
          protocol::make_error("forbidden", "you are not a member of document " +
                                                std::to_string(m.doc) + ", so you may not open it"),
          ctx);
    }
    auto it = docs_.find(m.doc);
    std::shared_ptr<DocumentHost::Entry> e;
    if (it != docs_.end()) {
      e = it->second;
    } else {
      if (docs_.size() >= state_->config.max_documents_per_connection) {
        return error_to_client(
            protocol::make_error("too_many_documents", "this connection already has " +
                                                           std::to_string(docs_.size()) +
                                                           " documents open, the most it may"),
            ctx);
      }
      e = state_->host.acquire(m.doc);
      docs_[m.doc] = e;
    }
    auto peer = peer_;
    auto rev = m.rev;
    auto self = shared_from_this();
    state_->host.run(e, [self, peer, rev, e, ctx](DocumentAuthority* a, std::string_view error) {
      if (a) return a->open(*peer, self, rev);
      const std::string code(error);
      self->state_->metrics.rejected.inc(code);
      self->send(std::make_shared<const std::string>(protocol::encode_error(
          protocol::make_error(code, code == "unknown_document"
                                         ? "there is no such document"
                                         : "the document cannot be read now"),
          ctx)));
      net::post(self->ws_.get_executor(), [self, e] { self->forget(e); });
      if (code == "document_moved") self->close(1001, "document moved");
    });
  }

  // Drops a document whose load failed (on the session's strand).
  void forget(const std::shared_ptr<DocumentHost::Entry>& e) {
    auto it = docs_.find(e->id);
    if (it == docs_.end() || it->second != e) return;
    docs_.erase(it);
    state_->host.release(e);
  }

  void on_message(protocol::SubmitMessage& m, const protocol::MessageContext& ctx) {
    if (need_hello(ctx)) return;
    if (m.client != peer_->client) {
      return error_to_client(
          protocol::make_error("client_mismatch",
                               "\"client\" is not the client id this connection said hello with"),
          ctx);
    }
    auto e = open_entry(m.doc, ctx);
    if (!e) return;
    auto peer = peer_;
    auto self = self_subscriber();
    on_document(e, ctx, [peer, self, m = std::move(m)](DocumentAuthority& a) mutable {
      a.submit(*peer, self, std::move(m));
    });
  }

  void on_message(protocol::PresenceMessage& m, const protocol::MessageContext& ctx) {
    if (need_hello(ctx)) return;
    auto e = open_entry(m.doc, ctx);
    if (!e) return;
    auto peer = peer_;
    auto self = self_subscriber();
    on_document(e, ctx, [peer, self, m](DocumentAuthority& a) { a.presence(*peer, self, m); });
  }

  void on_message(protocol::LeaveMessage& m, const protocol::MessageContext& ctx) {
    if (need_hello(ctx)) return;
    auto e = open_entry(m.doc, ctx);
    if (!e) return;
    docs_.erase(m.doc);
    const std::uint64_t conn = id_;
    state_->host.run_loaded(e, [conn](DocumentAuthority& a) { a.leave(conn); });
    state_->host.release(e);
    enqueue(std::make_shared<const std::string>(protocol::encode_left(m.doc)));
  }

  // ---- Writing ------------------------------------------------------------------------------

  void enqueue(std::shared_ptr<const std::string> m) {
    if (closing_ || finished_) return;
    const std::size_t n = m->size();
    // The limit covers the queue and what the write-behind layer holds for the socket.
    const std::size_t held = queued_bytes_ + ws_.next_layer().buffered_bytes();
    if (held > 0 && held + n > state_->config.max_outbound_bytes) {
      // A slow consumer: never buffered without bound. Its socket is not draining, so no close
      // frame could get through either: drop the connection.
      log::warn("slow consumer; closing",
                {{"conn", id_}, {"queued_bytes", held}, {"messages", queue_.size()}});
      state_->metrics.closed.inc("1008");
      closing_ = true;
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(ws_).close();
      return;
    }
    queued_bytes_ += n;
    state_->metrics.outbound_queue_bytes.add(static_cast<std::int64_t>(n));
    queue_.push_back(std::move(m));
    if (queue_.size() == 1 && !writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()),
                    beast::bind_front_handler(&websocket_session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (!queue_.empty()) {
      const std::size_t n = queue_.front()->size();
      queued_bytes_ -= n;
      state_->metrics.outbound_queue_bytes.sub(static_cast<std::int64_t>(n));
      queue_.pop_front();
    }
    if (ec) return fail(ec, "write");
    if (pending_close_) {
      const auto reason = *pending_close_;
      pending_close_.reset();
      return start_close(reason);
    }
    if (!queue_.empty() && !closing_) do_write();
  }

  void do_close(std::uint16_t code, const std::string& reason) {
    if (closing_ || finished_) return;
    closing_ = true;
    state_->metrics.closed.inc(std::to_string(code));
    websocket::close_reason r(static_cast<websocket::close_code>(code), reason);
    // Drop what is queued but not being written; the close frame goes after the current write.
    while (queue_.size() > (writing_ ? 1 : 0)) {
      const std::size_t n = queue_.back()->size();
      queued_bytes_ -= n;
      state_->metrics.outbound_queue_bytes.sub(static_cast<std::int64_t>(n));
      queue_.pop_back();
    }
    if (writing_) {
      pending_close_ = r;
    } else {
      start_close(r);
    }
  }

  void start_close(const websocket::close_reason& r) {
    ws_.async_close(r, [self = shared_from_this()](beast::error_code ec) {
      if (ec) self->fail(ec, "close");
    });
  }

  // ---- Ending -------------------------------------------------------------------------------

  void fail(beast::error_code ec, const char* what) {
    // Quiet on the normal ends of a connection.
    if (ec == net::error::operation_aborted || ec == websocket::error::closed ||
        ec == net::error::eof || ec == net::error::connection_reset ||
        ec == beast::error::timeout) {
      return;
    }
    log::debug("websocket error", {{"conn", id_}, {"op", what}, {"error", ec.message()}});
  }

  // The read loop ended: the connection is over. Leave every document.
  void finish(beast::error_code ec) {
    if (finished_) return;
    finished_ = true;
    message_timer_.cancel();  // its handler holds the session (and its socket) alive
    if (ec == websocket::error::message_too_big) {
      state_->metrics.closed.inc("1009");
      log::info("message too big; closed", {{"conn", id_}});
    } else if (ec == beast::error::timeout) {
      log::info("websocket timed out", {{"conn", id_}});
    } else {
      fail(ec, "read");
    }
    const std::uint64_t conn = id_;
    for (auto& [doc, e] : docs_) {
      state_->host.run_loaded(e, [conn](DocumentAuthority& a) { a.leave(conn); });
      state_->host.release(e);
    }
    docs_.clear();
    {
      std::lock_guard lock(state_->mu);
      state_->sessions.erase(id_);
    }
    log::debug("websocket closed", {{"conn", id_}});
  }

 public:
  void shutdown() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (!self->finished_) self->do_close(websocket::close_code::going_away, "server shutdown");
    });
  }

 private:
  // Beast's frames go through the write-behind layer, which sends the frames written in one
  // executor round in one write (see server/write_behind.hpp).
  static constexpr std::size_t kWriteBehindCapacity = 64 * 1024;
  // The read buffer's capacity kept between messages; more is released after the message.
  static constexpr std::size_t kKeptReadBuffer = 64 * 1024;
  websocket::stream<WriteBehindStream<beast::tcp_stream>> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<ServerState> state_;
  std::unique_ptr<ConnectionSlot> slot_;
  const std::uint64_t id_;
  const Authenticated who_;       // the session's account; its token hash and expiry
  std::uint64_t target_doc_ = 0;  // the doc of /ws?doc=<id>; 0: none (see target_document)
  std::atomic<std::uint64_t> seen_sessions_gen_;
  std::shared_ptr<const Peer> peer_;
  bool batch_ = false;  // its hello asked for `batch` messages
  std::map<std::uint64_t, std::shared_ptr<DocumentHost::Entry>> docs_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
  std::optional<websocket::close_reason> pending_close_;
  double tokens_;
  std::chrono::steady_clock::time_point last_refill_;
  std::chrono::steady_clock::time_point window_start_{};
  std::uint64_t refused_in_window_ = 0;
  // The per-message deadline: armed while part of a message has arrived (in_message_); its
  // generation tells a stale expiry from the current message's.
  static constexpr std::chrono::milliseconds kCloseGrace{500};
  net::steady_timer message_timer_;
  bool in_message_ = false;
  std::uint64_t message_gen_ = 0;
};

void start_websocket_session(tcp::socket socket, http::request<http::string_body> req,
                             std::shared_ptr<ServerState> state,
                             std::unique_ptr<ConnectionSlot> slot, Authenticated who) {
  std::make_shared<websocket_session>(std::move(socket), std::move(state), std::move(slot),
                                      std::move(who))
      ->run(std::move(req));
}

void check_websocket_sessions(ServerState& state) {
  const std::uint64_t gen = state.accounts.sessions_generation();
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  std::vector<std::shared_ptr<websocket_session>> sessions;
  {
    std::lock_guard lock(state.mu);
    for (auto& [id, w] : state.sessions) {
      if (auto s = w.lock()) sessions.push_back(std::move(s));
    }
  }
  for (auto& s : sessions) s->check_session(gen, now);
}

void shutdown_websocket_sessions(ServerState& state) {
  std::vector<std::shared_ptr<websocket_session>> sessions;
  {
    std::lock_guard lock(state.mu);
    for (auto& [id, w] : state.sessions) {
      if (auto s = w.lock()) sessions.push_back(std::move(s));
    }
  }
  for (auto& s : sessions) s->shutdown();
}

}  // namespace jointly::server
