// Crash test: a child process appends revisions to several documents and reports each
// acknowledged revision over a pipe; we kill it with SIGKILL at a random moment, reopen the
// store and check that every acknowledged revision is there, every document's revisions are
// contiguous from 1 and every snapshot equals the replay of the log. Half the trials run in
// durability sync, a quarter in flush (both must keep every acknowledged revision across a
// process crash) and a quarter in none (which may lose them, but must still come back sound).
//
// JOINTLY_CRASH_TRIALS sets the number of trials (default 20; 500 for a long run),
// JOINTLY_CRASH_SEED the first seed.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "storage/store.hpp"
#include "tests/storage/temp_dir.hpp"

#ifndef JOINTLY_CRASH_CHILD
#error "JOINTLY_CRASH_CHILD (the path of storage_crash_child) is set by tests/CMakeLists.txt"
#endif

namespace jointly::storage {
namespace {

using Clock = std::chrono::steady_clock;

struct ChildRun {
  std::map<DocumentId, std::uint64_t> acked;  // document -> greatest acknowledged revision
  std::size_t acks = 0;
  std::string errors;  // "err" lines: the child failed on its own
};

// Starts the child, kills it kill_after after its first acknowledgement (or after start, if
// early), collects what it acknowledged.
ChildRun run_and_kill(const std::string& dir, int documents, std::uint64_t seed,
                      std::chrono::milliseconds kill_after, bool early, Durability durability) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    const std::string docs = std::to_string(documents), s = std::to_string(seed);
    const std::string mode(durability_name(durability));
    ::execl(JOINTLY_CRASH_CHILD, JOINTLY_CRASH_CHILD, dir.c_str(), docs.c_str(), s.c_str(),
            mode.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(fds[1]);
  ChildRun run;
  std::string pending;
  auto consume = [&](const char* data, std::size_t n) {
    pending.append(data, n);
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::istringstream line(pending.substr(0, nl));
      pending.erase(0, nl + 1);
      std::string kind;
      line >> kind;
      if (kind == "doc") {
        DocumentId id = 0;
        line >> id;
        run.acked.emplace(id, 0);
      } else if (kind == "ack") {
        DocumentId id = 0;
        std::uint64_t rev = 0;
        line >> id >> rev;
        auto& a = run.acked[id];
        if (rev > a) a = rev;
        ++run.acks;
      } else {
        run.errors += line.str() + "\n";
      }
    }
  };
  const auto start = Clock::now();
  std::optional<Clock::time_point> deadline;
  if (early) deadline = start + kill_after;
  bool killed = false;
  char buf[4096];
  for (;;) {
    if (!killed && deadline && Clock::now() >= *deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    if (!killed && Clock::now() - start > std::chrono::seconds(20)) {
      ::kill(pid, SIGKILL);  // the child never acknowledged anything: fail below
      killed = true;
      ADD_FAILURE() << "the child acknowledged nothing in 20 s";
    }
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, 2);
    if (p.revents & (POLLIN | POLLHUP)) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;  // EOF: the child is gone
      consume(buf, static_cast<std::size_t>(n));
      if (!deadline && run.acks > 0) deadline = Clock::now() + kill_after;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended on its own: " << run.errors;
  return run;
}

int trials() {
  const char* env = std::getenv("JOINTLY_CRASH_TRIALS");
  return env != nullptr ? std::max(1, std::atoi(env)) : 20;
}

TEST(StorageCrash, EveryAcknowledgedRevisionSurvivesSigkill) {
  const char* seed_env = std::getenv("JOINTLY_CRASH_SEED");
  const std::uint64_t first_seed =
      seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10)
                          : static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  std::mt19937_64 rng(first_seed);
  const int n = trials();
  std::size_t total_acks = 0;
  for (int t = 0; t < n; ++t) {
    const std::uint64_t seed = rng();
    SCOPED_TRACE("trial " + std::to_string(t) + ", JOINTLY_CRASH_SEED=" +
                 std::to_string(first_seed) + ", child seed " + std::to_string(seed));
    testing::TempDir tmp;
    const auto dir = tmp.sub("store");
    // One trial in eight kills the child early, while it may still be creating the store.
    const bool early = rng() % 8 == 0;
    const auto kill_after = std::chrono::milliseconds(early ? rng() % 60 : 20 + rng() % 300);
    const int documents = 2 + static_cast<int>(rng() % 4);
    // Half the trials in sync, a quarter in flush (which must survive a process crash too), a
    // quarter in none (which may lose acknowledged revisions, but must come back as a sound
    // prefix of the history).
    const Durability durability = t % 4 == 2   ? Durability::flush
                                  : t % 4 == 3 ? Durability::none
                                               : Durability::sync;
    SCOPED_TRACE(std::string("durability ") + std::string(durability_name(durability)));
    auto run = run_and_kill(dir, documents, seed, kill_after, early, durability);
    ASSERT_TRUE(run.errors.empty()) << run.errors;
    total_acks += run.acks;

    Options o;
    o.snapshot_interval = 10;
    auto store = Store::open(dir, o);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    auto docs = (*store)->list_documents();
    ASSERT_TRUE(docs.ok()) << docs.status().to_string();
    std::map<DocumentId, std::uint64_t> last;
    for (const auto& m : *docs) last[m.id] = m.last_rev;
    for (const auto& [id, rev] : run.acked) {
      if (durability == Durability::none) break;
      ASSERT_TRUE(last.count(id)) << "document " << id << " was acknowledged but is gone";
      EXPECT_GE(last[id], rev) << "document " << id << " lost acknowledged revisions";
    }
    auto report = (*store)->check();
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    for (const auto& c : *report) {
      EXPECT_TRUE(c.problems.empty()) << "document " << c.id << ": " << c.problems.front();
      auto loaded = (*store)->load(c.id);
      EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
    }
    EXPECT_TRUE((*store)->healthy());
  }
  std::printf("%d trials, %zu acknowledged revisions checked\n", n, total_acks);
}

}  // namespace
}  // namespace jointly::storage
