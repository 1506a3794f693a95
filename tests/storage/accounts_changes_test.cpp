// The accounts change log (scale-out replication, storage/accounts.hpp): every accounts or
// sessions write appends exactly one change, in order, in its own WriteBatch; a replica that
// applies the changes (or installs a snapshot) ends up with the same entries as the primary.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/accounts.hpp"
#include "storage/fault_injection.hpp"
#include "storage/store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::storage {
namespace {

using testing::TempDir;
using Fam = RevisionLog::KvFamily;

std::unique_ptr<Store> open_or_die(const std::string& dir, Options options = Options()) {
  auto store = Store::open(dir, std::move(options));
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::string hash_of(char c) { return std::string(32, c); }

// The first write's family and key tag of each change: what kind of write it logged.
std::vector<std::string> kinds(const ChangeFeed& feed) {
  std::vector<std::string> out;
  for (const auto& c : feed.changes) {
    const auto& w = c.writes.at(0);
    std::string k = w.family == Fam::sessions ? "session" : std::string(1, w.key.at(0));
    out.push_back(k + (w.value ? "+" : "-"));
  }
  return out;
}

TEST(AccountsChanges, EveryWriteKindIsLoggedOnceInOrder) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  EXPECT_EQ(*a.last_seq(), 0u);
  auto inst = a.create_institution("Uni Graz", "AT");
  ASSERT_TRUE(inst.ok());
  auto u = a.create_user("ana@x.at", "Ana", inst->id, false, "h");
  ASSERT_TRUE(u.ok());
  auto v = a.create_user("bob@x.at", "Bob", inst->id, false, "h");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(a.put_session({hash_of('s'), u->id, 1, 1000}).ok());
  ASSERT_TRUE(a.delete_session(hash_of('s')).ok());
  ASSERT_TRUE(a.register_document({9007199254740991ULL, "Course", "course", u->id, 5}, u->id).ok());
  ASSERT_TRUE(a.set_role(9007199254740991ULL, v->id, "editor").ok());
  ASSERT_TRUE(a.remove_member(9007199254740991ULL, v->id).ok());
  ASSERT_TRUE(a.put_invite({hash_of('i'), 9007199254740991ULL, "reviewer", 99999, u->id}).ok());
  ASSERT_TRUE(a.take_invite(hash_of('i'), 10).ok());
  ASSERT_TRUE(a.put_session({hash_of('t'), u->id, 1, 50}).ok());
  ASSERT_EQ(*a.delete_expired_sessions(100), 1u);
  // Refused writes log nothing.
  EXPECT_FALSE(a.create_institution("UNI GRAZ", "AT").ok());
  EXPECT_FALSE(a.take_invite(hash_of('i'), 10).ok());

  auto feed = a.changes_after(0, 100);
  ASSERT_TRUE(feed.ok()) << feed.status().to_string();
  EXPECT_FALSE(feed->snapshot_needed);
  EXPECT_EQ(feed->last_seq, 12u);
  EXPECT_EQ(kinds(*feed),
            (std::vector<std::string>{"#+", "#+", "#+", "session+", "session-", "D+", "M+", "M-",
                                      "V+", "V+", "session+", "session-"}));
  for (std::size_t i = 0; i < feed->changes.size(); ++i) {
    EXPECT_EQ(feed->changes[i].seq, i + 1);
  }
  // From the middle, and a page at a time.
  auto tail = a.changes_after(10, 1);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->changes.size(), 1u);
  EXPECT_EQ(tail->changes[0].seq, 11u);
  auto none = a.changes_after(12, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->changes.empty());
  EXPECT_FALSE(none->snapshot_needed);
  // A position ahead of the log is not in it.
  EXPECT_TRUE(a.changes_after(13, 100)->snapshot_needed);
}

TEST(AccountsChanges, PagesCrossKeyBlocks) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(a.put_session({hash_of('a') + std::to_string(i), 1, 1, 1000}).ok());
  }
  for (std::uint64_t after : {0u, 200u, 255u, 256u, 511u, 599u}) {
    auto feed = a.changes_after(after, 1000);
    ASSERT_TRUE(feed.ok());
    ASSERT_EQ(feed->changes.size(), 600 - after) << after;
    for (std::size_t i = 0; i < feed->changes.size(); ++i) {
      ASSERT_EQ(feed->changes[i].seq, after + 1 + i);
    }
  }
  auto page = a.changes_after(250, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->changes.size(), 100u);
  EXPECT_EQ(page->changes.back().seq, 350u);
}

TEST(AccountsChanges, ARoleAskedAgainSeesEveryChangeOnThePrimaryAndOnAReplica) {
  // role() answers repeated questions from memory: each change must still show at once.
  TempDir primary_dir, replica_dir;
  auto primary_store = open_or_die(primary_dir.sub("p"));
  auto replica_store = open_or_die(replica_dir.sub("r"));
  Accounts primary(primary_store->log());
  Accounts replica(replica_store->log());
  replica.set_replica(true);
  auto role_at = [](Accounts& a, DocumentId doc, UserId user) {
    auto r = a.role(doc, user);
    EXPECT_TRUE(r.ok());
    return r.ok() && *r ? **r : std::string("none");
  };
  auto sync = [&] {
    auto feed = primary.changes_after(*replica.last_seq(), 1000);
    ASSERT_TRUE(feed.ok());
    ASSERT_TRUE(replica.apply_changes(feed->changes).ok());
  };
  ASSERT_TRUE(primary.set_role(1, 10, "leader").ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(role_at(primary, 1, 11), "none");
  EXPECT_EQ(role_at(replica, 1, 11), "none");
  ASSERT_TRUE(primary.set_role(1, 11, "viewer").ok());
  EXPECT_EQ(role_at(primary, 1, 11), "viewer");
  sync();
  EXPECT_EQ(role_at(replica, 1, 11), "viewer");
  ASSERT_TRUE(primary.set_role(1, 11, "editor").ok());
  EXPECT_EQ(role_at(primary, 1, 11), "editor");
  EXPECT_EQ(role_at(replica, 1, 11), "viewer");  // not pulled yet
  sync();
  EXPECT_EQ(role_at(replica, 1, 11), "editor");
  ASSERT_TRUE(primary.remove_member(1, 11).ok());
  EXPECT_EQ(role_at(primary, 1, 11), "none");
  sync();
  EXPECT_EQ(role_at(replica, 1, 11), "none");
  EXPECT_EQ(role_at(replica, 1, 10), "leader");
  // A snapshot installed on the replica replaces what it knew.
  ASSERT_TRUE(primary.set_role(1, 10, "leader").ok());
  ASSERT_TRUE(primary.set_role(2, 12, "reviewer").ok());
  EXPECT_EQ(role_at(replica, 2, 12), "none");
  auto snap = primary.snapshot();
  ASSERT_TRUE(snap.ok());
  ASSERT_TRUE(replica.install_snapshot(*snap).ok());
  EXPECT_EQ(role_at(replica, 2, 12), "reviewer");
}

TEST(AccountsChanges, SequenceSurvivesReopen) {
  TempDir dir;
  {
    auto store = open_or_die(dir.path().string());
    Accounts a(store->log());
    ASSERT_TRUE(a.create_institution("A", "AT").ok());
    ASSERT_TRUE(a.create_institution("B", "AT").ok());
  }
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  EXPECT_EQ(*a.last_seq(), 2u);
  ASSERT_TRUE(a.create_institution("C", "AT").ok());
  auto feed = a.changes_after(0, 100);
  ASSERT_TRUE(feed.ok());
  ASSERT_EQ(feed->changes.size(), 3u);
  EXPECT_EQ(feed->changes[2].seq, 3u);
}

TEST(AccountsChanges, AFailedWriteLogsNoChangeAndKeepsNoData) {
  TempDir dir;
  auto faults = std::make_shared<FaultInjection>();
  {
    Options o;
    o.fault_injection = faults;
    auto store = open_or_die(dir.path().string(), o);
    Accounts a(store->log());
    auto inst = a.create_institution("A", "AT");
    ASSERT_TRUE(inst.ok());
    faults->fail_writes(true);
    EXPECT_FALSE(a.create_user("ana@x.at", "Ana", inst->id, false, "h").ok());
    faults->fail_writes(false);
  }
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  EXPECT_EQ(*a.last_seq(), 1u);
  EXPECT_EQ(a.user_by_email("ana@x.at").status().code(), Code::not_found);
  EXPECT_EQ(a.changes_after(0, 100)->changes.size(), 1u);
}

TEST(AccountsChanges, ReplicaAppliesChangesAndEndsEqual) {
  TempDir d1, d2;
  auto s1 = open_or_die(d1.path().string());
  auto s2 = open_or_die(d2.path().string());
  Accounts primary(s1->log());
  Accounts replica(s2->log());
  replica.set_replica(true);
  auto inst = primary.create_institution("Uni Graz", "AT");
  auto u = primary.create_user("ana@x.at", "Ana", inst->id, true, "hash");
  ASSERT_TRUE(primary.put_session({hash_of('s'), u->id, 1, 1000}).ok());
  auto feed = primary.changes_after(0, 100);
  ASSERT_TRUE(feed.ok());
  // Over the wire form.
  ChangeFeed received;
  ASSERT_TRUE(decode_feed(encode_feed(*feed), received));
  ASSERT_TRUE(replica.apply_changes(received.changes).ok());
  EXPECT_EQ(*replica.last_seq(), 3u);
  EXPECT_EQ(replica.session(hash_of('s'))->user, u->id);
  EXPECT_EQ(*replica.user_by_email("ana@x.at"), *u);
  // Applying again is harmless; a gap is refused.
  ASSERT_TRUE(replica.apply_changes(received.changes).ok());
  AccountsChange far{9, {{Fam::accounts, "Zx", "1"}}};
  EXPECT_EQ(replica.apply_changes({far}).code(), Code::conflict);
  // A logout replicates and tells the session watcher.
  const auto gen = replica.sessions_generation();
  ASSERT_TRUE(primary.delete_session(hash_of('s')).ok());
  auto next = primary.changes_after(*replica.last_seq(), 100);
  ASSERT_TRUE(replica.apply_changes(next->changes).ok());
  EXPECT_EQ(replica.session(hash_of('s')).status().code(), Code::not_found);
  EXPECT_GT(replica.sessions_generation(), gen);
  // A replica refuses its own writes.
  EXPECT_EQ(replica.create_institution("X", "AT").status().code(), Code::read_only);
  EXPECT_EQ(replica.put_session({hash_of('q'), u->id, 1, 2}).code(), Code::read_only);
  // Both now hold the same entries.
  auto a = primary.snapshot();
  auto b = replica.snapshot();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->seq, b->seq);
  ASSERT_EQ(a->entries.size(), b->entries.size());
  for (std::size_t i = 0; i < a->entries.size(); ++i) {
    EXPECT_EQ(a->entries[i].key, b->entries[i].key);
    EXPECT_EQ(a->entries[i].value, b->entries[i].value);
  }
}

TEST(AccountsChanges, BehindTheRetainedLogTakesASnapshot) {
  TempDir d1, d2;
  auto s1 = open_or_die(d1.path().string());
  auto s2 = open_or_die(d2.path().string());
  Accounts primary(s1->log(), /*retained_changes=*/3);
  Accounts replica(s2->log());
  replica.set_replica(true);
  auto inst = primary.create_institution("Uni Graz", "AT");
  for (char c : std::string("abcde")) {
    ASSERT_TRUE(primary.put_session({hash_of(c), 1, 1, 1000}).ok());
  }
  ASSERT_TRUE(primary.delete_session(hash_of('a')).ok());  // change 7
  auto old = primary.changes_after(2, 100);
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->snapshot_needed);
  auto kept = primary.changes_after(4, 100);  // 5, 6, 7 are retained
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(kept->snapshot_needed);
  EXPECT_EQ(kept->changes.size(), 3u);
  // The replica had something else (a stale copy): the snapshot replaces all of it.
  ASSERT_TRUE(replica.apply_changes({{1, {{Fam::sessions, hash_of('z'), "stale"}}}}).ok());
  auto snap = primary.snapshot();
  ASSERT_TRUE(snap.ok());
  AccountsSnapshot received;
  ASSERT_TRUE(decode_snapshot(encode_snapshot(*snap), received));
  ASSERT_TRUE(replica.install_snapshot(received).ok());
  EXPECT_EQ(*replica.last_seq(), 7u);
  EXPECT_EQ(replica.session(hash_of('z')).status().code(), Code::not_found);
  EXPECT_EQ(replica.session(hash_of('a')).status().code(), Code::not_found);
  EXPECT_TRUE(replica.session(hash_of('e')).ok());
  EXPECT_EQ(replica.institution_by_name("uni graz")->id, inst->id);
  // It follows the log from there.
  ASSERT_TRUE(primary.delete_session(hash_of('e')).ok());
  auto next = primary.changes_after(7, 100);
  ASSERT_TRUE(replica.apply_changes(next->changes).ok());
  EXPECT_EQ(replica.session(hash_of('e')).status().code(), Code::not_found);
}

TEST(AccountsChanges, RegistryRecordsADocumentWithItsLeader) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  const DocumentRecord rec{123456789, "Course", "course", 7, 42};
  ASSERT_TRUE(a.register_document(rec, 7).ok());
  EXPECT_EQ(*a.document_record(123456789), rec);
  EXPECT_EQ(a.role(123456789, 7)->value_or(""), "leader");
  EXPECT_EQ(a.register_document(rec, 7).code(), Code::already_exists);
  EXPECT_EQ(a.document_record(5).status().code(), Code::not_found);
  EXPECT_EQ(a.register_document({0, "x", "blank", 7, 1}, 7).code(), Code::invalid_argument);
}

TEST(AccountsChanges, HandOffMarksAreLocal) {
  TempDir d1, d2;
  auto s1 = open_or_die(d1.path().string());
  auto s2 = open_or_die(d2.path().string());
  Accounts primary(s1->log());
  Accounts replica(s2->log());
  replica.set_replica(true);
  ASSERT_TRUE(primary.create_institution("A", "AT").ok());
  ASSERT_TRUE(replica.set_handed_off(77, true).ok());  // allowed on a replica
  ASSERT_TRUE(primary.set_handed_off(5, true).ok());
  EXPECT_TRUE(*replica.handed_off(77));
  EXPECT_FALSE(*replica.handed_off(5));
  // Neither a change nor a snapshot carries a mark, and a snapshot keeps the replica's own.
  EXPECT_EQ(*primary.last_seq(), 1u);
  auto snap = primary.snapshot();
  ASSERT_TRUE(snap.ok());
  for (const auto& e : snap->entries) EXPECT_NE(e.key.at(0), '!');
  ASSERT_TRUE(replica.install_snapshot(*snap).ok());
  EXPECT_TRUE(*replica.handed_off(77));
  ASSERT_TRUE(replica.set_handed_off(77, false).ok());
  EXPECT_FALSE(*replica.handed_off(77));
  // A change may not write one.
  EXPECT_EQ(
      replica.apply_changes({{2, {{Fam::accounts, std::string("!") + std::string(8, '\0'), ""}}}})
          .code(),
      Code::invalid_argument);
}

TEST(AccountsChanges, DecodingRefusesDamagedBytes) {
  ChangeFeed feed{5, false, {{5, {{Fam::sessions, "k", "v"}, {Fam::accounts, "d", {}}}}}};
  const std::string bytes = encode_feed(feed);
  ChangeFeed out;
  ASSERT_TRUE(decode_feed(bytes, out));
  ASSERT_EQ(out.changes.size(), 1u);
  EXPECT_FALSE(out.changes[0].writes[1].value.has_value());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(decode_feed(bytes.substr(0, cut), out)) << cut;
  }
  EXPECT_FALSE(decode_feed(bytes + "x", out));
  AccountsSnapshot snap;
  EXPECT_FALSE(decode_snapshot("\x02", snap));
}

}  // namespace
}  // namespace jointly::storage
