// ServerState: what the listener and the sessions share (the Beast examples' shared_state):
// the settings, the store, the documents, the metrics, and the list of open WebSocket sessions
// that shutdown closes with 1001.
//
// Thread-safety: config, store, host and metrics are read-only or thread-safe themselves;
// `sessions` is guarded by `mu` (and guards nothing else); the counters are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "server/config.hpp"
#include "server/document_host.hpp"
#include "server/metrics.hpp"
#include "storage/store.hpp"

namespace jointly::server {

class websocket_session;

struct ServerState {
  ServerState(Config c, storage::Store& s, DocumentHost& h, Metrics& m)
      : config(std::move(c)), store(s), host(h), metrics(m) {}

  const Config config;
  storage::Store& store;
  DocumentHost& host;
  Metrics& metrics;

  std::atomic<std::uint64_t> next_connection{1};
  std::atomic<std::uint64_t> connections{0};  // open TCP connections, HTTP and WebSocket
  std::atomic<bool> stopping{false};

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
