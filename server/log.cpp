// Structured JSON-lines logging over spdlog: see server/log.hpp.
#include "server/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <memory>

namespace jointly::server::log {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> l;
  return l;
}

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void init(Level min) {
  auto l = std::make_shared<spdlog::logger>("jointly",
                                            std::make_shared<spdlog::sinks::stderr_sink_mt>());
  l->set_pattern("%v");
  l->set_level(to_spdlog(min));
  l->flush_on(spdlog::level::info);
  logger() = std::move(l);
}

void event(Level level, std::string_view msg, const nlohmann::json& fields) {
  auto& l = logger();
  if (!l) return;
  if (!l->should_log(to_spdlog(level))) return;
  nlohmann::json j = nlohmann::json::object();
  j["time"] = now_iso8601();
  j["level"] = level_name(level);
  j["msg"] = msg;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
  }
  l->log(to_spdlog(level), "{}", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace jointly::server::log
