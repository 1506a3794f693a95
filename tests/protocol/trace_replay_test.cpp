// Tests of protocol/tools/trace.hpp: every committed trace replays (sequential ones to their
// endContent, the concurrent one to converged replicas), and bad files are refused with errors
// that say what is wrong.
#include "protocol/tools/trace.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>

#include "protocol/rope.hpp"
#include "protocol/text_op.hpp"
#include "protocol/utf8.hpp"

namespace jointly::protocol {
namespace {

const std::string kTraces = JOINTLY_TRACES_DIR;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("jointly_trace_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// Each committed trace is read once per run: reading is most of what these tests take.
const Result<Trace>& committed(const std::string& file) {
  static std::map<std::string, Result<Trace>> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, read_trace(kTraces + "/" + file)).first;
  return it->second;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  gzclose(f);
}

TEST(TraceReplay, AutomergePaperReplaysToItsEndContent) {
  const auto& trace = committed("automerge-paper.json.gz");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  EXPECT_EQ(trace->kind, TraceKind::sequential);
  EXPECT_EQ(trace->patch_count(), 259778u);
  auto r = replay_sequential(*trace);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->patches, 259778u);
  EXPECT_EQ(r->final_chars, 104852u);
  EXPECT_TRUE(r->matches_end);
}

TEST(TraceReplay, SephBlogReplaysToItsEndContent) {
  const auto& trace = committed("seph-blog1.json.gz");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  auto r = replay_sequential(*trace);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->patches, 137993u);
  EXPECT_EQ(r->final_chars, 56769u);
  EXPECT_TRUE(r->matches_end);
}

TEST(TraceReplay, FriendsForeverMergesAndEveryReplicaConverges) {
  const auto& trace = committed("friendsforever.json.gz");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  EXPECT_EQ(trace->kind, TraceKind::concurrent);
  EXPECT_EQ(trace->num_agents, 2u);
  auto r = replay_concurrent(*trace);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->agents, 2u);
  EXPECT_EQ(r->patches, 26078u);
  EXPECT_TRUE(r->converged);
  EXPECT_EQ(r->final_chars, 21362u);
  EXPECT_GT(r->transforms, 0u);  // the branches really were concurrent
}

TEST(TraceReplay, EveryCommittedTraceReplays) {
  std::size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTraces)) {
    if (entry.path().extension() != ".gz") continue;
    SCOPED_TRACE(entry.path().string());
    ++seen;
    const auto& trace = committed(entry.path().filename().string());
    ASSERT_TRUE(trace.ok()) << trace.error().message;
    if (trace->kind == TraceKind::sequential) {
      auto r = replay_sequential(*trace);
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_TRUE(r->matches_end);
    } else {
      auto r = replay_concurrent(*trace);
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_TRUE(r->converged);
    }
  }
  EXPECT_GE(seen, 3u);
}

TEST(TraceReplay, ConcurrentBranchesAreMergedByTransform) {
  // Two agents type into "ab" at once: agent 0 inserts X at 1, agent 1 (not having seen it)
  // inserts Y at 2; then agent 0, having seen both, deletes the first character.
  const std::string json = R"({"kind":"concurrent","endContent":"XbY","numAgents":2,"txns":[
    {"parents":[],"agent":0,"patches":[[0,0,"ab"]]},
    {"parents":[0],"agent":0,"patches":[[1,0,"X"]]},
    {"parents":[0],"agent":1,"patches":[[2,0,"Y"]]},
    {"parents":[1,2],"agent":0,"patches":[[0,1,""]]}]})";
  auto trace = parse_trace(json);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  auto r = replay_concurrent(*trace);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->converged);
  EXPECT_EQ(r->final_text, "XbY");
  EXPECT_TRUE(r->matches_end);
}

// A random concurrent trace of the shape a server-ordered replay follows: each agent, at each
// txn, has seen a prefix of the file's order plus its own txns. Deletes stay below a lower
// bound of the document's length there (inserted minus deleted code points of what it has seen:
// concurrent deletes of the same text only make the real length larger).
Trace random_concurrent_trace(std::mt19937_64& rng, std::size_t agents, std::size_t txns) {
  Trace t;
  t.kind = TraceKind::concurrent;
  t.num_agents = agents;
  std::vector<std::size_t> seen_prefix(agents, 0);
  std::vector<std::vector<std::size_t>> own(agents);
  std::vector<long> delta;  // inserted minus deleted code points per txn
  static const char* kTexts[] = {"a", "b", "\u00E9", "\U0001F600", "xyz", "\u4E16\u754C"};
  for (std::size_t i = 0; i < txns; ++i) {
    const std::size_t x = rng() % agents;
    // Catch up on some of what the server has logged meanwhile.
    seen_prefix[x] += rng() % (i - seen_prefix[x] + 1);
    TraceTxn txn;
    txn.agent = x;
    std::vector<bool> in_state(i, false);
    for (std::size_t j = 0; j < seen_prefix[x]; ++j) in_state[j] = true;
    for (std::size_t j : own[x]) in_state[j] = true;
    long length = 0;
    for (std::size_t j = 0; j < i; ++j) {
      if (in_state[j]) length += delta[j];
    }
    // Parents: the last txn of each agent inside the prefix, and the agent's own last.
    for (std::size_t a = 0; a < agents; ++a) {
      std::size_t last = i;
      for (std::size_t j : own[a]) {
        if (j < seen_prefix[x] || a == x) last = j;
      }
      if (last != i) txn.parents.push_back(last);
    }
    std::sort(txn.parents.begin(), txn.parents.end());
    txn.parents.erase(std::unique(txn.parents.begin(), txn.parents.end()), txn.parents.end());
    TracePatch patch;
    const std::size_t len = static_cast<std::size_t>(std::max(0L, length));
    patch.pos = rng() % (len + 1);
    if (rng() % 3 == 0 && patch.pos < len)
      patch.del = 1 + rng() % std::min<std::size_t>(3, len - patch.pos);
    if (patch.del == 0 || rng() % 2) {
      patch.text = kTexts[rng() % std::size(kTexts)];
      patch.text_cp = utf8::count(patch.text);
    }
    txn.patches.push_back(patch);
    delta.push_back(static_cast<long>(patch.text_cp) - static_cast<long>(patch.del));
    own[x].push_back(i);
    t.txns.push_back(std::move(txn));
  }
  return t;
}

TEST(TraceReplay, RandomConcurrentTracesConverge) {
  std::size_t transforms = 0;
  for (std::uint64_t seed = 1; seed <= 150; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const Trace trace = random_concurrent_trace(rng, 2 + seed % 3, 150);
    auto r = replay_concurrent(trace);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->converged);
    ASSERT_EQ(r->patches, 150u);
    transforms += r->transforms;
  }
  EXPECT_GT(transforms, 150u * 150u);  // the branches really were concurrent
}

TEST(TraceReplay, RefusesACausalShapeItCannotOrder) {
  // Agent 2 saw agent 1's txn 2 but not agent 0's earlier txn 1: no prefix of the server order.
  const std::string json = R"({"kind":"concurrent","endContent":"","txns":[
    {"parents":[],"agent":0,"patches":[[0,0,"a"]]},
    {"parents":[0],"agent":0,"patches":[[1,0,"b"]]},
    {"parents":[0],"agent":1,"patches":[[1,0,"c"]]},
    {"parents":[2],"agent":2,"patches":[[0,0,"d"]]}]})";
  auto trace = parse_trace(json);
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  auto r = replay_concurrent(*trace);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "unsupported_trace");
  EXPECT_NE(r.error().message.find("txns[3]"), std::string::npos) << r.error().message;
}

TEST(TraceReplay, ReportsAPatchOutsideTheDocument) {
  auto trace = parse_trace(R"({"startContent":"abc","endContent":"","txns":[
    {"patches":[[1,1,""]]}, {"patches":[[0,0,"x"],[5,0,"y"]]}]})");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  auto r = replay_sequential(*trace);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "out_of_range");
  EXPECT_NE(r.error().message.find("txns[1].patches[1]"), std::string::npos) << r.error().message;
}

TEST(TraceReplay, CountsPositionsInCodePoints) {
  auto trace = parse_trace(R"({"startContent":"\ud83d\ude00\u00e9","endContent":"\ud83d\ude00X",
    "txns":[{"patches":[[1,1,"X"]]}]})");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  auto r = replay_sequential(*trace);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->matches_end);
}

TEST(TraceReplay, SaysWhenTheFileIsMissing) {
  auto r = read_trace(kTraces + "/no-such-trace.json.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_found");
  EXPECT_NE(r.error().message.find("no-such-trace.json.gz"), std::string::npos);
}

TEST(TraceReplay, SaysWhenTheFileIsNotGzip) {
  const std::string path = temp_path("plain.json.gz");
  write_file(path, R"({"startContent":"","endContent":"","txns":[]})");
  auto r = read_trace(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_gzip");
}

TEST(TraceReplay, SaysWhenTheGzipIsTruncated) {
  const std::string path = temp_path("truncated.json.gz");
  std::string big = R"({"startContent":"","endContent":"","txns":[)";
  for (int i = 0; i < 2000; ++i) big += R"({"patches":[[0,0,"some text here"]]},)";
  big += "{}]}";
  write_gzip(path, big);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  write_file(path, bytes.substr(0, bytes.size() / 2));
  auto r = read_trace(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_gzip");
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
}

TEST(TraceReplay, SaysWhenTheJsonIsBroken) {
  const std::string path = temp_path("broken.json.gz");
  write_gzip(path, R"({"startContent":"","endContent":)");
  auto r = read_trace(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_json");
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
}

TEST(TraceReplay, NamesTheFieldOfTheWrongShape) {
  auto missing = parse_trace(R"({"startContent":"","endContent":""})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "bad_trace");
  EXPECT_NE(missing.error().message.find("txns"), std::string::npos);

  auto negative = parse_trace(R"({"startContent":"","endContent":"","txns":[
    {"patches":[[0,0,"a"]]}, {"patches":[[0,-1,""]]}]})");
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, "bad_trace");
  EXPECT_NE(negative.error().message.find("txns[1].patches[0][1]"), std::string::npos)
      << negative.error().message;

  auto short_patch = parse_trace(R"({"startContent":"","endContent":"","txns":[
    {"patches":[[0,0]]}]})");
  ASSERT_FALSE(short_patch.ok());
  EXPECT_NE(short_patch.error().message.find("[pos, deleteCount, \"text\"]"), std::string::npos);

  auto later_parent = parse_trace(R"({"kind":"concurrent","endContent":"","txns":[
    {"parents":[1],"agent":0,"patches":[]}, {"parents":[],"agent":0,"patches":[]}]})");
  ASSERT_FALSE(later_parent.ok());
  EXPECT_NE(later_parent.error().message.find("txns[0].parents[0]"), std::string::npos);

  auto kind = parse_trace(R"({"kind":"braided","endContent":"","txns":[]})");
  ASSERT_FALSE(kind.ok());
  EXPECT_EQ(kind.error().code, "bad_trace");
}

TEST(TraceReplay, RefusesTextThatIsNotUtf8) {
  auto r = parse_trace(
      "{\"startContent\":\"\",\"endContent\":\"\",\"txns\":[{\"patches\":[[0,0,"
      "\"\xC3\x28\"]]}]}");
  ASSERT_FALSE(r.ok());
  // nlohmann rejects invalid UTF-8 while parsing; either way the file is refused.
  EXPECT_TRUE(r.error().code == "bad_json" || r.error().code == "invalid_utf8") << r.error().code;
}

TEST(TraceReplay, ApplyPatchesReusesOneOpAndMatchesReplay) {
  const auto& trace = committed("seph-blog1.json.gz");
  ASSERT_TRUE(trace.ok()) << trace.error().message;
  Rope doc(trace->start_content);
  TextOp scratch;
  ASSERT_TRUE(apply_patches(*trace, doc, scratch).ok());
  EXPECT_EQ(doc.to_string(), trace->end_content);
}

}  // namespace
}  // namespace jointly::protocol
