#include "server/load/workloads.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/document.hpp"
#include "server/load/client.hpp"
#include "server/load/proc_stats.hpp"

namespace jointly::load {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

// A workload that cannot go on: reported as {"ok":false,"error":{"code","message"}}. Thrown
// only inside this file and caught by run_workload().
struct WorkloadError : std::runtime_error {
  WorkloadError(std::string c, const std::string& m) : std::runtime_error(m), code(std::move(c)) {}
  std::string code;
};

// The harness's PRNG (mulberry32, lib/util.mjs), so that choices match its load.mjs per seed.
class Mulberry32 {
 public:
  explicit Mulberry32(std::uint32_t seed) : a_(seed) {}
  double operator()() {
    a_ += 0x6d2b79f5u;
    std::uint32_t t = a_;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return static_cast<double>(t ^ (t >> 14)) / 4294967296.0;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(std::floor((*this)() * n)); }

 private:
  std::uint32_t a_;
};

// Unique code points for the latency workloads: U+3400.. (BMP, 3 bytes of UTF-8 each).
constexpr std::uint32_t kUniqueBase = 0x3400;
constexpr std::uint32_t kUniqueCount = 0x9fff - kUniqueBase + 1;

// The UTF-8 of a code point of U+0800..U+FFFF (the unique ones above are), three bytes.
std::string utf8_of_bmp(std::uint32_t cp) {
  const char bytes[3] = {static_cast<char>(0xe0 | (cp >> 12)),
                         static_cast<char>(0x80 | ((cp >> 6) & 0x3f)),
                         static_cast<char>(0x80 | (cp & 0x3f))};
  return std::string(bytes, 3);
}

// Calls f(code point) for each code point of valid UTF-8 text.
template <class F>
void for_each_code_point(std::string_view s, F&& f) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::uint32_t cp;
    std::size_t n;
    if (c < 0x80) {
      cp = c, n = 1;
    } else if (c < 0xe0) {
      cp = c & 0x1f, n = 2;
    } else if (c < 0xf0) {
      cp = c & 0x0f, n = 3;
    } else {
      cp = c & 0x07, n = 4;
    }
    for (std::size_t k = 1; k < n && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    f(cp);
    i += n;
  }
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// As the harness's percentile(): the value at index ceil(p/100 * n) - 1 of the sorted samples.
json summarize(std::vector<double> v) {
  if (v.empty()) return {{"n", 0}};
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) {
    auto i = static_cast<long>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
    return v[static_cast<std::size_t>(std::clamp<long>(i, 0, static_cast<long>(v.size()) - 1))];
  };
  double sum = 0;
  for (double x : v) sum += x;
  return {{"n", v.size()},
          {"min", v.front()},
          {"p50", pct(50)},
          {"p90", pct(90)},
          {"p99", pct(99)},
          {"max", v.back()},
          {"mean", sum / static_cast<double>(v.size())}};
}

// Runs f on c's I/O thread and returns its result.
template <class F>
auto on_thread(LoadClient& c, F f) -> decltype(f()) {
  std::promise<decltype(f())> p;
  auto fut = p.get_future();
  c.post([&] { p.set_value(f()); });
  return fut.get();
}

// ---- The server, over HTTP and /proc ---------------------------------------------------------

class Server {
 public:
  explicit Server(const LoadOptions& o) : endpoint_(o.endpoint) {
    pid_ = o.server_pid ? std::optional<int>(o.server_pid) : pid_listening_on(o.endpoint.port);
    if (!o.login.empty()) login(o.login);
  }

  const std::string& cookie() const { return cookie_; }

  std::uint64_t create_document(const std::string& title) {
    auto r =
        request("POST", "/api/documents", json{{"title", title}, {"template", "blank"}}.dump());
    if (r.status != 201) fail_http("POST /api/documents", r);
    return json::parse(r.body).at("id").get<std::uint64_t>();
  }

  // The edited field of the document as the server has it (its last durable revision).
  std::string text(std::uint64_t doc) {
    auto r = request("GET", "/api/documents/" + std::to_string(doc), "");
    if (r.status != 200) fail_http("GET /api/documents/" + std::to_string(doc), r);
    auto d = protocol::parse_document(json::parse(r.body).at("snapshot"));
    if (!d.ok()) throw WorkloadError("bad_snapshot", d.error().message);
    const auto* s = d->find(kSection);
    return s ? s->body.to_string() : std::string();
  }

  std::optional<double> cpu() const { return pid_ ? proc_cpu_seconds(*pid_) : std::nullopt; }

  // {"pid","rss_mib","hwm_mib"} as far as /proc tells.
  json memory() const {
    json j = json::object();
    if (!pid_) return j;
    j["pid"] = *pid_;
    if (auto m = proc_memory(*pid_)) {
      j["rss_mib"] = m->rss_mib;
      j["hwm_mib"] = m->hwm_mib;
    }
    return j;
  }

 private:
  void login(const std::string& credentials) {
    const auto colon = credentials.find(':');
    if (colon == std::string::npos) {
      throw WorkloadError("bad_login", "--login must be email:password");
    }
    auto r = request(
        "POST", "/api/login",
        json{{"email", credentials.substr(0, colon)}, {"password", credentials.substr(colon + 1)}}
            .dump());
    if (r.status != 200) fail_http("POST /api/login", r);
    const auto end = r.set_cookie.find(';');
    cookie_ = r.set_cookie.substr(0, end);
    if (cookie_.rfind("jointly_session=", 0) != 0) {
      throw WorkloadError("bad_login", "POST /api/login set no jointly_session cookie");
    }
  }

  HttpResponse request(std::string_view method, const std::string& target,
                       const std::string& body) {
    auto r = http_request(endpoint_, method, target, body, cookie_);
    if (!r.ok()) throw WorkloadError(r.error().code, r.error().message);
    return *r;
  }

  [[noreturn]] static void fail_http(const std::string& what, const HttpResponse& r) {
    throw WorkloadError("http_status", what + " answered " + std::to_string(r.status) + " " +
                                           r.body.substr(0, 300));
  }

  Endpoint endpoint_;
  std::optional<int> pid_;
  std::string cookie_;
};

// ---- Shared machinery ------------------------------------------------------------------------

struct Run {
  explicit Run(const LoadOptions& o)
      : opt(o),
        server(o),
        pool(o.threads),
        deadline(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.deadline_s))) {}

  const LoadOptions& opt;
  Server server;
  IoPool pool;
  Clock::time_point deadline;
  unsigned next_shard = 0;
  unsigned next_client = 0;

  std::unique_ptr<LoadClient> connect(std::uint64_t doc, LoadClient::Hooks hooks = {}) {
    auto c = std::make_unique<LoadClient>(
        "load-" + std::to_string(getpid()) + "-" + std::to_string(next_client++), std::move(hooks));
    if (auto st = c->open(pool, next_shard++ % pool.size(), opt.endpoint, server.cookie(), doc,
                          milliseconds(30000));
        !st.ok()) {
      throw WorkloadError(st.error().code, st.error().message);
    }
    return c;
  }

  void check_deadline() const {
    if (Clock::now() > deadline) {
      throw WorkloadError("deadline",
                          "the run exceeded --deadline " + std::to_string(opt.deadline_s) + " s");
    }
  }
};

void check_failures(const std::vector<LoadClient*>& clients) {
  for (auto* c : clients) {
    if (c->failed()) throw WorkloadError("client_failed", c->failure());
  }
}

// Polls pred every 200 us until it holds (true) or timeout passes (false); a client that
// failed ends the wait with its error.
template <class Pred>
bool wait_for(const std::vector<LoadClient*>& clients, milliseconds timeout, Pred pred) {
  const auto end = Clock::now() + timeout;
  for (;;) {
    check_failures(clients);
    if (pred()) return true;
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Every client's text equals the first one's and the server's. Returns {converged, text}.
std::pair<bool, std::string> check_texts(Run& run, std::uint64_t doc,
                                         const std::vector<LoadClient*>& clients) {
  std::vector<std::string> texts;
  for (auto* c : clients) texts.push_back(on_thread(*c, [c] { return c->text(); }));
  bool equal = true;
  for (const auto& t : texts) equal = equal && t == texts.front();
  equal = equal && run.server.text(doc) == texts.front();
  return {equal, texts.front()};
}

// W1's editor: E edits back to back, the next one when the previous one is acknowledged.
struct Burst {
  Burst(unsigned edits, std::uint32_t seed) : edits(edits), rng(seed) {}
  const unsigned edits;
  Mulberry32 rng;
  unsigned done_edits = 0;  // on the client's thread
  LoadClient* client = nullptr;
  std::atomic<bool> finished{false};
  std::atomic<std::uint64_t> mark{0};  // the revision of the last edit's ack

  // One edit, as load.mjs's burstEditor: 20% delete unless empty or the last edit.
  void step() {
    if (done_edits == edits) return;
    const std::size_t len = client->length();
    const unsigned k = done_edits++;
    if (k < edits - 1 && len > 0 && rng() < 0.2) {
      client->erase(rng.below(len));
    } else {
      const std::size_t pos = rng.below(len + 1);
      client->insert(pos, std::string(1, static_cast<char>('a' + rng.below(26))));
    }
  }
  void on_ack(std::uint64_t rev) {
    if (done_edits == edits) {
      mark.store(rev, std::memory_order_release);
      finished.store(true, std::memory_order_release);
    } else {
      step();
    }
  }
};

struct BurstResult {
  double seconds = 0;
  double send_seconds = 0;
  std::vector<double> ack_ms;
};

// Runs bursts on clients already connected (hooks wired to the bursts) until converged.
BurstResult run_bursts(Run& run, std::vector<std::unique_ptr<Burst>>& bursts,
                       const std::vector<LoadClient*>& clients) {
  BurstResult out;
  const auto t0 = Clock::now();
  for (auto& b : bursts) b->client->post([b = b.get()] { b->step(); });
  const auto budget = std::chrono::duration_cast<milliseconds>(run.deadline - Clock::now());
  if (!wait_for(clients, budget, [&] {
        return std::all_of(bursts.begin(), bursts.end(),
                           [](auto& b) { return b->finished.load(); });
      })) {
    throw WorkloadError("deadline", "the edits were not all acknowledged before the deadline");
  }
  const auto t_sent = Clock::now();
  std::uint64_t top = 0;
  for (auto& b : bursts) top = std::max(top, b->mark.load());
  if (!wait_for(clients, milliseconds(120000), [&] {
        return std::all_of(clients.begin(), clients.end(),
                           [&](LoadClient* c) { return c->rev() >= top && c->idle(); });
      })) {
    throw WorkloadError("not_converged",
                        "clients did not reach revision " + std::to_string(top) + " within 120 s");
  }
  const auto t1 = Clock::now();
  out.seconds = std::chrono::duration<double>(t1 - t0).count();
  out.send_seconds = std::chrono::duration<double>(t_sent - t0).count();
  for (auto* c : clients) {
    on_thread(*c, [&] {
      for (auto us : c->ack_latencies_us()) out.ack_ms.push_back(us / 1000.0);
      return 0;
    });
  }
  return out;
}

// Connects n clients that run bursts of `edits` each, seeds seed*1000+i.
std::vector<std::unique_ptr<LoadClient>> connect_bursts(Run& run, std::uint64_t doc, unsigned n,
                                                        unsigned edits,
                                                        std::vector<std::unique_ptr<Burst>>& b) {
  std::vector<std::unique_ptr<LoadClient>> clients;
  for (unsigned i = 0; i < n; ++i) {
    b.push_back(std::make_unique<Burst>(edits, run.opt.seed * 1000 + i));
    LoadClient::Hooks hooks;
    hooks.on_ack = [burst = b.back().get()](std::uint64_t, std::uint64_t rev) {
      burst->on_ack(rev);
    };
    clients.push_back(run.connect(doc, std::move(hooks)));
    b.back()->client = clients.back().get();
  }
  return clients;
}

std::vector<LoadClient*> raw(const std::vector<std::unique_ptr<LoadClient>>& v) {
  std::vector<LoadClient*> out;
  for (auto& c : v) out.push_back(c.get());
  return out;
}

json server_window(const Run& run, std::optional<double> cpu0, std::optional<double> cpu1,
                   double edits) {
  json s = run.server.memory();
  if (cpu0 && cpu1) {
    s["cpu_s"] = *cpu1 - *cpu0;
    if (edits > 0) s["cpu_us_per_edit"] = (*cpu1 - *cpu0) * 1e6 / edits;
  }
  return s;
}

// ---- W1 ----------------------------------------------------------------------------------------

json w1(Run& run) {
  const unsigned C = run.opt.clients;
  const unsigned E = run.opt.edits ? run.opt.edits : 500;
  const auto doc = run.server.create_document("w1-" + std::to_string(getpid()));
  std::vector<std::unique_ptr<Burst>> bursts;
  auto owned = connect_bursts(run, doc, C, E, bursts);
  auto clients = raw(owned);
  std::this_thread::sleep_for(milliseconds(300));
  const auto cpu0 = run.server.cpu();
  auto r = run_bursts(run, bursts, clients);
  const auto cpu1 = run.server.cpu();
  std::this_thread::sleep_for(milliseconds(200));
  auto [converged, text] = check_texts(run, doc, clients);
  for (auto& c : owned) c->close();
  const double total = static_cast<double>(C) * E;
  return {{"ok", converged},
          {"params", {{"clients", C}, {"editsPerClient", E}, {"flow", "ack"}}},
          {"figure", {{"name", "edits/s"}, {"value", total / r.seconds}}},
          {"edits_per_s", total / r.seconds},
          {"seconds", r.seconds},
          {"send_seconds", r.send_seconds},
          {"total_edits", total},
          {"ack_latency_ms", summarize(std::move(r.ack_ms))},
          {"converged", converged},
          {"text_length", text.size()},
          {"server", server_window(run, cpu0, cpu1, total)}};
}

// ---- Latency workloads (W2, W3) ----------------------------------------------------------------

// One document's latency bookkeeping: unique code points 0..count-1 (offset from U+3400), each
// typed once by `owner[code]`, stamped just before it is handed to its writer, and seen by
// the observer when an op inserting it arrives.
struct Tracker {
  explicit Tracker(std::size_t count) : sent_ns(count), owner(count), warm(count), seen(count) {}
  std::vector<std::atomic<std::int64_t>> sent_ns;  // steady clock, set by the scheduler
  std::vector<std::uint8_t> owner;                 // fixed before the run
  std::vector<std::uint8_t> warm;                  // fixed before the run
  // On the observer's thread:
  std::vector<std::uint8_t> seen;
  std::vector<double> lat_ms, warm_ms;
  std::atomic<std::size_t> seen_count{0};
  int exclude_owner = -1;  // the observer's own codes: seen, never timed

  void mark_seen(std::uint32_t code, Clock::time_point t) {
    if (code >= seen.size() || seen[code]) return;
    seen[code] = 1;
    seen_count.fetch_add(1, std::memory_order_release);
    if (owner[code] == exclude_owner) return;
    const double ms = static_cast<double>(t.time_since_epoch().count() -
                                          sent_ns[code].load(std::memory_order_relaxed)) /
                      1e6;
    (warm[code] ? warm_ms : lat_ms).push_back(ms);
  }
  void on_remote(const protocol::DocOp& op, Clock::time_point t) {
    for (const auto& comp : op.components) {
      const auto* e = std::get_if<protocol::SectionEdit>(&comp);
      if (!e) continue;
      for (const auto& tc : e->op.components()) {
        if (tc.kind != protocol::TextComponent::Kind::insert) continue;
        for_each_code_point(tc.text, [&](std::uint32_t cp) {
          if (cp >= kUniqueBase) mark_seen(cp - kUniqueBase, t);
        });
      }
    }
  }
};

// A scheduled insert: at `at`, client `typist` types code `code` of tracker `tracker`.
struct Event {
  Clock::time_point at;
  std::uint32_t typist;
  std::uint32_t code;
};

struct Typist {
  Typist(LoadClient* c, Tracker* t, std::uint32_t seed) : client(c), tracker(t), rng(seed) {}
  LoadClient* client;
  Tracker* tracker;
  Mulberry32 rng;  // on the client's thread
};

// Plays events in time order from this thread; on_measured_start runs once, when the first
// event not in the warm-up is due.
template <class OnStart>
void play(Run& run, std::vector<Event>& events, std::vector<Typist>& typists,
          Clock::time_point measured_from, OnStart on_measured_start) {
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.at < b.at || (a.at == b.at && a.typist < b.typist);
  });
  bool started = false;
  for (const auto& ev : events) {
    if (!started && ev.at >= measured_from) {
      std::this_thread::sleep_until(measured_from);
      on_measured_start();
      started = true;
    }
    std::this_thread::sleep_until(ev.at);
    auto& ty = typists[ev.typist];
    ty.tracker->sent_ns[ev.code].store(Clock::now().time_since_epoch().count(),
                                       std::memory_order_relaxed);
    ty.client->post([&ty, code = ev.code] {
      const std::size_t pos = ty.rng.below(ty.client->length() + 1);
      ty.client->insert(pos, utf8_of_bmp(kUniqueBase + code));
    });
  }
  if (!started) on_measured_start();
  run.check_deadline();
}

json latency_json(const std::vector<Tracker*>& trackers, std::vector<LoadClient*>& observers,
                  json& out) {
  std::vector<double> all, warm;
  for (std::size_t i = 0; i < trackers.size(); ++i) {
    auto* t = trackers[i];
    on_thread(*observers[i], [&] {
      all.insert(all.end(), t->lat_ms.begin(), t->lat_ms.end());
      warm.insert(warm.end(), t->warm_ms.begin(), t->warm_ms.end());
      return 0;
    });
  }
  out["warmup_latency_ms"] = summarize(warm);
  return summarize(std::move(all));
}

json w2(Run& run) {
  const unsigned W = run.opt.writers;
  const double rate = run.opt.rate > 0 ? run.opt.rate : 10;
  const unsigned EPW = run.opt.edits ? run.opt.edits : 260;
  const double warm_s = run.opt.warmup >= 0 ? run.opt.warmup : 2;
  const auto WARM = static_cast<unsigned>(std::lround(warm_s * rate));
  const unsigned PER = WARM + EPW;
  const std::size_t N = static_cast<std::size_t>(W) * PER;
  if (N > kUniqueCount || W > 255) throw WorkloadError("bad_params", "too many edits for w2");
  const auto doc = run.server.create_document("w2-" + std::to_string(getpid()));
  Tracker tracker(N);
  for (unsigned w = 0; w < W; ++w) {
    for (unsigned k = 0; k < PER; ++k) {
      tracker.owner[w * PER + k] = static_cast<std::uint8_t>(w + 1);
      tracker.warm[w * PER + k] = k < WARM;
    }
  }
  LoadClient::Hooks obs_hooks;
  obs_hooks.on_remote = [&](const protocol::DocOp& op, Clock::time_point t) {
    tracker.on_remote(op, t);
  };
  std::vector<Typist> typists;  // before the clients: their posted edits refer to it
  std::vector<std::unique_ptr<LoadClient>> owned;
  owned.push_back(run.connect(doc, std::move(obs_hooks)));
  for (unsigned w = 0; w < W; ++w) owned.push_back(run.connect(doc));
  auto clients = raw(owned);
  for (unsigned w = 0; w < W; ++w)
    typists.emplace_back(clients[w + 1], &tracker, run.opt.seed * 1000 + w);
  std::this_thread::sleep_for(milliseconds(300));

  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  const auto t0 = Clock::now() + milliseconds(50);
  std::vector<Event> events;
  for (unsigned w = 0; w < W; ++w) {
    for (unsigned k = 0; k < PER; ++k) {
      events.push_back({t0 + period * w / W + period * k, w, w * PER + k});
    }
  }
  std::optional<double> cpu0, cpu1;
  play(run, events, typists, t0 + period * WARM, [&] { cpu0 = run.server.cpu(); });
  wait_for(clients, milliseconds(10000), [&] { return tracker.seen_count.load() >= N; });
  cpu1 = run.server.cpu();
  std::this_thread::sleep_for(milliseconds(200));
  wait_for(clients, milliseconds(5000), [&] {
    return std::all_of(clients.begin(), clients.end(), [](LoadClient* c) { return c->idle(); });
  });
  auto [converged, text] = check_texts(run, doc, clients);
  json out;
  std::vector<Tracker*> trackers{&tracker};
  std::vector<LoadClient*> observers{clients[0]};
  const json lat = latency_json(trackers, observers, out);
  const auto lost = N - tracker.seen_count.load();
  for (auto& c : owned) c->close();
  out.update(json{
      {"ok", converged && lost == 0},
      {"params",
       {{"writers", W}, {"ratePerWriter", rate}, {"editsPerWriter", EPW}, {"warmupS", warm_s}}},
      {"figure", {{"name", "p99 ms"}, {"value", lat.value("p99", 0.0)}}},
      {"latency_ms", lat},
      {"timed_edits", W * EPW},
      {"lost", lost},
      {"converged", converged},
      {"text_length", text.size()},
      {"server", server_window(run, cpu0, cpu1, static_cast<double>(W) * EPW)}});
  return out;
}

json w3(Run& run) {
  const unsigned D = run.opt.docs, K = run.opt.perdoc;
  const double rate = run.opt.rate > 0 ? run.opt.rate : 2;
  const double warm_s = run.opt.warmup >= 0 ? run.opt.warmup : 5;
  const auto EPC = static_cast<unsigned>(std::lround(rate * run.opt.duration));
  const auto WARM = static_cast<unsigned>(std::lround(rate * warm_s));
  const unsigned PER = WARM + EPC;
  const std::size_t per_doc = static_cast<std::size_t>(K) * PER;
  if (per_doc > kUniqueCount || K > 255 || K < 2) {
    throw WorkloadError("bad_params", "w3 needs 2..255 clients per document and fewer edits");
  }
  std::vector<std::unique_ptr<Tracker>> trackers;
  std::vector<std::uint64_t> docs;
  std::vector<Typist> typists;  // before the clients: their posted edits refer to it
  std::vector<std::vector<std::unique_ptr<LoadClient>>> owned(D);
  const auto tc0 = Clock::now();
  for (unsigned d = 0; d < D; ++d) {
    docs.push_back(
        run.server.create_document("w3-" + std::to_string(getpid()) + "-" + std::to_string(d)));
    trackers.push_back(std::make_unique<Tracker>(per_doc));
    auto& t = *trackers.back();
    t.exclude_owner = 0;
    for (unsigned w = 0; w < K; ++w) {
      for (unsigned k = 0; k < PER; ++k) {
        t.owner[w * PER + k] = static_cast<std::uint8_t>(w);
        t.warm[w * PER + k] = k < WARM;
      }
    }
    LoadClient::Hooks obs;
    obs.on_remote = [&t](const protocol::DocOp& op, Clock::time_point at) { t.on_remote(op, at); };
    owned[d].push_back(run.connect(docs.back(), std::move(obs)));
    for (unsigned w = 1; w < K; ++w) owned[d].push_back(run.connect(docs.back()));
  }
  const double connect_s = std::chrono::duration<double>(Clock::now() - tc0).count();
  const json mem_connected = run.server.memory();
  std::vector<LoadClient*> all_clients;
  for (unsigned d = 0; d < D; ++d) {
    for (unsigned w = 0; w < K; ++w) {
      all_clients.push_back(owned[d][w].get());
      typists.emplace_back(owned[d][w].get(), trackers[d].get(),
                           run.opt.seed * 100000 + d * 16 + w);
    }
  }
  std::this_thread::sleep_for(milliseconds(1000));
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  const auto t0 = Clock::now() + milliseconds(50);
  Mulberry32 r0(run.opt.seed);
  std::vector<Event> events;
  for (unsigned d = 0; d < D; ++d) {
    for (unsigned w = 0; w < K; ++w) {
      const auto phase = std::chrono::duration_cast<Clock::duration>(period * r0());
      for (unsigned k = 0; k < PER; ++k) {
        events.push_back({t0 + phase + period * k, d * K + w, w * PER + k});
      }
    }
  }
  std::optional<double> cpu0, cpu1;
  play(run, events, typists, t0 + period * WARM, [&] { cpu0 = run.server.cpu(); });
  // The observer's own codes are local: count them as seen.
  for (unsigned d = 0; d < D; ++d) {
    auto* t = trackers[d].get();
    on_thread(*owned[d][0], [t, PER] {
      for (std::uint32_t code = 0; code < PER; ++code) t->mark_seen(code, Clock::now());
      return 0;
    });
  }
  wait_for(all_clients, milliseconds(10000), [&] {
    return std::all_of(trackers.begin(), trackers.end(),
                       [&](auto& t) { return t->seen_count.load() >= per_doc; });
  });
  cpu1 = run.server.cpu();
  wait_for(all_clients, milliseconds(5000), [&] {
    return std::all_of(all_clients.begin(), all_clients.end(),
                       [](LoadClient* c) { return c->idle(); });
  });
  std::this_thread::sleep_for(milliseconds(300));
  unsigned converged_docs = 0;
  std::size_t lost = 0;
  for (unsigned d = 0; d < D; ++d) {
    if (check_texts(run, docs[d], raw(owned[d])).first) ++converged_docs;
    lost += per_doc - trackers[d]->seen_count.load();
  }
  json out;
  std::vector<Tracker*> tr;
  std::vector<LoadClient*> observers;
  for (unsigned d = 0; d < D; ++d) {
    tr.push_back(trackers[d].get());
    observers.push_back(owned[d][0].get());
  }
  const json lat = latency_json(tr, observers, out);
  const json mem_end = run.server.memory();
  for (auto& v : owned) {
    for (auto& c : v) c->close();
  }
  const double measured_edits = static_cast<double>(D) * K * EPC;
  out.update(json{{"ok", converged_docs == D && lost == 0},
                  {"params",
                   {{"docs", D},
                    {"clientsPerDoc", K},
                    {"ratePerClient", rate},
                    {"durationS", run.opt.duration},
                    {"warmupS", warm_s}}},
                  {"figure", {{"name", "p99 ms"}, {"value", lat.value("p99", 0.0)}}},
                  {"latency_ms", lat},
                  {"total_edits", static_cast<double>(D) * K * PER},
                  {"connect_seconds", connect_s},
                  {"lost", lost},
                  {"converged_docs", converged_docs},
                  {"converged", converged_docs == D},
                  {"server_at_connected", mem_connected},
                  {"server", server_window(run, cpu0, cpu1, measured_edits)}});
  out["server"].update(mem_end);
  return out;
}

// ---- W4 ----------------------------------------------------------------------------------------

json w4(Run& run) {
  const unsigned total = run.opt.edits ? run.opt.edits : 20000;
  const unsigned B = std::max(1u, run.opt.builders);
  const unsigned E = (total + B - 1) / B;
  const auto doc = run.server.create_document("w4-" + std::to_string(getpid()));
  std::vector<std::unique_ptr<Burst>> bursts;
  auto builders = connect_bursts(run, doc, B, E, bursts);
  auto build = run_bursts(run, bursts, raw(builders));
  auto [built_ok, expected] = check_texts(run, doc, raw(builders));
  for (unsigned i = 1; i < B; ++i) builders[i]->close();
  if (run.opt.unload) builders[0]->close();
  const milliseconds pause(run.opt.unload ? run.opt.unload_wait_ms : 500);
  std::this_thread::sleep_for(pause);
  const auto cpu0 = run.server.cpu();
  std::vector<double> joins;
  bool all_ok = true;
  for (unsigned j = 0; j < run.opt.joins; ++j) {
    const auto t0 = Clock::now();
    auto c = run.connect(doc);
    const bool same = on_thread(*c, [&] { return c->text() == expected; });
    joins.push_back(ms_between(t0, Clock::now()));
    all_ok = all_ok && same;
    c->close();
    std::this_thread::sleep_for(run.opt.unload ? pause : milliseconds(300));
  }
  const auto cpu1 = run.server.cpu();
  if (!run.opt.unload) builders[0]->close();
  std::vector<double> sorted = joins;
  std::sort(sorted.begin(), sorted.end());
  const auto n = sorted.size();
  const double med = n == 0 ? 0 : n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {{"ok", built_ok && all_ok},
          {"params",
           {{"buildEdits", B * E},
            {"builders", B},
            {"joins", run.opt.joins},
            {"unload", run.opt.unload}}},
          {"figure", {{"name", "join ms (median of joins)"}, {"value", med}}},
          {"join_ms", med},
          {"joins_ms", joins},
          {"first_join_ms", joins.empty() ? 0.0 : joins.front()},
          {"build_seconds", build.seconds},
          {"build_edits_per_s", B * E / build.seconds},
          {"text_length", expected.size()},
          {"converged", built_ok && all_ok},
          {"server", server_window(run, cpu0, cpu1, 0)}};
}

}  // namespace

json run_workload(const LoadOptions& options) {
  json out;
  try {
    Run run(options);
    if (options.workload == "w1") {
      out = w1(run);
    } else if (options.workload == "w2") {
      out = w2(run);
    } else if (options.workload == "w3") {
      out = w3(run);
    } else if (options.workload == "w4") {
      out = w4(run);
    } else {
      throw WorkloadError("bad_params", "unknown workload " + options.workload);
    }
  } catch (const WorkloadError& e) {
    out = {{"ok", false}, {"error", {{"code", e.code}, {"message", e.what()}}}};
  } catch (const std::exception& e) {
    out = {{"ok", false}, {"error", {{"code", "internal"}, {"message", e.what()}}}};
  }
  out["workload"] = options.workload;
  return out;
}

}  // namespace jointly::load
