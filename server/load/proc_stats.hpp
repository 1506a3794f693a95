// What jointly-load reads about the server process from /proc (Linux): its CPU time and memory,
// and which process listens on a TCP port.
//
// Plain functions, callable from any thread. They return std::nullopt when /proc does not have
// the answer (process gone, not ours to read, not Linux).
#pragma once

#include <cstdint>
#include <optional>

namespace jointly::load {

struct ProcMemory {
  double rss_mib = 0;  // VmRSS: resident now
  double hwm_mib = 0;  // VmHWM: peak resident since the process started
};

// utime + stime of every thread of pid, in seconds.
std::optional<double> proc_cpu_seconds(int pid);
std::optional<ProcMemory> proc_memory(int pid);
// The process that holds a listening TCP socket on port (IPv4 or IPv6), when it can be found.
std::optional<int> pid_listening_on(std::uint16_t port);

}  // namespace jointly::load
