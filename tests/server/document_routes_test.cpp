// The document routes wired in with the history restore and the course checks, without sockets:
// POST /api/documents with the course template, GET .../checks, GET .../course-description
// (approved or not, by revision or named version), POST .../history/restore through a real
// authority (roles, refusals, the answer), and which requests run off the I/O threads.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/course_checks.hpp"
#include "server/document_authority.hpp"
#include "server/http_api.hpp"
#include "server/templates.hpp"
#include "storage/history_index.hpp"
#include "tests/server/api_harness.hpp"
#include "tests/server/harness.hpp"

namespace jointly::server {
namespace {

using nlohmann::json;

// Restores go to an authority of the document, loaded at the first one, whose completions the
// test runs. Ana and Jan are logged in.
class DocumentRoutesTest : public testing::ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    ana_cookie_ = login("ana@x.at");
    jan_cookie_ = login("jan@x.cz");
  }
  void TearDown() override {
    authority_.reset();
    store_.reset();
  }
  Restorer restorer() override {
    return [this](storage::DocumentId id, const Caller& c, std::uint64_t from,
                  std::optional<std::string> section) {
      return restore(id, c, from, std::move(section));
    };
  }

  protocol::Result<RestoreOutcome> restore(storage::DocumentId id, const Caller& c,
                                           std::uint64_t from, std::optional<std::string> section) {
    if (!authority_) {
      auto roles = [this](storage::DocumentId doc,
                          std::uint64_t user) -> storage::Result<std::optional<Role>> {
        auto r = accounts_->role(doc, user);
        if (!r.ok()) return r.status();
        if (!*r) return std::optional<Role>();
        return parse_role(**r);
      };
      authority_ = *DocumentAuthority::load(*store_, id, {}, exec_.post(), metrics_, roles);
    }
    std::optional<protocol::Result<RestoreOutcome>> out;
    authority_->restore(Peer{0, std::string(kRestoreClient), c.user_id, c.name, c.institution},
                        from, std::move(section),
                        [&](protocol::Result<RestoreOutcome> r) { out = std::move(r); });
    EXPECT_TRUE(exec_.run_until([&] { return out.has_value(); }));
    return std::move(*out);
  }

  // Ana creates a document from a template and makes Jan a member with this role.
  storage::DocumentId create(const std::string& template_name, const std::string& jan_role) {
    auto a = call("POST", "/api/documents",
                  json{{"title", "Joint course"}, {"template", template_name}}.dump(), ana_cookie_);
    EXPECT_EQ(a.status, 201u) << a.body;
    const storage::DocumentId id = json::parse(a.body)["id"];
    if (!jan_role.empty()) {
      EXPECT_TRUE(accounts_->set_role(id, jan_, jan_role).ok());
    }
    return id;
  }
  // Appends op (wire form) to the document as a revision of Ana's.
  void append(storage::DocumentId id, const json& op_json) {
    auto loaded = store_->load(id);
    ASSERT_TRUE(loaded.ok());
    const auto op = testing::op(op_json);
    ASSERT_TRUE(protocol::apply(loaded->doc, op).ok());
    storage::RevisionInfo info{"Ana",           "Uni Graz", 1'800'000'000'000, {}, "c-ana",
                               loaded->rev + 1, 0};
    ASSERT_TRUE(store_->append(id, loaded->rev + 1, op, info, loaded->doc).ok());
  }
  std::string path(storage::DocumentId id, const std::string& rest) {
    return "/api/documents/" + std::to_string(id) + rest;
  }

  testing::ManualExecutor exec_;
  std::shared_ptr<DocumentAuthority> authority_;
  std::string ana_cookie_, jan_cookie_;
};

TEST_F(DocumentRoutesTest, TheCourseTemplateIsCreatedAndUnknownTemplatesAreRefused) {
  const auto id = create("course", "");
  auto loaded = store_->load(id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->rev, 0u);
  EXPECT_EQ(loaded->doc, *make_template("course"));
  EXPECT_NE(loaded->doc.find("course"), nullptr);
  auto a = call("POST", "/api/documents", R"({"title":"x","template":"syllabus"})", ana_cookie_);
  EXPECT_EQ(a.status, 400u);
  EXPECT_NE(json::parse(a.body)["error"]["message"].get<std::string>().find("\"course\""),
            std::string::npos);
}

TEST_F(DocumentRoutesTest, ChecksAnswerForTheLastRevisionToMembersOnly) {
  const auto id = create("course", "viewer");
  append(id, json::parse(R"([{"edit":"course","f":"ects","op":["5"]}])"));
  auto a = call("GET", path(id, "/checks"), "", jan_cookie_);
  ASSERT_EQ(a.status, 200u) << a.body;
  json expected = checks_json(store_->load(id)->doc);
  expected["rev"] = 1;
  EXPECT_EQ(json::parse(a.body), expected);
  EXPECT_GT(expected["summary"]["error"].get<int>(), 0) << "the template is not filled in";
  ASSERT_TRUE(accounts_->remove_member(id, jan_).ok());
  EXPECT_EQ(call("GET", path(id, "/checks"), "", jan_cookie_).status, 403u);
  EXPECT_EQ(call("POST", path(id, "/checks"), "{}", ana_cookie_).status, 405u);
  EXPECT_EQ(call("GET", path(id, "/checks")).status, 401u);
}

TEST_F(DocumentRoutesTest, TheCourseDescriptionIsOnlyForAnApprovedVersion) {
  const auto id = create("course", "reviewer");
  auto a = call("GET", path(id, "/course-description"), "", jan_cookie_);
  EXPECT_EQ(a.status, 409u);
  EXPECT_EQ(code(a), "not_approved");

  // Fill the course in, then lock every section and have both institutions approve it.
  json fill = json::array();
  auto set = [&](const char* section, const char* field, const char* text) {
    fill.push_back({{"edit", section}, {"f", field}, {"op", {text}}});
  };
  for (const char* step : {"vision", "policy", "support", "team", "outcomes"}) {
    set(step, "body", "Agreed by both partners.");
  }
  for (const auto& [field, text] : std::vector<std::pair<const char*, const char*>>{
           {"course_title", "Open data in practice"},
           {"awarding_bodies", "Uni Graz\nMasaryk University"},
           {"countries", "Austria\nCzechia"},
           {"ects", "3"},
           {"eqf_level", "EQF 6"},
           {"participation", "Blended"},
           {"quality_assurance", "Joint review board"},
           {"outcomes", "LO1: Find open data"},
           {"issue_date", "At the end"},
           {"learner_id", "Student number"}}) {
    set("course", field, text);
  }
  set("unit1", "ects", "3");
  set("unit1", "outcomes", "LO1");
  set("unit1", "assessment", "Project");
  append(id, fill);
  const auto filled = store_->load(id)->doc;
  json sign = json::array();
  for (const auto* s : filled.ordered()) {
    sign.push_back({{"lock", s->id}});
    for (const char* inst : {"Uni Graz", "Masaryk University"}) {
      sign.push_back({{"approve", s->id},
                      {"inst", inst},
                      {"user", "u"},
                      {"time", 1732900000000},
                      {"hash", "h"}});
    }
  }
  append(id, sign);
  // Name the unapproved revision 1 to read it back by name.
  storage::History history(*store_);
  ASSERT_TRUE(history.name_version(id, 1, "draft", "Ana", 1).ok());

  a = call("GET", path(id, "/course-description"), "", jan_cookie_);
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto expected = course_description_json(
      store_->load(id)->doc, 2,
      CourseExportInfo{id, "Joint course", {"Masaryk University", "Uni Graz"}});
  ASSERT_TRUE(expected.ok()) << expected.error().message;
  EXPECT_EQ(json::parse(a.body), *expected);
  EXPECT_EQ(json::parse(a.body)["document"]["rev"], 2);
  EXPECT_EQ(call("GET", path(id, "/course-description?rev=2"), "", jan_cookie_).body, a.body);
  EXPECT_EQ(code(call("GET", path(id, "/course-description?rev=1"), "", jan_cookie_)),
            "not_approved");
  EXPECT_EQ(code(call("GET", path(id, "/course-description?version=draft"), "", jan_cookie_)),
            "not_approved");
  EXPECT_EQ(call("GET", path(id, "/course-description?version=final"), "", jan_cookie_).status,
            404u);
  EXPECT_EQ(call("GET", path(id, "/course-description?rev=3"), "", jan_cookie_).status, 404u);
  EXPECT_EQ(call("GET", path(id, "/course-description?rev=x"), "", jan_cookie_).status, 400u);
  EXPECT_EQ(
      call("GET", path(id, "/course-description?rev=1&version=draft"), "", jan_cookie_).status,
      400u);
  EXPECT_EQ(call("GET", path(id, "/course-description?format=pdf"), "", jan_cookie_).status, 400u);
}

TEST_F(DocumentRoutesTest, RestoreMakesANewRevisionForEditorsAndSaysWhyNot) {
  const auto id = create("blank", "reviewer");
  append(id, json::parse(R"([{"edit":"intro","f":"body","op":["First draft"]}])"));
  append(id, json::parse(R"([{"edit":"intro","f":"body","op":[{"d":11},"Second"]}])"));
  const std::string restore = path(id, "/history/restore");

  // A reviewer may not restore; a non-member is refused like everywhere.
  auto a = call("POST", restore, R"({"rev":1})", jan_cookie_);
  EXPECT_EQ(a.status, 403u);
  EXPECT_EQ(code(a), "forbidden");

  a = call("POST", restore, R"({"rev":1,"section":"intro"})", ana_cookie_);
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(json::parse(a.body), json::parse(R"({"rev":3,"restored_from":1,"changed":true})"));
  EXPECT_EQ(testing::body_of(store_->load(id)->doc, "intro"), "First draft");
  // The history lists it as a restore.
  auto list = json::parse(call("GET", path(id, "/history?group=0&limit=1"), "", ana_cookie_).body);
  EXPECT_EQ(list["entries"][0]["rev"], 3);
  EXPECT_EQ(list["entries"][0]["restored_from"], 1);

  // Nothing left to restore: the revision stays.
  a = call("POST", restore, R"({"rev":1})", ana_cookie_);
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(json::parse(a.body), json::parse(R"({"rev":3,"restored_from":1,"changed":false})"));

  // Locked: 409 section_locked. Past the head or an unknown section: 404.
  authority_.reset();
  append(id, json::parse(R"([{"lock":"intro"}])"));
  a = call("POST", restore, R"({"rev":2,"section":"intro"})", ana_cookie_);
  EXPECT_EQ(a.status, 409u);
  EXPECT_EQ(code(a), "section_locked");
  EXPECT_EQ(call("POST", restore, R"({"rev":9})", ana_cookie_).status, 404u);
  EXPECT_EQ(call("POST", restore, R"({"rev":1,"section":"nope"})", ana_cookie_).status, 404u);
  EXPECT_EQ(call("POST", restore, R"({"rev":0})", ana_cookie_).status, 400u)
      << "revision 0 cannot be recorded as restored_from";
  // Malformed requests.
  for (const char* body : {R"({})", R"({"rev":-1})", R"({"rev":"1"})", R"({"rev":1,"section":3})",
                           R"({"rev":1,"sections":"intro"})", "[1]"}) {
    EXPECT_EQ(call("POST", restore, body, ana_cookie_).status, 400u) << body;
  }
  EXPECT_EQ(call("GET", restore, "", ana_cookie_).status, 405u);
  EXPECT_EQ(store_->document(id)->last_rev, 4u);
}

TEST_F(DocumentRoutesTest, RequestsThatWaitForDurabilityRunOffTheIoThreads) {
  EXPECT_TRUE(is_slow_api("POST", "/api/documents"));
  EXPECT_TRUE(is_slow_api("POST", "/api/documents/7/history/restore"));
  EXPECT_TRUE(is_slow_api("POST", "/api/login"));
  EXPECT_FALSE(is_slow_api("GET", "/api/documents"));
  EXPECT_FALSE(is_slow_api("GET", "/api/documents/7/checks"));
  EXPECT_FALSE(is_slow_api("POST", "/api/documents/7/history/versions"));
  EXPECT_FALSE(is_slow_api("POST", "/api/documents/history/restore"));
}

}  // namespace
}  // namespace jointly::server
