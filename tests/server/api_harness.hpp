// A socket-free HTTP API fixture for tests of route_api: a store and accounts with two
// institutions (Uni Graz, Masaryk University), an administrator and two users (Ana of Graz, Jan
// of Brno, all with kPassword), an ApiContext over them, and helpers to call, log in and read
// answers. No Beast or Asio header here.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/http_api.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::server::testing {

using nlohmann::json;

constexpr const char* kHost = "127.0.0.1:8080";
constexpr const char* kOrigin = "http://127.0.0.1:8080";
constexpr const char* kPassword = "correct horse battery";

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Options o;
    o.durability = storage::Durability::none;
    auto s = storage::Store::open(dir_.sub("data"), o);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    accounts_ = std::make_unique<storage::Accounts>(store_->log());
    auto graz = accounts_->create_institution("Uni Graz", "AT");
    auto brno = accounts_->create_institution("Masaryk University", "CZ");
    ASSERT_TRUE(graz.ok() && brno.ok());
    const std::string hash = auth::hash_password(kPassword).value();
    admin_ = accounts_->create_user("admin@x.at", "Admin", graz->id, true, hash)->id;
    ana_ = accounts_->create_user("ana@x.at", "Ana", graz->id, false, hash)->id;
    jan_ = accounts_->create_user("jan@x.cz", "Jan", brno->id, false, hash)->id;
    ctx_.emplace(
        ApiContext{*store_, *accounts_, metrics_, limiter_, {}, std::chrono::hours(1), restorer()});
  }

  // What POST .../history/restore runs (ApiContext::restore); none by default.
  virtual Restorer restorer() { return {}; }

  // A request with the server's own Origin and the given session cookie.
  HttpAnswer call(std::string_view method, std::string_view target, std::string_view body = "",
                  std::string_view cookie = "", std::string_view origin = kOrigin,
                  std::string_view ct = "application/json") {
    ApiRequest r{method, target, ct, body, cookie, origin, kHost, "10.0.0.1", false};
    auto a = route_api(*ctx_, r);
    EXPECT_TRUE(a.has_value()) << target;
    return a ? *a : HttpAnswer{};
  }
  static std::string code(const HttpAnswer& a) { return json::parse(a.body)["error"]["code"]; }
  static std::string header(const HttpAnswer& a, const std::string& name) {
    for (const auto& [k, v] : a.headers) {
      if (k == name) return v;
    }
    return "";
  }
  // Logs in; returns the Cookie header value to send.
  std::string login(const std::string& email, const std::string& password = kPassword) {
    auto a = call("POST", "/api/login", json{{"email", email}, {"password", password}}.dump());
    EXPECT_EQ(a.status, 200u) << a.body;
    const std::string set = header(a, "Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  storage::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::Accounts> accounts_;
  Metrics metrics_;
  auth::LoginLimiter limiter_;
  std::optional<ApiContext> ctx_;
  std::uint64_t admin_ = 0, ana_ = 0, jan_ = 0;
};

}  // namespace jointly::server::testing
