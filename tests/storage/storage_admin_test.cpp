// jointly-admin: backup, restore and check, run as the real binary.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/store.hpp"
#include "tests/storage/doc_ops.hpp"
#include "tests/storage/temp_dir.hpp"

#ifndef JOINTLY_ADMIN
#error "JOINTLY_ADMIN (the path of jointly-admin) is set by tests/CMakeLists.txt"
#endif

namespace jointly::storage {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

struct Run {
  int status = -1;
  std::string output;
};

// Runs jointly-admin with args; returns its exit status and what it printed.
Run admin(const TempDir& tmp, const std::string& args) {
  const auto out = tmp.sub("admin.out");
  const std::string cmd = std::string(JOINTLY_ADMIN) + " " + args + " >" + out + " 2>&1";
  const int rc = std::system(cmd.c_str());
  Run r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  return r;
}

std::unique_ptr<Store> open_store(const std::string& dir) {
  Options o;
  o.snapshot_interval = 10;
  auto s = Store::open(dir, o);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Two documents with some history.
void fill(Store& store) {
  for (int d = 0; d < 2; ++d) {
    auto id = *store.create_document("Course " + std::to_string(d));
    testing::RandomEditor editor(d);
    protocol::Document doc;
    for (std::uint64_t r = 1; r <= 35; ++r) {
      auto op = editor.next(doc);
      ASSERT_TRUE(protocol::apply(doc, op).ok());
      RevisionInfo info;
      info.author = "u1";
      info.client_id = "c";
      info.client_seq = r;
      ASSERT_TRUE(store.append(id, r, op, info, doc).ok());
    }
  }
}

TEST(JointlyAdmin, BacksUpAStoreInUseAndRestoresIt) {
  TempDir tmp;
  auto live = open_store(tmp.sub("data"));
  fill(*live);  // the store stays open, as under a running server
  auto backup = admin(tmp, "backup --data " + tmp.sub("data") + " --to " + tmp.sub("backup"));
  ASSERT_EQ(backup.status, 0) << backup.output;
  auto restore =
      admin(tmp, "restore --from " + tmp.sub("backup") + " --data " + tmp.sub("restored"));
  ASSERT_EQ(restore.status, 0) << restore.output;
  auto restored = open_store(tmp.sub("restored"));
  auto docs = restored->list_documents();
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 2u);
  for (const auto& m : *docs) {
    EXPECT_EQ(m.last_rev, 35u);
    EXPECT_EQ(m.title, live->document(m.id)->title);
    EXPECT_EQ(restored->load(m.id)->doc, live->load(m.id)->doc);
    EXPECT_EQ(*restored->revisions(m.id, 1, 35), *live->revisions(m.id, 1, 35));
  }
}

TEST(JointlyAdmin, RestoresIntoAnEmptyDirectory) {
  TempDir tmp;
  fill(*open_store(tmp.sub("data")));
  ASSERT_EQ(admin(tmp, "backup --data " + tmp.sub("data") + " --to " + tmp.sub("b")).status, 0);
  fs::create_directories(tmp.sub("empty"));
  auto r = admin(tmp, "restore --from " + tmp.sub("b") + " --data " + tmp.sub("empty"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(admin(tmp, "check --data " + tmp.sub("empty")).status, 0);
}

TEST(JointlyAdmin, RefusesToRestoreOverANonEmptyDirectory) {
  TempDir tmp;
  fill(*open_store(tmp.sub("data")));
  ASSERT_EQ(admin(tmp, "backup --data " + tmp.sub("data") + " --to " + tmp.sub("b")).status, 0);
  fs::create_directories(tmp.sub("busy"));
  testing::write_file(tmp.path() / "busy" / "keep.txt", "precious");
  auto r = admin(tmp, "restore --from " + tmp.sub("b") + " --data " + tmp.sub("busy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not empty"), std::string::npos) << r.output;
  EXPECT_EQ(fs::file_size(tmp.path() / "busy" / "keep.txt"), 8u);
  // Nor over an existing store.
  r = admin(tmp, "restore --from " + tmp.sub("b") + " --data " + tmp.sub("data"));
  EXPECT_EQ(r.status, 1) << r.output;
}

TEST(JointlyAdmin, RefusesToBackUpIntoANonEmptyDirectory) {
  TempDir tmp;
  fill(*open_store(tmp.sub("data")));
  fs::create_directories(tmp.sub("b"));
  testing::write_file(tmp.path() / "b" / "x", "x");
  EXPECT_EQ(admin(tmp, "backup --data " + tmp.sub("data") + " --to " + tmp.sub("b")).status, 1);
}

TEST(JointlyAdmin, ChecksASoundStore) {
  TempDir tmp;
  fill(*open_store(tmp.sub("data")));
  auto r = admin(tmp, "check --data " + tmp.sub("data"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("2 documents, sound"), std::string::npos) << r.output;
}

TEST(JointlyAdmin, CheckFailsOnADamagedDocument) {
  TempDir tmp;
  {
    auto store = open_store(tmp.sub("data"));
    fill(*store);
    RawAppend a;  // revision 36 whose op names no section
    a.document = 1;
    a.rev = 36;
    a.info.client_id = "c";
    a.info.client_seq = 36;
    a.op = Store::encode_op(testing::insert_text("nowhere", 0, "x"));
    ASSERT_TRUE(store->log().append(a).ok());
  }
  auto r = admin(tmp, "check --data " + tmp.sub("data"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("revision 36 does not apply"), std::string::npos) << r.output;
}

TEST(JointlyAdmin, CheckFailsOnSomethingThatIsNotAStore) {
  TempDir tmp;
  fs::create_directories(tmp.sub("other"));
  testing::write_file(tmp.path() / "other" / "notes.txt", "hello");
  auto r = admin(tmp, "check --data " + tmp.sub("other"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not_a_store"), std::string::npos) << r.output;
  EXPECT_EQ(admin(tmp, "check --data " + tmp.sub("absent")).status, 1);
  EXPECT_FALSE(fs::exists(tmp.sub("absent")));
}

TEST(JointlyAdmin, AnswersAWrongCommandLineWithUsage) {
  TempDir tmp;
  EXPECT_EQ(admin(tmp, "").status, 2);
  EXPECT_EQ(admin(tmp, "frobnicate --data x").status, 2);
  EXPECT_EQ(admin(tmp, "backup --data x").status, 2);
  EXPECT_EQ(admin(tmp, "check --bogus").status, 2);
  EXPECT_EQ(admin(tmp, "--help").status, 0);
}

}  // namespace
}  // namespace jointly::storage
