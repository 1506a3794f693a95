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
// Thread-safety: internal_request and DocumentAcquirer::acquire may be called from any thread
// (each runs its own event loop) but block on peers: never call them on an I/O thread (a node
// whose I/O threads wait for peers cannot answer theirs; DocumentHost runs acquire on its cluster
// thread). DocumentAcquirer::ready reads locally and may run anywhere. Replicator: start() and
// stop() from one thread (main); catch_up() from any thread. Pulls are serialised by a mutex and
// start at most once per kMinPullGap; a catch_up() that waited while another pull ran uses it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/result.hpp"
#include "server/metrics.hpp"
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
  // Pulls start at most this often, the interval's and catch_up()'s together: a burst of
  // requests naming unknown sessions costs the primary ten pulls a second, not one each.
  static constexpr std::chrono::milliseconds kMinPullGap{100};

  // REQUIRES: accounts and metrics outlive this object; accounts is set_replica(true).
  Replicator(storage::Accounts& accounts, std::string primary_url, std::string secret,
             std::chrono::milliseconds interval, ClusterMetrics& metrics);
  ~Replicator();  // stop()
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Starts the pulling thread.
  void start();
  // Stops it (waits for a pull in flight, at most its timeout).
  void stop();
  // Pulls now unless a pull started since this call (read-your-writes: an unknown session or
  // document is looked for once more), waiting first until kMinPullGap after the last pull's
  // start (the waiters then share one pull). True when that pull succeeded. Blocks for at most
  // kMinPullGap and the pull's timeout.
  bool catch_up();

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

  ClusterMetrics& metrics_;
};

class DocumentAcquirer {
 public:
  // REQUIRES: store, accounts and metrics outlive this object. catch_up: a replica's pull (may
  // be unset).
  DocumentAcquirer(storage::Store& store, storage::Accounts& accounts,
                   std::vector<std::string> peers, std::string secret,
                   std::function<bool()> catch_up, ClusterMetrics& metrics);
  // This node's copy of id, ready to load: ok; not_found when no node and no registry has it;
  // busy when a peer did not answer; the store's errors. Blocks (peers' answers, durable
  // writes); one acquisition at a time. Never on an I/O thread.
  storage::Status acquire(storage::DocumentId id);
  // Whether id can be served here now, from local reads only (never blocks on a peer; safe on an
  // I/O thread): ok when this node holds its copy and has not handed it off; not_found when it
  // holds none and the last acquire(id) found it nowhere; busy when acquire(id) must run first
  // (a copy to bring from a peer or to build from the registry).
  storage::Status ready(storage::DocumentId id) const;
  // True while acquire(id) runs: this node must not hand id off then (its copy is not whole).
  bool acquiring(storage::DocumentId id) const { return current_.load() == id; }

 private:
  static constexpr std::size_t kMaxAbsent = 4096;
  storage::Status acquire_locked(storage::DocumentId id);
  // Remembers whether acquire(id) found id nowhere (not_found), for ready().
  void note_outcome(storage::DocumentId id, const storage::Status& st);
  storage::Status import(storage::DocumentId id, const std::string& answer,
                         std::optional<std::uint64_t> local_last);

  storage::Store& store_;
  storage::Accounts& accounts_;
  const std::vector<std::string> peers_;
  const std::string secret_;
  const std::function<bool()> catch_up_;
  ClusterMetrics& metrics_;
  std::mutex mu_;                                // one acquisition at a time
  std::atomic<storage::DocumentId> current_{0};  // the document acquire() works on, or 0
  mutable std::mutex absent_mu_;
  std::set<storage::DocumentId> absent_;  // GUARDED_BY(absent_mu_): found nowhere last time
};

}  // namespace jointly::server::cluster
