// websocket_session: one WebSocket connection at /ws speaking the protocol of
// protocol/PROTOCOL.md ("WebSocket protocol"). It reads a message at a time, enforces the
// connection's limits (message size, rate, open documents, outbound queue, timeouts with
// ping/pong, and a deadline for each message once its first bytes have arrived), parses with
// protocol::parse_client_message and hands document work to the document's strand through
// DocumentHost; the DocumentAuthority answers through the session's Subscriber face (send/close),
// which posts onto the session's own strand.
//
// Who is on the connection comes from its login session (user, display name, institution);
// a document is opened only by a member, and the authority authorises every message again.
//
// Thread-safety: each session's state lives on its socket's strand; start_websocket_session,
// check_websocket_sessions and shutdown_websocket_sessions may be called from any thread.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http_api.hpp"
#include "server/server_state.hpp"

namespace jointly::server {

// Takes over an upgraded connection: accepts the WebSocket handshake for req and runs the
// session for the account of `who`. REQUIRES: socket's executor is a strand; the session and
// Origin checks have passed.
void start_websocket_session(boost::asio::ip::tcp::socket socket,
                             boost::beast::http::request<boost::beast::http::string_body> req,
                             std::shared_ptr<ServerState> state,
                             std::unique_ptr<ConnectionSlot> slot, Authenticated who);

// Closes, with 1008 "session_ended", every WebSocket session whose login session has expired or
// was deleted (logout). Cheap when nothing changed: main calls it every 250 ms.
void check_websocket_sessions(ServerState& state);

// Closes every WebSocket session with 1001 (going away).
void shutdown_websocket_sessions(ServerState& state);

}  // namespace jointly::server
