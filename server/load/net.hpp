// jointly-load's network layer: a pool of I/O threads, WebSocket client connections and blocking
// HTTP requests. Boost.Beast and Asio live only in net.cpp; this header has neither, so the
// workloads compile without them.
//
// Threads: an IoPool runs one event loop per thread. A WsConnection belongs to one of them (its
// shard): its callbacks run on that thread only, and send() must be called there (use post()).
// connect(), close() and http_request() block the calling thread and must not be called from an
// I/O thread.
//
// Errors are values with stable codes: connect_failed, handshake_failed (the message carries
// the HTTP status and body of a refused upgrade), http_failed, timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/result.hpp"

namespace jointly::load {

struct Endpoint {
  std::string host = "127.0.0.1";  // an IP address
  std::uint16_t port = 8080;
  // The origin the server expects from a same-host client: http://host:port.
  std::string origin() const { return "http://" + host + ":" + std::to_string(port); }
};

class IoPool {
 public:
  explicit IoPool(unsigned threads);
  ~IoPool();  // stops the loops and joins the threads
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  unsigned size() const;

 private:
  friend class WsConnection;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class WsConnection {
 public:
  using OnMessage = std::function<void(std::string_view text)>;
  using OnClosed = std::function<void(const std::string& why)>;

  // Opens GET `target` (e.g. /ws?doc=7) on the endpoint with `Origin: endpoint.origin()` and,
  // when not empty, `Cookie: cookie`; then reads frames on shard `shard` of the pool, calling
  // on_message for each text frame and on_closed once when the connection ends (not after
  // close()).
  static protocol::Result<std::unique_ptr<WsConnection>> connect(
      IoPool& pool, unsigned shard, const Endpoint& endpoint, const std::string& target,
      const std::string& cookie, OnMessage on_message, OnClosed on_closed);
  ~WsConnection();  // closes the socket if close() was not called
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  // Runs f on this connection's thread.
  void post(std::function<void()> f);
  // Queues one text frame. REQUIRES: on this connection's thread.
  void send(std::string text);
  // Sends a close frame, waits (up to 5 s) for the connection to end; no callback runs after.
  void close();

 private:
  struct Impl;
  explicit WsConnection(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string set_cookie;  // the first Set-Cookie header, "" when none
};

// One HTTP/1.1 request on a fresh connection, with `Origin: endpoint.origin()`, the cookie when
// not empty and, when body is not empty, `Content-Type: application/json`.
protocol::Result<HttpResponse> http_request(const Endpoint& endpoint, std::string_view method,
                                            std::string_view target, std::string_view body,
                                            const std::string& cookie);

}  // namespace jointly::load
