// Accounts: institutions, users, sessions, memberships and invites on the accounts and
// sessions column families, across reopen.
#include "storage/accounts.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "storage/store.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::storage {
namespace {

using testing::TempDir;

std::unique_ptr<Store> open_or_die(const std::string& dir) {
  auto store = Store::open(dir, Options());
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::string hash_of(char c) { return std::string(32, c); }

TEST(Accounts, InstitutionsAreUniqueWithoutCaseAndNumberedFromOne) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  auto graz = a.create_institution("Uni Graz", "AT");
  ASSERT_TRUE(graz.ok()) << graz.status().to_string();
  EXPECT_EQ(graz->id, 1u);
  auto again = a.create_institution("UNI GRAZ", "AT");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::already_exists);
  auto brno = a.create_institution("Masaryk University", "CZ");
  ASSERT_TRUE(brno.ok());
  EXPECT_EQ(brno->id, 2u);
  auto by_name = a.institution_by_name("uni graz");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(*by_name, *graz);
  auto all = a.institutions();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1], *brno);
  EXPECT_EQ(a.institution(9).status().code(), Code::not_found);
}

TEST(Accounts, UsersHaveUniqueLowerCaseEmailsAndSurviveReopen) {
  TempDir dir;
  {
    auto store = open_or_die(dir.path().string());
    Accounts a(store->log());
    auto inst = a.create_institution("Uni Graz", "AT");
    ASSERT_TRUE(inst.ok());
    auto u = a.create_user("Ana@Uni-Graz.AT", "Ana Silva", inst->id, true, "$argon2id$opaque");
    ASSERT_TRUE(u.ok()) << u.status().to_string();
    EXPECT_EQ(u->email, "ana@uni-graz.at");
    EXPECT_EQ(a.create_user("ana@uni-graz.at", "Other", inst->id, false, "h").status().code(),
              Code::already_exists);
    EXPECT_EQ(a.create_user("bob@x.at", "Bob", 77, false, "h").status().code(), Code::not_found);
  }
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  auto u = a.user_by_email("ANA@uni-graz.at");
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->id, 1u);
  EXPECT_EQ(u->name, "Ana Silva");
  EXPECT_TRUE(u->admin);
  EXPECT_EQ(u->password_hash, "$argon2id$opaque");
  EXPECT_EQ(u->institution, 1u);
  auto next = a.create_user("bob@x.at", "Bob", 1, false, "h");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->id, 2u);  // the counter survived the reopen
  auto all = a.users();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST(Accounts, SessionsAreKeyedByHashAndDeletedWithAGenerationBump) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  Session s{hash_of('a'), 4, 1000, 5000};
  ASSERT_TRUE(a.put_session(s).ok());
  ASSERT_TRUE(a.put_session(Session{hash_of('b'), 5, 1000, 2000}).ok());
  auto got = a.session(hash_of('a'));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, s);
  EXPECT_EQ(a.session(hash_of('c')).status().code(), Code::not_found);
  const auto gen = a.sessions_generation();
  ASSERT_TRUE(a.delete_session(hash_of('a')).ok());
  EXPECT_GT(a.sessions_generation(), gen);
  EXPECT_EQ(a.session(hash_of('a')).status().code(), Code::not_found);
  auto n = a.delete_expired_sessions(3000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(a.session(hash_of('b')).status().code(), Code::not_found);
}

TEST(Accounts, MembershipsListPerDocumentAndPerUserAndKeepALeader) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  ASSERT_TRUE(a.set_role(1, 10, "leader").ok());
  ASSERT_TRUE(a.set_role(1, 11, "editor").ok());
  ASSERT_TRUE(a.set_role(2, 11, "viewer").ok());
  ASSERT_TRUE(a.set_role(256, 10, "reviewer").ok());  // ids whose bytes differ beyond the last
  auto r = a.role(1, 11);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value_or(""), "editor");
  EXPECT_FALSE(a.role(2, 10)->has_value());
  auto doc1 = a.members(1);
  ASSERT_TRUE(doc1.ok());
  ASSERT_EQ(doc1->size(), 2u);
  EXPECT_EQ((*doc1)[0], (Membership{1, 10, "leader"}));
  auto of10 = a.memberships(10);
  ASSERT_TRUE(of10.ok());
  ASSERT_EQ(of10->size(), 2u);
  EXPECT_EQ((*of10)[1], (Membership{256, 10, "reviewer"}));

  // The last leader can be neither removed nor demoted.
  EXPECT_EQ(a.remove_member(1, 10).code(), Code::conflict);
  EXPECT_EQ(a.set_role(1, 10, "editor").code(), Code::conflict);
  const auto gen = a.members_generation();
  ASSERT_TRUE(a.set_role(1, 11, "leader").ok());
  EXPECT_GT(a.members_generation(), gen);
  ASSERT_TRUE(a.remove_member(1, 10).ok());
  EXPECT_FALSE(a.role(1, 10)->has_value());
  EXPECT_EQ(a.memberships(10)->size(), 1u);
  EXPECT_EQ(a.remove_member(1, 10).code(), Code::not_found);
}

TEST(Accounts, InvitesAreOneTimeAndExpire) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  Invite inv{hash_of('i'), 3, "editor", 10'000, 7, false};
  ASSERT_TRUE(a.put_invite(inv).ok());
  ASSERT_TRUE(a.put_invite(Invite{hash_of('j'), 3, "viewer", 10'000, 7, false}).ok());
  EXPECT_EQ(a.take_invite(hash_of('j'), 10'000).status().code(), Code::invalid_argument);
  auto taken = a.take_invite(hash_of('i'), 9'999);
  ASSERT_TRUE(taken.ok()) << taken.status().to_string();
  EXPECT_EQ(taken->doc, 3u);
  EXPECT_EQ(taken->role, "editor");
  EXPECT_EQ(a.take_invite(hash_of('i'), 9'999).status().code(), Code::conflict);
  EXPECT_EQ(a.take_invite(hash_of('k'), 0).status().code(), Code::not_found);
}

TEST(Accounts, ConcurrentInviteTakesSucceedOnce) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  Accounts a(store->log());
  ASSERT_TRUE(a.put_invite(Invite{hash_of('x'), 1, "editor", 1'000'000, 1, false}).ok());
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      if (a.take_invite(hash_of('x'), 0).ok()) wins.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
}

TEST(Accounts, KvFamiliesAreSeparateFromTheLog) {
  TempDir dir;
  auto store = open_or_die(dir.path().string());
  RevisionLog& log = store->log();
  using F = RevisionLog::KvFamily;
  ASSERT_TRUE(log.kv_write({{F::accounts, "k1", "a"}, {F::sessions, "k1", "s"}}).ok());
  EXPECT_EQ(log.kv_get(F::accounts, "k1")->value_or(""), "a");
  EXPECT_EQ(log.kv_get(F::sessions, "k1")->value_or(""), "s");
  std::vector<std::string> keys;
  ASSERT_TRUE(log.kv_write({{F::accounts, "k2", "b"}, {F::accounts, "l", "c"}}).ok());
  ASSERT_TRUE(log.kv_scan(F::accounts, "k",
                          [&](std::string_view k, std::string_view) {
                            keys.emplace_back(k);
                            return true;
                          })
                  .ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"k1", "k2"}));
  ASSERT_TRUE(log.kv_write({{F::accounts, "k1", std::nullopt}}).ok());
  EXPECT_FALSE(log.kv_get(F::accounts, "k1")->has_value());
  auto docs = store->list_documents();
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE(docs->empty());
}

}  // namespace
}  // namespace jointly::storage
