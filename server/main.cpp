// jointly-server: wires the parts together (config, storage, documents, listener, signals).
// The server itself is in listener / http_session / websocket_session / document_host and the
// socket-free document_authority; see protocol/PROTOCOL.md for what it speaks.
//
// Shutdown on SIGINT or SIGTERM: stop accepting, close every WebSocket with 1001, wait up to
// 3 s for the sessions to end, stop the I/O threads, let storage complete its queued writes,
// exit 0. A second signal stops at once (still completing storage's queued writes).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "server/auth.hpp"
#include "server/config.hpp"
#include "server/document_host.hpp"
#include "server/http_api.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/replication.hpp"
#include "server/server_state.hpp"
#include "server/templates.hpp"
#include "server/websocket_session.hpp"
#include "storage/accounts.hpp"
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

// The cluster secret: the file's first line (trailing spaces and line end removed), not empty.
std::optional<std::string> read_cluster_secret(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  if (line.empty()) return std::nullopt;
  return line;
}

std::string demo_logins_path(const Config& c) {
  return (std::filesystem::path(c.data_dir) / "demo-logins.txt").string();
}

// Once per data directory: three demo institutions and users (a leader, an editor and a
// reviewer, each at another institution), members of every demo document, with one random
// password written to <data>/demo-logins.txt (mode 0600).
bool ensure_demo_accounts(storage::Store& store, storage::Accounts& accounts, const Config& c) {
  struct Demo {
    const char* email;
    const char* name;
    const char* institution;
    const char* country;
    Role role;
  };
  const Demo demos[] = {
      {"leader@demo.jointly.test", "Ana Leader", "Universität Graz (demo)", "AT", Role::leader},
      {"editor@demo.jointly.test", "Jan Editor", "Masaryk University (demo)", "CZ", Role::editor},
      {"reviewer@demo.jointly.test", "Rita Reviewer", "Universidade do Porto (demo)", "PT",
       Role::reviewer}};
  auto existing = accounts.user_by_email(demos[0].email);
  if (existing.ok()) return true;
  if (!existing.status().is_not_found()) {
    log::error("reading the demo accounts failed", {{"error", existing.status().to_string()}});
    return false;
  }
  const std::string password = auth::new_token().substr(0, 16);
  auto hash = auth::hash_password(password);
  if (!hash) return false;
  auto docs = store.list_documents();
  if (!docs.ok()) return false;
  std::ostringstream logins;
  logins << "Jointly demo logins (one password for all three):\n";
  for (const auto& d : demos) {
    auto inst = accounts.institution_by_name(d.institution);
    if (!inst.ok() && inst.status().is_not_found()) {
      inst = accounts.create_institution(d.institution, d.country);
    }
    if (!inst.ok()) {
      log::error("creating a demo institution failed", {{"error", inst.status().to_string()}});
      return false;
    }
    auto user = accounts.create_user(d.email, d.name, inst->id, false, *hash);
    if (!user.ok()) {
      log::error("creating a demo user failed", {{"error", user.status().to_string()}});
      return false;
    }
    for (const auto& m : *docs) {
      if (m.title != kDemoTitle) continue;
      if (auto st = accounts.set_role(m.id, user->id, std::string(role_name(d.role))); !st.ok()) {
        log::error("adding a demo member failed", {{"error", st.to_string()}});
        return false;
      }
    }
    logins << "  " << role_name(d.role) << ": " << d.email << "\n";
  }
  logins << "  password: " << password << "\n";
  const std::string path = demo_logins_path(c);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    log::error("writing the demo logins failed", {{"path", path}});
    return false;
  }
  const std::string text = logins.str();
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::fchmod(fd, 0600);
  ::fsync(fd);
  ::close(fd);
  if (!written) return false;
  log::info("demo accounts created", {{"logins", path}});
  return true;
}

// Every 250 ms: close the WebSockets of ended login sessions, and have the open documents look
// their subscribers' roles up again when a membership changed.
void watch_sessions(std::shared_ptr<net::steady_timer> timer, ServerState& state,
                    std::uint64_t members_gen) {
  timer->expires_after(std::chrono::milliseconds(250));
  timer->async_wait([timer, &state, members_gen](const boost::system::error_code& ec) {
    if (ec || state.stopping) return;
    try {
      check_websocket_sessions(state);
      const std::uint64_t now_gen = state.accounts.members_generation();
      if (now_gen != members_gen) state.host.recheck_members();
      watch_sessions(timer, state, now_gen);
    } catch (const std::exception& e) {
      log::error("the session check failed", {{"error", e.what()}});
      watch_sessions(timer, state, members_gen);
    }
  });
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
  options.min_free_bytes = config.min_free_bytes;
  auto opened = storage::Store::open(config.data_dir, options);
  if (!opened.ok()) {
    log::error("cannot open the data directory",
               {{"data", config.data_dir}, {"error", opened.status().to_string()}});
    return 1;
  }
  std::unique_ptr<storage::Store> store = std::move(*opened);
  storage::Accounts accounts(store->log());
  std::string cluster_secret;
  if (!config.cluster_secret_file.empty()) {
    auto secret = read_cluster_secret(config.cluster_secret_file);
    if (!secret) {
      log::error("--cluster-secret-file: cannot read a secret from it",
                 {{"path", config.cluster_secret_file}});
      return 2;
    }
    cluster_secret = std::move(*secret);
  }
  // An accounts replica only follows the primary's change log (server/replication.hpp).
  const bool replica = !config.accounts_primary.empty();
  accounts.set_replica(replica);
  if (replica && config.demo) {
    log::info("--demo is the primary's: a replica gets the demo accounts from it", {});
  }
  if (config.demo && !replica && !ensure_demo(*store)) return 1;
  if (config.demo && !replica && !ensure_demo_accounts(*store, accounts, config)) return 1;
  if (!replica) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (auto n = accounts.delete_expired_sessions(now); n.ok() && *n > 0) {
      log::info("expired sessions deleted", {{"sessions", *n}});
    }
  }

  Metrics metrics;
  int exit_code = 0;
  bool healthy = true;
  {
    net::io_context ioc(static_cast<int>(config.threads));
    AuthorityOptions aopts;
    aopts.max_rev_lag = config.max_rev_lag;
    aopts.history_tail = config.history_tail;
    aopts.max_document_bytes = config.max_document_bytes;
    // A replica's one synchronous pull (set below, before anything runs): a membership not
    // found yet may have just been made on the primary.
    std::function<bool()> catch_up;
    DocumentHost host(
        ioc, *store, aopts, metrics,
        std::chrono::milliseconds(static_cast<long>(config.unload_after_s * 1000)),
        [&accounts, &catch_up](storage::DocumentId doc,
                               std::uint64_t user) -> storage::Result<std::optional<Role>> {
          auto r = accounts.role(doc, user);
          if (r.ok() && !*r && catch_up && catch_up()) r = accounts.role(doc, user);
          if (!r.ok()) return r.status();
          if (!*r) return std::optional<Role>();
          return parse_role(**r);
        });
    net::thread_pool slow_pool(1);
    auto state = std::make_shared<ServerState>(config, *store, accounts, host, metrics, slow_pool);
    state->cluster_secret = cluster_secret;
    std::unique_ptr<cluster::Replicator> replicator;
    if (replica) {
      replicator =
          std::make_unique<cluster::Replicator>(accounts, config.accounts_primary, cluster_secret,
                                                std::chrono::milliseconds(150), metrics.cluster);
      if (!replicator->catch_up()) {
        log::warn("the accounts primary does not answer yet; this replica keeps trying",
                  {{"primary", config.accounts_primary}});
      }
      replicator->start();
      catch_up = [r = replicator.get()] { return r->catch_up(); };
      state->accounts_catch_up = catch_up;
    }
    std::unique_ptr<cluster::DocumentAcquirer> acquirer;
    metrics.cluster.clustered = config.clustered();
    metrics.cluster.replica = replica;
    if (config.clustered()) {
      acquirer = std::make_unique<cluster::DocumentAcquirer>(
          *store, accounts, config.peers, cluster_secret, catch_up, metrics.cluster);
      host.set_materialiser(
          [a = acquirer.get()](storage::DocumentId id) { return a->acquire(id); });
      // The HTTP routes run on I/O threads, which must never wait for a peer: a copy not here
      // yet is fetched in the background, by the document's first task on its strand (the
      // materialiser runs on the host's cluster thread, in order with the WebSocket opens), and
      // the request is answered 503 document_moved at once; the client tries again.
      state->ensure_document = [&host, a = acquirer.get()](storage::DocumentId id) {
        auto st = a->ready(id);
        if (st.code() == storage::Code::busy) {
          auto e = host.acquire(id);
          host.run(e, [&host, e](DocumentAuthority*, std::string_view) { host.release(e); });
        }
        return st;
      };
      state->hand_off = [&host, &accounts, &metrics,
                         a = acquirer.get()](storage::DocumentId id) -> storage::Status {
        if (a->acquiring(id)) {
          return storage::Status(storage::Code::busy,
                                 "this node is taking the document itself; its copy is not whole");
        }
        auto done = std::make_shared<std::promise<storage::Status>>();
        auto future = done->get_future();
        host.hand_off(
            id, [&accounts, id] { return accounts.set_handed_off(id, true); },
            [done](storage::Status s) { done->set_value(std::move(s)); });
        if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
          return storage::Status(storage::Code::busy, "the hand-off did not finish in 10 s");
        }
        auto st = future.get();
        if (st.ok()) metrics.cluster.handed_off.inc();
        return st;
      };
    }

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
               {"threads", config.threads},
               {"node", config.node_id},
               {"accounts", replica ? "replica of " + config.accounts_primary : "primary"}});

    if (config.demo) {
      // Next to the URL deploy/run printed: the logins, so that a person can log in at once.
      std::ifstream in(demo_logins_path(config));
      std::cout << in.rdbuf() << "  (from " << demo_logins_path(config) << ")" << std::endl;
    }
    auto session_timer = std::make_shared<net::steady_timer>(ioc);
    watch_sessions(session_timer, *state, accounts.members_generation());

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
          session_timer->cancel();
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
    slow_pool.join();
    if (replicator) replicator->stop();
    host.clear();
    // Storage completes every queued write before it closes. Its completions post onto the
    // documents' strands, so it must close while the io_context (stopped) still exists.
    healthy = store->healthy();
    store.reset();
  }
  log::info("stopped", {{"storage_healthy", healthy}});
  return exit_code;
}
