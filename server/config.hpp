// Config: jointly-server's settings, from the command line and JOINTLY_* environment variables
// (each flag --some-flag also reads JOINTLY_SOME_FLAG; the command line wins; a repeatable
// flag's variable holds a comma-separated list). See `jointly-server --help`.
//
// Thread-safety: a plain value; parse once in main, then read-only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "storage/options.hpp"

namespace jointly::server {

struct Config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string data_dir = "./data";
  unsigned threads = 2;
  std::string static_dir = "client-web/dist";
  std::vector<std::string> allowed_origins;  // empty: same-host origins only
  storage::Durability durability = storage::Durability::sync;
  std::uint64_t snapshot_interval = 100;
  bool demo = false;  // create the demo document and demo accounts when the store has none
  double session_ttl_hours = 168;  // a fraction allowed (0.5: 30 minutes), in whole seconds
  bool secure_cookies = false;     // Set-Cookie with Secure
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-* headers are believed
  std::string log_level = "info";

  // Limits (protocol/PROTOCOL.md).
  std::uint64_t max_message_bytes = 256 * 1024;
  std::uint64_t max_document_bytes = 8 << 20;
  std::uint64_t max_connections = 10000;
  std::uint64_t max_outbound_bytes = 16 << 20;
  std::uint64_t max_documents_per_connection = 16;
  std::uint64_t max_body_bytes = 1 << 20;
  double handshake_timeout_s = 10;
  double idle_timeout_s = 60;
  double message_timeout_s = 30;  // a WebSocket message, from its first payload bytes to its end
  // The free-space reserve of the data directory's file system (storage::Options).
  std::uint64_t min_free_bytes = std::uint64_t{64} << 20;
  std::uint64_t messages_per_second = 100;
  std::uint64_t message_burst = 200;
  std::uint64_t max_rev_lag = 10000;
  std::uint64_t history_tail = 1000;
  double unload_after_s = 30;  // an idle document stays loaded this long

  // Scale-out (deploy/README.md "Scale-out"). None given: a single node, as before.
  std::string node_id;              // this node's name in logs and /metrics
  std::string accounts_primary;     // http://HOST:PORT; empty: this node is the primary
  std::vector<std::string> peers;   // the other nodes' http://HOST:PORT (document hand-off)
  std::string cluster_secret_file;  // the shared secret /internal/* requests carry
  bool clustered() const { return !accounts_primary.empty() || !peers.empty(); }
};

struct ConfigParse {
  bool ok = false;
  bool help = false;  // --help: print usage, exit 0
  std::string error;  // when !ok && !help
  std::string usage;
  Config config;
};

// getenv: reads an environment variable (nullptr when unset); tests pass their own.
ConfigParse parse_config(int argc, const char* const* argv,
                         const std::function<const char*(const char*)>& getenv);

}  // namespace jointly::server
