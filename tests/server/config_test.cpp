// Flags and their JOINTLY_* environment variables.
#include "server/config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace jointly::server {
namespace {

ConfigParse parse(std::vector<const char*> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "jointly-server");
  return parse_config(static_cast<int>(args.size()), args.data(),
                      [&](const char* n) -> const char* {
                        auto it = env.find(n);
                        return it == env.end() ? nullptr : it->second.c_str();
                      });
}

TEST(Config, DefaultsAreTheDocumentedOnes) {
  auto p = parse({});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.config.listen_host, "127.0.0.1");
  EXPECT_EQ(p.config.listen_port, 8080);
  EXPECT_EQ(p.config.data_dir, "./data");
  EXPECT_EQ(p.config.static_dir, "client-web/dist");
  EXPECT_EQ(p.config.durability, storage::Durability::sync);
  EXPECT_EQ(p.config.max_message_bytes, 262144u);
  EXPECT_TRUE(p.config.allowed_origins.empty());
}

TEST(Config, FlagsAndEnvironmentWithTheCommandLineWinning) {
  auto p = parse({"--listen", "[::1]:9000", "--allowed-origin", "https://a", "--allowed-origin",
                  "https://b", "--durability=none", "--max-message-bytes", "4096"},
                 {{"JOINTLY_LISTEN", "0.0.0.0:1"},
                  {"JOINTLY_DATA", "/srv/jointly"},
                  {"JOINTLY_MESSAGES_PER_SECOND", "7"},
                  {"JOINTLY_DEMO", "1"}});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.config.listen_host, "::1");
  EXPECT_EQ(p.config.listen_port, 9000);
  EXPECT_EQ(p.config.allowed_origins, (std::vector<std::string>{"https://a", "https://b"}));
  EXPECT_EQ(p.config.durability, storage::Durability::none);
  EXPECT_EQ(p.config.max_message_bytes, 4096u);
  EXPECT_EQ(p.config.data_dir, "/srv/jointly");
  EXPECT_EQ(p.config.messages_per_second, 7u);
  EXPECT_TRUE(p.config.demo);
  auto e = parse({}, {{"JOINTLY_ALLOWED_ORIGIN", "https://a, https://b"}});
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.config.allowed_origins, (std::vector<std::string>{"https://a", "https://b"}));
}

TEST(Config, SessionCookieAndProxyFlags) {
  auto d = parse({});
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.config.session_ttl_hours, 168.0);
  EXPECT_FALSE(d.config.secure_cookies);
  EXPECT_TRUE(d.config.trusted_proxies.empty());
  auto p = parse({"--session-ttl-hours", "12", "--secure-cookies", "--trusted-proxy", "10.0.0.1",
                  "--trusted-proxy", "::1"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.config.session_ttl_hours, 12.0);
  EXPECT_TRUE(p.config.secure_cookies);
  EXPECT_EQ(p.config.trusted_proxies, (std::vector<std::string>{"10.0.0.1", "::1"}));
  auto e = parse({}, {{"JOINTLY_SECURE_COOKIES", "1"},
                      {"JOINTLY_TRUSTED_PROXY", "10.0.0.1,10.0.0.2"},
                      {"JOINTLY_SESSION_TTL_HOURS", "1"}});
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_TRUE(e.config.secure_cookies);
  EXPECT_EQ(e.config.trusted_proxies, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(e.config.session_ttl_hours, 1.0);
  EXPECT_FALSE(parse({"--session-ttl-hours", "0"}).ok);
  // A fraction of an hour (the expiry test's few seconds), but not under a second.
  EXPECT_EQ(parse({"--session-ttl-hours", "0.001"}).config.session_ttl_hours, 0.001);
  EXPECT_FALSE(parse({"--session-ttl-hours", "0.0001"}).ok);
  EXPECT_FALSE(parse({"--session-ttl-hours", "nan"}).ok);
}

TEST(Config, MessageTimeoutAndFreeSpaceReserve) {
  auto d = parse({});
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.config.message_timeout_s, 30.0);
  EXPECT_EQ(d.config.min_free_bytes, std::uint64_t{64} << 20);
  auto p = parse({"--message-timeout", "2.5", "--min-free-bytes", "0"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.config.message_timeout_s, 2.5);
  EXPECT_EQ(p.config.min_free_bytes, 0u);
  auto e = parse({}, {{"JOINTLY_MIN_FREE_BYTES", "1048576"}, {"JOINTLY_MESSAGE_TIMEOUT", "5"}});
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.config.min_free_bytes, 1048576u);
  EXPECT_EQ(e.config.message_timeout_s, 5.0);
  EXPECT_FALSE(parse({"--message-timeout", "0"}).ok);
}

TEST(Config, ScaleOutFlags) {
  auto d = parse({});
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_FALSE(d.config.clustered());  // a single node, as before scale-out
  EXPECT_TRUE(d.config.node_id.empty());
  EXPECT_TRUE(d.config.accounts_primary.empty());
  EXPECT_TRUE(d.config.peers.empty());
  auto p = parse({"--node-id", "node2", "--accounts-primary", "http://10.0.0.11:8080", "--peers",
                  "http://10.0.0.11:8080,http://10.0.0.13:8080", "--cluster-secret-file",
                  "/etc/jointly/cluster-secret"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_TRUE(p.config.clustered());
  EXPECT_EQ(p.config.node_id, "node2");
  EXPECT_EQ(p.config.accounts_primary, "http://10.0.0.11:8080");
  EXPECT_EQ(p.config.peers,
            (std::vector<std::string>{"http://10.0.0.11:8080", "http://10.0.0.13:8080"}));
  EXPECT_EQ(p.config.cluster_secret_file, "/etc/jointly/cluster-secret");
  // The primary of a cluster: peers and a secret, no --accounts-primary.
  auto primary = parse({}, {{"JOINTLY_NODE_ID", "node1"},
                            {"JOINTLY_PEERS", "http://10.0.0.12:8080, http://10.0.0.13:8080"},
                            {"JOINTLY_CLUSTER_SECRET_FILE", "/etc/jointly/cluster-secret"}});
  ASSERT_TRUE(primary.ok) << primary.error;
  EXPECT_TRUE(primary.config.clustered());
  EXPECT_TRUE(primary.config.accounts_primary.empty());
  EXPECT_EQ(primary.config.node_id, "node1");
  EXPECT_EQ(primary.config.peers,
            (std::vector<std::string>{"http://10.0.0.12:8080", "http://10.0.0.13:8080"}));
  // The command line wins over the environment.
  auto both = parse({"--accounts-primary", "http://a:1", "--cluster-secret-file", "s"},
                    {{"JOINTLY_ACCOUNTS_PRIMARY", "http://b:2"}});
  ASSERT_TRUE(both.ok) << both.error;
  EXPECT_EQ(both.config.accounts_primary, "http://a:1");
  // Refused, with the reason naming the flag.
  const auto refused = [](const ConfigParse& r, const std::string& flag) {
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find(flag), std::string::npos) << r.error;
  };
  refused(parse({"--peers", "http://a:1"}), "--cluster-secret-file");
  refused(parse({"--accounts-primary", "http://a:1"}), "--cluster-secret-file");
  refused(parse({"--peers", "a:1", "--cluster-secret-file", "s"}), "--peers");
  refused(parse({"--accounts-primary", "https://a:1", "--cluster-secret-file", "s"}),
          "--accounts-primary");
}

TEST(Config, BadValuesAreRefusedWithAReason) {
  EXPECT_FALSE(parse({"--listen", "nowhere"}).ok);
  EXPECT_FALSE(parse({"--listen", "h:99999"}).ok);
  EXPECT_FALSE(parse({"--durability", "maybe"}).ok);
  EXPECT_FALSE(parse({"--threads", "0"}).ok);
  EXPECT_FALSE(parse({"--max-message-bytes", "x"}).ok);
  EXPECT_FALSE(parse({"--no-such-flag"}).ok);
  EXPECT_FALSE(parse({}, {{"JOINTLY_THREADS", "many"}}).ok);
  EXPECT_TRUE(parse({"--help"}).help);
}

}  // namespace
}  // namespace jointly::server
