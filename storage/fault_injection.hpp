// FaultInjection: a switch that makes the store's file system fail, for tests of the failure
// path (a failed WAL write or sync must leave the store unhealthy and refusing writes), and
// one that makes its file system look full (the free-space reserve must refuse writes and let
// them through again once space returns).
//
// Pass one in Options::fault_injection; every file the store opens for writing from then on
// goes through it. Thread-safe: the switches may be flipped from any thread while the store
// runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace jointly::storage {

class FaultInjection {
 public:
  FaultInjection() = default;
  FaultInjection(const FaultInjection&) = delete;
  FaultInjection& operator=(const FaultInjection&) = delete;

  // While on, every Sync/Fsync of a file the store writes fails with an I/O error.
  void fail_syncs(bool on) { fail_syncs_.store(on); }
  // While on, every Append to a file the store writes fails with an I/O error.
  void fail_writes(bool on) { fail_writes_.store(on); }
  // While set (>= 0), the free-space reserve check (Options::min_free_bytes) sees this many
  // bytes free instead of what statvfs says; -1 (the default) restores statvfs.
  void report_free_bytes(std::int64_t bytes) { free_bytes_.store(bytes); }
  std::int64_t reported_free_bytes() const { return free_bytes_.load(); }

  bool syncs_fail() const { return fail_syncs_.load(); }
  bool writes_fail() const { return fail_writes_.load(); }
  // How many operations failed because of a switch.
  long injected() const { return injected_.load(); }
  void count_injected() { injected_.fetch_add(1); }

 private:
  std::atomic<bool> fail_syncs_{false};
  std::atomic<bool> fail_writes_{false};
  std::atomic<long> injected_{0};
  std::atomic<std::int64_t> free_bytes_{-1};
};

}  // namespace jointly::storage
