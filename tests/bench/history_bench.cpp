// History benchmark: the history queries on generated documents of different history lengths,
// side by side, to show that they do not grow with the history. Prints figures (median, p99);
// not a timed test, not run by ctest.
//
//   history_bench [--revisions 100000,1000000] [--samples N] [--dir DIR]
//
// Each document has 50 sections, typed by 6 people from 4 institutions in sessions of 20-300
// revisions on one section (the text: the patches of tests/traces/automerge-paper, each
// section's body kept near 1,500 characters), with pauses that start new groups and a clock
// that sometimes steps back. Built with durability none (as storage_append_bench does),
// compacted, then reopened in sync mode. Measured, each --samples times (default 200):
//   page     a page of 50 groups, filtered (section, author, institution, a time range, or two
//            of them), from a random cursor; and the same as single revisions
//   at       the document at a random revision (Store::load_at)
//   diff     a section's word diff between two random revisions (two load_at + diff)
//   blame    blame of a random section at a random revision, with text and people
//            (server::blame_section), once its checkpoints exist; their first computation (a
//            pass over each section's whole history, once) is reported apart
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/document.hpp"
#include "protocol/tools/trace.hpp"
#include "protocol/utf8.hpp"
#include "server/history.hpp"
#include "storage/history_index.hpp"
#include "storage/store.hpp"

namespace {

using namespace jointly;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int kSections = 50;
constexpr std::size_t kBodyCap = 1500;

struct Person {
  const char* author;
  const char* institution;
};
constexpr Person kPeople[] = {{"ana", "uni-graz"}, {"ben", "uni-graz"},   {"chloe", "tu-delft"},
                              {"dev", "tu-delft"}, {"emma", "ku-leuven"}, {"farid", "uni-porto"}};

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "history_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string section_id(int i) { return "sec" + std::to_string(i); }

struct Built {
  std::unique_ptr<storage::Store> store;
  storage::DocumentId id = 0;
  std::uint64_t revisions = 0;
  double build_s = 0;
  std::int64_t first_ms = 0, last_ms = 0;
};

// Builds the document (durability none), closes and reopens the store in sync mode.
Built build(const std::string& dir, std::uint64_t revisions, const protocol::Trace& trace) {
  fs::remove_all(dir);
  Built b;
  const auto start = Clock::now();
  {
    storage::Options o;
    o.durability = storage::Durability::none;
    auto store = storage::Store::open(dir, o);
    if (!store.ok()) die(store.status().to_string());
    auto id = (*store)->create_document("Generated course");
    if (!id.ok()) die(id.status().to_string());
    b.id = *id;
    std::vector<const protocol::TracePatch*> patches;
    for (const auto& t : trace.txns) {
      for (const auto& p : t.patches) patches.push_back(&p);
    }
    std::mt19937_64 rng(42);
    protocol::Document doc;
    std::int64_t now = 1'700'000'000'000;
    b.first_ms = now;
    std::size_t next_patch = 0;
    int person = 0, section = 0, session_left = 0;
    std::string position;
    for (std::uint64_t rev = 1; rev <= revisions; ++rev) {
      protocol::DocOp op;
      if (rev <= kSections) {
        position = *protocol::position_between(position, "");
        op.components.push_back(protocol::SectionAdd{
            section_id(static_cast<int>(rev - 1)), position, "Section " + std::to_string(rev), ""});
      } else {
        if (session_left-- <= 0) {
          person = static_cast<int>(rng() % 6);
          section = static_cast<int>(rng() % kSections);
          session_left = 20 + static_cast<int>(rng() % 280);
          now += rng() % 3 == 0 ? 15 * 60'000 : 30'000;
        }
        const std::string sid = section_id(section);
        const std::size_t len = doc.find(sid)->body.size();
        protocol::TextOp t;
        if (len > kBodyCap) {
          const std::size_t pos = rng() % (len - 200);
          t.skip(pos).del(200);
        } else {
          const auto& p = *patches[next_patch++ % patches.size()];
          const std::size_t pos = p.pos % (len + 1);
          t.skip(pos).del(std::min(p.del, len - pos));
          if (p.text_cp > 0) t.insert(p.text, p.text_cp);
          if (t.empty()) t.insert("a", 1);
          t.trim();
        }
        op.components.push_back(protocol::SectionEdit{sid, protocol::Field::body, t});
      }
      now += rng() % 50 == 0 ? -5'000 : static_cast<std::int64_t>(500 + rng() % 3000);
      if (auto s = protocol::apply(doc, op); !s.ok()) die("generated op: " + s.error().message);
      storage::RevisionInfo info;
      info.author = kPeople[person].author;
      info.institution = kPeople[person].institution;
      info.server_time_ms = now;
      info.client_id = std::string("client-") + kPeople[person].author;
      info.client_seq = rev;
      if (auto s = (*store)->append(b.id, rev, op, info, doc); !s.ok()) die(s.to_string());
      b.last_ms = std::max(b.last_ms, now);
    }
    // A store that has been running a while is compacted (RocksDB does it in the background);
    // straight after a bulk load its level 0 holds dozens of overlapping files that every read
    // must look into.
    if (auto s = (*store)->log().compact(); !s.ok()) die(s.to_string());
  }
  b.build_s = ms_since(start) / 1000;
  b.revisions = revisions;
  storage::Options o;
  auto store = storage::Store::open(dir, o);
  if (!store.ok()) die(store.status().to_string());
  b.store = std::move(store).value();
  return b;
}

struct Figures {
  std::vector<double> page_groups, page_revisions, at, diff, blame;
  double blame_first_ms = 0;  // the first blame of every section at the last revision
};

Figures measure(Built& b, int samples) {
  Figures f;
  storage::History history(*b.store);
  std::mt19937_64 rng(7);
  auto random_rev = [&] { return 1 + rng() % b.revisions; };
  auto random_filter = [&] {
    storage::HistoryFilter filter;
    const auto kind = rng() % 5;
    if (kind == 0 || kind == 3) filter.section = section_id(static_cast<int>(rng() % kSections));
    if (kind == 1 || kind == 3) filter.author = kPeople[rng() % 6].author;
    if (kind == 2 || kind == 4) filter.institution = kPeople[rng() % 6].institution;
    if (kind == 4) {
      const auto span = b.last_ms - b.first_ms;
      const auto from = b.first_ms + static_cast<std::int64_t>(rng() % span);
      filter.from_ms = from;
      filter.to_ms = from + span / 10;
    }
    return filter;
  };
  for (int i = 0; i < samples; ++i) {
    const auto filter = random_filter();
    const auto cursor = random_rev();
    auto t = Clock::now();
    auto g = history.groups(b.id, filter, cursor, 50);
    f.page_groups.push_back(ms_since(t));
    if (!g.ok()) die(g.status().to_string());
    t = Clock::now();
    auto r = history.revisions(b.id, filter, cursor, 50);
    f.page_revisions.push_back(ms_since(t));
    if (!r.ok()) die(r.status().to_string());
  }
  for (int i = 0; i < samples; ++i) {
    const auto rev = random_rev();
    const auto t = Clock::now();
    auto d = b.store->load_at(b.id, rev);
    f.at.push_back(ms_since(t));
    if (!d.ok()) die(d.status().to_string());
  }
  for (int i = 0; i < samples; ++i) {
    const auto r1 = random_rev(), r2 = random_rev();
    const std::string sid = section_id(static_cast<int>(rng() % kSections));
    const auto t = Clock::now();
    auto before = b.store->load_at(b.id, std::min(r1, r2));
    auto after = b.store->load_at(b.id, std::max(r1, r2));
    if (!before.ok() || !after.ok()) die("load_at failed");
    auto d = server::diff_documents(before->doc, after->doc, std::string_view(sid));
    f.diff.push_back(ms_since(t));
  }
  const auto first = Clock::now();
  for (int s = 0; s < kSections; ++s) {
    auto bl = history.blame(b.id, section_id(s), b.revisions);
    if (!bl.ok()) die(bl.status().to_string());
  }
  f.blame_first_ms = ms_since(first) / kSections;
  for (int i = 0; i < samples; ++i) {
    const std::string sid = section_id(static_cast<int>(rng() % kSections));
    const auto rev = random_rev();
    const auto t = Clock::now();
    auto bl = server::blame_section(*b.store, b.id, sid, rev);
    f.blame.push_back(ms_since(t));
    if (!bl.ok()) die(bl.error().message);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::uint64_t> sizes{100'000, 1'000'000};
  int samples = 200;
  std::string dir = (fs::temp_directory_path() / "jointly-history-bench").string();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--revisions" && i + 1 < argc) {
      sizes.clear();
      std::stringstream ss(argv[++i]);
      for (std::string part; std::getline(ss, part, ',');) sizes.push_back(std::stoull(part));
    } else if (a == "--samples" && i + 1 < argc) {
      samples = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: history_bench [--revisions N,N...] [--samples N] [--dir DIR]\n");
      return 2;
    }
  }
  auto trace = protocol::read_trace(std::string(JOINTLY_TRACES_DIR) + "/automerge-paper.json.gz");
  if (!trace.ok()) die(trace.error().message);

  std::vector<std::pair<Built, Figures>> runs;
  for (auto n : sizes) {
    std::printf("building %llu revisions...\n", static_cast<unsigned long long>(n));
    std::fflush(stdout);
    auto built = build(dir + "/" + std::to_string(n), n, *trace);
    std::printf("  built in %.1f s; measuring\n", built.build_s);
    std::fflush(stdout);
    auto figures = measure(built, samples);
    runs.emplace_back(std::move(built), std::move(figures));
  }
  std::printf("\n%-44s", "median / p99 (ms)");
  for (const auto& [b, f] : runs) {
    std::printf("  %20llu revs", static_cast<unsigned long long>(b.revisions));
  }
  std::printf("\n");
  auto row = [&](const char* name, const char* target, auto get) {
    std::printf("%-36s %7s", name, target);
    for (const auto& [b, f] : runs) {
      const auto& v = get(f);
      std::printf("  %12.3f / %8.3f", percentile(v, 0.5), percentile(v, 0.99));
    }
    std::printf("\n");
  };
  row("page of 50 groups, filtered", "<20", [](const Figures& f) { return f.page_groups; });
  row("page of 50 revisions, filtered", "<20", [](const Figures& f) { return f.page_revisions; });
  row("document at a random revision", "<20", [](const Figures& f) { return f.at; });
  row("section diff, two random revisions", "<50", [](const Figures& f) { return f.diff; });
  row("blame of a section (checkpoints kept)", "<100", [](const Figures& f) { return f.blame; });
  std::printf("%-44s", "first blame of a section (builds them)");
  for (const auto& [b, f] : runs) std::printf("  %12.1f (mean)       ", f.blame_first_ms);
  std::printf("\n%llu samples each\n", static_cast<unsigned long long>(samples));
  for (auto& [b, f] : runs) {
    const std::string path = b.store->log().dir();
    b.store.reset();
    fs::remove_all(path);
  }
  return 0;
}
