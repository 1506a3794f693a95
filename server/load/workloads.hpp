// The four workloads of ../shared/bench-peers (README "Workloads"; load.mjs), run by jointly-load
// against a running jointly-server:
//   w1  burst: C clients x E edits back to back (80% insert a letter, 20% delete one character,
//       the last edit an insert), each edit sent when the previous one is acknowledged;
//       figure: edits/s to convergence.
//   w2  latency: 1 observer + W writers inserting unique code points at `rate` edits/s each,
//       staggered, without waiting for acks; warm-up measured apart; figure: p50/p99/max of
//       send-to-seen-by-the-observer.
//   w3  many documents: D documents x K clients at `rate` edits/s each with a random phase,
//       client 0 of each document observing the others; figures: server CPU in the measured
//       window, server peak RSS, latency.
//   w4  cold join of a document built by B builders with `edits` W1-style edits: J fresh
//       clients join one after another (held in memory by a connected holder, or with --unload
//       after the server has unloaded it); figure: median join time.
// Random choices use the harness's generator (mulberry32) with the same seeds, so with one
// client the final text is the peers'.
//
// Every workload ends with a convergence check: all clients' texts equal each other and the
// server's snapshot (GET /api/documents/:id). Thread-safety: run_workload() is called from one
// thread; it starts its own I/O threads.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "server/load/net.hpp"

namespace jointly::load {

struct LoadOptions {
  Endpoint endpoint;
  std::string login;  // "email:password", or "" to connect without a session
  unsigned threads = 2;
  int server_pid = 0;  // 0: find the process listening on the endpoint's port
  std::string workload = "w1";
  std::uint32_t seed = 1;
  double deadline_s = 240;
  // w1
  unsigned clients = 8;
  unsigned edits = 0;  // 0: the workload's default (w1 500 per client, w2 260 per writer,
                       // w4 20000 in all)
  // w2, w3
  unsigned writers = 8;
  double rate = 0;     // 0: default (w2 10, w3 2 edits/s per client)
  double warmup = -1;  // <0: default (w2 2 s, w3 5 s)
  double duration = 20;
  unsigned docs = 200;
  unsigned perdoc = 4;
  unsigned batch = 20;
  // w4
  unsigned builders = 4;
  unsigned joins = 5;
  bool unload = false;
  unsigned unload_wait_ms = 3000;
};

// Runs one workload. The result object always has "ok" (figures measured and every check
// passed), "workload", "params"; on failure "error" with a stable "code" and a message; else the
// workload's figures, "server" (pid, cpu_s in the measured window, cpu_us_per_edit where edits
// are counted, rss_mib, hwm_mib) and "converged".
nlohmann::json run_workload(const LoadOptions& options);

}  // namespace jointly::load
