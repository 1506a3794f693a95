// The HTTP API without sockets: documents, health, metrics, errors, and the Origin check.
#include "server/http_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/storage/temp_dir.hpp"

namespace jointly::server {
namespace {

using nlohmann::json;

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Options o;
    o.durability = storage::Durability::flush;
    auto s = storage::Store::open(dir_.sub("data"), o);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
  }
  HttpAnswer call(std::string_view method, std::string_view target, std::string_view body = "",
                  std::string_view ct = "application/json") {
    auto a = route_api(*store_, metrics_, method, target, ct, body);
    EXPECT_TRUE(a.has_value()) << target;
    return a ? *a : HttpAnswer{};
  }
  static std::string code(const HttpAnswer& a) { return json::parse(a.body)["error"]["code"]; }

  storage::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  Metrics metrics_;
};

TEST_F(HttpApiTest, CreatesListsAndGetsDocuments) {
  EXPECT_EQ(json::parse(call("GET", "/api/documents").body), json::parse(R"({"documents":[]})"));
  auto created = call("POST", "/api/documents", R"({"title":"Joint course","template":"demo"})");
  EXPECT_EQ(created.status, 201u);
  auto c = json::parse(created.body);
  EXPECT_EQ(c["id"], 1);
  EXPECT_EQ(c["title"], "Joint course");
  EXPECT_EQ(c["rev"], 0);
  ASSERT_EQ(created.headers.size(), 1u);
  EXPECT_EQ(created.headers[0],
            (std::pair<std::string, std::string>{"Location", "/api/documents/1"}));
  auto blank =
      call("POST", "/api/documents", R"({"title":"Blank"})", "application/json; charset=utf-8");
  EXPECT_EQ(blank.status, 201u);
  auto list = json::parse(call("GET", "/api/documents").body)["documents"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["title"], "Blank");
  auto got = call("GET", "/api/documents/1");
  EXPECT_EQ(got.status, 200u);
  auto g = json::parse(got.body);
  EXPECT_EQ(g["snapshot"]["sections"].size(), 5u);
  auto b = json::parse(call("GET", "/api/documents/2").body);
  EXPECT_EQ(b["snapshot"]["sections"].size(), 1u);
}

TEST_F(HttpApiTest, RefusesBadRequestsWithJsonErrors) {
  EXPECT_EQ(call("POST", "/api/documents", "{", "application/json").status, 400u);
  EXPECT_EQ(code(call("POST", "/api/documents", "{")), "invalid_json");
  EXPECT_EQ(code(call("POST", "/api/documents", "[]")), "invalid_request");
  EXPECT_EQ(code(call("POST", "/api/documents", R"({"title":""})")), "invalid_request");
  EXPECT_EQ(code(call("POST", "/api/documents", R"({"title":5})")), "invalid_request");
  EXPECT_EQ(code(call("POST", "/api/documents", R"({"title":"a\u0001"})")), "invalid_request");
  EXPECT_EQ(code(call("POST", "/api/documents", R"({"title":"t","template":"nope"})")),
            "invalid_request");
  EXPECT_EQ(code(call("POST", "/api/documents", "{\"title\":\"" + std::string(201, 'x') + "\"}")),
            "invalid_request");
  auto form = call("POST", "/api/documents", "title=x", "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 415u);
  EXPECT_EQ(code(form), "unsupported_media_type");
  EXPECT_EQ(call("GET", "/api/documents/99").status, 404u);
  for (const char* bad : {"/api/documents/0", "/api/documents/x", "/api/documents/01",
                          "/api/documents/1x", "/api/documents/99999999999999999999999"}) {
    auto a = call("GET", bad);
    EXPECT_EQ(a.status, 400u) << bad;
    EXPECT_EQ(code(a), "invalid_request");
  }
  EXPECT_EQ(call("DELETE", "/api/documents").status, 405u);
  EXPECT_EQ(call("GET", "/api/nothing").status, 404u);
  EXPECT_EQ(json::parse(call("GET", "/api/documents").body)["documents"].size(), 0u);
  EXPECT_FALSE(route_api(*store_, metrics_, "GET", "/index.html", "", ""));
}

TEST_F(HttpApiTest, HealthAndMetrics) {
  auto h = call("GET", "/healthz");
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(json::parse(h.body), json::parse(R"({"status":"ok"})"));
  auto m = call("GET", "/metrics");
  EXPECT_EQ(m.status, 200u);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("jointly_connections"), std::string::npos);
}

TEST(OriginCheck, SameHostOnlyWithoutAllowedOrigins) {
  const std::vector<std::string> none;
  EXPECT_TRUE(origin_allowed("", "localhost:8080", none));
  EXPECT_TRUE(origin_allowed("http://localhost:8080", "localhost:8080", none));
  EXPECT_TRUE(origin_allowed("https://Jointly.example.edu", "jointly.example.edu", none));
  EXPECT_FALSE(origin_allowed("http://evil.example", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("http://localhost:8081", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("null", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("file://", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("http://localhost:8080", "", none));
}

TEST(OriginCheck, OnlyTheAllowedOriginsWhenGiven) {
  const std::vector<std::string> allowed{"https://jointly.example.edu", "http://localhost:5173/"};
  EXPECT_TRUE(origin_allowed("https://jointly.example.edu", "x", allowed));
  EXPECT_TRUE(origin_allowed("HTTPS://JOINTLY.EXAMPLE.EDU", "x", allowed));
  EXPECT_TRUE(origin_allowed("http://localhost:5173", "x", allowed));
  EXPECT_FALSE(origin_allowed("http://x", "x", allowed));
  EXPECT_FALSE(origin_allowed("", "x", allowed));
}

}  // namespace
}  // namespace jointly::server
