// Structured logs: one JSON object per line on stderr, {"time","level","msg", ...fields}, with
// the fields each call gives (doc, conn, code, ...). Never log a token, a password or a
// message's content: fields are ids, codes, sizes and our own words.
//
// Thread-safety: every function may be called from any thread (spdlog's mutex sink).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace jointly::server::log {

enum class Level { debug, info, warn, error };

// Sets up the logger; min: the least level written. Call once, before any other thread starts.
void init(Level min);
void event(Level level, std::string_view msg, const nlohmann::json& fields = nlohmann::json());

inline void debug(std::string_view msg, const nlohmann::json& f = nlohmann::json()) {
  event(Level::debug, msg, f);
}
inline void info(std::string_view msg, const nlohmann::json& f = nlohmann::json()) {
  event(Level::info, msg, f);
}
inline void warn(std::string_view msg, const nlohmann::json& f = nlohmann::json()) {
  event(Level::warn, msg, f);
}
inline void error(std::string_view msg, const nlohmann::json& f = nlohmann::json()) {
  event(Level::error, msg, f);
}

}  // namespace jointly::server::log
