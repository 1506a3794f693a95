// The document authority's restore from history (issue #7) and its refusal of a submit when
// storage's write queue is full (busy, issue #4), without sockets: a restore of one section and
// of the whole document becomes a new, durable, broadcast revision with restored_from; a locked
// section refuses it; a restore ordered among concurrent edits; a full queue refuses and takes
// the apply back, and the resubmission succeeds.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "server/document_authority.hpp"
#include "storage/store.hpp"
#include "tests/server/harness.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::server {
namespace {

using testing::json;
using testing::make_peer;
using testing::RecordingSubscriber;
using testing::submit;
using Outcome = protocol::Result<RestoreOutcome>;

// A store with one document: section "a" ("A", "hello") and "b" ("B", "world"). Storage's
// completions go through a gate that can hold the writer thread (to fill the write queue).
class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Options o;
    o.durability = storage::Durability::flush;
    o.snapshot_interval = 4;
    o.max_queued_writes = queued_writes();
    auto s = storage::Store::open(dir_.sub("data"), o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    const protocol::Document initial = testing::hello_world_document();
    auto id = store_->create_document("Course", initial);
    ASSERT_TRUE(id.ok());
    doc_ = *id;
    auto post = exec_.post();
    auto a = DocumentAuthority::load(
        *store_, doc_, {},
        [this, post](std::function<void()> f) {
          std::unique_lock lock(gate_mu_);
          ++held_;
          gate_cv_.notify_all();
          gate_cv_.wait(lock, [&] { return !hold_; });
          --held_;
          lock.unlock();
          post(std::move(f));
        },
        metrics_, roles_.lookup());
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    authority_ = *a;
  }

  // The write queue's room (storage::Options::max_queued_writes).
  virtual std::size_t queued_writes() const { return 8192; }

  // Storage completes what it still has queued while the executor and the gate exist.
  void TearDown() override {
    open_gate();
    authority_.reset();
    store_.reset();
  }

  std::shared_ptr<RecordingSubscriber> join(std::uint64_t conn, const std::string& client) {
    auto s = std::make_shared<RecordingSubscriber>();
    authority_->open(make_peer(conn, client), s, std::nullopt);
    return s;
  }
  // Submits op (made on revision rev) as client/seq from connection conn; with wait, runs
  // completions until it is durable.
  void edit(std::uint64_t conn, const std::shared_ptr<RecordingSubscriber>& s,
            const std::string& client, std::uint64_t rev, std::uint64_t seq, const char* op,
            bool wait = true) {
    authority_->submit(make_peer(conn, client), s, submit(doc_, rev, client, seq, json::parse(op)));
    if (wait) settle();
  }
  // Runs completions until every revision applied is durable.
  void settle() {
    ASSERT_TRUE(exec_.run_until([&] { return authority_->durable_rev() == authority_->head(); }));
  }
  // Restores and runs completions until the answer arrives.
  Outcome restore(std::uint64_t from, std::optional<std::string> section, std::uint64_t user = 9) {
    std::optional<Outcome> out;
    authority_->restore(
        make_peer(0, std::string(kRestoreClient), "Ben", "Masaryk University", user), from,
        std::move(section), [&](Outcome o) { out = std::move(o); });
    EXPECT_TRUE(exec_.run_until([&] { return out.has_value(); }));
    return out ? std::move(*out) : Outcome(protocol::make_error("none", "no answer"));
  }
  std::string body(const std::string& section) {
    return testing::body_of(authority_->document(), section);
  }

  void close_gate() {
    std::lock_guard lock(gate_mu_);
    hold_ = true;
  }
  void open_gate() {
    {
      std::lock_guard lock(gate_mu_);
      hold_ = false;
    }
    gate_cv_.notify_all();
  }
  // Waits until storage's writer thread is held at the gate.
  void wait_until_held() {
    std::unique_lock lock(gate_mu_);
    ASSERT_TRUE(gate_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return held_ > 0; }));
  }

  storage::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  storage::DocumentId doc_ = 0;
  testing::ManualExecutor exec_;
  Metrics metrics_;
  testing::TestRoles roles_;
  std::shared_ptr<DocumentAuthority> authority_;
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  bool hold_ = false;
  int held_ = 0;
};

TEST_F(RestoreTest, ASectionIsRestoredAsANewDurableBroadcastRevision) {
  auto alice = join(1, "alice");
  auto bob = join(2, "bob");
  edit(1, alice, "alice", 0, 1, R"([{"edit":"b","f":"body","op":["brave new "]}])");
  edit(1, alice, "alice", 1, 2, R"([{"edit":"a","f":"body","op":[5," there"]}])");
  ASSERT_EQ(body("a"), "hello there");

  auto out = restore(1, "a");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, (RestoreOutcome{3, 1, true}));
  EXPECT_EQ(body("a"), "hello");
  EXPECT_EQ(body("b"), "brave new world") << "only the section is restored";
  // Durable when answered, and recorded as a restore.
  auto stored = store_->revision(doc_, 3);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->info.restored_from, 1u);
  EXPECT_EQ(stored->info.author, "Ben");
  EXPECT_EQ(stored->info.institution, "Masaryk University");
  EXPECT_EQ(store_->load(doc_)->doc, authority_->document());
  // Every subscriber, the editors too, gets the op with who made it and where it came from.
  for (auto* s : {alice.get(), bob.get()}) {
    auto op = s->last("op");
    ASSERT_TRUE(op) << json(s->messages()).dump();
    EXPECT_EQ((*op)["rev"], 3);
    EXPECT_EQ((*op)["restored_from"], 1);
    EXPECT_EQ((*op)["author"], "Ben");
    EXPECT_EQ((*op)["institution"], "Masaryk University");
  }
  // A client applying the broadcast op converges with the server.
  protocol::Document replica = store_->load_at(doc_, 2)->doc;
  ASSERT_TRUE(protocol::apply(replica, testing::op((*bob->last("op"))["op"])));
  EXPECT_EQ(replica, authority_->document());
  // Revision 0 (the document as created) cannot be recorded as restored_from (0 means "no
  // restore" in the log): refused.
  out = restore(0, "a");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "invalid_request");
}

TEST_F(RestoreTest, TheWholeDocumentIsRestoredAndNothingToRestoreChangesNothing) {
  auto alice = join(1, "alice");
  edit(1, alice, "alice", 0, 1, R"([{"edit":"a","f":"title","op":["Part "]}])");
  edit(1, alice, "alice", 1, 2, R"([{"add":"c","pos":"z","title":"C","body":"new"}])");
  edit(1, alice, "alice", 2, 3, R"([{"remove":"b"}])");
  settle();
  const protocol::Document at1 = store_->load_at(doc_, 1)->doc;

  auto out = restore(1, std::nullopt);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, (RestoreOutcome{4, 1, true}));
  const auto* b = authority_->document().find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->removed) << "a removed section comes back";
  EXPECT_TRUE(authority_->document().find("c")->removed) << "a later section is removed";
  EXPECT_EQ(authority_->document().find("a")->title.to_string(), "Part A");
  for (const char* id : {"a", "b"}) {
    EXPECT_EQ(authority_->document().find(id)->body.to_string(), at1.find(id)->body.to_string());
  }

  // Again: nothing differs, so no revision is made.
  out = restore(1, std::nullopt);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, (RestoreOutcome{4, 1, false}));
  EXPECT_EQ(authority_->head(), 4u);
  EXPECT_EQ(store_->revision(doc_, 4)->info.restored_from, 1u);
}

TEST_F(RestoreTest, ALockedSectionRefusesAndNonEditorsAndFutureRevisionsAreRefused) {
  auto alice = join(1, "alice");
  edit(1, alice, "alice", 0, 1, R"([{"edit":"a","f":"body","op":[5,"!"]}])");
  edit(1, alice, "alice", 1, 2, R"([{"edit":"a","f":"body","op":[6,"?"]}])");
  edit(1, alice, "alice", 2, 3, R"([{"lock":"a"}])");
  auto out = restore(1, "a");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "section_locked");
  EXPECT_EQ(body("a"), "hello!?");
  EXPECT_EQ(authority_->head(), 3u);
  // The unlocked section of a whole-document restore does not help either.
  out = restore(1, std::nullopt);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "section_locked");

  roles_.set(doc_, 9, Role::reviewer);
  out = restore(1, "b");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "forbidden");
  roles_.set(doc_, 9, std::nullopt);
  EXPECT_EQ(restore(1, "b").error().code, "forbidden");
  roles_.set(doc_, 9, Role::editor);
  EXPECT_EQ(restore(4, "b").error().code, "not_found") << "revision 4 does not exist yet";
  EXPECT_EQ(restore(1, "zz").error().code, "not_found") << "no such section then or now";
  EXPECT_EQ(authority_->head(), 3u);
  EXPECT_EQ(metrics_.rejected.value("section_locked"), 2u);
}

TEST_F(RestoreTest, ARestoreIsOrderedWithConcurrentEditsLikeASubmit) {
  auto alice = join(1, "alice");
  auto bob = join(2, "bob");
  edit(1, alice, "alice", 0, 1, R"([{"edit":"b","f":"body","op":["x"]}])");
  edit(1, alice, "alice", 1, 2, R"([{"edit":"a","f":"body","op":["oh "]}])");
  // Bob edits b on revision 2; the restore of a (to revision 1) is made while his edit is not
  // yet durable; then alice, who has seen neither, edits a on revision 2.
  edit(2, bob, "bob", 2, 1, R"([{"edit":"b","f":"body","op":[6,"!"]}])", false);
  std::optional<Outcome> out;
  authority_->restore(make_peer(0, std::string(kRestoreClient), "Ben", "Masaryk University", 9), 1,
                      "a", [&](Outcome o) { out = std::move(o); });
  edit(1, alice, "alice", 2, 3, R"([{"edit":"a","f":"body","op":[8," you"]}])", false);
  ASSERT_TRUE(exec_.run_until([&] { return out.has_value() && alice->count("ack") == 3; }));
  settle();
  ASSERT_TRUE(out->ok());
  EXPECT_EQ((*out)->rev, 4u) << "bob's edit is 3, the restore 4, alice's edit 5";
  EXPECT_EQ(body("a"), "hello you") << "alice's edit, transformed past the restore";
  EXPECT_EQ(body("b"), "xworld!");
  EXPECT_EQ((*bob->last("op"))["rev"], 5);
  EXPECT_EQ(bob->of_type("op")[bob->count("op") - 2]["restored_from"], 1);
  EXPECT_EQ(store_->load(doc_)->doc, authority_->document());
}

// Room for one queued write: the busy test fills it.
class BusyTest : public RestoreTest {
 protected:
  std::size_t queued_writes() const override { return 1; }
};

TEST_F(BusyTest, AFullWriteQueueRefusesTheSubmitWithBusyAndTakesTheApplyBack) {
  auto alice = join(1, "alice");
  edit(1, alice, "alice", 0, 1, R"([{"edit":"b","f":"body","op":["x"]}])");
  close_gate();
  // 2: taken by the writer, which then waits at the gate; 3: waits in the queue (room for one).
  edit(1, alice, "alice", 1, 2, R"([{"edit":"a","f":"body","op":[5," one"]}])", false);
  wait_until_held();
  edit(1, alice, "alice", 1, 3, R"([{"edit":"a","f":"body","op":[5," two"]}])", false);
  // 4: the queue is full. Refused at once (the strand never waits), nothing applied.
  edit(1, alice, "alice", 1, 4, R"([{"add":"c","pos":"z","title":"C","body":"four"}])", false);
  auto error = alice->last("error");
  ASSERT_TRUE(error) << json(alice->messages()).dump();
  EXPECT_EQ((*error)["code"], "busy");
  EXPECT_EQ((*error)["seq"], 4);
  EXPECT_EQ(authority_->head(), 3u);
  EXPECT_EQ(authority_->document().find("c"), nullptr);
  EXPECT_EQ(body("a"), "hello two one");
  // A restore meets the same refusal.
  std::optional<Outcome> out;
  authority_->restore(make_peer(0, std::string(kRestoreClient), "Ben", "Masaryk University", 9), 1,
                      "a", [&](Outcome o) { out = std::move(o); });
  ASSERT_TRUE(out && !out->ok());
  EXPECT_EQ(out->error().code, "busy");
  EXPECT_EQ(body("a"), "hello two one");

  open_gate();
  settle();
  EXPECT_EQ(alice->count("ack"), 3u);
  // The client resubmits the same op, with the same seq: it becomes revision 4, once.
  edit(1, alice, "alice", 3, 4, R"([{"add":"c","pos":"z","title":"C","body":"four"}])");
  EXPECT_EQ((*alice->last("ack"))["rev"], 4);
  EXPECT_EQ(body("c"), "four");
  EXPECT_EQ(store_->load(doc_)->doc, authority_->document());
  EXPECT_EQ(metrics_.rejected.value("busy"), 2u);
}

}  // namespace
}  // namespace jointly::server
