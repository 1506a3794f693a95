// The document authority without sockets: transform against history (memory and storage),
// dedupe (also after a reload), the revision window, locks, size limits, presence, and that
// acks and broadcasts wait for durability.
#include "server/document_authority.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "storage/fault_injection.hpp"
#include "storage/store.hpp"
#include "tests/server/harness.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::server {
namespace {

using testing::json;
using testing::make_peer;
using testing::ManualExecutor;
using testing::RecordingSubscriber;
using testing::submit;

// A store holding one document with sections "a" (body "hello") and "b" (body "world").
class AuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override { open_store(); }

  void open_store(std::shared_ptr<storage::FaultInjection> faults = nullptr,
                  std::uint64_t min_free_bytes = 0) {
    storage::Options o;
    o.durability = storage::Durability::flush;
    o.snapshot_interval = 4;
    o.fault_injection = std::move(faults);
    o.min_free_bytes = min_free_bytes;
    auto s = storage::Store::open(dir_.sub("data"), o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    if (doc_id_ == 0) {
      const protocol::Document initial = testing::hello_world_document();
      auto id = store_->create_document("Course", initial);
      ASSERT_TRUE(id.ok());
      doc_id_ = *id;
    }
  }

  std::shared_ptr<DocumentAuthority> load(AuthorityOptions options = {}) {
    auto a =
        DocumentAuthority::load(*store_, doc_id_, options, exec_.post(), metrics_, roles_.lookup());
    EXPECT_TRUE(a.ok()) << a.status().to_string();
    return a.ok() ? *a : nullptr;
  }

  // Opens the document for a new subscriber on connection conn.
  std::shared_ptr<RecordingSubscriber> join(DocumentAuthority& a, std::uint64_t conn,
                                            const std::string& client,
                                            std::optional<std::uint64_t> rev = std::nullopt) {
    auto s = std::make_shared<RecordingSubscriber>();
    a.open(make_peer(conn, client), s, rev);
    return s;
  }

  // Runs completions until the subscriber has n messages of this type.
  void wait_for(RecordingSubscriber& s, const std::string& type, std::size_t n = 1) {
    ASSERT_TRUE(exec_.run_until([&] { return s.count(type) >= n; }))
        << "no " << type << " arrived; got " << json(s.messages()).dump();
  }

  storage::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  storage::DocumentId doc_id_ = 0;
  ManualExecutor exec_;
  Metrics metrics_;
  testing::TestRoles roles_;
};

TEST_F(AuthorityTest, OpenWithoutRevSendsTheSnapshot) {
  auto a = load();
  auto s = join(*a, 1, "c1");
  auto snap = s->last("snapshot");
  ASSERT_TRUE(snap);
  EXPECT_EQ((*snap)["rev"], 0);
  EXPECT_EQ((*snap)["title"], "Course");
  EXPECT_EQ((*snap)["snapshot"]["sections"].size(), 2u);
  EXPECT_TRUE((*snap)["presence"].empty());
}

TEST_F(AuthorityTest, AckAndBroadcastWaitUntilTheRevisionIsDurable) {
  auto a = load();
  auto alice = join(*a, 1, "alice");
  auto bob = join(*a, 2, "bob");
  a->submit(
      make_peer(1, "alice"), alice,
      submit(doc_id_, 0, "alice", 1, json::parse(R"([{"edit":"a","f":"body","op":[5,"!"]}])")));
  // Applied in memory, queued to storage, but nobody has been told.
  EXPECT_EQ(a->head(), 1u);
  EXPECT_EQ(alice->count("ack"), 0u);
  EXPECT_EQ(bob->count("op"), 0u);
  wait_for(*alice, "ack");
  // By the time the ack exists, storage has the revision.
  auto stored = store_->revision(doc_id_, 1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->info.client_id, "alice");
  EXPECT_EQ(*alice->last("ack"), json::parse(R"({"type":"ack","doc":1,"seq":1,"rev":1})"));
  wait_for(*bob, "op");
  auto op = *bob->last("op");
  EXPECT_EQ(op["rev"], 1);
  EXPECT_EQ(op["author"], "Ana");
  EXPECT_EQ(op["institution"], "Uni Graz");
  EXPECT_EQ(op["client"], "alice");
  EXPECT_EQ(op["seq"], 1);
  EXPECT_EQ(op["op"], json::parse(R"([{"edit":"a","f":"body","op":[5,"!"]}])"));
  EXPECT_EQ(alice->count("op"), 0u) << "the sender gets the ack, not the op";
  EXPECT_EQ(a->durable_rev(), 1u);
  EXPECT_EQ(metrics_.ops_applied.value(), 1u);
}

TEST_F(AuthorityTest, RevisionsDurableTogetherGoToEachConnectionInOneBatchInOrder) {
  auto a = load();
  auto alice = join(*a, 1, "alice");
  auto bob = join(*a, 2, "bob");
  auto carol = join(*a, 3, "carol");
  const auto edit = [](const char* section) {
    return json::parse(std::string(R"([{"edit":")") + section + R"(","f":"body","op":["!"]}])");
  };
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 1, edit("a")));
  a->submit(make_peer(2, "bob"), bob, submit(doc_id_, 0, "bob", 1, edit("b")));
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 2, edit("a")));
  // Storage completes the three (in one write group or more); nothing runs here until the
  // executor does, so the completions wait together and are processed in one go.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (a->completions_waiting() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(a->completions_waiting(), 3u);
  wait_for(*carol, "op", 3);
  const std::vector<std::pair<storage::DocumentId, std::size_t>> one_of_three{{doc_id_, 3}};
  EXPECT_EQ(alice->batches(), one_of_three);
  EXPECT_EQ(bob->batches(), one_of_three);
  EXPECT_EQ(carol->batches(), one_of_three);
  auto kinds = [](RecordingSubscriber& s) {
    std::vector<std::string> out;
    for (const auto& m : s.messages()) {
      if (m["type"] == "ack" || m["type"] == "op") {
        out.push_back(m["type"].get<std::string>() + std::to_string(m["rev"].get<int>()));
      }
    }
    return out;
  };
  // Each hears of every revision once, in revision order: its own as an ack.
  EXPECT_EQ(kinds(*alice), (std::vector<std::string>{"ack1", "op2", "ack3"}));
  EXPECT_EQ(kinds(*bob), (std::vector<std::string>{"op1", "ack2", "op3"}));
  EXPECT_EQ(kinds(*carol), (std::vector<std::string>{"op1", "op2", "op3"}));
  EXPECT_EQ(a->completions_waiting(), 0u);
}

TEST_F(AuthorityTest, ConcurrentEditsAreTransformedAgainstHistory) {
  auto a = load();
  auto alice = join(*a, 1, "alice");
  auto bob = join(*a, 2, "bob");
  // Both made on revision 0: alice inserts at the start, bob at the end.
  a->submit(
      make_peer(1, "alice"), alice,
      submit(doc_id_, 0, "alice", 1, json::parse(R"([{"edit":"a","f":"body","op":["oh "]}])")));
  a->submit(make_peer(2, "bob"), bob,
            submit(doc_id_, 0, "bob", 1, json::parse(R"([{"edit":"a","f":"body","op":[5,"!"]}])")));
  wait_for(*bob, "ack");
  EXPECT_EQ(testing::body_of(a->document(), "a"), "oh hello!");
  // Alice receives bob's op as applied: after her insert.
  wait_for(*alice, "op");
  EXPECT_EQ((*alice->last("op"))["op"], json::parse(R"([{"edit":"a","f":"body","op":[8,"!"]}])"));
  EXPECT_EQ((*bob->last("ack"))["rev"], 2);
}

TEST_F(AuthorityTest, SameSpotInsertsPutTheSubmittedOpLeft) {
  auto a = load();
  auto alice = join(*a, 1, "alice");
  auto bob = join(*a, 2, "bob");
  a->submit(
      make_peer(1, "alice"), alice,
      submit(doc_id_, 0, "alice", 1, json::parse(R"([{"edit":"a","f":"body","op":[5,"X"]}])")));
  a->submit(make_peer(2, "bob"), bob,
            submit(doc_id_, 0, "bob", 1, json::parse(R"([{"edit":"a","f":"body","op":[5,"Y"]}])")));
  wait_for(*bob, "ack");
  // transform(bob, alice, left): bob's insert goes first at the shared spot.
  EXPECT_EQ(testing::body_of(a->document(), "a"), "helloYX");
}

TEST_F(AuthorityTest, TransformReadsRevisionsOlderThanTheTailFromStorage) {
  AuthorityOptions o;
  o.history_tail = 2;
  auto a = load(o);
  auto alice = join(*a, 1, "alice");
  for (int i = 1; i <= 6; ++i) {
    a->submit(
        make_peer(1, "alice"), alice,
        submit(doc_id_, i - 1, "alice", i, json::parse(R"([{"edit":"b","f":"body","op":["x"]}])")));
    wait_for(*alice, "ack", i);
  }
  auto bob = join(*a, 2, "bob");
  // Bob edits section b as of revision 0: after "world", which is now after six x's.
  a->submit(make_peer(2, "bob"), bob,
            submit(doc_id_, 0, "bob", 1, json::parse(R"([{"edit":"b","f":"body","op":[5,"!"]}])")));
  wait_for(*bob, "ack");
  EXPECT_EQ(testing::body_of(a->document(), "b"), "xxxxxxworld!");
  EXPECT_EQ((*bob->last("ack"))["rev"], 7);
}

TEST_F(AuthorityTest, TheTailIsBoundedByBytesAndOlderRevisionsComeFromStorage) {
  AuthorityOptions o;
  o.history_tail_bytes = 8 << 10;  // a few of the 2 KiB inserts below
  auto a = load(o);
  auto alice = join(*a, 1, "alice");
  const std::string paste(2048, 'p');
  const int kRevisions = 12;
  for (int i = 1; i <= kRevisions; ++i) {
    a->submit(make_peer(1, "alice"), alice,
              submit(doc_id_, i - 1, "alice", i,
                     json::array({{{"edit", "b"}, {"f", "body"}, {"op", json::array({paste})}}})));
    wait_for(*alice, "ack", i);
    EXPECT_LE(a->tail_bytes(), o.history_tail_bytes + 4096) << "after revision " << i;
  }
  // Far fewer than history_tail (1000) revisions stay in memory, and never none: the newest.
  EXPECT_GE(a->tail_revisions(), 1u);
  EXPECT_LE(a->tail_revisions(), 4u);
  EXPECT_GT(a->tail_bytes(), 2048u);
  // The revisions a client may name are still max_rev_lag's, not the tail's: an op made at
  // revision 0 is transformed through all twelve (the older ones read from storage) ...
  auto bob = join(*a, 2, "bob");
  a->submit(make_peer(2, "bob"), bob,
            submit(doc_id_, 0, "bob", 1, json::parse(R"([{"edit":"b","f":"body","op":[5,"!"]}])")));
  wait_for(*bob, "ack");
  EXPECT_EQ((*bob->last("ack"))["rev"], kRevisions + 1);
  std::string want;
  for (int i = 0; i < kRevisions; ++i) want += paste;
  EXPECT_EQ(testing::body_of(a->document(), "b"), want + "world!");
  // ... a resubmission of a revision no longer in memory gets its original ack from storage ...
  a->submit(make_peer(1, "alice"), alice,
            submit(doc_id_, 0, "alice", 1,
                   json::array({{{"edit", "b"}, {"f", "body"}, {"op", json::array({paste})}}})));
  EXPECT_EQ(*alice->last("ack"),
            json::parse(R"({"type":"ack","doc":1,"seq":1,"rev":1,"duplicate":true})"));
  EXPECT_EQ(a->head(), static_cast<std::uint64_t>(kRevisions + 1));
  // ... an open from revision 1 gets every later revision ...
  auto carol = join(*a, 3, "carol", 1);
  auto ops = carol->last("ops");
  ASSERT_TRUE(ops);
  EXPECT_EQ((*ops)["ops"].size(), static_cast<std::size_t>(kRevisions));
  // ... and only a rev beyond max_rev_lag is rev_too_old.
  AuthorityOptions narrow = o;
  narrow.max_rev_lag = 3;
  auto b = load(narrow);
  auto dave = join(*b, 4, "dave");
  b->submit(make_peer(4, "dave"), dave,
            submit(doc_id_, 2, "dave", 1, json::parse(R"([{"edit":"a","f":"body","op":["D"]}])")));
  EXPECT_EQ((*dave->last("error"))["code"], "rev_too_old");
}

TEST_F(AuthorityTest, ResubmissionGetsTheOriginalAck) {
  auto a = load();
  auto alice = join(*a, 1, "alice");
  const json edit = json::parse(R"([{"edit":"a","f":"body","op":["A"]}])");
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 7, edit));
  // Resubmitted before the first is durable: answered once it is, with the same revision.
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 7, edit));
  wait_for(*alice, "ack", 2);
  auto acks = alice->of_type("ack");
  EXPECT_EQ(acks[0]["rev"], 1);
  EXPECT_EQ(acks[1]["rev"], 1);
  EXPECT_EQ(acks[1]["duplicate"], true);
  // And after it is durable.
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 7, edit));
  auto dup = alice->last("ack");
  ASSERT_EQ(alice->count("ack"), 3u);
  EXPECT_EQ(*dup, json::parse(R"({"type":"ack","doc":1,"seq":7,"rev":1,"duplicate":true})"));
  EXPECT_EQ(a->head(), 1u);
  EXPECT_EQ(testing::body_of(a->document(), "a"), "Ahello");
}

TEST_F(AuthorityTest, AResubmissionOnANewConnectionGetsTheAckNotTheOp) {
  auto a = load();
  auto old_conn = join(*a, 1, "alice");
  auto new_conn = join(*a, 2, "alice");  // the tab reconnected before the old socket died
  auto bob = join(*a, 3, "bob");
  const json edit = json::parse(R"([{"edit":"a","f":"body","op":["A"]}])");
  a->submit(make_peer(1, "alice"), old_conn, submit(doc_id_, 0, "alice", 4, edit));
  a->submit(make_peer(2, "alice"), new_conn, submit(doc_id_, 0, "alice", 4, edit));
  wait_for(*new_conn, "ack");
  wait_for(*bob, "op");
  EXPECT_EQ(*new_conn->last("ack"),
            json::parse(R"({"type":"ack","doc":1,"seq":4,"rev":1,"duplicate":true})"));
  EXPECT_EQ(new_conn->count("op"), 0u);
  EXPECT_EQ(old_conn->count("op"), 0u);
  EXPECT_EQ(a->head(), 1u);
}

TEST_F(AuthorityTest, ResubmissionAfterAReloadGetsTheOriginalAckFromStorage) {
  const json edit = json::parse(R"([{"edit":"a","f":"body","op":["A"]}])");
  {
    auto a = load();
    auto alice = join(*a, 1, "alice");
    a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 3, edit));
    wait_for(*alice, "ack");
  }
  // The server restarted: a fresh store and authority.
  store_.reset();
  open_store();
  auto a = load();
  EXPECT_EQ(a->head(), 1u);
  auto alice = join(*a, 5, "alice", 0);
  auto ops = alice->last("ops");
  ASSERT_TRUE(ops);
  ASSERT_EQ((*ops)["ops"].size(), 1u);
  EXPECT_EQ((*ops)["ops"][0]["client"], "alice");
  EXPECT_EQ((*ops)["ops"][0]["seq"], 3);
  a->submit(make_peer(5, "alice"), alice, submit(doc_id_, 0, "alice", 3, edit));
  EXPECT_EQ(*alice->last("ack"),
            json::parse(R"({"type":"ack","doc":1,"seq":3,"rev":1,"duplicate":true})"));
  EXPECT_EQ(a->head(), 1u);
  EXPECT_EQ(testing::body_of(a->document(), "a"), "Ahello");
  // Even when the client claims a newer base revision for the same (client, seq).
  a->submit(make_peer(5, "alice"), alice, submit(doc_id_, 1, "alice", 3, edit));
  EXPECT_EQ(alice->count("ack"), 2u);
  EXPECT_EQ(a->head(), 1u);
}

TEST_F(AuthorityTest, EverySeqAtOrBelowAClientsHighestIsLookedUpAndOnlyNewOnesApply) {
  // A submit above the client's highest seq skips storage's dedupe lookup: this must never
  // apply a seq twice, nor refuse a seq the client skipped, also after a reload with the
  // revisions no longer in memory.
  const json edit = json::parse(R"([{"edit":"a","f":"body","op":["A"]}])");
  AuthorityOptions small;
  small.history_tail = 1;
  {
    auto a = load(small);
    auto alice = join(*a, 1, "alice");
    for (std::uint64_t seq : {3, 7}) {
      a->submit(make_peer(1, "alice"), alice, submit(doc_id_, a->head(), "alice", seq, edit));
      wait_for(*alice, "ack", seq == 3 ? 1 : 2);
    }
  }
  store_.reset();
  open_store();
  auto a = load(small);
  ASSERT_EQ(a->head(), 2u);
  auto alice = join(*a, 2, "alice", 2);
  auto answer = [&](std::uint64_t seq) {
    const std::size_t before = alice->count("ack");
    a->submit(make_peer(2, "alice"), alice, submit(doc_id_, a->head(), "alice", seq, edit));
    wait_for(*alice, "ack", before + 1);
    return *alice->last("ack");
  };
  EXPECT_EQ(answer(7), json::parse(R"({"type":"ack","doc":1,"seq":7,"rev":2,"duplicate":true})"));
  EXPECT_EQ(answer(3), json::parse(R"({"type":"ack","doc":1,"seq":3,"rev":1,"duplicate":true})"));
  EXPECT_EQ(answer(5), json::parse(R"({"type":"ack","doc":1,"seq":5,"rev":3})"));  // skipped
  EXPECT_EQ(answer(8), json::parse(R"({"type":"ack","doc":1,"seq":8,"rev":4})"));
  EXPECT_EQ(answer(8), json::parse(R"({"type":"ack","doc":1,"seq":8,"rev":4,"duplicate":true})"));
  EXPECT_EQ(answer(5), json::parse(R"({"type":"ack","doc":1,"seq":5,"rev":3,"duplicate":true})"));
  EXPECT_EQ(a->head(), 4u);
  EXPECT_EQ(testing::body_of(a->document(), "a"), "AAAAhello");
  auto bob = join(*a, 3, "bob", 4);
  a->submit(make_peer(3, "bob"), bob, submit(doc_id_, 4, "bob", 1, edit));
  wait_for(*bob, "ack");
  EXPECT_EQ(*bob->last("ack"), json::parse(R"({"type":"ack","doc":1,"seq":1,"rev":5})"));
}

TEST_F(AuthorityTest, RevisionsNewerThanTheHeadOrOlderThanTheWindowAreRefused) {
  AuthorityOptions o;
  o.max_rev_lag = 2;
  auto a = load(o);
  auto alice = join(*a, 1, "alice");
  const json edit = json::parse(R"([{"edit":"a","f":"body","op":["A"]}])");
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 1, "alice", 1, edit));
  auto err = alice->last("error");
  ASSERT_TRUE(err);
  EXPECT_EQ((*err)["code"], "rev_in_future");
  EXPECT_EQ((*err)["in"], "submit");
  EXPECT_EQ((*err)["seq"], 1);
  EXPECT_EQ((*err)["doc"], 1);
  for (int i = 1; i <= 3; ++i) {
    a->submit(make_peer(1, "alice"), alice, submit(doc_id_, i - 1, "alice", 10 + i, edit));
    wait_for(*alice, "ack", i);
  }
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 20, edit));
  EXPECT_EQ((*alice->last("error"))["code"], "rev_too_old");
  EXPECT_EQ(a->head(), 3u);
  // open with a rev in the future is refused too; one older than the window gets a snapshot.
  auto bob = join(*a, 2, "bob", 9);
  EXPECT_EQ((*bob->last("error"))["code"], "rev_in_future");
  auto carol = join(*a, 3, "carol", 0);
  EXPECT_TRUE(carol->last("snapshot"));
}

TEST_F(AuthorityTest, EditsOfALockedSectionAreRejected) {
  auto a = load();
  auto leader = join(*a, 1, "leader");
  auto partner = join(*a, 2, "partner");
  a->submit(make_peer(1, "leader"), leader,
            submit(doc_id_, 0, "leader", 1, json::parse(R"([{"lock":"a"}])")));
  wait_for(*leader, "ack");
  // The partner's edit was made before the lock; after transform it lands on a locked section.
  a->submit(
      make_peer(2, "partner"), partner,
      submit(doc_id_, 0, "partner", 1, json::parse(R"([{"edit":"a","f":"body","op":["x"]}])")));
  auto err = partner->last("error");
  ASSERT_TRUE(err);
  EXPECT_EQ((*err)["code"], "section_locked");
  EXPECT_NE((*err)["message"].get<std::string>().find("a"), std::string::npos);
  EXPECT_EQ(a->head(), 1u);
  EXPECT_EQ(testing::body_of(a->document(), "a"), "hello");
  EXPECT_EQ(metrics_.rejected.value("section_locked"), 1u);
  // Other document-model errors pass through with their codes.
  a->submit(
      make_peer(2, "partner"), partner,
      submit(doc_id_, 1, "partner", 2, json::parse(R"([{"edit":"zz","f":"body","op":["x"]}])")));
  EXPECT_EQ((*partner->last("error"))["code"], "unknown_section");
  a->submit(
      make_peer(2, "partner"), partner,
      submit(doc_id_, 1, "partner", 3, json::parse(R"([{"edit":"b","f":"body","op":[99,"x"]}])")));
  EXPECT_EQ((*partner->last("error"))["code"], "out_of_range");
}

TEST_F(AuthorityTest, TheDocumentSizeLimitHolds) {
  AuthorityOptions o;
  o.max_document_bytes = 20;
  auto a = load(o);
  auto alice = join(*a, 1, "alice");
  a->submit(make_peer(1, "alice"), alice,
            submit(doc_id_, 0, "alice", 1,
                   json::parse(R"([{"edit":"a","f":"body","op":["0123456789abc"]}])")));
  EXPECT_EQ((*alice->last("error"))["code"], "document_too_large");
  EXPECT_EQ(a->head(), 0u);
  // Replacing text keeps within the limit even though the insert alone would not fit.
  a->submit(make_peer(1, "alice"), alice,
            submit(doc_id_, 0, "alice", 2,
                   json::parse(R"([{"edit":"a","f":"body","op":[{"d":5},"0123456789"]}])")));
  wait_for(*alice, "ack");
  EXPECT_EQ(a->document_bytes(), 17u);  // 12 - 5 + 10
  // Named fields count too: a unit whose fields would pass the limit is refused, whole.
  a->submit(make_peer(1, "alice"), alice,
            submit(doc_id_, 1, "alice", 3,
                   json::parse(R"([{"add":"u1","pos":"Z","title":"","body":"","kind":"unit",)"
                               R"("fields":{"ects":"5","outcomes":"LO1 LO2"}}])")));
  EXPECT_EQ((*alice->last("error"))["code"], "document_too_large");
  EXPECT_EQ((*alice->last("error"))["seq"], 3);
  EXPECT_EQ(a->head(), 1u);
  a->submit(make_peer(1, "alice"), alice,
            submit(doc_id_, 1, "alice", 4,
                   json::parse(R"([{"add":"u1","pos":"Z","title":"","body":"","kind":"unit",)"
                               R"("fields":{"ects":"5"}}])")));
  wait_for(*alice, "ack", 2);
  EXPECT_EQ(a->document_bytes(), 18u);
  a->submit(make_peer(1, "alice"), alice,
            submit(doc_id_, 2, "alice", 5,
                   json::parse(R"([{"edit":"u1","f":"ects","op":[1,".5 ECTS"]}])")));
  EXPECT_EQ((*alice->last("error"))["code"], "document_too_large");
  EXPECT_EQ((*alice->last("error"))["seq"], 5);
  EXPECT_EQ(a->head(), 2u);
  EXPECT_EQ(a->document_bytes(), 18u);
}

TEST_F(AuthorityTest, SubmitWithoutOpenIsNotOpen) {
  auto a = load();
  auto s = std::make_shared<RecordingSubscriber>();
  a->submit(make_peer(9, "x"), s,
            submit(doc_id_, 0, "x", 1, json::parse(R"([{"edit":"a","f":"body","op":["A"]}])")));
  EXPECT_EQ((*s->last("error"))["code"], "not_open");
  EXPECT_EQ(a->head(), 0u);
}

TEST_F(AuthorityTest, OpenFromAKnownRevSendsTheMissingRevisions) {
  auto a = load();
  auto alice = join(*a, 1, "alice");
  for (int i = 1; i <= 3; ++i) {
    a->submit(make_peer(1, "alice"), alice,
              submit(doc_id_, i == 1 ? 0 : 1, "alice", i,
                     json::parse(R"([{"edit":"b","f":"body","op":["y"]}])")));
    if (i == 1) wait_for(*alice, "ack");
  }
  // Opened while revisions are in flight: the answer waits until they are durable.
  auto bob = join(*a, 2, "bob", 1);
  EXPECT_EQ(bob->count("ops"), 0u);
  wait_for(*bob, "ops");
  auto ops = *bob->last("ops");
  EXPECT_EQ(ops["from"], 1);
  EXPECT_EQ(ops["rev"], 3);
  ASSERT_EQ(ops["ops"].size(), 2u);
  EXPECT_EQ(ops["ops"][0]["rev"], 2);
  EXPECT_EQ(ops["ops"][1]["rev"], 3);
  EXPECT_EQ(bob->count("op"), 0u) << "revisions in the ops answer are not sent again";
}

TEST_F(AuthorityTest, PresenceIsSharedMovedByLaterEditsAndClearedOnLeave) {
  auto a = load();
  auto alice = join(*a, 1, "alice");
  auto bob = join(*a, 2, "bob");
  protocol::PresenceMessage p{doc_id_, 0, protocol::Cursor{"a", protocol::Field::body, 2, 4}};
  a->presence(make_peer(1, "alice"), alice, p);
  auto seen = bob->last("presence");
  ASSERT_TRUE(seen);
  EXPECT_EQ((*seen)["client"], "alice");
  EXPECT_EQ((*seen)["anchor"], 2);
  EXPECT_EQ((*seen)["head"], 4);
  EXPECT_EQ(alice->count("presence"), 0u);
  // Bob types before alice's selection: it moves along.
  a->submit(make_peer(2, "bob"), bob,
            submit(doc_id_, 0, "bob", 1, json::parse(R"([{"edit":"a","f":"body","op":["12"]}])")));
  wait_for(*bob, "ack");
  auto carol = join(*a, 3, "carol");
  auto snap = *carol->last("snapshot");
  ASSERT_EQ(snap["presence"].size(), 1u);
  EXPECT_EQ(snap["presence"][0]["anchor"], 4);
  EXPECT_EQ(snap["presence"][0]["head"], 6);
  // A presence made on an old revision is moved to the current one.
  protocol::PresenceMessage old{doc_id_, 0, protocol::Cursor{"a", protocol::Field::body, 1, 1}};
  a->presence(make_peer(3, "carol"), carol, old);
  EXPECT_EQ((*bob->last("presence"))["anchor"], 3);
  EXPECT_EQ((*bob->last("presence"))["rev"], 1);
  a->leave(1);
  auto cleared = *bob->last("presence");
  EXPECT_EQ(cleared, json::parse(R"({"type":"presence","doc":1,"client":"alice","section":null})"));
  EXPECT_FALSE(a->subscribed(1));
  // Unknown sections are refused.
  protocol::PresenceMessage bad{doc_id_, 1, protocol::Cursor{"nope", protocol::Field::body, 0, 0}};
  a->presence(make_peer(3, "carol"), carol, bad);
  EXPECT_EQ((*carol->last("error"))["code"], "unknown_section");
}

TEST_F(AuthorityTest, AFailedWriteClosesTheDocumentsConnectionsAndNothingIsAcked) {
  auto faults = std::make_shared<storage::FaultInjection>();
  store_.reset();
  open_store(faults);
  auto a = load();
  auto alice = join(*a, 1, "alice");
  auto bob = join(*a, 2, "bob");
  faults->fail_syncs(true);
  faults->fail_writes(true);
  a->submit(make_peer(1, "alice"), alice,
            submit(doc_id_, 0, "alice", 1, json::parse(R"([{"edit":"a","f":"body","op":["A"]}])")));
  ASSERT_TRUE(exec_.run_until([&] { return a->failed(); }));
  EXPECT_EQ(alice->count("ack"), 0u);
  EXPECT_EQ(bob->count("op"), 0u);
  EXPECT_EQ((*alice->last("error"))["code"], "storage_failed");
  EXPECT_EQ(alice->closed(), 1011);
  EXPECT_EQ(bob->closed(), 1011);
  EXPECT_TRUE(a->idle());
}

TEST_F(AuthorityTest, BelowTheFreeSpaceReserveASubmitIsRefusedAndTheSameOpGoesThroughLater) {
  auto faults = std::make_shared<storage::FaultInjection>();
  store_.reset();
  open_store(faults, 1 << 20);
  auto a = load();
  auto alice = join(*a, 1, "alice");
  auto bob = join(*a, 2, "bob");
  const auto op = json::parse(R"([{"edit":"a","f":"body","op":[5,"!"]}])");
  faults->report_free_bytes(1000);                              // the disk is (nearly) full
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past the reserve's recheck
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 1, op));
  auto refused = alice->last("error");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "storage_unavailable");
  EXPECT_EQ((*refused)["seq"], 1);
  // Refused like busy: nothing applied, nobody told of a revision, the connections kept, the
  // document still writable.
  EXPECT_EQ(a->head(), 0u);
  EXPECT_EQ(testing::body_of(a->document(), "a"), "hello");
  EXPECT_FALSE(alice->closed());
  EXPECT_FALSE(bob->closed());
  EXPECT_FALSE(a->failed());
  EXPECT_EQ(bob->count("op"), 0u);
  EXPECT_EQ(metrics_.rejected.value("storage_unavailable"), 1u);
  EXPECT_EQ(store_->writable().code(), storage::Code::no_space);
  // Space returns: the client's resubmission of the same op (same seq) becomes revision 1.
  faults->report_free_bytes(-1);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  a->submit(make_peer(1, "alice"), alice, submit(doc_id_, 0, "alice", 1, op));
  wait_for(*alice, "ack");
  EXPECT_EQ(*alice->last("ack"), json::parse(R"({"type":"ack","doc":1,"seq":1,"rev":1})"));
  wait_for(*bob, "op");
  EXPECT_EQ(testing::body_of(a->document(), "a"), "hello!");
  EXPECT_TRUE(store_->writable().ok());
}

}  // namespace
}  // namespace jointly::server
