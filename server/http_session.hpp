// http_session: one TCP connection speaking HTTP/1.1: static client files, the JSON API, health
// and metrics (server/http_api.hpp), and the upgrade to a websocket_session at /ws after the
// Origin check. One request at a time (read, answer, read again); every read has the handshake
// timeout; bodies and headers are bounded; no response echoes the request target.
//
// Thread-safety: each session lives on its socket's strand.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "server/server_state.hpp"

namespace jointly::server {

// Runs an HTTP session on an accepted socket (whose executor is a strand).
void start_http_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state);

}  // namespace jointly::server
