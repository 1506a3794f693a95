// Access through the DocumentAuthority (socket-free): the role x action matrix with storage
// unchanged by every refusal, the server's overwrite of an approval's who/where/when, stale
// approvals, a membership removed between messages, and a lock racing an edit over many seeds
// with simulated clients that must converge.
#include <gtest/gtest.h>

#include <random>

#include "server/access.hpp"
#include "server/auth.hpp"
#include "server/document_authority.hpp"
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

constexpr std::uint64_t kNonMember = 5;

// Users 1..4 are viewer, reviewer, editor, leader of every document; user 5 of none.
Role role_of_user(std::uint64_t user) { return static_cast<Role>(user - 1); }

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Options o;
    o.durability = storage::Durability::none;
    auto s = storage::Store::open(dir_.sub("data"), o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    roles_.set_default(std::nullopt);
  }

  // A document with "a" (live), "b" (locked) and "r" (removed); users 1..4 members.
  storage::DocumentId make_document() {
    protocol::Document d;
    EXPECT_TRUE(protocol::apply(
        d, testing::op(json::parse(R"([{"add":"a","pos":"V","title":"A","body":"hello"},
                                       {"add":"b","pos":"k","title":"B","body":"locked text"},
                                       {"add":"r","pos":"x","title":"R","body":"gone"},
                                       {"lock":"b"},{"remove":"r"}])"))));
    auto id = store_->create_document("Course", d);
    EXPECT_TRUE(id.ok());
    for (std::uint64_t u = 1; u <= 4; ++u) roles_.set(*id, u, role_of_user(u));
    return *id;
  }

  std::shared_ptr<DocumentAuthority> load(storage::DocumentId id) {
    auto a = DocumentAuthority::load(*store_, id, AuthorityOptions{}, exec_.post(), metrics_,
                                     roles_.lookup());
    EXPECT_TRUE(a.ok()) << a.status().to_string();
    return a.ok() ? *a : nullptr;
  }

  // What storage holds of a document: its revisions and its latest state.
  std::pair<std::size_t, json> stored(storage::DocumentId id) {
    auto revs = store_->revisions(id, 1, UINT64_MAX);
    auto doc = store_->load(id);
    EXPECT_TRUE(revs.ok() && doc.ok());
    return {revs.ok() ? revs->size() : 0, doc.ok() ? protocol::to_json(doc->doc) : json()};
  }

  // Opens the document for peer; returns its subscriber once the snapshot arrived.
  std::shared_ptr<RecordingSubscriber> join(DocumentAuthority& a, const Peer& peer) {
    auto s = std::make_shared<RecordingSubscriber>();
    a.open(peer, s, std::nullopt);
    EXPECT_TRUE(exec_.run_until([&] { return s->count("snapshot") == 1; }));
    return s;
  }

  // Runs the executor until s has an ack or an error; the error's code, or "" for an ack.
  std::string outcome(RecordingSubscriber& s) {
    EXPECT_TRUE(exec_.run_until([&] { return s.count("ack") + s.count("error") > 0; }));
    if (auto e = s.last("error")) return (*e)["code"];
    return "";
  }

  storage::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  ManualExecutor exec_;
  Metrics metrics_;
  testing::TestRoles roles_;
};

struct ActionCase {
  const char* name;
  Action action;
  std::function<json(const protocol::Document&)> op;  // made on the document as loaded
};

std::vector<ActionCase> action_cases() {
  return {
      {"edit text", Action::edit,
       [](const auto&) { return json::parse(R"([{"edit":"a","f":"body","op":[5," world"]}])"); }},
      {"add section", Action::edit,
       [](const auto&) { return json::parse(R"([{"add":"n1","pos":"z","title":"N"}])"); }},
      {"move section", Action::edit,
       [](const auto&) { return json::parse(R"([{"move":"a","pos":"y"}])"); }},
      {"remove section", Action::edit,
       [](const auto&) { return json::parse(R"([{"remove":"a"}])"); }},
      {"restore section", Action::edit,
       [](const auto&) { return json::parse(R"([{"restore":"r","title":"R","body":"back"}])"); }},
      {"lock", Action::lock, [](const auto&) { return json::parse(R"([{"lock":"a"}])"); }},
      {"unlock", Action::lock, [](const auto&) { return json::parse(R"([{"unlock":"b"}])"); }},
      {"approve", Action::approve,
       [](const protocol::Document& d) {
         return json::array({{{"approve", "b"},
                              {"inst", "Uni Graz"},
                              {"user", "someone"},
                              {"time", 1},
                              {"hash", auth::section_hash(*d.find("b"))}}});
       }},
  };
}

TEST_F(AccessTest, RoleActionMatrixRefusesWithForbiddenAndLeavesStorageUnchanged) {
  for (const auto& c : action_cases()) {
    for (std::uint64_t user = 1; user <= 4; ++user) {
      SCOPED_TRACE(std::string(c.name) + " by a " + std::string(role_name(role_of_user(user))));
      const auto id = make_document();
      auto a = load(id);
      auto s = std::make_shared<RecordingSubscriber>();
      const Peer peer = make_peer(10, "c", "Ana", "Uni Graz", user);
      a->open(peer, s, std::nullopt);
      ASSERT_TRUE(exec_.run_until([&] { return s->count("snapshot") == 1; }));
      EXPECT_EQ(s->last("snapshot").value()["role"], role_name(role_of_user(user)));
      const auto before = stored(id);
      const json op_json = c.op(a->document());
      a->submit(peer, s, submit(id, 0, "c", 1, op_json));
      const std::string code = outcome(*s);
      if (allowed(role_of_user(user), c.action)) {
        EXPECT_EQ(code, "");
        EXPECT_EQ(stored(id).first, before.first + 1);
      } else {
        EXPECT_EQ(code, "forbidden");
        EXPECT_NE(s->last("error").value()["message"].get<std::string>().find("may not"),
                  std::string::npos);
        EXPECT_EQ(stored(id), before);
        EXPECT_EQ(a->head(), 0u);
      }
    }
  }
}

TEST_F(AccessTest, ReadIsEveryMembersAndNoNonMembers) {
  const auto id = make_document();
  auto a = load(id);
  for (std::uint64_t user = 1; user <= kNonMember; ++user) {
    auto s = std::make_shared<RecordingSubscriber>();
    a->open(make_peer(user, "c" + std::to_string(user), "Ana", "Uni Graz", user), s, std::nullopt);
    ASSERT_TRUE(exec_.run_until([&] { return s->count("snapshot") + s->count("error") > 0; }));
    if (user == kNonMember) {
      EXPECT_EQ(s->last("error").value()["code"], "forbidden");
      EXPECT_FALSE(a->subscribed(user));
    } else {
      EXPECT_TRUE(a->subscribed(user));
    }
  }
  // A non-member's submit and presence are refused too, with nothing stored.
  const auto before = stored(id);
  auto s = std::make_shared<RecordingSubscriber>();
  const Peer outsider = make_peer(kNonMember, "c5", "Eve", "Elsewhere", kNonMember);
  a->submit(outsider, s,
            submit(id, 0, "c5", 1, json::parse(R"([{"edit":"a","f":"body","op":["x"]}])")));
  EXPECT_EQ(outcome(*s), "not_open");
  EXPECT_EQ(stored(id), before);
}

TEST_F(AccessTest, ARemovedMembershipIsForbiddenAtTheNextMessageAndUnsubscribes) {
  const auto id = make_document();
  auto a = load(id);
  const Peer editor = make_peer(3, "c3", "Jan", "MU", 3);
  auto s = join(*a, editor);
  const auto before = stored(id);
  roles_.set(id, 3, std::nullopt);
  a->submit(editor, s,
            submit(id, 0, "c3", 1, json::parse(R"([{"edit":"a","f":"body","op":["x"]}])")));
  EXPECT_EQ(outcome(*s), "forbidden");
  EXPECT_FALSE(a->subscribed(3));
  EXPECT_EQ(s->unsubscribed_from(), std::vector<storage::DocumentId>{id});
  EXPECT_EQ(stored(id), before);
}

TEST_F(AccessTest, ADowngradedRoleTakesEffectAtTheNextMessage) {
  const auto id = make_document();
  auto a = load(id);
  const Peer editor = make_peer(3, "c3", "Jan", "MU", 3);
  auto s = join(*a, editor);
  a->submit(editor, s,
            submit(id, 0, "c3", 1, json::parse(R"([{"edit":"a","f":"body","op":["x"]}])")));
  EXPECT_EQ(outcome(*s), "");
  roles_.set(id, 3, Role::viewer);
  s->clear();
  a->submit(editor, s,
            submit(id, 1, "c3", 2, json::parse(R"([{"edit":"a","f":"body","op":["y"]}])")));
  EXPECT_EQ(outcome(*s), "forbidden");
  EXPECT_TRUE(a->subscribed(3));  // still a member: may read
  EXPECT_EQ(a->head(), 1u);
}

TEST_F(AccessTest, RecheckMembersDropsSubscribersNoLongerMembers) {
  const auto id = make_document();
  auto a = load(id);
  auto viewer = std::make_shared<RecordingSubscriber>();
  auto leader = std::make_shared<RecordingSubscriber>();
  a->open(make_peer(1, "c1", "V", "X", 1), viewer, std::nullopt);
  a->open(make_peer(4, "c4", "L", "Y", 4), leader, std::nullopt);
  ASSERT_TRUE(
      exec_.run_until([&] { return viewer->count("snapshot") + leader->count("snapshot") == 2; }));
  roles_.set(id, 1, std::nullopt);
  a->recheck_members();
  EXPECT_FALSE(a->subscribed(1));
  EXPECT_TRUE(a->subscribed(4));
  EXPECT_EQ(viewer->last("error").value()["code"], "forbidden");
  EXPECT_EQ(viewer->unsubscribed_from(), std::vector<storage::DocumentId>{id});
}

TEST_F(AccessTest, TheServerSetsAnApprovalsInstitutionUserAndTime) {
  const auto id = make_document();
  auto a = load(id);
  const Peer reviewer = make_peer(2, "c2", "Rita Reviewer", "Universidade do Porto", 2);
  auto s = join(*a, reviewer);
  const std::string hash = auth::section_hash(*a->document().find("b"));
  const auto t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  a->submit(reviewer, s,
            submit(id, 0, "c2", 1,
                   json::array({{{"approve", "b"},
                                 {"inst", "Forged Institution"},
                                 {"user", "Mallory"},
                                 {"time", 5},
                                 {"hash", hash}}})));
  ASSERT_EQ(outcome(*s), "");
  auto loaded = store_->load(id);
  ASSERT_TRUE(loaded.ok());
  const auto& approvals = loaded->doc.find("b")->approvals;
  ASSERT_EQ(approvals.size(), 1u);
  const auto& [inst, approval] = *approvals.begin();
  EXPECT_EQ(inst, "Universidade do Porto");
  EXPECT_EQ(approval.user, "Rita Reviewer");
  EXPECT_GE(approval.time_ms, t0);
  EXPECT_EQ(approval.text_hash, hash);
  auto rev = store_->revision(id, 1);
  ASSERT_TRUE(rev.ok());
  EXPECT_EQ(rev->info.author, "Rita Reviewer");
  EXPECT_EQ(rev->info.institution, "Universidade do Porto");
  // The ack carries the op as applied, so the approver shows the server's values too.
  const auto ack = s->last("ack");
  ASSERT_TRUE(ack);
  EXPECT_EQ((*ack)["op"], json::array({{{"approve", "b"},
                                        {"hash", hash},
                                        {"inst", "Universidade do Porto"},
                                        {"time", approval.time_ms},
                                        {"user", "Rita Reviewer"}}}));
  // An op the server did not rewrite is acknowledged without it.
  const Peer editor = make_peer(3, "c3", "Eda Editor", "Uni Graz", 3);
  auto e = join(*a, editor);
  a->submit(editor, e,
            submit(id, 1, "c3", 1, json::parse(R"([{"edit":"a","f":"body","op":["x"]}])")));
  ASSERT_EQ(outcome(*e), "");
  EXPECT_FALSE(e->last("ack")->contains("op"));
}

TEST_F(AccessTest, AnApprovalOfOtherTextIsStale) {
  const auto id = make_document();
  auto a = load(id);
  const Peer leader = make_peer(4, "c4", "Ana", "Uni Graz", 4);
  auto s = join(*a, leader);
  const std::string old_hash = auth::section_hash(*a->document().find("b"));
  // The leader unlocks, changes the text and locks again in one op, then approves with the
  // hash of the text before.
  a->submit(leader, s, submit(id, 0, "c4", 1, json::parse(R"([{"unlock":"b"},
                                                   {"edit":"b","f":"body","op":["new "]},
                                                   {"lock":"b"}])")));
  ASSERT_EQ(outcome(*s), "");
  s->clear();
  const auto before = stored(id);
  auto approve = [&](const std::string& hash, std::uint64_t seq) {
    return submit(
        id, 1, "c4", seq,
        json::array(
            {{{"approve", "b"}, {"inst", "x"}, {"user", "y"}, {"time", 1}, {"hash", hash}}}));
  };
  a->submit(leader, s, approve(old_hash, 2));
  EXPECT_EQ(outcome(*s), "stale_approval");
  EXPECT_EQ(stored(id), before);
  a->submit(leader, s, approve("sha256:00", 3));
  s->clear();
  a->submit(leader, s, approve(auth::section_hash(*a->document().find("b")), 4));
  EXPECT_EQ(outcome(*s), "");
  // In one op, after the op's own edit: the hash is of the text the approve meets.
  s->clear();
  const std::string after_edit = [&] {
    protocol::Document copy = a->document();
    EXPECT_TRUE(protocol::apply(copy, testing::op(json::parse(
                                          R"([{"unlock":"b"},{"edit":"b","f":"body","op":["z"]},
                                              {"lock":"b"}])"))));
    return auth::section_hash(*copy.find("b"));
  }();
  a->submit(leader, s,
            submit(id, a->head(), "c4", 5,
                   json::array({{{"unlock", "b"}},
                                {{"edit", "b"}, {"f", "body"}, {"op", json::array({"z"})}},
                                {{"lock", "b"}},
                                {{"approve", "b"},
                                 {"inst", "x"},
                                 {"user", "y"},
                                 {"time", 1},
                                 {"hash", after_edit}}})));
  EXPECT_EQ(outcome(*s), "");
}

// A client as the protocol's state machine keeps it: the document at its last server revision
// (confirmed) and at most one op in flight; no buffer (each client sends one op here).
struct SimClient {
  protocol::Document confirmed;
  std::optional<protocol::DocOp> inflight;
  std::size_t seen = 0;  // messages of its subscriber processed

  void process(RecordingSubscriber& s) {
    auto all = s.messages();
    for (; seen < all.size(); ++seen) {
      const json& m = all[seen];
      if (m["type"] == "op") {
        const protocol::DocOp op = testing::op(m["op"]);
        ASSERT_TRUE(protocol::apply(confirmed, op));
        if (inflight) *inflight = protocol::transform(*inflight, op, protocol::Side::left);
      } else if (m["type"] == "ack") {
        ASSERT_TRUE(inflight.has_value());
        ASSERT_TRUE(protocol::apply(confirmed, *inflight));
        inflight.reset();
      } else if (m["type"] == "error") {
        inflight.reset();  // refused: dropped (the real client keeps it as a suggestion)
      }
    }
  }
};

TEST_F(AccessTest, ALockAndAnEditRacingConvergeAndTheEditAppliesIffOrderedFirst) {
  for (int seed = 0; seed < 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(static_cast<unsigned>(seed));
    const auto id = make_document();
    auto a = load(id);
    auto ls = std::make_shared<RecordingSubscriber>();
    auto es = std::make_shared<RecordingSubscriber>();
    const Peer leader = make_peer(1, "lead", "Ana", "Uni Graz", 4);
    const Peer editor = make_peer(2, "edit", "Jan", "MU", 3);
    a->open(leader, ls, std::nullopt);
    a->open(editor, es, std::nullopt);
    ASSERT_TRUE(
        exec_.run_until([&] { return ls->count("snapshot") + es->count("snapshot") == 2; }));
    SimClient lc, ec;
    lc.confirmed = ec.confirmed = a->document();
    lc.seen = ec.seen = 1;

    const std::string text = std::string(1 + rng() % 3, static_cast<char>('p' + rng() % 5));
    const std::uint64_t pos = rng() % 6;  // "hello": 0..5
    json edit_json = json::array({{{"edit", "a"},
                                   {"f", "body"},
                                   {"op", pos ? json::array({pos, text}) : json::array({text})}}});
    const json lock_json = json::parse(R"([{"lock":"a"}])");
    lc.inflight = testing::op(lock_json);
    ec.inflight = testing::op(edit_json);

    const bool edit_first = rng() % 2 == 0;
    // Both made on revision 0; between the submissions, some completions may already run.
    auto send_lock = [&] { a->submit(leader, ls, submit(id, 0, "lead", 1, lock_json)); };
    auto send_edit = [&] { a->submit(editor, es, submit(id, 0, "edit", 1, edit_json)); };
    if (edit_first) {
      send_edit();
    } else {
      send_lock();
    }
    const int steps = static_cast<int>(rng() % 3);
    for (int i = 0; i < steps && exec_.queued() > 0; ++i) {
      int ran = 0;
      exec_.run_until([&] { return ran++ >= 1; });  // exactly one posted completion
    }
    if (edit_first) {
      send_lock();
    } else {
      send_edit();
    }
    ASSERT_TRUE(exec_.run_until([&] {
      return ls->count("ack") + ls->count("error") > 0 &&
             es->count("ack") + es->count("error") > 0 && a->durable_rev() == a->head();
    }));
    // Let every broadcast arrive.
    exec_.run_until([&] { return exec_.queued() == 0; }, std::chrono::milliseconds(100));
    lc.process(*ls);
    ec.process(*es);

    const protocol::Section& server_a = *a->document().find("a");
    EXPECT_TRUE(server_a.locked);
    const bool applied = server_a.body.to_string() != "hello";
    EXPECT_EQ(applied, edit_first);
    if (!edit_first) {
      const json refusal = es->last("error").value();
      EXPECT_EQ(refusal["code"], "section_locked");
      // It names the section, so the client can keep the text beside it.
      EXPECT_NE(refusal["message"].get<std::string>().find("section \"a\""), std::string::npos)
          << refusal["message"];
    }
    EXPECT_EQ(protocol::to_json(lc.confirmed), protocol::to_json(a->document()));
    EXPECT_EQ(protocol::to_json(ec.confirmed), protocol::to_json(a->document()));
    EXPECT_FALSE(lc.inflight.has_value());
    EXPECT_FALSE(ec.inflight.has_value());
    // And storage has what the authority has.
    auto loaded = store_->load(id);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(protocol::to_json(loaded->doc), protocol::to_json(a->document()));
    a->leave(1);
    a->leave(2);
  }
}

}  // namespace
}  // namespace jointly::server
