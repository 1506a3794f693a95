// Metrics: the server's counters, gauges and histograms, rendered in the Prometheus text
// format 0.0.4 for GET /metrics (names in protocol/PROTOCOL.md, "HTTP API").
//
// Thread-safety: every method may be called from any thread. Counters, gauges and histogram
// buckets are relaxed atomics (a scrape may see one update before another; each number is
// exact); the labelled counters take a mutex that guards only their map.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace jointly::server {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n) { v_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { v_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// A histogram of durations in seconds with fixed bucket bounds (from 50 µs to 10 s).
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   10.0};

  void observe_ns(std::uint64_t ns);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // name: the metric's name; appends its HELP, TYPE, buckets, sum and count.
  void render(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets_{};  // non-cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// A counter per label value (e.g. per error code).
class LabelledCounter {
 public:
  void inc(std::string_view label);
  std::uint64_t value(std::string_view label) const;
  // Appends HELP, TYPE and one line per label value, sorted.
  void render(std::string& out, std::string_view name, std::string_view label_name,
              std::string_view help) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t, std::less<>> values_;  // GUARDED_BY(mu_)
};

// Scale-out's numbers (server/replication.hpp, deploy/README.md "Scale-out"); rendered only when
// `clustered` is set (once, before the server serves), the replica's only when `replica` is.
struct ClusterMetrics {
  bool clustered = false;
  bool replica = false;
  Gauge replica_lag_changes;      // the primary's newest change number minus this replica's
  Gauge replica_caught_up_ms;     // Unix ms when this replica last held every change it saw
  Counter replica_pulls;          // pulls from the primary that succeeded
  Counter replica_pull_failures;  // ... and that failed
  Counter handed_off;             // documents this node handed to a peer
  Counter imported;               // documents this node imported from a peer
  Counter built;                  // registered documents this node built from their template
  Counter acquisitions_failed;    // documents that could not be had (a peer did not answer)
};

struct Metrics {
  Gauge connections;           // open WebSocket connections
  Gauge http_connections;      // open TCP connections still speaking HTTP
  Gauge documents_open;        // documents loaded in memory
  Gauge outbound_queue_bytes;  // bytes queued for all connections
  Counter ops_applied;         // revisions made durable
  Histogram op_latency;        // submit received on the document's strand -> ack queued
  Histogram fsync_latency;     // revision queued to storage -> durable
  LabelledCounter rejected;    // error messages sent, by code
  LabelledCounter closed;      // WebSocket closes initiated by the server, by close code
  ClusterMetrics cluster;

  // Storage's group commit: write groups (one WriteBatch and, when durable, one sync each) and
  // the writes they carried.
  struct StorageWrites {
    std::uint64_t groups = 0;
    std::uint64_t writes = 0;
  };

  // The whole exposition, Prometheus text format 0.0.4 (with storage's writes when given).
  std::string render(const StorageWrites* storage = nullptr) const;
};

}  // namespace jointly::server
