// The HTTP API without sockets: GET/POST /api/documents, GET /api/documents/:id, GET /healthz
// and GET /metrics (protocol/PROTOCOL.md, "HTTP API"). http_session turns an HttpAnswer into a
// Beast response; tests call route_api directly.
//
// Thread-safety: functions may be called from any thread (Store and Metrics are thread-safe).
// create blocks until the new document is durable (a rare request; a few milliseconds).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/metrics.hpp"
#include "storage/store.hpp"

namespace jointly::server {

struct HttpAnswer {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location)
};

// {"error":{"code","message"}} with this status.
HttpAnswer json_error(unsigned status, std::string_view code, std::string_view message);

inline constexpr std::size_t kMaxTitleBytes = 200;

// Answers an API, health or metrics request; nothing when the path is none of those (it is then
// a static file). method is the request method's name ("GET", "POST", ...), target the raw
// request target, content_type the request's Content-Type header, body its body.
std::optional<HttpAnswer> route_api(storage::Store& store, const Metrics& metrics,
                                    std::string_view method, std::string_view target,
                                    std::string_view content_type, std::string_view body);

// The WebSocket upgrade's Origin check (PROTOCOL.md, "The handshake"). origin: the Origin
// header, empty when absent; host: the Host header. With allowed origins, origin must equal one
// of them (without case); without, an absent Origin is allowed (not a browser) and otherwise its
// host[:port] after http:// or https:// must equal host.
bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed);

}  // namespace jointly::server
