// libFuzzer target: the WebSocket message dispatch. Every input is a short conversation of one
// connection: frames separated by 0xFF, each parsed with protocol::parse_client_message and,
// when it parses, handled as websocket_session.cpp does (hello, then open/submit/presence/leave
// on document 1, which stands for the document made for the input) by a real DocumentAuthority
// over a real Store (RocksDB, durability none, in a temporary directory, opened once per
// process; a fresh document per input). The hello's client id picks the account's role by its
// last character (n: not a member, v: viewer, r: reviewer, e: editor, else leader).
//
// Checked for every input:
//   - parsing never crashes; an error's encode_error() is JSON with that code (no invalid UTF-8
//     from the frame can break the answer); a frame the submit scanner accepts parses to the same
//     message through the JSON tree;
//   - a parsed submit's op round-trips through its JSON;
//   - everything the authority sends is JSON with a string "type";
//   - after the conversation every revision is durable, and the document loaded again from the
//     store equals the one in memory (nothing acknowledged is lost or different).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "protocol/messages.hpp"
#include "server/document_authority.hpp"
#include "server/metrics.hpp"
#include "storage/store.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

using jointly::fuzz::split_input;
using nlohmann::json;
namespace p = jointly::protocol;
namespace s = jointly::server;
namespace st = jointly::storage;

std::string show(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Stands in for the document's strand: storage's writer thread posts here, the fuzz thread runs.
class Queue {
 public:
  s::DocumentAuthority::Post post() {
    return [this](std::function<void()> f) {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(f));
    };
  }
  // Runs what is queued until done() holds; false when it did not within the time limit.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      std::function<void()> f;
      {
        std::lock_guard lock(mu_);
        if (!queue_.empty()) {
          f = std::move(queue_.front());
          queue_.pop_front();
        }
      }
      if (f) {
        f();
      } else if (std::chrono::steady_clock::now() > deadline) {
        return false;
      } else {
        std::this_thread::yield();
      }
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;
};

// Checks every message it is sent.
class CheckingSubscriber : public s::Subscriber {
 public:
  void send(std::shared_ptr<const std::string> message) override {
    const json j = json::parse(*message, nullptr, false);
    FUZZ_CHECK(!j.is_discarded() && j.is_object() && j.contains("type") && j["type"].is_string(),
               "the authority sent " + show(*message));
  }
  void close(std::uint16_t, std::string) override {}
};

// The account on every conversation's connection.
constexpr std::uint64_t kUser = 1;

// One store for the process, in a temporary directory (see make_temp_dir).
struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<st::Store> store;
  s::Metrics metrics;
  Queue queue;
  // The account's role in the conversation's document (nullopt: not a member), set by hello.
  std::optional<s::Role> role = s::Role::leader;

  s::RoleLookup roles() {
    return [this](st::DocumentId, std::uint64_t user) -> st::Result<std::optional<s::Role>> {
      return user == kUser ? role : std::nullopt;
    };
  }

  Fixture() : dir(jointly::fuzz::make_temp_dir("jointly-fuzz-store")) {
    st::Options o;
    o.durability = st::Durability::none;
    auto opened = st::Store::open((dir / "data").string(), o);
    FUZZ_CHECK(opened.ok(), opened.status().to_string());
    store = std::move(*opened);
  }
  static Fixture& get() {
    static Fixture f;
    return f;
  }
};

const p::Document& initial_document() {
  static const p::Document doc = [] {
    auto r = p::parse_document(json::parse(R"({"v":1,"sections":[
      {"id":"a","pos":"V","title":"Vision","body":"hello"},
      {"id":"b","pos":"k","title":"Locked","body":"done","locked":true},
      {"id":"c","pos":"a","title":"","body":"","removed":true}]})"));
    FUZZ_CHECK(r.ok(), r.error().message);
    return *r;
  }();
  return doc;
}

// The document id a conversation names for the document made for it (a fresh id per input).
constexpr std::uint64_t kConversationDoc = 1;

// One connection's conversation with one document, as websocket_session.cpp dispatches it.
class Conversation {
 public:
  Conversation(Fixture& f, std::shared_ptr<s::DocumentAuthority> authority)
      : f_(f), authority_(std::move(authority)) {}

  void frame(std::string_view text) {
    // The submit scanner reads what it accepts exactly as the JSON tree does.
    if (auto fast = p::parse_submit_fast(text)) {
      auto tree = p::parse_client_message_tree(text);
      FUZZ_CHECK(tree.ok() && std::holds_alternative<p::SubmitMessage>(*tree) &&
                     std::get<p::SubmitMessage>(*tree) == *fast,
                 "the submit scanner and the tree disagree on " + show(text));
    }
    p::MessageContext ctx;
    auto parsed = p::parse_client_message(text, &ctx);
    if (!parsed) {
      const std::string answer = p::encode_error(parsed.error(), ctx);
      const json j = json::parse(answer, nullptr, false);
      FUZZ_CHECK(!j.is_discarded() && j.value("code", "") == parsed.error().code,
                 "the error answer " + show(answer) + " for " + show(text));
      return;
    }
    std::visit([&](auto& m) { on(m); }, *parsed);
    FUZZ_CHECK(f_.queue.run_until([&] { return authority_->durable_rev() == authority_->head(); }),
               "revisions stayed in flight after " + show(text));
  }

 private:
  void on(p::HelloMessage& m) {
    if (peer_) return;  // duplicate_hello
    // Who is on the connection is the server's to say (the account), never the client's; the
    // last character of the client id picks the account's role, so that the fuzzer reaches
    // every access rule.
    peer_ = s::Peer{.connection = 1,
                    .client = m.client,
                    .user = kUser,
                    .name = "Fuzz",
                    .institution = "Fuzz U"};
    switch (m.client.back()) {
      case 'n':
        f_.role = std::nullopt;
        break;
      case 'v':
        f_.role = s::Role::viewer;
        break;
      case 'r':
        f_.role = s::Role::reviewer;
        break;
      case 'e':
        f_.role = s::Role::editor;
        break;
      default:
        f_.role = s::Role::leader;
        break;
    }
  }
  void on(p::OpenMessage& m) {
    if (!peer_ || m.doc != kConversationDoc) return;  // hello_required, unknown_document
    authority_->open(*peer_, sub_, m.rev);
    open_ = true;
  }
  void on(p::SubmitMessage& m) {
    auto back = p::parse_doc_op(p::to_json(m.op));
    FUZZ_CHECK(back.ok() && *back == m.op, "a submitted op does not round-trip");
    if (!peer_ || !open_ || m.doc != kConversationDoc || m.client != peer_->client) return;
    authority_->submit(*peer_, sub_, std::move(m));
  }
  void on(p::PresenceMessage& m) {
    if (!peer_ || !open_ || m.doc != kConversationDoc) return;
    authority_->presence(*peer_, sub_, m);
  }
  void on(p::LeaveMessage& m) {
    if (!peer_ || !open_ || m.doc != kConversationDoc) return;
    authority_->leave(peer_->connection);
    open_ = false;
  }

  Fixture& f_;
  std::shared_ptr<s::DocumentAuthority> authority_;
  std::shared_ptr<CheckingSubscriber> sub_ = std::make_shared<CheckingSubscriber>();
  std::optional<s::Peer> peer_;
  bool open_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = Fixture::get();
  auto id = f.store->create_document("Fuzz", initial_document());
  FUZZ_CHECK(id.ok(), id.status().to_string());
  f.role = s::Role::leader;
  auto loaded = s::DocumentAuthority::load(*f.store, *id, {}, f.queue.post(), f.metrics, f.roles());
  FUZZ_CHECK(loaded.ok(), loaded.status().to_string());
  auto authority = *loaded;
  {
    Conversation c(f, authority);
    for (std::string_view frame : split_input(data, size)) c.frame(frame);
  }
  authority->leave(1);
  FUZZ_CHECK(f.queue.run_until([&] { return authority->idle(); }), "the authority stayed busy");
  auto again = s::DocumentAuthority::load(*f.store, *id, {}, f.queue.post(), f.metrics, f.roles());
  FUZZ_CHECK(again.ok(), again.status().to_string());
  FUZZ_CHECK((*again)->head() == authority->head() && (*again)->document() == authority->document(),
             "the stored document differs from the one in memory at revision " +
                 std::to_string(authority->head()));
  return 0;
}
