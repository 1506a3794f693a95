// replay_bench: how fast the text path the server uses for a submitted op is, against a plain
// gap buffer, on real typing and on random edits. It prints figures; it is not a timed test.
//
// Run (Release build):
//   cmake --build build --target replay_bench && build/bin/replay_bench
//   (Google Benchmark flags work too, e.g. --benchmark_filter=automerge)
//
// What each figure is (the table gives wall-clock and CPU time per run; the summary at the end
// gives the median over the repetitions of each benchmark and the ratios, once by wall clock and
// once by CPU time, which is steadier when other work shares the machine):
//   trace/<name>/gap_buffer  A char32_t gap buffer (written below, the baseline) replaying every
//                            patch of the trace; the patches' text is converted to UTF-32 before
//                            timing.
//   trace/<name>/rope_op     The jointly-replay path on the same patches: each patch built into
//                            one reused TextOp (skip.del.insert), protocol::check, then
//                            protocol::apply to a Rope (protocol::apply_patches).
//                            The summary's ratio rope_op / gap_buffer is the cost of the general
//                            path over the simplest structure (target: within 10x).
//   trace/<name>/rope_direct The Rope alone (erase, insert per patch, no op): what part of
//                            rope_op's time is the rope's own.
//   random/rope_op           100,000 single-character edits (alternately an insert and a delete)
//                            at random positions in a 2 MB document, through the same op path.
//   random/gap_buffer        The same edits on the gap buffer; it moves the gap across about
//                            a third of the document per edit, so only the first 2,000 edits
//                            are timed. The summary compares edits per second.
// The time of the reference JavaScript implementation on the same trace comes from
//   node tests/bench/otjs_replay.mjs tests/traces/automerge-paper.json.gz
// (ot-text-unicode's type.apply on a string), for the ratio against the reference.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "protocol/rope.hpp"
#include "protocol/text_op.hpp"
#include "protocol/tools/trace.hpp"

namespace {

namespace p = jointly::protocol;

// --- The baseline: a gap buffer of code points ------------------------------------------------

class GapBuffer {
 public:
  explicit GapBuffer(std::u32string_view text = {}) : buf_(text.size() + 1024) {
    std::copy(text.begin(), text.end(), buf_.begin());
    gap_start_ = text.size();
    gap_end_ = buf_.size();
  }

  std::size_t size() const { return buf_.size() - (gap_end_ - gap_start_); }

  void insert(std::size_t pos, const char32_t* s, std::size_t n) {
    move_gap(pos);
    if (gap_end_ - gap_start_ < n) grow(n);
    std::memcpy(buf_.data() + gap_start_, s, n * sizeof(char32_t));
    gap_start_ += n;
  }

  void erase(std::size_t pos, std::size_t n) {
    move_gap(pos);
    gap_end_ += n;
  }

  std::u32string text() const {
    std::u32string s(buf_.begin(), buf_.begin() + gap_start_);
    s.append(buf_.begin() + gap_end_, buf_.end());
    return s;
  }

 private:
  void move_gap(std::size_t pos) {
    char32_t* b = buf_.data();
    if (pos < gap_start_) {
      const std::size_t n = gap_start_ - pos;
      std::memmove(b + gap_end_ - n, b + pos, n * sizeof(char32_t));
      gap_start_ -= n;
      gap_end_ -= n;
    } else if (pos > gap_start_) {
      const std::size_t n = pos - gap_start_;
      std::memmove(b + gap_start_, b + gap_end_, n * sizeof(char32_t));
      gap_start_ += n;
      gap_end_ += n;
    }
  }

  void grow(std::size_t need) {
    const std::size_t tail = buf_.size() - gap_end_;
    const std::size_t new_size = std::max(buf_.size() * 2, buf_.size() + need + 1024);
    buf_.resize(new_size);
    std::memmove(buf_.data() + new_size - tail, buf_.data() + gap_end_, tail * sizeof(char32_t));
    gap_end_ = new_size - tail;
  }

  std::vector<char32_t> buf_;
  std::size_t gap_start_ = 0;
  std::size_t gap_end_ = 0;
};

std::u32string to_u32(std::string_view s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k < len; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out += c;
    i += len;
  }
  return out;
}

struct U32Patch {
  std::size_t pos;
  std::size_t del;
  std::u32string text;
};

struct LoadedTrace {
  std::string name;
  p::Trace trace;
  std::vector<U32Patch> patches;  // for the gap buffer
};

std::vector<U32Patch> u32_patches(const p::Trace& t) {
  std::vector<U32Patch> out;
  out.reserve(t.patch_count());
  for (const p::TraceTxn& txn : t.txns) {
    for (const p::TracePatch& patch : txn.patches) {
      out.push_back(U32Patch{patch.pos, patch.del, to_u32(patch.text)});
    }
  }
  return out;
}

void replay_gap(const LoadedTrace& t, GapBuffer& g) {
  for (const U32Patch& patch : t.patches) {
    if (patch.del > 0) g.erase(patch.pos, patch.del);
    if (!patch.text.empty()) g.insert(patch.pos, patch.text.data(), patch.text.size());
  }
}

void BM_TraceGapBuffer(benchmark::State& state, const LoadedTrace* t) {
  const std::u32string start = to_u32(t->trace.start_content);
  for (auto _ : state) {
    GapBuffer g(start);
    replay_gap(*t, g);
    benchmark::DoNotOptimize(g.size());
  }
  state.counters["patches"] = static_cast<double>(t->patches.size());
}

void BM_TraceRopeOp(benchmark::State& state, const LoadedTrace* t) {
  p::TextOp scratch;
  for (auto _ : state) {
    p::Rope doc(t->trace.start_content);
    if (!p::apply_patches(t->trace, doc, scratch).ok()) state.SkipWithError("replay failed");
    benchmark::DoNotOptimize(doc.size());
  }
  state.counters["patches"] = static_cast<double>(t->patches.size());
}

// The rope alone, without the op: erase and insert per patch. Not the server's path; it shows
// how the op path's time splits between the rope and building and checking the op.
void BM_TraceRopeDirect(benchmark::State& state, const LoadedTrace* t) {
  for (auto _ : state) {
    p::Rope doc(t->trace.start_content);
    for (const p::TraceTxn& txn : t->trace.txns) {
      for (const p::TracePatch& patch : txn.patches) {
        if (patch.del > 0) doc.erase(patch.pos, patch.del);
        if (patch.text_cp > 0) doc.insert(patch.pos, patch.text, patch.text_cp);
      }
    }
    benchmark::DoNotOptimize(doc.size());
  }
  state.counters["patches"] = static_cast<double>(t->patches.size());
}

// --- Random single-character edits in a 2 MB document -----------------------------------------

constexpr std::size_t kRandomEdits = 100'000;
constexpr std::size_t kGapRandomEdits = 2'000;

struct RandomEdit {
  std::size_t pos;
  bool insert;  // else delete one code point at pos
  char32_t c;
};

struct RandomSetup {
  std::string doc;  // UTF-8, about 2 MB
  std::vector<RandomEdit> edits;
  std::vector<std::string> utf8_chars;  // each edit's character in UTF-8
};

RandomSetup make_random_setup(const std::string& seed_text) {
  RandomSetup s;
  while (s.doc.size() < 2'000'000) s.doc += seed_text;
  const std::size_t n = to_u32(s.doc).size();
  std::mt19937_64 rng(42);
  static constexpr char32_t kChars[] = {U'e', U't', U' ', U'a', U'\u00E9', U'\u4E16'};
  std::size_t len = n;
  for (std::size_t i = 0; i < kRandomEdits; ++i) {
    RandomEdit e;
    e.insert = i % 2 == 0;
    e.pos = rng() % (e.insert ? len + 1 : len);
    e.c = kChars[rng() % std::size(kChars)];
    len += e.insert ? 1 : -1;
    s.edits.push_back(e);
    const char32_t c = e.c;
    std::string u;
    if (c < 0x80) {
      u += static_cast<char>(c);
    } else if (c < 0x800) {
      u += static_cast<char>(0xC0 | (c >> 6));
      u += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      u += static_cast<char>(0xE0 | (c >> 12));
      u += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      u += static_cast<char>(0x80 | (c & 0x3F));
    }
    s.utf8_chars.push_back(u);
  }
  return s;
}

void BM_RandomRopeOp(benchmark::State& state, const RandomSetup* s) {
  p::Rope doc(s->doc);
  p::TextOp op;
  for (auto _ : state) {
    // Edits alternate insert/delete, so the document ends each pass as long as it started.
    for (std::size_t i = 0; i < kRandomEdits; ++i) {
      const RandomEdit& e = s->edits[i];
      op.clear();
      if (e.insert) {
        op.skip(e.pos).insert(s->utf8_chars[i], 1);
      } else {
        op.skip(e.pos).del(1);
      }
      p::Status st = p::check(op, doc.size());
      if (st) st = p::apply(doc, op);
      if (!st) state.SkipWithError("edit failed");
    }
    benchmark::DoNotOptimize(doc.size());
  }
  state.counters["edits/s"] = benchmark::Counter(static_cast<double>(kRandomEdits),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RandomGapBuffer(benchmark::State& state, const RandomSetup* s) {
  GapBuffer g(to_u32(s->doc));
  for (auto _ : state) {
    for (std::size_t i = 0; i < kGapRandomEdits; ++i) {
      const RandomEdit& e = s->edits[i];
      if (e.insert) {
        g.insert(e.pos, &e.c, 1);
      } else {
        g.erase(e.pos, 1);
      }
    }
    // Undo nothing: the next pass starts from a document of the same length, with the gap
    // wherever the last edit left it, as in an editing session.
    benchmark::DoNotOptimize(g.size());
  }
  state.counters["edits/s"] = benchmark::Counter(static_cast<double>(kGapRandomEdits),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// --- Reporting ---------------------------------------------------------------------------------

// The console output as usual, plus each benchmark's median (ms) kept for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") {
        medians_ms[r.run_name.function_name] = r.GetAdjustedRealTime();
        cpu_medians_ms[r.run_name.function_name] = r.GetAdjustedCPUTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> medians_ms;
  std::map<std::string, double> cpu_medians_ms;
};

double median_of(const std::map<std::string, double>& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

int main(int argc, char** argv) {
  const int kRepetitions = 15;
  std::vector<LoadedTrace> traces;
  for (const char* name : {"automerge-paper", "seph-blog1"}) {
    const std::string path = std::string(JOINTLY_TRACES_DIR) + "/" + name + ".json.gz";
    auto t = p::read_trace(path);
    if (!t) {
      std::fprintf(stderr, "%s\n", t.error().message.c_str());
      return 1;
    }
    LoadedTrace lt{name, std::move(*t), {}};
    lt.patches = u32_patches(lt.trace);
    traces.push_back(std::move(lt));
  }
  // Both replays must produce endContent, or their times mean nothing.
  for (const LoadedTrace& t : traces) {
    GapBuffer g(to_u32(t.trace.start_content));
    replay_gap(t, g);
    auto r = p::replay_sequential(t.trace);
    if (g.text() != to_u32(t.trace.end_content) || !r || !r->matches_end) {
      std::fprintf(stderr, "%s: a replay does not reach endContent\n", t.name.c_str());
      return 1;
    }
  }
  const RandomSetup random = make_random_setup(traces[0].trace.end_content);

  for (const LoadedTrace& t : traces) {
    benchmark::RegisterBenchmark(("trace/" + t.name + "/gap_buffer").c_str(), BM_TraceGapBuffer, &t)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Repetitions(kRepetitions)
        ->ReportAggregatesOnly(true);
    benchmark::RegisterBenchmark(("trace/" + t.name + "/rope_op").c_str(), BM_TraceRopeOp, &t)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Repetitions(kRepetitions)
        ->ReportAggregatesOnly(true);
    benchmark::RegisterBenchmark(("trace/" + t.name + "/rope_direct").c_str(), BM_TraceRopeDirect,
                                 &t)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Repetitions(kRepetitions)
        ->ReportAggregatesOnly(true);
  }
  benchmark::RegisterBenchmark("random/rope_op", BM_RandomRopeOp, &random)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(1)
      ->Repetitions(7)
      ->ReportAggregatesOnly(true);
  benchmark::RegisterBenchmark("random/gap_buffer", BM_RandomGapBuffer, &random)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(1)
      ->Repetitions(3)
      ->ReportAggregatesOnly(true);

  benchmark::Initialize(&argc, argv);
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  // Wall clock is what a user waits; CPU time is steadier on a shared machine. Both are given.
  for (const auto* clock : {&reporter.medians_ms, &reporter.cpu_medians_ms}) {
    std::printf("\nSummary (medians over the repetitions, %s):\n",
                clock == &reporter.medians_ms ? "wall clock" : "CPU time");
    for (const LoadedTrace& t : traces) {
      const double gap = median_of(*clock, "trace/" + t.name + "/gap_buffer");
      const double rope = median_of(*clock, "trace/" + t.name + "/rope_op");
      const double direct = median_of(*clock, "trace/" + t.name + "/rope_direct");
      if (gap <= 0 || rope <= 0) continue;
      std::printf(
          "  %-16s %zu patches: gap buffer %.3f ms, rope via op path %.3f ms (%.1f ns/patch); "
          "rope/gap = %.2fx (target <= 10x); rope alone %.3f ms (%.1f ns/patch)\n",
          t.name.c_str(), t.patches.size(), gap, rope, rope * 1e6 / t.patches.size(), rope / gap,
          direct, direct * 1e6 / t.patches.size());
    }
    const double rope_ms = median_of(*clock, "random/rope_op");
    const double gap_ms = median_of(*clock, "random/gap_buffer");
    if (rope_ms > 0 && gap_ms > 0) {
      const double rope_rate = kRandomEdits / (rope_ms / 1e3);
      const double gap_rate = kGapRandomEdits / (gap_ms / 1e3);
      std::printf(
          "  random edits in a %.1f MB document: rope via op path %.0f edits/s (%zu edits), gap "
          "buffer %.0f edits/s (first %zu); rope/gap = %.0fx\n",
          random.doc.size() / 1e6, rope_rate, kRandomEdits, gap_rate, kGapRandomEdits,
          rope_rate / gap_rate);
    }
  }
  return 0;
}
