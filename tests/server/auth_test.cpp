// Authentication primitives: roles and what they allow, passwords, tokens, the session cookie
// (parsing and flags), the section hash (against independently computed SHA-256 vectors) and
// the login rate limiter (window, per email and per address, bounded memory, threads).
#include "server/auth.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/access.hpp"

namespace jointly::server {
namespace {

using namespace std::chrono_literals;

TEST(Access, RolesAllowWhatTheContractsTableSays) {
  const std::vector<Action> actions{Action::read, Action::edit, Action::approve, Action::lock,
                                    Action::manage_members};
  // Rows: viewer, reviewer, editor, leader; columns as `actions`.
  const bool table[4][5] = {{true, false, false, false, false},
                            {true, false, true, false, false},
                            {true, true, true, false, false},
                            {true, true, true, true, true}};
  for (int r = 0; r < 4; ++r) {
    for (std::size_t a = 0; a < actions.size(); ++a) {
      EXPECT_EQ(allowed(static_cast<Role>(r), actions[a]), table[r][a]) << r << " " << a;
    }
  }
  for (Role r : {Role::viewer, Role::reviewer, Role::editor, Role::leader}) {
    EXPECT_EQ(parse_role(role_name(r)), r);
  }
  EXPECT_FALSE(parse_role("Leader"));
  EXPECT_FALSE(parse_role(""));
}

TEST(Auth, PasswordsHashWithArgon2idAndVerify) {
  auto h = auth::hash_password("correct horse battery");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(auth::verify_password(*h, "correct horse battery"));
  EXPECT_FALSE(auth::verify_password(*h, "correct horse batterY"));
  EXPECT_FALSE(auth::verify_password("", "x"));
  EXPECT_FALSE(auth::verify_password("not a hash", "x"));
  EXPECT_NE(*h, auth::hash_password("correct horse battery").value());  // salted
  EXPECT_FALSE(auth::dummy_hash().empty());
}

TEST(Auth, TokensAre256RandomBitsInUnpaddedBase64url) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string t = auth::new_token();
    EXPECT_EQ(t.size(), 43u);
    EXPECT_TRUE(auth::token_well_formed(t)) << t;
    EXPECT_TRUE(seen.insert(t).second);
  }
  EXPECT_FALSE(auth::token_well_formed(std::string(42, 'A')));
  EXPECT_FALSE(auth::token_well_formed(std::string(44, 'A')));
  EXPECT_FALSE(auth::token_well_formed(std::string(42, 'A') + "="));
  EXPECT_FALSE(auth::token_well_formed(std::string(42, 'A') + "B"));  // bits past 256
  EXPECT_FALSE(auth::token_well_formed(std::string(42, 'A') + "+"));
  EXPECT_EQ(auth::token_hash("abc").size(), 32u);
  EXPECT_EQ(auth::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Auth, TheSessionCookieIsParsedStrictly) {
  const std::string t = auth::new_token();
  EXPECT_EQ(auth::session_cookie("jointly_session=" + t), t);
  EXPECT_EQ(auth::session_cookie("a=b; jointly_session=" + t + "; c=d"), t);
  EXPECT_EQ(auth::session_cookie("  jointly_session = \"" + t + "\"  "), t);
  EXPECT_EQ(auth::session_cookie("junk; ;=; jointly_session=" + t), t);
  EXPECT_FALSE(auth::session_cookie(""));
  EXPECT_FALSE(auth::session_cookie("jointly_session="));
  EXPECT_FALSE(auth::session_cookie("jointly_session=" + t + "x"));
  EXPECT_FALSE(auth::session_cookie("jointly_session=\"" + t));
  EXPECT_FALSE(auth::session_cookie("Jointly_Session=" + t));
  EXPECT_FALSE(auth::session_cookie("xjointly_session=" + t));
  EXPECT_FALSE(auth::session_cookie("jointly_session=" + t + "; jointly_session=" + t));
  EXPECT_FALSE(auth::session_cookie("jointly_session=bad; jointly_session=" + t));
  EXPECT_FALSE(auth::session_cookie("jointly_session=" + t.substr(0, 20) + ";" + t.substr(20)));
}

TEST(Auth, SetCookieCarriesTheContractsFlags) {
  EXPECT_EQ(auth::session_set_cookie("TOKEN", 604800, false),
            "jointly_session=TOKEN; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800");
  EXPECT_EQ(auth::session_set_cookie("TOKEN", 60, true),
            "jointly_session=TOKEN; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure");
  EXPECT_EQ(auth::session_clear_cookie(false),
            "jointly_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
}

TEST(Auth, TheSectionHashIsSha256OverTheFieldsInNameOrder) {
  protocol::Document d;
  auto op = protocol::parse_doc_op(nlohmann::json::parse(
      R"([{"add":"a","pos":"V","title":"A","body":"hello"},{"add":"e","pos":"W","body":"é"}])"));
  ASSERT_TRUE(op.ok());
  ASSERT_TRUE(protocol::apply(d, *op));
  // Independently: python3 hashlib.sha256(b"body\n5\nhello" + b"title\n1\nA").
  EXPECT_EQ(auth::section_hash(*d.find("a")),
            "sha256:241d618f0f027e642e9f4815e2d5b3614a7f81c2d77c840f07e088f36e6dc27d");
  // Lengths in UTF-8 bytes: b"body\n2\n\xc3\xa9" + b"title\n0\n".
  EXPECT_EQ(auth::section_hash(*d.find("e")),
            "sha256:45c54808287d063d5584026663f03821f47f148355d0e300572df26192e0735c");
}

TEST(LoginLimiter, FiveFailuresPerEmailOrTwentyPerAddressWithinTheWindow) {
  auth::LoginLimiter lim;
  const auto t0 = auth::LoginLimiter::Clock::now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(lim.check("ana", "1.1.1.1", t0 + i * 1s));
    lim.failed("ana", "1.1.1.1", t0 + i * 1s);
  }
  auto wait = lim.check("ana", "2.2.2.2", t0 + 10s);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 890s);  // the first failure leaves the window at 900 s
  EXPECT_FALSE(lim.check("jan", "1.1.1.1", t0 + 10s));
  EXPECT_FALSE(lim.check("ana", "2.2.2.2", t0 + 900s));
  // Twenty from one address, over many emails.
  for (int i = 0; i < 20; ++i) lim.failed("user" + std::to_string(i), "3.3.3.3", t0);
  EXPECT_TRUE(lim.check("fresh", "3.3.3.3", t0 + 1s));
  EXPECT_FALSE(lim.check("fresh", "4.4.4.4", t0 + 1s));
  // A success clears the email's failures.
  for (int i = 0; i < 4; ++i) lim.failed("rita", "5.5.5.5", t0);
  lim.succeeded("rita");
  lim.failed("rita", "5.5.5.5", t0);
  EXPECT_FALSE(lim.check("rita", "6.6.6.6", t0));
}

TEST(LoginLimiter, MemoryIsBoundedAndItIsThreadSafe) {
  auth::LoginLimiter::Limits limits;
  limits.max_keys = 100;
  auth::LoginLimiter lim(limits);
  const auto t0 = auth::LoginLimiter::Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string k = std::to_string(t) + "-" + std::to_string(i);
        (void)lim.check(k, k, t0);
        lim.failed(k, k, t0 + std::chrono::milliseconds(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(lim.tracked(), 200u);
}

}  // namespace
}  // namespace jointly::server
