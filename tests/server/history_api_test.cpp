// server/history_api.hpp: every route, for every role and for a non-member, and its errors.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "server/history.hpp"
#include "server/history_api.hpp"
#include "storage/history_index.hpp"
#include "tests/storage/history_random.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::server {
namespace {

using json = nlohmann::json;
using storage::testing::TempDir;

class HistoryApi : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Options o;
    o.durability = storage::Durability::none;
    store_ = std::move(storage::Store::open(dir_.sub("s"), o)).value();
    id_ = *store_->create_document("Data literacy");
    storage::testing::RandomHistory h(5);
    ops_ = storage::testing::append_random(*store_, id_, doc_, rev_, h, 120);
    caller_.user_id = 1;
    caller_.name = "Ana";
    caller_.institution = "uni-graz";
  }

  HttpAnswer get(const std::string& target, std::optional<Role> role = Role::viewer) {
    auto a = route_history(*store_, caller_, role, "GET", target, "", "");
    EXPECT_TRUE(a.has_value()) << target;
    return a.value_or(HttpAnswer{});
  }
  HttpAnswer post(const std::string& target, const std::string& body,
                  std::optional<Role> role = Role::editor,
                  std::string_view content_type = "application/json") {
    auto a = route_history(*store_, caller_, role, "POST", target, content_type, body);
    EXPECT_TRUE(a.has_value()) << target;
    return a.value_or(HttpAnswer{});
  }
  std::string doc(const std::string& rest) {
    return "/api/documents/" + std::to_string(id_) + "/history" + rest;
  }
  static std::string code(const HttpAnswer& a) {
    return json::parse(a.body, nullptr, false)["error"]["code"].get<std::string>();
  }

  TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  storage::DocumentId id_ = 0;
  protocol::Document doc_;
  std::uint64_t rev_ = 0;
  std::vector<std::pair<protocol::DocOp, storage::RevisionInfo>> ops_;
  Caller caller_;
};

TEST_F(HistoryApi, OtherTargetsAreNotOurs) {
  EXPECT_FALSE(route_history(*store_, caller_, Role::viewer, "GET", "/api/documents", "", ""));
  EXPECT_FALSE(route_history(*store_, caller_, Role::viewer, "GET", "/api/documents/1", "", ""));
  EXPECT_FALSE(
      route_history(*store_, caller_, Role::viewer, "GET", "/api/documents/1/members", "", ""));
  EXPECT_FALSE(
      route_history(*store_, caller_, Role::viewer, "GET", "/api/documents/1/historyx", "", ""));
}

TEST_F(HistoryApi, EveryRouteIsForbiddenToNonMembersAndOpenToEveryRole) {
  const std::vector<std::string> reads{
      "",          "?group=0",       "/at/3",     "/diff?from=1&to=40",
      "/blame/s1", "/contributions", "/versions", "/export?format=md"};
  for (const auto& r : reads) {
    auto a = get(doc(r), std::nullopt);
    EXPECT_EQ(a.status, 403u) << r;
    EXPECT_EQ(code(a), "forbidden") << r;
    // Also for a document that does not exist: membership cannot be probed.
    EXPECT_EQ(get("/api/documents/999/history" + r, std::nullopt).status, 403u) << r;
    for (Role role : {Role::viewer, Role::reviewer, Role::editor, Role::leader}) {
      EXPECT_EQ(get(doc(r), role).status, 200u) << r << " as role " << static_cast<int>(role);
    }
  }
  EXPECT_EQ(post(doc("/versions"), R"({"name":"x"})", std::nullopt).status, 403u);
  for (Role role : {Role::viewer, Role::reviewer}) {
    auto a = post(doc("/versions"), R"({"name":"x"})", role);
    EXPECT_EQ(a.status, 403u);
    EXPECT_EQ(code(a), "forbidden");
  }
  EXPECT_EQ(post(doc("/versions"), R"({"name":"by an editor","rev":5})", Role::editor).status,
            201u);
  EXPECT_EQ(post(doc("/versions"), R"({"name":"by a leader","rev":6})", Role::leader).status, 201u);
}

TEST_F(HistoryApi, PagesOfGroupsAndRevisionsWithFiltersAndCursors) {
  auto a = get(doc("?group=0&limit=7&author=ana"));
  ASSERT_EQ(a.status, 200u);
  auto j = json::parse(a.body);
  std::vector<std::uint64_t> expected;
  for (std::uint64_t r = rev_; r >= 1; --r) {
    if (ops_[r - 1].second.author == "ana") expected.push_back(r);
  }
  std::vector<std::uint64_t> got;
  for (int pages = 0; pages < 100; ++pages) {
    for (const auto& e : j["entries"]) {
      EXPECT_EQ(e["author"], "ana");
      got.push_back(e["rev"]);
    }
    if (j["next"].is_null()) break;
    j = json::parse(get(doc("?group=0&limit=7&author=ana&cursor=" + j["next"].dump())).body);
  }
  EXPECT_EQ(got, expected);

  j = json::parse(get(doc("?limit=3")).body);
  ASSERT_EQ(j["entries"].size(), 3u);
  EXPECT_EQ(j["entries"][0]["last"], rev_);
  EXPECT_TRUE(j["entries"][0].contains("sections"));
  EXPECT_GE(j["entries"][0]["revisions"].get<int>(), 1);
  EXPECT_FALSE(j["next"].is_null());
  const auto& first = ops_.front().second;
  j = json::parse(get(doc("?from=0&to=" + std::to_string(first.server_time_ms))).body);
  ASSERT_GE(j["entries"].size(), 1u);
  EXPECT_EQ(j["entries"].back()["first"], 1);
  j = json::parse(get(doc("?institution=tu%2Ddelft&section=s1")).body);
  for (const auto& e : j["entries"]) EXPECT_EQ(e["institution"], "tu-delft");

  for (const std::string bad : {"?limit=0", "?limit=201", "?limit=x", "?cursor=0", "?group=2",
                                "?from=-1", "?colour=red", "?author=%zz"}) {
    auto e = get(doc(bad));
    EXPECT_EQ(e.status, 400u) << bad;
    EXPECT_EQ(code(e), "invalid_request") << bad;
  }
}

TEST_F(HistoryApi, TheDocumentOrASectionAtARevision) {
  auto j = json::parse(get(doc("/at/40")).body);
  EXPECT_EQ(j["rev"], 40);
  EXPECT_EQ(*protocol::parse_document(j["snapshot"]), store_->load_at(id_, 40)->doc);
  j = json::parse(get(doc("/at/40?section=s1")).body);
  EXPECT_EQ(j["section"]["id"], "s1");
  EXPECT_EQ(j["section"]["body"], store_->load_at(id_, 40)->doc.find("s1")->body.to_string());
  EXPECT_EQ(get(doc("/at/999")).status, 404u);
  EXPECT_EQ(get(doc("/at/x")).status, 400u);
  EXPECT_EQ(get(doc("/at/40?section=nope")).status, 404u);
  EXPECT_EQ(code(get("/api/documents/999/history/at/1")), "not_found");
  EXPECT_EQ(get("/api/documents/abc/history/at/1").status, 400u);
}

TEST_F(HistoryApi, DiffBlameAndContributions) {
  auto j = json::parse(get(doc("/diff?from=0&to=" + std::to_string(rev_))).body);
  ASSERT_FALSE(j["sections"].empty());
  for (const auto& s : j["sections"]) {
    EXPECT_TRUE(s["change"] == "added" || s["change"] == "changed") << s.dump();
  }
  j = json::parse(get(doc("/diff?from=10&to=50&section=s1")).body);
  ASSERT_EQ(j["sections"].size(), 1u);
  std::string after;
  for (const auto& r : j["sections"][0]["body"]) {
    if (r["kind"] != "delete") after += r["text"].get<std::string>();
  }
  EXPECT_EQ(after, store_->load_at(id_, 50)->doc.find("s1")->body.to_string());
  EXPECT_EQ(get(doc("/diff?to=3")).status, 400u);
  EXPECT_EQ(get(doc("/diff?from=1&to=9999")).status, 404u);
  EXPECT_EQ(get(doc("/diff?from=1&section=nope")).status, 404u);

  j = json::parse(get(doc("/blame/s1?rev=60")).body);
  EXPECT_EQ(j["rev"], 60);
  std::string body;
  for (const auto& s : j["body"]) {
    body += s["text"].get<std::string>();
    EXPECT_EQ(ops_[s["rev"].get<std::size_t>() - 1].second.institution, s["institution"]);
  }
  EXPECT_EQ(body, store_->load_at(id_, 60)->doc.find("s1")->body.to_string());
  EXPECT_EQ(get(doc("/blame/s1?rev=9999")).status, 404u);
  EXPECT_FALSE(json::parse(get(doc("/blame/nope")).body)["live"].get<bool>());

  j = json::parse(get(doc("/contributions")).body);
  EXPECT_EQ(j["rev"], rev_);
  EXPECT_EQ(j["sections"].size(), doc_.ordered().size());
}

TEST_F(HistoryApi, NamedVersionsAndTheirErrors) {
  auto a = post(doc("/versions"), R"({"name":"sent to programme boards","rev":30})");
  ASSERT_EQ(a.status, 201u);
  auto j = json::parse(a.body);
  EXPECT_EQ(j["rev"], 30);
  EXPECT_EQ(j["by"], "Ana");
  a = post(doc("/versions"), R"({"name":"latest"})");
  EXPECT_EQ(json::parse(a.body)["rev"], rev_);
  j = json::parse(get(doc("/versions")).body);
  ASSERT_EQ(j["versions"].size(), 2u);
  EXPECT_EQ(j["versions"][0]["name"], "sent to programme boards");

  EXPECT_EQ(code(post(doc("/versions"), R"({"name":"again","rev":30})")), "version_exists");
  EXPECT_EQ(post(doc("/versions"), R"({"name":"again","rev":30})").status, 409u);
  EXPECT_EQ(post(doc("/versions"), R"({"name":"","rev":31})").status, 400u);
  EXPECT_EQ(post(doc("/versions"), R"({"rev":31})").status, 400u);
  EXPECT_EQ(post(doc("/versions"), R"({"name":"x","rev":-1})").status, 400u);
  EXPECT_EQ(post(doc("/versions"), R"({"name":"x","rev":9999})").status, 404u);
  EXPECT_EQ(code(post(doc("/versions"), "{")), "invalid_json");
  EXPECT_EQ(post(doc("/versions"), R"({"name":"x"})", Role::editor, "text/plain").status, 415u);
  EXPECT_EQ(post(doc(""), "{}").status, 405u);
  auto del = route_history(*store_, caller_, Role::leader, "DELETE", doc("/versions"), "", "");
  EXPECT_EQ(del->status, 405u);
}

TEST_F(HistoryApi, ExportsAtARevisionOrANamedVersion) {
  ASSERT_EQ(post(doc("/versions"), R"({"name":"v 1","rev":25})").status, 201u);
  auto md = get(doc("/export?version=v%201&format=md"));
  ASSERT_EQ(md.status, 200u);
  EXPECT_EQ(md.content_type, "text/markdown; charset=utf-8");
  const auto at25 = store_->load_at(id_, 25)->doc;
  for (const auto* s : at25.ordered()) {
    EXPECT_NE(md.body.find("## " + s->title.to_string()), std::string::npos);
  }
  auto html = get(doc("/export?rev=25&format=html"));
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_NE(html.body.find("<h1>Data literacy</h1>"), std::string::npos);
  const auto csp = std::find_if(html.headers.begin(), html.headers.end(),
                                [](const auto& h) { return h.first == "Content-Security-Policy"; });
  ASSERT_NE(csp, html.headers.end());
  EXPECT_EQ(csp->second, export_html_policy());
  auto js = get(doc("/export?version=v%201&format=json"));
  auto j = json::parse(js.body);
  EXPECT_EQ(j["rev"], 25);
  EXPECT_EQ(j["version"]["name"], "v 1");
  EXPECT_EQ(*protocol::parse_document(j["snapshot"]), at25);
  bool disposition = false;
  for (const auto& [k, v] : js.headers) {
    disposition |= k == "Content-Disposition" && v.find("-r25.json") != std::string::npos;
  }
  EXPECT_TRUE(disposition);
  EXPECT_EQ(get(doc("/export?format=pdf")).status, 400u);
  EXPECT_EQ(get(doc("/export")).status, 400u);
  EXPECT_EQ(get(doc("/export?rev=1&version=v%201&format=md")).status, 400u);
  EXPECT_EQ(get(doc("/export?version=nope&format=md")).status, 404u);
  EXPECT_EQ(get(doc("/nothing-here")).status, 404u);
}

// The restore flow the authority will run: the op from make_restore_op, appended as a new
// revision with restored_from; the list shows it, and its diff is the way back.
TEST_F(HistoryApi, ARestoreIsANewRevisionThatTheHistoryShows) {
  // Locked sections refuse a restore: unlock them first, as a leader would.
  protocol::DocOp unlock;
  for (const auto* s : doc_.ordered()) {
    if (s->locked) unlock.components.push_back(protocol::SectionUnlock{s->id});
  }
  ASSERT_TRUE(protocol::apply(doc_, unlock).ok());
  ASSERT_TRUE(store_
                  ->append(id_, ++rev_, unlock,
                           {"ben", "uni-graz", 1'800'000'000'000, {}, "c-u", 1, 0}, doc_)
                  .ok());
  const auto then = store_->load_at(id_, 30)->doc;
  auto op = make_restore_op(doc_, then, std::nullopt);
  ASSERT_TRUE(op.ok()) << op.error().message;
  protocol::Document restored = doc_;
  ASSERT_TRUE(protocol::apply(restored, *op).ok());
  storage::RevisionInfo info{"ana", "uni-graz", 1'800'000'000'001, {}, "c-restore", 1, 30};
  ASSERT_TRUE(store_->append(id_, rev_ + 1, *op, info, restored).ok());
  auto j = json::parse(get(doc("?group=0&limit=1")).body);
  EXPECT_EQ(j["entries"][0]["rev"], rev_ + 1);
  EXPECT_EQ(j["entries"][0]["restored_from"], 30);
  j = json::parse(get(doc("/diff?from=30&to=" + std::to_string(rev_ + 1))).body);
  EXPECT_TRUE(j["sections"].empty()) << j.dump();
  j = json::parse(
      get(doc("/diff?from=" + std::to_string(rev_) + "&to=" + std::to_string(rev_ + 1))).body);
  const auto expected = diff_documents(doc_, then);
  ASSERT_EQ(j["sections"].size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(j["sections"][i]["id"], expected[i].id);
    EXPECT_EQ(j["sections"][i]["change"], change_name(expected[i].change));
  }
}

}  // namespace
}  // namespace jointly::server
