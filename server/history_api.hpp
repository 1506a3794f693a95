// The history API without sockets (protocol/PROTOCOL.md, "History API"): GET
// /api/documents/:id/history (revisions or groups, paged by cursor, filtered), .../history/at/
// :rev, .../history/diff, .../history/blame/:section, .../history/contributions,
// .../history/versions (GET; POST names one), .../history/export. The caller is already
// authenticated; `role` is their role in the document (nullopt: not a member, 403 forbidden for
// every request). Reading needs any role; naming a version needs editor. The lead wires it
// into route_api: route_history(...) first, for every /api/documents/:id/history target.
//
// Thread-safety: may be called from any thread (Store is thread-safe).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "server/access.hpp"
#include "server/http_api.hpp"
#include "storage/store.hpp"

namespace jointly::server {

// Revisions or groups per page: the default and the most a request may ask for.
inline constexpr std::size_t kHistoryPageDefault = 50;
inline constexpr std::size_t kHistoryPageMax = 200;

// A request's query string (after the '?') as parameters, percent- and '+'-decoded; nullopt for
// a malformed one. Also used by the other document routes (server/http_api.cpp).
std::optional<std::map<std::string, std::string>> parse_query(std::string_view q);

// Answers a history request; nothing when the target is not under /api/documents/:id/history.
// method is the request method's name, target the raw request target, content_type and body
// those of the request.
std::optional<HttpAnswer> route_history(storage::Store& store, const Caller& caller,
                                        std::optional<Role> role, std::string_view method,
                                        std::string_view target, std::string_view content_type,
                                        std::string_view body);

}  // namespace jointly::server
