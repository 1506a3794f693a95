// Scale-out's node-to-node side (deploy/README.md "Scale-out", protocol/PROTOCOL.md "Cluster
// internals"): requests to another node's /internal/ API, and the Replicator that keeps a
// replica node's accounts a copy of the accounts primary's.
//
// The Replicator pulls GET /internal/accounts/changes?after=N from the primary every interval
// (and whenever catch_up() is called) and applies what it gets (storage::Accounts::
// apply_changes); when the primary answers that N is outside its retained change log, it
// installs GET /internal/accounts/snapshot instead. Every account read stays local; a session
// ended on the primary is deleted here by the change that ends it, and the server's session
// watcher closes its WebSockets (sessions_generation).
//
// The DocumentAcquirer gives a node its copy of a document to serve (document hand-off on a
// ring change or a node's return): a copy held here and not handed off is served at once;
// otherwise every peer is asked (POST /internal/documents/:id/handoff?have=R). A peer holding
// a copy hands it off (marks its copy final, closes its connections with 1001, waits for its
// revisions in flight) and returns its log; every copy is a prefix of the document's one log
// (a handed-off copy takes no writes), so the longest is imported (what this node lacks, with
// each revision's author, time and client id). When no node has a copy, a registered document
// is built from the registry's template and title. A peer that does not answer makes the
// document unavailable for now (busy): serving without it could lose its history.
//
// Beast and Asio live only in replication.cpp; this header has neither.
//
// Thread-safety: internal_request and DocumentAcquirer::acquire may be called from any thread (it
// runs its own event loop, so it may even be called from an I/O thread, which it blocks for at most
// the timeout). Replicator: start() and stop() from one thread (main); catch_up() from any thread.
// Pulls are serialised by a mutex; a catch_up() that waited while another pull ran uses that pull.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/result.hpp"
#include "storage/accounts.hpp"
#include "storage/store.hpp"

namespace jointly::server::cluster {

// The header an /internal/ request carries the cluster secret in.
inline constexpr std::string_view kSecretHeader = "X-Jointly-Cluster-Secret";

struct InternalResponse {
  unsigned status = 0;
  std::string body;
};

// One request to base_url (http://HOST:PORT) + target, with the cluster secret, answered within
// timeout. Errors (stable codes): bad_url, connect_failed, http_failed, timeout.
protocol::Result<InternalResponse> internal_request(std::string_view base_url,
                                                    std::string_view method,
                                                    std::string_view target,
                                                    std::string_view secret, std::string body,
                                                    std::chrono::milliseconds timeout);

class Replicator {
 public:
  // REQUIRES: accounts outlives this object and is set_replica(true).
  Replicator(storage::Accounts& accounts, std::string primary_url, std::string secret,
             std::chrono::milliseconds interval);
  ~Replicator();  // stop()
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Starts the pulling thread.
  void start();
  // Stops it (waits for a pull in flight, at most its timeout).
  void stop();
  // Pulls now unless a pull started since this call (read-your-writes: an unknown session or
  // document is looked for once more). True when that pull succeeded.
  bool catch_up();
  // Pulls that succeeded / failed since start (metrics, tests).
  std::uint64_t pulls_ok() const { return pulls_ok_.load(); }
  std::uint64_t pulls_failed() const { return pulls_failed_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  // Each REQUIRES pull_mu_ held; timeout bounds each request.
  protocol::Status pull(std::chrono::milliseconds timeout);
  protocol::Status install_snapshot(std::chrono::milliseconds timeout);
  // The body of the primary's 200 answer to GET target; primary_refused for any other status.
  protocol::Result<std::string> get_from_primary(const std::string& target,
                                                 std::chrono::milliseconds timeout);
  protocol::Status pull_and_count(std::chrono::milliseconds timeout);  // logs state changes
  void run();

  storage::Accounts& accounts_;
  const std::string primary_;
  const std::string secret_;
  const std::chrono::milliseconds interval_;

  std::mutex pull_mu_;                   // one pull at a time
  Clock::time_point last_pull_start_{};  // GUARDED_BY(pull_mu_)
  bool last_pull_ok_ = false;            // GUARDED_BY(pull_mu_)
  bool was_failing_ = false;             // GUARDED_BY(pull_mu_); logs a change of state once

  std::mutex wake_mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(wake_mu_)
  std::thread thread_;

  std::atomic<std::uint64_t> pulls_ok_{0};
  std::atomic<std::uint64_t> pulls_failed_{0};
};

class DocumentAcquirer {
 public:
  // REQUIRES: store and accounts outlive this object. catch_up: a replica's pull (may be unset).
  DocumentAcquirer(storage::Store& store, storage::Accounts& accounts,
                   std::vector<std::string> peers, std::string secret,
                   std::function<bool()> catch_up);
  // This node's copy of id, ready to load: ok; not_found when no node and no registry has it;
  // busy when a peer did not answer; the store's errors. Blocks (peers' answers, durable
  // writes); one acquisition at a time.
  storage::Status acquire(storage::DocumentId id);
  // True while acquire(id) runs: this node must not hand id off then (its copy is not whole).
  bool acquiring(storage::DocumentId id) const { return current_.load() == id; }

 private:
  storage::Status import(storage::DocumentId id, const std::string& answer,
                         std::optional<std::uint64_t> local_last);

  storage::Store& store_;
  storage::Accounts& accounts_;
  const std::vector<std::string> peers_;
  const std::string secret_;
  const std::function<bool()> catch_up_;
  std::mutex mu_;                                // one acquisition at a time
  std::atomic<storage::DocumentId> current_{0};  // the document acquire() works on, or 0
};

}  // namespace jointly::server::cluster
