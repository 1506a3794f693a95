// Node-to-node requests and the accounts Replicator: see server/replication.hpp.
#include "server/replication.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "server/http_api.hpp"
#include "server/log.hpp"

namespace jointly::server::cluster {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using protocol::make_error;

constexpr std::chrono::milliseconds kPullTimeout{2000};
constexpr std::chrono::milliseconds kCatchUpTimeout{1000};
constexpr std::size_t kMaxResponseBytes = 256u << 20;  // a snapshot of every account

struct HostPort {
  std::string host;
  std::string port;
};

// http://HOST:PORT, an optional trailing "/"; an IPv6 host in brackets.
std::optional<HostPort> parse_base_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  const auto colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == url.size()) return std::nullopt;
  std::string_view host = url.substr(0, colon);
  const std::string_view port = url.substr(colon + 1);
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
    return std::nullopt;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host.find('/') != std::string_view::npos) return std::nullopt;
  return HostPort{std::string(host), std::string(port)};
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

protocol::Result<InternalResponse> internal_request(std::string_view base_url,
                                                    std::string_view method,
                                                    std::string_view target,
                                                    std::string_view secret, std::string body,
                                                    std::chrono::milliseconds timeout) {
  const auto to = parse_base_url(base_url);
  if (!to) return make_error("bad_url", "not an http://HOST:PORT URL: " + std::string(base_url));
  net::io_context loop(1);
  tcp::resolver resolver(loop);
  beast::tcp_stream stream(loop);
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, to->host + ":" + to->port);
  req.set(http::field::user_agent, "jointly-server (cluster)");
  req.set(kSecretHeader, secret);
  if (!body.empty()) req.set(http::field::content_type, "application/octet-stream");
  req.body() = std::move(body);
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);

  beast::error_code failure;
  const char* stage = "connect";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  resolver.async_resolve(
      to->host, to->port, [&](beast::error_code ec, tcp::resolver::results_type r) {
        if (ec) {
          failure = ec;
          return;
        }
        stream.expires_at(deadline);
        stream.async_connect(r, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) {
            failure = ec;
            return;
          }
          stage = "request";
          http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
            if (ec) {
              failure = ec;
              return;
            }
            http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
              failure = ec;
              stage = "done";
            });
          });
        });
      });
  // The resolver has no timer of its own: the loop stops at the deadline whatever is pending.
  loop.run_until(deadline);
  const std::string what = std::string(method) + " " + std::string(base_url) + std::string(target);
  if (std::string_view(stage) != "done" && !failure) {
    return make_error("timeout",
                      what + ": no answer within " + std::to_string(timeout.count()) + " ms");
  }
  if (failure == beast::error::timeout) {
    return make_error("timeout",
                      what + ": no answer within " + std::to_string(timeout.count()) + " ms");
  }
  if (failure) {
    return make_error(std::string_view(stage) == "connect" ? "connect_failed" : "http_failed",
                      what + ": " + failure.message());
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return InternalResponse{parser.get().result_int(), std::move(parser.get().body())};
}

Replicator::Replicator(storage::Accounts& accounts, std::string primary_url, std::string secret,
                       std::chrono::milliseconds interval, ClusterMetrics& metrics)
    : accounts_(accounts),
      primary_(std::move(primary_url)),
      secret_(std::move(secret)),
      interval_(interval),
      metrics_(metrics) {}

Replicator::~Replicator() { stop(); }

void Replicator::start() {
  {
    std::lock_guard lk(wake_mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void Replicator::stop() {
  {
    std::lock_guard lk(wake_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Replicator::run() {
  std::unique_lock lk(wake_mu_);
  while (!stopping_) {
    lk.unlock();
    {
      std::lock_guard pl(pull_mu_);
      (void)pull_and_count(kPullTimeout);
    }
    lk.lock();
    wake_.wait_for(lk, interval_, [this] { return stopping_; });
  }
}

bool Replicator::catch_up() {
  const auto asked = Clock::now();
  std::unique_lock pl(pull_mu_);
  if (last_pull_start_ >= asked) return last_pull_ok_;
  const auto earliest = last_pull_start_ + kMinPullGap;
  if (Clock::now() < earliest) {
    // Too soon after the last pull: wait for the gap, then take a pull that started meanwhile
    // (another waiter's, or the interval's) or make the one that all waiters share.
    pl.unlock();
    std::this_thread::sleep_until(earliest);
    pl.lock();
    if (last_pull_start_ >= asked) return last_pull_ok_;
  }
  return pull_and_count(kCatchUpTimeout).ok();
}

protocol::Status Replicator::pull_and_count(std::chrono::milliseconds timeout) {
  last_pull_start_ = Clock::now();
  auto s = pull(timeout);
  last_pull_ok_ = s.ok();
  (s.ok() ? metrics_.replica_pulls : metrics_.replica_pull_failures).inc();
  if (!s.ok() && !was_failing_) {
    log::warn("accounts replication: pulling from the primary failed",
              {{"primary", primary_}, {"code", s.error().code}, {"error", s.error().message}});
  } else if (s.ok() && was_failing_) {
    log::info("accounts replication: pulling from the primary again", {{"primary", primary_}});
  }
  was_failing_ = !s.ok();
  return s;
}

protocol::Result<std::string> Replicator::get_from_primary(const std::string& target,
                                                           std::chrono::milliseconds timeout) {
  auto r = internal_request(primary_, "GET", target, secret_, {}, timeout);
  if (!r.ok()) return std::move(r).error();
  if (r->status != 200) {
    return make_error("primary_refused",
                      "the primary answered " + std::to_string(r->status) + ": " + r->body);
  }
  return std::move(r->body);
}

protocol::Status Replicator::pull(std::chrono::milliseconds timeout) {
  // Page after page until the replica holds what the primary had when it answered.
  for (;;) {
    auto after = accounts_.last_seq();
    if (!after.ok()) return make_error("storage_failed", after.status().to_string());
    auto body =
        get_from_primary("/internal/accounts/changes?after=" + std::to_string(*after), timeout);
    if (!body.ok()) return std::move(body).error();
    storage::ChangeFeed feed;
    if (!storage::decode_feed(*body, feed)) {
      return make_error("bad_feed", "the primary's change feed cannot be decoded");
    }
    if (feed.snapshot_needed) return install_snapshot(timeout * 5);
    if (auto s = accounts_.apply_changes(feed.changes); !s.ok()) {
      return make_error("apply_failed", s.to_string());
    }
    auto now = accounts_.last_seq();
    if (!now.ok()) return make_error("storage_failed", now.status().to_string());
    const auto lag = *now >= feed.last_seq ? 0 : feed.last_seq - *now;
    metrics_.replica_lag_changes.set(static_cast<std::int64_t>(lag));
    if (lag == 0) metrics_.replica_caught_up_ms.set(unix_ms());
    if (lag == 0 || feed.changes.empty()) return protocol::Status::Ok();
  }
}

protocol::Status Replicator::install_snapshot(std::chrono::milliseconds timeout) {
  auto body = get_from_primary("/internal/accounts/snapshot", timeout);
  if (!body.ok()) return std::move(body).error();
  storage::AccountsSnapshot snap;
  if (!storage::decode_snapshot(*body, snap)) {
    return make_error("bad_snapshot", "the primary's snapshot cannot be decoded");
  }
  if (auto s = accounts_.install_snapshot(snap); !s.ok()) {
    return make_error("apply_failed", s.to_string());
  }
  log::info("accounts replication: installed the primary's snapshot",
            {{"primary", primary_}, {"seq", snap.seq}, {"entries", snap.entries.size()}});
  return protocol::Status::Ok();
}

DocumentAcquirer::DocumentAcquirer(storage::Store& store, storage::Accounts& accounts,
                                   std::vector<std::string> peers, std::string secret,
                                   std::function<bool()> catch_up, ClusterMetrics& metrics)
    : store_(store),
      accounts_(accounts),
      peers_(std::move(peers)),
      secret_(std::move(secret)),
      catch_up_(std::move(catch_up)),
      metrics_(metrics) {}

storage::Status DocumentAcquirer::ready(storage::DocumentId id) const {
  using storage::Code;
  using storage::Status;
  if (auto meta = store_.document(id); meta.ok()) {
    auto gone = accounts_.handed_off(id);
    if (!gone.ok()) return gone.status();
    if (!*gone) return Status::Ok();
    return Status(Code::busy, "document " + std::to_string(id) + " was handed to another node");
  } else if (!meta.status().is_not_found()) {
    return meta.status();
  }
  bool absent = false;
  {
    std::lock_guard lk(absent_mu_);
    absent = absent_.count(id) > 0;
  }
  // Found nowhere last time, and still not in the registry (a record replicated since makes it
  // worth another try).
  if (absent && accounts_.document_record(id).status().is_not_found()) {
    return Status(Code::not_found, "no node has document " + std::to_string(id));
  }
  return Status(Code::busy, "document " + std::to_string(id) + " is not on this node yet");
}

void DocumentAcquirer::note_outcome(storage::DocumentId id, const storage::Status& st) {
  std::lock_guard lk(absent_mu_);
  if (!st.is_not_found()) {
    absent_.erase(id);
    return;
  }
  if (absent_.size() >= kMaxAbsent) absent_.clear();  // a bound, not a cache policy
  absent_.insert(id);
}

storage::Status DocumentAcquirer::acquire(storage::DocumentId id) {
  auto st = acquire_locked(id);
  note_outcome(id, st);
  if (st.code() == storage::Code::busy) metrics_.acquisitions_failed.inc();
  return st;
}

storage::Status DocumentAcquirer::acquire_locked(storage::DocumentId id) {
  using storage::Code;
  using storage::Status;
  std::lock_guard lk(mu_);
  current_.store(id);
  struct Done {
    std::atomic<storage::DocumentId>& current;
    ~Done() { current.store(0); }
  } done{current_};
  std::optional<std::uint64_t> local_last;
  if (auto meta = store_.document(id); meta.ok()) {
    auto gone = accounts_.handed_off(id);
    if (!gone.ok()) return gone.status();
    if (!*gone) return Status::Ok();  // this node's copy is the document's
    local_last = meta->last_rev;
  } else if (!meta.status().is_not_found()) {
    return meta.status();
  }
  // Every peer is asked: a copy anywhere must not be missed.
  std::optional<std::uint64_t> best_last;
  std::string best;
  std::string target = "/internal/documents/" + std::to_string(id) + "/handoff";
  if (local_last) target += "?have=" + std::to_string(*local_last);
  for (const auto& peer : peers_) {
    auto r = internal_request(peer, "POST", target, secret_, {}, std::chrono::seconds(5));
    if (!r.ok()) {
      return Status(Code::busy, "peer " + peer + " did not answer for document " +
                                    std::to_string(id) + ": " + r.error().message);
    }
    if (r->status == 404) continue;
    if (r->status != 200) {
      return Status(Code::busy, "peer " + peer + " answered " + std::to_string(r->status) +
                                    " for document " + std::to_string(id));
    }
    const auto j = nlohmann::json::parse(r->body, nullptr, false);
    const auto last = j.is_object() ? j.find("last_rev") : j.end();
    if (!j.is_object() || last == j.end() || !last->is_number_unsigned()) {
      return Status(Code::corruption, "peer " + peer + " sent a hand-off that is not one");
    }
    if (!best_last || last->get<std::uint64_t>() > *best_last) {
      best_last = last->get<std::uint64_t>();
      best = std::move(r->body);
    }
  }
  if (best_last && (!local_last || *best_last > *local_last)) {
    if (auto s = import(id, best, local_last); !s.ok()) return s;
    metrics_.imported.inc();
  } else if (local_last && !best_last) {
    // Handed off, and the node it went to holds nothing yet: in transit, not abandoned.
    return Status(Code::busy, "document " + std::to_string(id) +
                                  " is being handed to another node; try again shortly");
  } else if (!local_last) {
    // No node has a copy: a registered document is built from its template, at its first use.
    if (auto s = materialise_document(store_, accounts_, id, catch_up_); !s.ok()) return s;
    metrics_.built.inc();
  }
  return accounts_.set_handed_off(id, false);
}

storage::Status DocumentAcquirer::import(storage::DocumentId id, const std::string& answer,
                                         std::optional<std::uint64_t> local_last) {
  using storage::Code;
  using storage::Status;
  const auto bad = [id](const std::string& what) {
    return Status(Code::corruption, "the hand-off of document " + std::to_string(id) + ": " + what);
  };
  try {
    const auto j = nlohmann::json::parse(answer);
    protocol::Document doc;
    std::uint64_t rev = 0;
    if (local_last) {
      auto loaded = store_.load(id);
      if (!loaded.ok()) return loaded.status();
      doc = std::move(loaded->doc);
      rev = loaded->rev;
    } else {
      auto initial = protocol::parse_document(j.at("initial"));
      if (!initial.ok()) return bad("its initial document: " + initial.error().message);
      doc = *initial;
      auto created = store_.create_document_as(id, j.at("title").get<std::string>(), doc,
                                               j.at("created").get<std::int64_t>());
      if (!created.ok()) return created.status();
    }
    const auto& revs = j.at("revisions");
    // Shared: a queued append may complete after an early return.
    struct Failure {
      std::mutex mu;
      Status status;
    };
    auto failed = std::make_shared<Failure>();
    for (std::size_t i = 0; i < revs.size(); ++i) {
      const auto& r = revs[i];
      const auto n = r.at("rev").get<std::uint64_t>();
      if (n <= rev) continue;
      if (n != rev + 1)
        return bad("revision " + std::to_string(n) + " after " + std::to_string(rev));
      auto op = protocol::parse_doc_op(r.at("op"));
      if (!op.ok()) return bad("revision " + std::to_string(n) + ": " + op.error().message);
      if (auto a = protocol::apply(doc, *op); !a.ok()) {
        return bad("revision " + std::to_string(n) + " does not apply: " + a.error().message);
      }
      storage::RevisionInfo info;
      info.author = r.at("author").get<std::string>();
      info.institution = r.at("institution").get<std::string>();
      info.server_time_ms = r.at("time").get<std::int64_t>();
      info.client_id = r.at("client").get<std::string>();
      info.client_seq = r.at("seq").get<std::uint64_t>();
      info.restored_from = r.value("restored_from", std::uint64_t{0});
      // Queued, written in groups; the last one waits, and completions come in queue order.
      Status s;
      if (i + 1 < revs.size()) {
        s = store_.append_async(id, n, *op, info, doc, [failed](const Status& st) {
          std::lock_guard fl(failed->mu);
          if (!st.ok() && failed->status.ok()) failed->status = st;
        });
        if (s.code() == Code::busy) s = store_.append(id, n, *op, info, doc);
      } else {
        s = store_.append(id, n, *op, info, doc);
      }
      if (!s.ok()) return s;
      rev = n;
    }
    {
      std::lock_guard fl(failed->mu);
      if (!failed->status.ok()) return failed->status;
    }
    log::info("document imported from a peer", {{"doc", id}, {"rev", rev}});
    return Status::Ok();
  } catch (const std::exception& e) {
    return bad(e.what());
  }
}

}  // namespace jointly::server::cluster
