// Test harness for the socket-free server parts: a manual executor that stands in for a
// document's strand, a subscriber that records what it is sent, and helpers to build ops.
// No Beast or Asio header here or in any test that includes it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "server/document_authority.hpp"

namespace jointly::server::testing {

using nlohmann::json;

// Functions posted from any thread (storage's writer) run only when the test drains them, on
// the test's thread: the test is the strand.
class ManualExecutor {
 public:
  DocumentAuthority::Post post() {
    return [this](std::function<void()> f) {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(f));
      cv_.notify_all();
    };
  }

  // Runs posted functions until pred() holds (checked before each); false on timeout.
  bool run_until(const std::function<bool()>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      std::function<void()> f;
      {
        std::unique_lock lock(mu_);
        if (!cv_.wait_until(lock, deadline, [&] { return !queue_.empty(); })) return false;
        f = std::move(queue_.front());
        queue_.pop_front();
      }
      f();
    }
    return true;
  }

  std::size_t queued() {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

class RecordingSubscriber : public Subscriber {
 public:
  void send(std::shared_ptr<const std::string> message) override {
    std::lock_guard lock(mu_);
    sent_.push_back(json::parse(*message));
  }
  void send_all(storage::DocumentId doc,
                std::vector<std::shared_ptr<const std::string>> messages) override {
    std::lock_guard lock(mu_);
    batches_.push_back({doc, messages.size()});
    for (const auto& m : messages) sent_.push_back(json::parse(*m));
  }
  void close(std::uint16_t code, std::string) override {
    std::lock_guard lock(mu_);
    closed_ = code;
  }
  // send_all's calls: (document, number of messages).
  std::vector<std::pair<storage::DocumentId, std::size_t>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  void unsubscribed(storage::DocumentId doc) override {
    std::lock_guard lock(mu_);
    unsubscribed_.push_back(doc);
  }
  std::vector<storage::DocumentId> unsubscribed_from() {
    std::lock_guard lock(mu_);
    return unsubscribed_;
  }

  std::vector<json> messages() {
    std::lock_guard lock(mu_);
    return sent_;
  }
  // The messages of this type.
  std::vector<json> of_type(const std::string& type) {
    std::vector<json> out;
    for (auto& m : messages()) {
      if (m["type"] == type) out.push_back(m);
    }
    return out;
  }
  std::size_t count(const std::string& type) { return of_type(type).size(); }
  std::optional<json> last(const std::string& type) {
    auto all = of_type(type);
    if (all.empty()) return std::nullopt;
    return all.back();
  }
  std::optional<std::uint16_t> closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    sent_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<json> sent_;
  std::optional<std::uint16_t> closed_;
  std::vector<storage::DocumentId> unsubscribed_;
  std::vector<std::pair<storage::DocumentId, std::size_t>> batches_;
};

// Document roles for tests: (document, user) -> role, with a fallback for everyone else
// (leader unless changed, so tests about sync need not set roles up). Thread-safe.
class TestRoles {
 public:
  void set(storage::DocumentId doc, std::uint64_t user, std::optional<Role> role) {
    std::lock_guard lock(mu_);
    roles_[{doc, user}] = role;
  }
  void set_default(std::optional<Role> role) {
    std::lock_guard lock(mu_);
    default_ = role;
  }
  RoleLookup lookup() {
    return [this](storage::DocumentId doc,
                  std::uint64_t user) -> storage::Result<std::optional<Role>> {
      std::lock_guard lock(mu_);
      auto it = roles_.find({doc, user});
      return it == roles_.end() ? default_ : it->second;
    };
  }

 private:
  std::mutex mu_;
  std::map<std::pair<storage::DocumentId, std::uint64_t>, std::optional<Role>> roles_;
  std::optional<Role> default_ = Role::leader;
};

// A peer whose user id is its connection id unless given.
inline Peer make_peer(std::uint64_t connection, std::string client, std::string name = "Ana",
                      std::string institution = "Uni Graz", std::uint64_t user = 0) {
  return Peer{connection, std::move(client), user == 0 ? connection : user, std::move(name),
              std::move(institution)};
}

// Parses a DocOp from its wire form; fails the test on error.
inline protocol::DocOp op(const json& j) {
  auto r = protocol::parse_doc_op(j);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : protocol::DocOp{};
}

inline protocol::SubmitMessage submit(std::uint64_t doc, std::uint64_t rev, std::string client,
                                      std::uint64_t seq, const json& op_json) {
  return protocol::SubmitMessage{doc, rev, std::move(client), seq, op(op_json)};
}

// The document the authority tests start from: section "a" (title "A", body "hello") and "b"
// ("B", "world").
inline protocol::Document hello_world_document() {
  protocol::Document d;
  EXPECT_TRUE(
      protocol::apply(d, op(json::parse(R"([{"add":"a","pos":"V","title":"A","body":"hello"},
                            {"add":"b","pos":"k","title":"B","body":"world"}])"))));
  return d;
}

inline std::string body_of(const protocol::Document& d, const std::string& section) {
  const auto* s = d.find(section);
  return s ? s->body.to_string() : std::string("<no section>");
}

}  // namespace jointly::server::testing
