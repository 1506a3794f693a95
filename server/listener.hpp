// listener: accepts TCP connections and starts an http_session on each, on its own strand.
// stop() closes the acceptor (shutdown: no new connections).
//
// Thread-safety: run and stop may be called from any thread; the acceptor lives on its strand.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/server_state.hpp"

namespace jointly::server {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Opens, binds and listens; errors are returned in ec (and logged by the caller).
  listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
           std::shared_ptr<ServerState> state, boost::system::error_code& ec);
  void run();
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after a failed accept (e.g. out of descriptors)
  std::shared_ptr<ServerState> state_;
};

}  // namespace jointly::server
