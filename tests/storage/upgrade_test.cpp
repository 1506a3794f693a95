// Upgrades: the current code reads a store written by release 1 (tests/fixtures/store-release1,
// made by the storage format of commit 0b3ec4b) exactly as that release wrote it, finds it
// sound, and keeps writing to it. A failure here means a format change broke old data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "storage/store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::storage {
namespace {

using json = nlohmann::json;
using testing::TempDir;
namespace fs = std::filesystem;

const fs::path kFixture = fs::path(JOINTLY_SOURCE_DIR) / "tests/fixtures/store-release1";

json expected() {
  std::ifstream in(kFixture / "expected.json");
  return json::parse(in);
}

// A writable copy of the fixture's store files (RocksDB writes on open).
std::string copy_store(const TempDir& tmp) {
  const std::string dir = tmp.sub("store");
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(kFixture)) {
    const auto name = e.path().filename().string();
    if (name == "expected.json" || name == "README.md" || name == "make_fixture.cpp.txt") continue;
    fs::copy_file(e.path(), fs::path(dir) / name);
  }
  return dir;
}

TEST(UpgradeTest, ReadsEveryDocumentOfRelease1AsWritten) {
  TempDir tmp;
  auto store = Store::open(copy_store(tmp), Options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  const json want = expected();

  auto docs = (*store)->list_documents();
  ASSERT_TRUE(docs.ok()) << docs.status().to_string();
  ASSERT_EQ(docs->size(), want["documents"].size());
  for (std::size_t i = 0; i < docs->size(); ++i) {
    const auto& meta = (*docs)[i];
    const json& w = want["documents"][i];
    SCOPED_TRACE("document " + std::to_string(meta.id));
    EXPECT_EQ(meta.id, w["id"].get<DocumentId>());
    EXPECT_EQ(meta.title, w["title"].get<std::string>());
    EXPECT_EQ(meta.created_ms, w["created"].get<std::int64_t>());
    EXPECT_EQ(meta.last_rev, w["rev"].get<std::uint64_t>());

    auto loaded = (*store)->load(meta.id);
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    EXPECT_EQ(loaded->rev, w["rev"].get<std::uint64_t>());
    EXPECT_EQ(protocol::to_json(loaded->doc), w["snapshot"]);

    for (const json& r : w["revisions"]) {
      auto rev = (*store)->revision(meta.id, r["rev"].get<std::uint64_t>());
      ASSERT_TRUE(rev.ok()) << rev.status().to_string();
      EXPECT_EQ(rev->info.author, r["author"].get<std::string>());
      EXPECT_EQ(rev->info.institution, r["institution"].get<std::string>());
      EXPECT_EQ(rev->info.server_time_ms, r["time"].get<std::int64_t>());
      EXPECT_EQ(rev->info.client_id, r["client"].get<std::string>());
      EXPECT_EQ(rev->info.client_seq, r["seq"].get<std::uint64_t>());
      EXPECT_EQ(protocol::to_json(rev->op), r["op"]);
    }
  }

  auto at150 = (*store)->load_at(1, 150);
  ASSERT_TRUE(at150.ok()) << at150.status().to_string();
  EXPECT_EQ(protocol::to_json(at150->doc), want["doc1_at_150"]);

  auto found = (*store)->find_by_client(1, "c-jan", 150);
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  EXPECT_EQ(*found, 150u);
}

TEST(UpgradeTest, Release1StoreChecksSoundAndTakesNewRevisions) {
  TempDir tmp;
  const std::string dir = copy_store(tmp);
  {
    auto store = Store::open(dir, Options());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    auto checks = (*store)->check();
    ASSERT_TRUE(checks.ok()) << checks.status().to_string();
    for (const auto& c : *checks)
      EXPECT_TRUE(c.problems.empty()) << "document " << c.id << ": " << c.problems.front();

    auto loaded = (*store)->load(2);
    ASSERT_TRUE(loaded.ok());
    protocol::Document doc = loaded->doc;
    auto op = protocol::parse_doc_op(
        json::parse(R"([{"edit":"a1","f":"body","op":[16," in context"]}])"));
    ASSERT_TRUE(op.ok());
    ASSERT_TRUE(protocol::apply(doc, *op).ok());
    RevisionInfo info;
    info.author = "Jan Novák";
    info.institution = "Masaryk University";
    info.server_time_ms = 1764400000000;
    info.client_id = "c-after-upgrade";
    info.client_seq = 1;
    ASSERT_TRUE((*store)->append(2, loaded->rev + 1, *op, info, doc).ok());
  }
  auto store = Store::open(dir, Options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto loaded = (*store)->load(2);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->rev, expected()["documents"][1]["rev"].get<std::uint64_t>() + 1);
  EXPECT_EQ(loaded->doc.find("a1")->body.to_string(), "LO1 Analyse data in context");
}

}  // namespace
}  // namespace jointly::storage
