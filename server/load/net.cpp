// The only translation unit of jointly-load with Boost.Beast and Asio (see net.hpp).
#include "server/load/net.hpp"

#include <chrono>
#include <deque>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace jointly::load {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using protocol::make_error;

// ---- IoPool ------------------------------------------------------------------------------------

struct IoPool::Impl {
  std::vector<std::unique_ptr<net::io_context>> loops;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
};

IoPool::IoPool(unsigned threads) : impl_(std::make_unique<Impl>()) {
  if (threads == 0) threads = 1;
  for (unsigned i = 0; i < threads; ++i) {
    impl_->loops.push_back(std::make_unique<net::io_context>(1));
    impl_->guards.push_back(net::make_work_guard(*impl_->loops.back()));
  }
  for (unsigned i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([loop = impl_->loops[i].get()] { loop->run(); });
  }
}

IoPool::~IoPool() {
  for (auto& g : impl_->guards) g.reset();
  for (auto& l : impl_->loops) l->stop();
  for (auto& t : impl_->threads) t.join();
}

unsigned IoPool::size() const { return static_cast<unsigned>(impl_->loops.size()); }

// ---- WsConnection ------------------------------------------------------------------------------

namespace {

protocol::Result<tcp::endpoint> make_endpoint(const Endpoint& e) {
  boost::system::error_code ec;
  auto address = net::ip::make_address(e.host, ec);
  if (ec) return make_error("connect_failed", "not an IP address: " + e.host);
  return tcp::endpoint(address, e.port);
}

}  // namespace

struct WsConnection::Impl : std::enable_shared_from_this<Impl> {
  Impl(net::io_context& loop, tcp::socket socket) : loop(loop), ws(std::move(socket)) {}

  net::io_context& loop;
  websocket::stream<tcp::socket> ws;
  beast::flat_buffer in;
  std::deque<std::string> out;
  bool writing = false;
  bool ended = false;  // the read loop has finished
  bool closing = false;
  OnMessage on_message;
  OnClosed on_closed;
  std::promise<void> done;

  void read() {
    ws.async_read(in, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->end(ec.message());
        return;
      }
      if (!self->closing && self->on_message) {
        const auto data = self->in.cdata();
        self->on_message(std::string_view(static_cast<const char*>(data.data()), data.size()));
      }
      self->in.consume(self->in.size());
      self->read();
    });
  }

  void write() {
    writing = true;
    ws.async_write(net::buffer(out.front()),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     self->out.pop_front();
                     if (ec) {
                       self->writing = false;
                       return;  // the read side reports the end of the connection
                     }
                     if (self->out.empty()) {
                       self->writing = false;
                     } else {
                       self->write();
                     }
                   });
  }

  void end(const std::string& why) {
    if (ended) return;
    ended = true;
    if (!closing && on_closed) on_closed(why);
    on_message = nullptr;
    on_closed = nullptr;
    done.set_value();
  }
};

WsConnection::WsConnection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

protocol::Result<std::unique_ptr<WsConnection>> WsConnection::connect(
    IoPool& pool, unsigned shard, const Endpoint& endpoint, const std::string& ws_target,
    const std::string& cookie, OnMessage on_message, OnClosed on_closed) {
  auto target = make_endpoint(endpoint);
  if (!target.ok()) return target.error();
  auto& loop = *pool.impl_->loops[shard % pool.impl_->loops.size()];
  tcp::socket socket(loop);
  boost::system::error_code ec;
  socket.connect(*target, ec);
  if (ec) {
    return make_error("connect_failed", "connect to " + endpoint.host + ":" +
                                            std::to_string(endpoint.port) + ": " + ec.message());
  }
  socket.set_option(tcp::no_delay(true), ec);
  auto impl = std::make_shared<Impl>(loop, std::move(socket));
  const std::string origin = endpoint.origin();
  impl->ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    req.set(http::field::origin, origin);
    if (!cookie.empty()) req.set(http::field::cookie, cookie);
    req.set(http::field::user_agent, "jointly-load");
  }));
  websocket::response_type response;
  const std::string host = endpoint.host + ":" + std::to_string(endpoint.port);
  impl->ws.handshake(response, host, ws_target, ec);
  if (ec) {
    std::string why = "WebSocket upgrade: " + ec.message();
    if (response.result_int() != 0) {
      why += " (HTTP " + std::to_string(response.result_int()) + " " + response.body() + ")";
    }
    return make_error("handshake_failed", why);
  }
  impl->ws.text(true);
  impl->ws.auto_fragment(false);
  impl->on_message = std::move(on_message);
  impl->on_closed = std::move(on_closed);
  net::post(loop, [impl] { impl->read(); });
  return std::unique_ptr<WsConnection>(new WsConnection(std::move(impl)));
}

WsConnection::~WsConnection() {
  if (!impl_) return;
  net::post(impl_->loop, [impl = impl_] {
    impl->closing = true;
    impl->on_message = nullptr;
    impl->on_closed = nullptr;
    beast::error_code ec;
    beast::get_lowest_layer(impl->ws).close(ec);
  });
}

void WsConnection::post(std::function<void()> f) { net::post(impl_->loop, std::move(f)); }

void WsConnection::send(std::string text) {
  if (impl_->ended || impl_->closing) return;
  impl_->out.push_back(std::move(text));
  if (!impl_->writing) impl_->write();
}

void WsConnection::close() {
  auto impl = impl_;
  auto finished = impl->done.get_future();
  net::post(impl->loop, [impl] {
    impl->closing = true;
    if (impl->ended) return;
    impl->ws.async_close(websocket::close_code::normal, [impl](beast::error_code ec) {
      if (ec) {
        beast::error_code ignored;
        beast::get_lowest_layer(impl->ws).close(ignored);
      }
    });
  });
  if (finished.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    net::post(impl->loop, [impl] {
      beast::error_code ignored;
      beast::get_lowest_layer(impl->ws).close(ignored);
    });
    finished.wait();
  }
  impl_.reset();
}

// ---- HTTP --------------------------------------------------------------------------------------

protocol::Result<HttpResponse> http_request(const Endpoint& endpoint, std::string_view method,
                                            std::string_view target, std::string_view body,
                                            const std::string& cookie) {
  auto to = make_endpoint(endpoint);
  if (!to.ok()) return to.error();
  net::io_context loop(1);
  tcp::socket socket(loop);
  boost::system::error_code ec;
  socket.connect(*to, ec);
  if (ec) return make_error("connect_failed", "HTTP connect: " + ec.message());
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, endpoint.host + ":" + std::to_string(endpoint.port));
  req.set(http::field::origin, endpoint.origin());
  req.set(http::field::user_agent, "jointly-load");
  if (!cookie.empty()) req.set(http::field::cookie, cookie);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
  }
  req.prepare_payload();
  http::write(socket, req, ec);
  if (ec)
    return make_error("http_failed",
                      std::string(method) + " " + std::string(target) + ": " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  http::read(socket, buffer, parser, ec);
  if (ec)
    return make_error("http_failed",
                      std::string(method) + " " + std::string(target) + ": " + ec.message());
  const auto& res = parser.get();
  HttpResponse out;
  out.status = res.result_int();
  out.body = res.body();
  if (auto it = res.find(http::field::set_cookie); it != res.end()) {
    out.set_cookie = std::string(it->value());
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace jointly::load
