// ServerState: what the listener and the sessions share (the Beast examples' shared_state):
// the settings, the store, the accounts, the documents, the metrics, the login rate limiter,
// the pool that verifies passwords off the I/O threads, and the list of open WebSocket
// sessions (that shutdown closes with 1001 and the session check with 1008).
//
// Thread-safety: config, store, accounts, host, metrics, limiter and slow_pool are read-only or
// thread-safe themselves; `sessions` is guarded by `mu` (and guards nothing else); the counters
// are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "server/auth.hpp"
#include "server/config.hpp"
#include "server/document_host.hpp"
#include "server/metrics.hpp"
#include "storage/accounts.hpp"
#include "storage/store.hpp"

namespace jointly::server {

class websocket_session;

struct ServerState {
  ServerState(Config c, storage::Store& s, storage::Accounts& a, DocumentHost& h, Metrics& m,
              boost::asio::thread_pool& pool)
      : config(std::move(c)), store(s), accounts(a), host(h), metrics(m), slow_pool(pool) {}

  const Config config;
  storage::Store& store;
  storage::Accounts& accounts;
  DocumentHost& host;
  Metrics& metrics;
  auth::LoginLimiter limiter;
  boost::asio::thread_pool& slow_pool;        // password hashing and verification
  std::atomic<std::uint64_t> slow_queued{0};  // requests waiting for or in slow_pool

  std::atomic<std::uint64_t> next_connection{1};
  std::atomic<std::uint64_t> connections{0};  // open TCP connections, HTTP and WebSocket
  std::atomic<bool> stopping{false};

  // Scale-out, set by main before the listener starts, then read-only: the cluster secret
  // (empty: not in a cluster), on an accounts replica its one synchronous pull, and in a
  // cluster the document hand-off hooks (server/replication.hpp).
  std::string cluster_secret;
  std::function<bool()> accounts_catch_up;
  // In a cluster: this node's copy of a document (DocumentAcquirer), and handing one off.
  std::function<storage::Status(storage::DocumentId)> ensure_document;
  std::function<storage::Status(storage::DocumentId)> hand_off;

  std::mutex mu;
  std::map<std::uint64_t, std::weak_ptr<websocket_session>> sessions;  // GUARDED_BY(mu)
};

// Holds one of ServerState::connections for as long as a connection lives; moved from the
// HTTP session to the WebSocket session on upgrade.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::shared_ptr<ServerState> s) : state_(std::move(s)) {
    count_ = state_->connections.fetch_add(1) + 1;
  }
  ~ConnectionSlot() { state_->connections.fetch_sub(1); }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  // The number of connections when this one was accepted, itself included.
  std::uint64_t count_at_accept() const { return count_; }

 private:
  std::shared_ptr<ServerState> state_;
  std::uint64_t count_ = 0;
};

}  // namespace jointly::server
