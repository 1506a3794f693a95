// Options for opening a store, and the durability setting.
//
// Thread-safety: plain values, no shared state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "storage/status.hpp"

namespace jointly::storage {

class FaultInjection;

// What an acknowledged append survives. See storage/README.md for what each mode risks.
enum class Durability : std::uint8_t {
  sync,   // the WAL is fsynced before an append completes: survives a machine crash (default)
  flush,  // the WAL is written to the OS, not fsynced: survives a process crash only
  none,   // no WAL: a crash of any kind loses the revisions not yet flushed to table files
};

std::string_view durability_name(Durability d);
// "sync", "flush" or "none"; else invalid_argument.
Result<Durability> parse_durability(std::string_view name);

struct Options {
  Durability durability = Durability::sync;
  // K: revision r carries a snapshot of the document iff r % K == 0 (and revision 0, the
  // document as created, always has one), so a load replays at most K - 1 operations.
  std::uint64_t snapshot_interval = 100;
  // Bounds of the write queue. A blocking append waits for room; an asynchronous one fails
  // with busy instead.
  std::size_t max_queued_writes = 8192;
  std::size_t max_queued_bytes = std::size_t{256} << 20;
  // The writer merges queued writes into one WriteBatch of at most this many bytes (a single
  // larger write goes alone).
  std::size_t max_group_bytes = std::size_t{8} << 20;
  // When fewer writes are queued than the writer's last group held (the writers it just
  // completed have not appended again yet), the writer waits up to this long for them before
  // it writes, so that they share the next sync instead of waiting for the one after.
  // Durability sync only; it matters with many concurrent writers; 0 turns it off.
  std::chrono::microseconds group_wait{200};
  // Create the store when the directory is absent or empty. A directory that holds anything
  // else is never written to unless it is a Jointly store.
  bool create_if_missing = true;
  // Open without taking the write lock (jointly-admin check and backup while the server
  // runs): every write fails with read_only.
  bool read_only = false;
  // The free-space reserve: while the file system holding the store has fewer bytes than this
  // free (statvfs f_bavail), revisions, document creations and history writes are refused
  // with no_space before anything reaches RocksDB, whose failed WAL write would otherwise
  // stop the store until it is reopened; account and session writes (small, rare) may use the
  // reserve down to a quarter of it. The check runs before every write group, and for a new
  // write when the last one is over 100 ms old. 0: no reserve.
  std::uint64_t min_free_bytes = 0;
  // Tests only: makes the file system fail on demand (see storage/fault_injection.hpp).
  std::shared_ptr<FaultInjection> fault_injection;
};

}  // namespace jointly::storage
