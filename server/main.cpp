// jointly-server: wires the parts together (config, storage, documents, listener, signals).
// The server itself is in listener / http_session / websocket_session / document_host and the
// socket-free document_authority; see protocol/PROTOCOL.md for what it speaks.
//
// Shutdown on SIGINT or SIGTERM: stop accepting, close every WebSocket with 1001, wait up to
// 3 s for the sessions to end, stop the I/O threads, let storage complete its queued writes,
// exit 0. A second signal stops at once (still completing storage's queued writes).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include "server/config.hpp"
#include "server/document_host.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/server_state.hpp"
#include "server/templates.hpp"
#include "server/websocket_session.hpp"
#include "storage/store.hpp"

namespace net = boost::asio;
using namespace jointly::server;
namespace storage = jointly::storage;

namespace {

log::Level level_of(const std::string& s) {
  if (s == "debug") return log::Level::debug;
  if (s == "warn") return log::Level::warn;
  if (s == "error") return log::Level::error;
  return log::Level::info;
}

// Creates the demo course document when the store has no document at all.
bool ensure_demo(storage::Store& store) {
  auto docs = store.list_documents();
  if (!docs.ok()) {
    log::error("listing documents failed", {{"error", docs.status().to_string()}});
    return false;
  }
  if (!docs->empty()) return true;
  auto doc = make_template("demo");
  if (!doc) return false;
  auto id = store.create_document(std::string(kDemoTitle), *doc);
  if (!id.ok()) {
    log::error("creating the demo document failed", {{"error", id.status().to_string()}});
    return false;
  }
  log::info("demo document created", {{"doc", *id}});
  return true;
}

// Polls until every WebSocket session has ended or the deadline passes, then stops ioc.
void stop_when_drained(std::shared_ptr<net::steady_timer> timer, ServerState& state,
                       net::io_context& ioc, std::chrono::steady_clock::time_point deadline) {
  bool empty;
  {
    std::lock_guard lock(state.mu);
    empty = state.sessions.empty();
  }
  if (empty || std::chrono::steady_clock::now() >= deadline) {
    if (!empty) log::warn("sessions still open at the shutdown deadline; stopping anyway", {});
    ioc.stop();
    return;
  }
  timer->expires_after(std::chrono::milliseconds(20));
  timer->async_wait([timer, &state, &ioc, deadline](const boost::system::error_code& ec) {
    if (ec) return;
    stop_when_drained(timer, state, ioc, deadline);
  });
}

}  // namespace

int main(int argc, char** argv) {
  ConfigParse parsed = parse_config(argc, argv, [](const char* n) { return std::getenv(n); });
  if (parsed.help) {
    std::cout << parsed.usage << "\n";
    return 0;
  }
  if (!parsed.ok) {
    std::cerr << "jointly-server: " << parsed.error << "\n"
              << "see jointly-server --help\n";
    return 2;
  }
  const Config config = parsed.config;
  log::init(level_of(config.log_level));

  storage::Options options;
  options.durability = config.durability;
  options.snapshot_interval = config.snapshot_interval;
  auto opened = storage::Store::open(config.data_dir, options);
  if (!opened.ok()) {
    log::error("cannot open the data directory",
               {{"data", config.data_dir}, {"error", opened.status().to_string()}});
    return 1;
  }
  std::unique_ptr<storage::Store> store = std::move(*opened);
  if (config.demo && !ensure_demo(*store)) return 1;

  Metrics metrics;
  int exit_code = 0;
  bool healthy = true;
  {
    net::io_context ioc(static_cast<int>(config.threads));
    AuthorityOptions aopts;
    aopts.max_rev_lag = config.max_rev_lag;
    aopts.history_tail = config.history_tail;
    aopts.max_document_bytes = config.max_document_bytes;
    DocumentHost host(ioc, *store, aopts, metrics,
                      std::chrono::milliseconds(static_cast<long>(config.unload_after_s * 1000)));
    auto state = std::make_shared<ServerState>(config, *store, host, metrics);

    boost::system::error_code ec;
    const auto address = net::ip::make_address(config.listen_host, ec);
    if (ec) {
      log::error("--listen: not an IP address", {{"listen", config.listen_host}});
      return 2;
    }
    auto l = std::make_shared<listener>(ioc, net::ip::tcp::endpoint(address, config.listen_port),
                                        state, ec);
    if (ec) {
      log::error("cannot listen",
                 {{"listen", config.listen_host + ":" + std::to_string(config.listen_port)},
                  {"error", ec.message()}});
      return 1;
    }
    l->run();
    const auto ep = l->local_endpoint();
    log::info("listening",
              {{"address", ep.address().to_string()},
               {"port", ep.port()},
               {"data", config.data_dir},
               {"durability", std::string(storage::durability_name(config.durability))},
               {"threads", config.threads}});

    net::signal_set signals(ioc, SIGINT, SIGTERM);
    auto drain_timer = std::make_shared<net::steady_timer>(ioc);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
          if (ec) return;
          if (state->stopping.exchange(true)) {
            log::warn("second signal; stopping now", {});
            ioc.stop();
            return;
          }
          log::info("shutting down", {{"signal", sig}});
          l->stop();
          shutdown_websocket_sessions(*state);
          stop_when_drained(drain_timer, *state, ioc,
                            std::chrono::steady_clock::now() + std::chrono::seconds(3));
          signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);

    std::vector<std::thread> threads;
    for (unsigned i = 1; i < config.threads; ++i) {
      threads.emplace_back([&ioc] {
        try {
          ioc.run();
        } catch (const std::exception& e) {
          log::error("an I/O thread failed", {{"error", e.what()}});
        }
      });
    }
    try {
      ioc.run();
    } catch (const std::exception& e) {
      log::error("the main I/O thread failed", {{"error", e.what()}});
      exit_code = 1;
      ioc.stop();
    }
    for (auto& t : threads) t.join();
    host.clear();
    // Storage completes every queued write before it closes. Its completions post onto the
    // documents' strands, so it must close while the io_context (stopped) still exists.
    healthy = store->healthy();
    store.reset();
  }
  log::info("stopped", {{"storage_healthy", healthy}});
  return exit_code;
}
