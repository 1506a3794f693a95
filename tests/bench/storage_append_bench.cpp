// Storage benchmarks. Prints figures (medians); not a timed test, not run by ctest.
//
//   storage_append_bench [--seconds S] [--reps N] [--revisions N] [--dir DIR] [--quick]
//                        [--only-appends | --only-document] [--group-wait US]
//
// 1. Durable appends per second (durability sync) with 1, 8 and 64 documents appending at
//    once, against a plain RocksDB baseline measured in the same run: sync Puts of 120-byte
//    values from 1, 8 and 64 threads. Each append writes the revision, its dedupe entry and,
//    every 100 revisions, a snapshot. Two kinds of writer:
//      blocking   one thread per document, one append in flight (waits for each sync)
//      pipelined  one thread per document, up to 64 appends in flight (append_async), as a
//                 server strand that keeps applying while earlier revisions sync
// 2. A document with --revisions one-character edits (default 1,000,000), built with
//    durability none (no WAL: building it in sync mode would take far longer and measures
//    nothing new), then reopened in sync mode: the time to load it, to load it at random
//    revisions, and disk bytes per revision after compaction.
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "storage/store.hpp"

namespace {

using namespace jointly;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}
double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void die(const char* what, const storage::Status& s) {
  std::fprintf(stderr, "%s: %s\n", what, s.to_string().c_str());
  std::exit(1);
}

// ---- the RocksDB baseline ----

double baseline_puts_per_second(const std::string& dir, int threads, double seconds) {
  fs::remove_all(dir);
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(o, dir, &db).ok()) std::exit(1);
  std::atomic<bool> stop{false};
  std::atomic<long> count{0};
  std::vector<std::thread> ts;
  const std::string value(120, 'v');
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      rocksdb::WriteOptions w;
      w.sync = true;
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        char key[32];
        std::snprintf(key, sizeof key, "%04d-%012ld", t, n++);
        if (!db->Put(w, key, value).ok()) std::exit(1);
      }
      count += n;
    });
  }
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  const double elapsed = ms_since(start) / 1000;
  delete db;
  fs::remove_all(dir);
  return static_cast<double>(count.load()) / elapsed;
}

// ---- one document's editor: one-character edits, as typing ----

struct Editor {
  storage::DocumentId id = 0;
  protocol::Document doc;
  std::uint64_t rev = 0;
  std::mt19937_64 rng;
  std::vector<std::string> sections;
  std::size_t target_chars = SIZE_MAX;  // above this, as many deletes as inserts

  protocol::DocOp next() {
    const auto& sid = sections[rng() % sections.size()];
    const std::size_t len = doc.find(sid)->body.size();
    protocol::TextOp t;
    if (len > 0 && len * sections.size() > target_chars && rng() % 2 == 0) {
      t.skip(rng() % len).del(1);
    } else {
      static const char kChars[] = "abcdefghijklmnopqrstuvwxyz ";
      t.skip(len == 0 ? 0 : rng() % (len + 1)).insert(std::string(1, kChars[rng() % 27]), 1);
    }
    protocol::DocOp op;
    op.components.push_back(protocol::SectionEdit{sid, protocol::Field::body, std::move(t)});
    return op;
  }
  storage::RevisionInfo info() {
    storage::RevisionInfo i;
    i.author = "u" + std::to_string(id % 7);
    i.institution = "uni-graz";
    i.server_time_ms = 1732900000000 + static_cast<std::int64_t>(rev);
    i.client_id = "c" + std::to_string(id) + "-x7Kq";
    i.client_seq = rev;
    return i;
  }
};

protocol::Document course_template(int sections) {
  protocol::Document doc;
  std::string pos;
  for (int s = 0; s < sections; ++s) {
    pos = *protocol::position_between(pos, "");
    protocol::DocOp op;
    op.components.push_back(
        protocol::SectionAdd{"sec" + std::to_string(s), pos, "Section " + std::to_string(s), ""});
    if (!protocol::apply(doc, op).ok()) std::exit(1);
  }
  return doc;
}

std::vector<Editor> make_editors(storage::Store& store, int documents, int sections) {
  std::vector<Editor> eds(documents);
  const auto templ = course_template(sections);
  for (int d = 0; d < documents; ++d) {
    auto id = store.create_document("bench " + std::to_string(d), templ);
    if (!id.ok()) die("create", id.status());
    eds[d].id = *id;
    eds[d].doc = templ;
    eds[d].rng.seed(d + 1);
    for (int s = 0; s < sections; ++s) eds[d].sections.push_back("sec" + std::to_string(s));
  }
  return eds;
}

// Appends for `seconds` from one thread per document; returns revisions per second.
double appends_per_second(storage::Store& store, std::vector<Editor>& eds, double seconds,
                          int window) {
  std::atomic<bool> stop{false};
  std::atomic<long> count{0};
  std::vector<std::thread> ts;
  for (auto& ed : eds) {
    ts.emplace_back([&, e = &ed] {
      long n = 0;
      if (window <= 1) {
        while (!stop.load(std::memory_order_relaxed)) {
          auto op = e->next();
          if (!protocol::apply(e->doc, op).ok()) std::exit(1);
          ++e->rev;
          auto s = store.append(e->id, e->rev, op, e->info(), e->doc);
          if (!s.ok()) die("append", s);
          ++n;
        }
      } else {
        std::mutex mu;
        std::condition_variable cv;
        int in_flight = 0;
        long done = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          auto op = e->next();
          if (!protocol::apply(e->doc, op).ok()) std::exit(1);
          ++e->rev;
          {
            std::unique_lock lk(mu);
            cv.wait(lk, [&] { return in_flight < window; });
            ++in_flight;
          }
          storage::Status s;
          do {
            s = store.append_async(e->id, e->rev, op, e->info(), e->doc,
                                   [&](const storage::Status& st) {
                                     if (!st.ok()) die("async append", st);
                                     std::lock_guard lk(mu);
                                     --in_flight;
                                     ++done;
                                     cv.notify_one();
                                   });
            if (s.code() == storage::Code::busy) std::this_thread::yield();
          } while (s.code() == storage::Code::busy);
          if (!s.ok()) die("append_async", s);
        }
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return in_flight == 0; });
        n = done;
      }
      count += n;
    });
  }
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  return static_cast<double>(count.load()) / (ms_since(start) / 1000);
}

// Mean writes per WriteBatch (per sync) of each store_appends run, in order.
std::vector<double> group_sizes;
// Options::group_wait for the stores (--group-wait US).
std::chrono::microseconds group_wait = storage::Options().group_wait;

double store_appends(const std::string& dir, int documents, double seconds, int reps, int window) {
  fs::remove_all(dir);
  storage::Options o;  // durability sync, K = 100
  o.group_wait = group_wait;
  auto store = storage::Store::open(dir, o);
  if (!store.ok()) die("open", store.status());
  auto eds = make_editors(**store, documents, 5);
  std::vector<double> rates;
  for (int r = 0; r < reps; ++r) rates.push_back(appends_per_second(**store, eds, seconds, window));
  const auto stats = (*store)->log().write_stats();
  group_sizes.push_back(static_cast<double>(stats.writes) / static_cast<double>(stats.groups));
  store->reset();
  fs::remove_all(dir);
  return median(rates);
}

void big_document(const std::string& dir, std::uint64_t revisions) {
  fs::remove_all(dir);
  std::printf(
      "\nA document with %llu one-character edits (5 sections, text kept near 20,000\n"
      "characters by deleting as much as it types once there; K = 100)\n",
      static_cast<unsigned long long>(revisions));
  storage::DocumentId id = 0;
  {
    storage::Options o;
    o.durability = storage::Durability::none;  // building only; see the header comment
    auto store = storage::Store::open(dir, o);
    if (!store.ok()) die("open", store.status());
    auto eds = make_editors(**store, 1, 5);
    Editor& e = eds[0];
    e.target_chars = 20000;
    id = e.id;
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    const auto start = Clock::now();
    for (std::uint64_t r = 1; r <= revisions; ++r) {
      auto op = e.next();
      if (!protocol::apply(e.doc, op).ok()) std::exit(1);
      ++e.rev;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return in_flight < 1024; });
        ++in_flight;
      }
      storage::Status s;
      do {
        s = (*store)->append_async(e.id, e.rev, op, e.info(), e.doc,
                                   [&](const storage::Status& st) {
                                     if (!st.ok()) die("append", st);
                                     std::lock_guard lk(mu);
                                     --in_flight;
                                     cv.notify_one();
                                   });
        if (s.code() == storage::Code::busy) std::this_thread::yield();
      } while (s.code() == storage::Code::busy);
      if (!s.ok()) die("append_async", s);
    }
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return in_flight == 0; });
    }
    const double secs = ms_since(start) / 1000;
    std::printf("  built in %.1f s (%.0f revisions/s, durability none)\n", secs,
                static_cast<double>(revisions) / secs);
    std::size_t chars = 0;
    for (const auto& [sid, sec] : e.doc.sections()) chars += sec.body.size();
    std::printf("  final text: %zu characters; one snapshot: %zu bytes encoded\n", chars,
                storage::Store::encode_document(e.doc).size());
    const auto cstart = Clock::now();
    if (auto s = (*store)->log().compact(); !s.ok()) die("compact", s);
    std::printf("  compaction: %.1f s\n", ms_since(cstart) / 1000);
    std::uint64_t total = 0;
    std::printf("  disk bytes per revision, after compaction (LZ4, ZSTD at the bottom level):\n");
    for (const auto& f : (*store)->log().family_sizes()) {
      total += f.bytes;
      if (f.bytes == 0) continue;
      std::printf("    %-10s %10.1f MB  %7.2f bytes/revision  (%llu entries)\n", f.name.c_str(),
                  static_cast<double>(f.bytes) / 1e6,
                  static_cast<double>(f.bytes) / static_cast<double>(revisions),
                  static_cast<unsigned long long>(f.entries));
    }
    std::printf("    %-10s %10.1f MB  %7.2f bytes/revision\n", "total",
                static_cast<double>(total) / 1e6,
                static_cast<double>(total) / static_cast<double>(revisions));
  }
  storage::Options o;  // reopened as the server would: durability sync
  auto t_open = Clock::now();
  auto store = storage::Store::open(dir, o);
  if (!store.ok()) die("reopen", store.status());
  std::printf("  reopen: %.1f ms\n", ms_since(t_open));
  std::vector<double> loads;
  for (int i = 0; i < 51; ++i) {
    const auto t = Clock::now();
    auto loaded = (*store)->load(id);
    if (!loaded.ok()) die("load", loaded.status());
    loads.push_back(ms_since(t));
    if (loaded->rev != revisions) std::exit(1);
  }
  std::printf(
      "  load latest: first %.2f ms, median %.2f ms, max %.2f ms (51 loads; target < 50 ms)\n",
      loads.front(), median(loads), *std::max_element(loads.begin(), loads.end()));
  std::vector<double> ats;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t r = rng() % (revisions + 1);
    const auto t = Clock::now();
    auto loaded = (*store)->load_at(id, r);
    if (!loaded.ok()) die("load_at", loaded.status());
    ats.push_back(ms_since(t));
  }
  std::printf(
      "  document at a random revision: median %.2f ms, p90 %.2f ms, max %.2f ms "
      "(200 loads; target median < 20 ms)\n",
      median(ats), percentile(ats, 0.9), *std::max_element(ats.begin(), ats.end()));
  store->reset();
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  int reps = 3;
  std::uint64_t revisions = 1000000;
  std::string root;
  bool appends = true, big = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--seconds")
      seconds = std::atof(next().c_str());
    else if (a == "--reps")
      reps = std::atoi(next().c_str());
    else if (a == "--revisions")
      revisions = std::strtoull(next().c_str(), nullptr, 10);
    else if (a == "--dir")
      root = next();
    else if (a == "--group-wait")
      group_wait = std::chrono::microseconds(std::atoi(next().c_str()));
    else if (a == "--quick")
      seconds = 0.5, reps = 1, revisions = 100000;
    else if (a == "--only-appends")
      big = false;
    else if (a == "--only-document")
      appends = false;
    else {
      std::fprintf(stderr,
                   "usage: storage_append_bench [--seconds S] [--reps N] [--revisions N] "
                   "[--dir DIR] [--quick] [--only-appends|--only-document] [--group-wait US]\n");
      return 2;
    }
  }
  if (root.empty()) root = (fs::temp_directory_path() / "jointly-storage-bench").string();
  fs::create_directories(root);
  std::printf("storage_append_bench: %s, %u hardware threads, medians of %d runs of %.1f s\n",
              root.c_str(), std::thread::hardware_concurrency(), reps, seconds);
  // The encoding of a one-character edit.
  {
    protocol::DocOp op;
    protocol::TextOp t;
    t.skip(1234).insert("a");
    op.components.push_back(protocol::SectionEdit{"sec3", protocol::Field::body, t});
    std::printf("one-character edit %s: %zu bytes encoded (JSON text: %zu)\n",
                to_json(op).dump().c_str(), storage::Store::encode_op(op).size(),
                to_json(op).dump().size());
  }
  if (appends) {
    std::printf("\n%-9s %14s %16s %8s %16s %8s   %s\n", "documents", "baseline Put/s",
                "blocking rev/s", "ratio", "pipelined rev/s", "ratio",
                "revisions/sync (blocking, pipelined)");
    for (int n : {1, 8, 64}) {
      std::vector<double> base;
      for (int r = 0; r < reps; ++r)
        base.push_back(baseline_puts_per_second(root + "/baseline", n, seconds));
      const double b = median(base);
      const double blocking = store_appends(root + "/store", n, seconds, reps, 1);
      const double pipelined = store_appends(root + "/store", n, seconds, reps, 64);
      std::printf("%-9d %14.0f %16.0f %7.0f%% %16.0f %7.0f%%   %6.1f %6.1f\n", n, b, blocking,
                  100 * blocking / b, pipelined, 100 * pipelined / b,
                  group_sizes[group_sizes.size() - 2], group_sizes.back());
      std::fflush(stdout);
    }
  }
  if (big) big_document(root + "/big", revisions);
  fs::remove_all(root);
  return 0;
}
