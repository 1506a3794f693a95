// LoadClient: one simulated editor. It holds one WebSocket to jointly-server with one document
// open, runs the real client state machine (DocState) on it, and edits the body of one section
// (the one a blank document has, "intro") with single-character text operations.
//
// Threads: everything but open(), close() and the atomic getters runs on the connection's I/O
// thread; drivers call edit_*() from there, through post(). Counters read from another thread
// are atomics. The hooks are set before open() and called on the I/O thread.
//
// Errors: open() returns connect_failed / handshake_failed / the server's error code (e.g.
// unauthenticated, unknown_document) / timeout. Anything that goes wrong later (an error
// message from the server, a state-machine error, the connection lost) is recorded as
// failure() and stops the client's edits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "server/load/doc_state.hpp"
#include "server/load/net.hpp"

namespace jointly::load {

using Clock = std::chrono::steady_clock;

// The section and field every workload edits (the blank template's one section).
inline constexpr std::string_view kSection = "intro";

class LoadClient {
 public:
  struct Hooks {
    // After an ack of this client's submission (seq, the revision).
    std::function<void(std::uint64_t seq, std::uint64_t rev)> on_ack;
    // After another client's op has been applied here: the op as applied, when it arrived.
    std::function<void(const protocol::DocOp& applied, Clock::time_point arrived)> on_remote;
  };

  LoadClient(std::string client_id, Hooks hooks);
  ~LoadClient();

  // Connects, says hello, opens the document and waits (up to timeout) for its snapshot.
  protocol::Status open(IoPool& pool, unsigned shard, const Endpoint& endpoint,
                        const std::string& cookie, std::uint64_t doc,
                        std::chrono::milliseconds timeout);
  void close();

  // Runs f on this client's I/O thread.
  void post(std::function<void()> f);

  // On the I/O thread: the edited text's length in code points, and one edit of it.
  std::size_t length() const;
  void insert(std::size_t pos, std::string_view utf8);
  void erase(std::size_t pos);  // deletes one code point
  // On the I/O thread: the edited text (UTF-8).
  std::string text() const;

  // From any thread.
  std::uint64_t rev() const { return rev_.load(std::memory_order_acquire); }
  bool idle() const { return idle_.load(std::memory_order_acquire); }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string failure() const;
  // Submit-to-ack latencies of this client's submissions, in microseconds (read after the run).
  const std::vector<std::uint32_t>& ack_latencies_us() const { return ack_us_; }

 private:
  void on_message(std::string_view text);
  void handle(const nlohmann::json& m, Clock::time_point arrived);
  void submit(const Submission& s);
  void fail(std::string why);
  void publish();

  const std::string id_;
  Hooks hooks_;
  std::unique_ptr<WsConnection> ws_;
  std::uint64_t doc_ = 0;
  DocState state_;
  Clock::time_point inflight_sent_{};
  std::vector<std::uint32_t> ack_us_;

  std::atomic<std::uint64_t> rev_{0};
  std::atomic<bool> idle_{true};
  std::atomic<bool> opened_{false};
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mu_;
  std::string failure_;  // guarded by failure_mu_
};

}  // namespace jointly::load
