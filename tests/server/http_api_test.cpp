// The HTTP API without sockets: login, sessions and cookies, the Origin rule on every change,
// member-only documents, members and invites, admin-only accounts, the login rate limit, and
// health and metrics.
#include "server/http_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/server/api_harness.hpp"

namespace jointly::server {
namespace {

using nlohmann::json;

using HttpApiTest = testing::ApiTest;
using testing::kHost;
using testing::kOrigin;
using testing::kPassword;

TEST_F(HttpApiTest, LoginSetsAFreshHttpOnlyCookieAndMeAnswersWithTheUser) {
  auto a = call("POST", "/api/login", R"({"email":"ANA@x.at","password":"correct horse battery"})");
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto user = json::parse(a.body)["user"];
  EXPECT_EQ(user["email"], "ana@x.at");
  EXPECT_EQ(user["institution"]["name"], "Uni Graz");
  EXPECT_EQ(user["admin"], false);
  const std::string set = header(a, "Set-Cookie");
  EXPECT_EQ(set.find("jointly_session="), 0u);
  EXPECT_NE(set.find("; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600"), std::string::npos);
  EXPECT_EQ(set.find("Secure"), std::string::npos);
  const std::string cookie = set.substr(0, set.find(';'));
  EXPECT_EQ(cookie.size(), std::string("jointly_session=").size() + 43);
  auto me = call("GET", "/api/me", "", cookie);
  EXPECT_EQ(me.status, 200u);
  EXPECT_EQ(json::parse(me.body)["user"]["id"], ana_);
  // Over TLS the cookie is Secure.
  ApiRequest tls{"POST",
                 "/api/login",
                 "application/json",
                 R"({"email":"ana@x.at","password":"correct horse battery"})",
                 "",
                 kOrigin,
                 kHost,
                 "10.0.0.1",
                 true};
  auto s = route_api(*ctx_, tls);
  EXPECT_NE(header(*s, "Set-Cookie").find("; Secure"), std::string::npos);
  // Storage keeps only the token's hash.
  const std::string token = cookie.substr(cookie.find('=') + 1);
  EXPECT_FALSE(accounts_->session(token).ok());
  EXPECT_TRUE(accounts_->session(auth::token_hash(token)).ok());
}

TEST_F(HttpApiTest, WrongPasswordsAndUnknownEmailsAreTheSameRefusal) {
  auto wrong = call("POST", "/api/login", R"({"email":"ana@x.at","password":"wrong password"})");
  auto unknown = call("POST", "/api/login", R"({"email":"nobody@x.at","password":"whatever1"})");
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(code(wrong), "invalid_credentials");
  EXPECT_EQ(json::parse(wrong.body), json::parse(unknown.body));
  EXPECT_EQ(header(wrong, "Set-Cookie"), "");
}

TEST_F(HttpApiTest, SessionFixationForgedExpiredAndLoggedOutTokensAreUnauthenticated) {
  // A token the server never issued, well formed or not, is refused; a login ignores it and
  // issues a new one.
  const std::string planted = "jointly_session=" + auth::new_token();
  EXPECT_EQ(code(call("GET", "/api/me", "", planted)), "unauthenticated");
  auto a = call("POST", "/api/login", R"({"email":"ana@x.at","password":"correct horse battery"})",
                planted);
  const std::string fresh = header(a, "Set-Cookie").substr(0, header(a, "Set-Cookie").find(';'));
  EXPECT_NE(fresh, planted);
  EXPECT_EQ(code(call("GET", "/api/me", "", planted)), "unauthenticated");
  EXPECT_EQ(call("GET", "/api/me", "", fresh).status, 200u);
  for (const std::string& forged : std::vector<std::string>{
           "jointly_session=", "jointly_session=abc", "jointly_session=" + std::string(43, '*'),
           fresh + "x", fresh.substr(0, fresh.size() - 1)}) {
    EXPECT_EQ(call("GET", "/api/me", "", forged).status, 401u) << forged;
  }
  // Two session cookies, even one valid: refused (a cookie planted for a parent domain).
  EXPECT_EQ(call("GET", "/api/me", "", fresh + "; " + planted).status, 401u);
  EXPECT_EQ(call("GET", "/api/me", "", planted + "; " + fresh).status, 401u);
  // Other cookies around it, spaces and quotes are fine.
  const std::string token = fresh.substr(fresh.find('=') + 1);
  EXPECT_EQ(call("GET", "/api/me", "", "a=1;  jointly_session=\"" + token + "\" ; b").status, 200u);
  // Expired: refused and deleted.
  storage::Session old{auth::token_hash("expired-token"), ana_, 1, 2};
  const std::string expired_token = auth::new_token();
  old.token_hash = auth::token_hash(expired_token);
  ASSERT_TRUE(accounts_->put_session(old).ok());
  EXPECT_EQ(call("GET", "/api/me", "", "jointly_session=" + expired_token).status, 401u);
  EXPECT_FALSE(accounts_->session(old.token_hash).ok());
  // Logged out: refused, and the cookie is cleared.
  auto out = call("POST", "/api/logout", "", fresh);
  EXPECT_EQ(out.status, 204u);
  EXPECT_NE(
      header(out, "Set-Cookie").find("jointly_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
      std::string::npos);
  EXPECT_EQ(call("GET", "/api/me", "", fresh).status, 401u);
}

TEST_F(HttpApiTest, EveryChangeNeedsTheOriginAndEveryApiCallASession) {
  const std::string cookie = login("ana@x.at");
  for (const char* bad :
       {"", "null", "ftp://127.0.0.1:8080", "http://127.0.0.1:8081", "http://localhost:8080",
        "http://127.0.0.1:8080.evil.com", "http://evil.com/127.0.0.1:8080", "http://127.0.0.1",
        "http://127.0.0.1:8080/", "ws://127.0.0.1:8080", "http://127.0.0.1:8080@evil.com"}) {
    SCOPED_TRACE(bad);
    auto a = call("POST", "/api/documents", R"({"title":"T"})", cookie, bad);
    EXPECT_EQ(a.status, 403u);
    EXPECT_EQ(code(a), "origin_not_allowed");
    EXPECT_EQ(code(call("POST", "/api/login", R"({"email":"ana@x.at","password":"p"})", "", bad)),
              "origin_not_allowed");
    EXPECT_EQ(code(call("POST", "/api/logout", "", cookie, bad)), "origin_not_allowed");
  }
  EXPECT_EQ(
      call("POST", "/api/documents", R"({"title":"T"})", cookie, "HTTP://127.0.0.1:8080").status,
      201u);
  EXPECT_EQ(store_->list_documents()->size(), 1u);
  for (const char* path : {"/api/me", "/api/documents", "/api/documents/1", "/api/users",
                           "/api/institutions", "/api/documents/1/members"}) {
    EXPECT_EQ(code(call("GET", path)), "unauthenticated") << path;
  }
  EXPECT_EQ(code(call("POST", "/api/documents", R"({"title":"T"})")), "unauthenticated");
  EXPECT_EQ(store_->list_documents()->size(), 1u);
}

TEST(OriginCheck, SameHostOnlyWithoutAllowedOriginsAndNeverMissing) {
  const std::vector<std::string> none;
  EXPECT_FALSE(origin_allowed("", "localhost:8080", none));
  EXPECT_TRUE(origin_allowed("http://localhost:8080", "localhost:8080", none));
  EXPECT_TRUE(origin_allowed("https://Jointly.example.edu", "jointly.example.edu", none));
  EXPECT_FALSE(origin_allowed("http://evil.example", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("http://localhost:8081", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("http://localhost:8080.evil.com", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("http://evil.com/localhost:8080", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("http://localhost:8080/", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("null", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("file://", "localhost:8080", none));
  EXPECT_FALSE(origin_allowed("http://localhost:8080", "", none));
}

TEST(OriginCheck, OnlyTheAllowedOriginsWhenGiven) {
  const std::vector<std::string> allowed{"https://jointly.example.edu", "http://localhost:5173/"};
  EXPECT_TRUE(origin_allowed("https://jointly.example.edu", "x", allowed));
  EXPECT_TRUE(origin_allowed("HTTPS://JOINTLY.EXAMPLE.EDU", "x", allowed));
  EXPECT_TRUE(origin_allowed("http://localhost:5173", "x", allowed));
  EXPECT_FALSE(origin_allowed("http://jointly.example.edu", "jointly.example.edu", allowed));
  EXPECT_FALSE(origin_allowed("https://jointly.example.edu:443", "x", allowed));
  EXPECT_FALSE(origin_allowed("https://jointly.example.edu.evil.com", "x", allowed));
  EXPECT_FALSE(origin_allowed("https://jointly.example.edu/", "x", allowed));
  EXPECT_FALSE(origin_allowed("http://x", "x", allowed));
  EXPECT_FALSE(origin_allowed("", "x", allowed));
}

TEST_F(HttpApiTest, TheLoginRateLimitRefusesEvenTheRightPasswordUntilTheWindowPasses) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(call("POST", "/api/login", R"({"email":"ana@x.at","password":"wrong one!"})").status,
              401u);
  }
  auto a = call("POST", "/api/login", R"({"email":"ana@x.at","password":"correct horse battery"})");
  EXPECT_EQ(a.status, 429u);
  EXPECT_EQ(code(a), "too_many_attempts");
  const int retry = std::stoi(header(a, "Retry-After"));
  EXPECT_GT(retry, 800);
  EXPECT_LE(retry, 900);
  // Another account from the same address still may (5 < 20).
  EXPECT_EQ(call("POST", "/api/login", R"({"email":"jan@x.cz","password":"correct horse battery"})")
                .status,
            200u);
}

TEST_F(HttpApiTest, DocumentsAreMemberOnlyAndTheCreatorLeadsThem) {
  const std::string ana = login("ana@x.at"), jan = login("jan@x.cz"), admin = login("admin@x.at");
  auto created =
      call("POST", "/api/documents", R"({"title":"Joint course","template":"demo"})", ana);
  ASSERT_EQ(created.status, 201u);
  auto c = json::parse(created.body);
  EXPECT_EQ(c["role"], "leader");
  EXPECT_EQ(header(created, "Location"), "/api/documents/1");
  EXPECT_EQ(json::parse(call("GET", "/api/documents", "", ana).body)["documents"][0]["role"],
            "leader");
  EXPECT_EQ(json::parse(call("GET", "/api/documents", "", jan).body)["documents"].size(), 0u);
  auto got = call("GET", "/api/documents/1", "", ana);
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(json::parse(got.body)["role"], "leader");
  EXPECT_EQ(json::parse(got.body)["snapshot"]["sections"].size(), 8u);  // the demo course
  // A non-member gets 403 for every id, existing or not; an admin 404 for one that is not.
  EXPECT_EQ(code(call("GET", "/api/documents/1", "", jan)), "forbidden");
  EXPECT_EQ(code(call("GET", "/api/documents/99", "", jan)), "forbidden");
  EXPECT_EQ(code(call("GET", "/api/documents/1", "", admin)), "forbidden");
  EXPECT_EQ(code(call("GET", "/api/documents/99", "", admin)), "not_found");
  for (const char* bad : {"/api/documents/0", "/api/documents/x", "/api/documents/01"}) {
    EXPECT_EQ(code(call("GET", bad, "", ana)), "invalid_request") << bad;
  }
  EXPECT_EQ(code(call("POST", "/api/documents", "{", ana)), "invalid_json");
  EXPECT_EQ(code(call("POST", "/api/documents", R"({"title":""})", ana)), "invalid_request");
  EXPECT_EQ(
      call("POST", "/api/documents", "title=x", ana, kOrigin, "application/x-www-form-urlencoded")
          .status,
      415u);
}

TEST_F(HttpApiTest, LeadersManageMembersAndNeverLoseTheLastLeader) {
  const std::string ana = login("ana@x.at"), jan = login("jan@x.cz");
  ASSERT_EQ(call("POST", "/api/documents", R"({"title":"T"})", ana).status, 201u);
  const std::string jan_path = "/api/documents/1/members/" + std::to_string(jan_);
  const std::string ana_path = "/api/documents/1/members/" + std::to_string(ana_);
  // Not a member yet: Jan may not even look.
  EXPECT_EQ(code(call("GET", "/api/documents/1/members", "", jan)), "forbidden");
  auto put = call("PUT", jan_path, R"({"role":"reviewer"})", ana);
  ASSERT_EQ(put.status, 200u) << put.body;
  EXPECT_EQ(json::parse(put.body)["role"], "reviewer");
  auto members = json::parse(call("GET", "/api/documents/1/members", "", jan).body);
  EXPECT_EQ(members["members"].size(), 2u);
  EXPECT_EQ(members["team"].size(), 2u);
  EXPECT_FALSE(members["members"][0]["user"].contains("admin"));
  // A viewer could never approve: a viewer's institution is not in the team, and it joins the
  // team when its member may approve.
  ASSERT_EQ(call("PUT", jan_path, R"({"role":"viewer"})", ana).status, 200u);
  members = json::parse(call("GET", "/api/documents/1/members", "", ana).body);
  EXPECT_EQ(members["members"].size(), 2u);
  ASSERT_EQ(members["team"].size(), 1u);
  EXPECT_EQ(members["team"][0]["name"], "Uni Graz");
  ASSERT_EQ(call("PUT", jan_path, R"({"role":"reviewer"})", ana).status, 200u);
  EXPECT_EQ(json::parse(call("GET", "/api/documents/1/members", "", ana).body)["team"].size(), 2u);
  // A reviewer manages nothing.
  EXPECT_EQ(code(call("PUT", ana_path, R"({"role":"viewer"})", jan)), "forbidden");
  EXPECT_EQ(code(call("DELETE", ana_path, "", jan)), "forbidden");
  EXPECT_EQ(code(call("POST", "/api/documents/1/invites", R"({"role":"editor"})", jan)),
            "forbidden");
  EXPECT_EQ(code(call("PUT", jan_path, R"({"role":"boss"})", ana)), "invalid_request");
  EXPECT_EQ(code(call("PUT", "/api/documents/1/members/77", R"({"role":"editor"})", ana)),
            "not_found");
  // The last leader stays.
  EXPECT_EQ(code(call("DELETE", ana_path, "", ana)), "last_leader");
  EXPECT_EQ(code(call("PUT", ana_path, R"({"role":"editor"})", ana)), "last_leader");
  EXPECT_EQ(call("DELETE", jan_path, "", ana).status, 204u);
  EXPECT_EQ(code(call("GET", "/api/documents/1", "", jan)), "forbidden");
}

TEST_F(HttpApiTest, InvitesAreOneTimeAndKeepAHigherRole) {
  const std::string ana = login("ana@x.at"), jan = login("jan@x.cz");
  ASSERT_EQ(call("POST", "/api/documents", R"({"title":"T"})", ana).status, 201u);
  auto inv = call("POST", "/api/documents/1/invites", R"({"role":"editor"})", ana);
  ASSERT_EQ(inv.status, 201u);
  const auto j = json::parse(inv.body);
  const std::string token = j["token"];
  EXPECT_EQ(j["url"], "/#/invite/" + token);
  EXPECT_EQ(j["role"], "editor");
  auto accepted = call("POST", "/api/invites/" + token + "/accept", "", jan);
  ASSERT_EQ(accepted.status, 200u);
  EXPECT_EQ(json::parse(accepted.body), json::parse(R"({"doc":1,"role":"editor"})"));
  EXPECT_EQ(code(call("POST", "/api/invites/" + token + "/accept", "", jan)), "invite_used");
  EXPECT_EQ(code(call("POST", "/api/invites/" + auth::new_token() + "/accept", "", jan)),
            "not_found");
  // A viewer invite does not lower the leader who accepts it.
  auto low =
      json::parse(call("POST", "/api/documents/1/invites", R"({"role":"viewer"})", ana).body);
  auto kept = call("POST", "/api/invites/" + low["token"].get<std::string>() + "/accept", "", ana);
  EXPECT_EQ(json::parse(kept.body)["role"], "leader");
  // Expired.
  const std::string old = auth::new_token();
  ASSERT_TRUE(accounts_->put_invite({auth::token_hash(old), 1, "editor", 1, ana_, false}).ok());
  EXPECT_EQ(code(call("POST", "/api/invites/" + old + "/accept", "", jan)), "invite_expired");
}

TEST_F(HttpApiTest, AdministratorsCreateInstitutionsAndUsers) {
  const std::string admin = login("admin@x.at"), ana = login("ana@x.at");
  EXPECT_EQ(code(call("POST", "/api/institutions", R"({"name":"Porto","country":"PT"})", ana)),
            "forbidden");
  auto inst = call("POST", "/api/institutions", R"({"name":"Porto","country":"PT"})", admin);
  ASSERT_EQ(inst.status, 201u);
  EXPECT_EQ(code(call("POST", "/api/institutions", R"({"name":"porto","country":"PT"})", admin)),
            "institution_exists");
  EXPECT_EQ(code(call("POST", "/api/institutions", R"({"name":"X","country":"pt"})", admin)),
            "invalid_request");
  const auto id = json::parse(inst.body)["id"].get<std::uint64_t>();
  const json user{{"email", "Rita@Porto.pt"},
                  {"name", "Rita"},
                  {"password", "long enough pw"},
                  {"institution", id}};
  EXPECT_EQ(code(call("POST", "/api/users", user.dump(), ana)), "forbidden");
  auto made = call("POST", "/api/users", user.dump(), admin);
  ASSERT_EQ(made.status, 201u) << made.body;
  EXPECT_EQ(json::parse(made.body)["email"], "rita@porto.pt");
  EXPECT_EQ(code(call("POST", "/api/users", user.dump(), admin)), "user_exists");
  json short_pw = user;
  short_pw["email"] = "x@y.z";
  short_pw["password"] = "short";
  EXPECT_EQ(code(call("POST", "/api/users", short_pw.dump(), admin)), "invalid_request");
  EXPECT_EQ(login("rita@porto.pt", "long enough pw").empty(), false);
  // Non-admins see users without the admin flag.
  auto list = json::parse(call("GET", "/api/users", "", ana).body)["users"];
  EXPECT_EQ(list.size(), 4u);
  EXPECT_FALSE(list[0].contains("admin"));
  EXPECT_TRUE(json::parse(call("GET", "/api/users", "", admin).body)["users"][0].contains("admin"));
  EXPECT_EQ(json::parse(call("GET", "/api/institutions", "", ana).body)["institutions"].size(), 3u);
}

TEST_F(HttpApiTest, HealthAndMetricsNeedNoSession) {
  auto h = call("GET", "/healthz");
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(json::parse(h.body), json::parse(R"({"status":"ok"})"));
  auto m = call("GET", "/metrics");
  EXPECT_EQ(m.status, 200u);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("jointly_connections"), std::string::npos);
  ApiRequest file;
  file.method = "GET";
  file.target = "/index.html";
  EXPECT_FALSE(route_api(*ctx_, file));
  EXPECT_EQ(code(call("GET", "/api/nothing", "", login("ana@x.at"))), "not_found");
}

}  // namespace
}  // namespace jointly::server
