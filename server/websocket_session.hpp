// websocket_session: one WebSocket connection at /ws speaking the protocol of
// protocol/PROTOCOL.md ("WebSocket protocol"). It reads a message at a time, enforces the
// connection's limits (message size, rate, open documents, outbound queue, timeouts with
// ping/pong), parses with protocol::parse_client_message and hands document work to the
// document's strand through DocumentHost; the DocumentAuthority answers through the session's
// Subscriber face (send/close), which posts onto the session's own strand.
//
// Thread-safety: each session's state lives on its socket's strand; start_websocket_session
// and shutdown_websocket_session may be called from any thread.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/server_state.hpp"

namespace jointly::server {

// Takes over an upgraded connection: accepts the WebSocket handshake for req and runs the
// session. REQUIRES: socket's executor is a strand; the Origin check has passed.
void start_websocket_session(boost::asio::ip::tcp::socket socket,
                             boost::beast::http::request<boost::beast::http::string_body> req,
                             std::shared_ptr<ServerState> state,
                             std::unique_ptr<ConnectionSlot> slot);

// Closes every WebSocket session with 1001 (going away).
void shutdown_websocket_sessions(ServerState& state);

}  // namespace jointly::server
