// The process storage_crash_test kills: it appends random revisions to several documents
// (durability sync unless told) and reports every acknowledged revision on stdout, one line per
// write(2):
//   "doc <id>"         a document was created (durable)
//   "ack <id> <rev>"   revision rev of document id was acknowledged (durable)
// until it is killed. Documents 1..n-1 append with blocking appends, one thread each; the last
// document pipelines asynchronous appends (up to 32 in flight), as a server strand would.
//
// usage: storage_crash_child DIR DOCUMENTS SEED [sync|flush|none]
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.hpp"
#include "tests/storage/doc_ops.hpp"

using namespace jointly;
using storage::Status;

namespace {

void say(const std::string& line) {
  const std::string l = line + "\n";
  if (::write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::_Exit(4);
}

[[noreturn]] void die(const std::string& what, const Status& s) {
  say("err " + what + ": " + s.to_string());
  std::_Exit(3);
}

storage::RevisionInfo info(std::uint64_t rev) {
  storage::RevisionInfo i;
  i.author = "crash";
  i.institution = "uni-test";
  i.server_time_ms = 1732900000000;
  i.client_id = "child";
  i.client_seq = rev;
  return i;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: storage_crash_child DIR DOCUMENTS SEED [sync|flush|none]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int documents = std::atoi(argv[2]);
  const std::uint64_t seed = std::strtoull(argv[3], nullptr, 10);
  storage::Options o;
  o.snapshot_interval = 10;
  o.durability = storage::Durability::sync;
  if (argc == 5) {
    auto d = storage::parse_durability(argv[4]);
    if (!d.ok()) die("durability", d.status());
    o.durability = *d;
  }
  auto opened = storage::Store::open(dir, o);
  if (!opened.ok()) die("open", opened.status());
  storage::Store& store = **opened;
  std::vector<storage::DocumentId> ids;
  for (int d = 0; d < documents; ++d) {
    auto id = store.create_document("crash " + std::to_string(d));
    if (!id.ok()) die("create", id.status());
    ids.push_back(*id);
    say("doc " + std::to_string(*id));
  }
  std::vector<std::thread> threads;
  for (int d = 0; d + 1 < documents; ++d) {
    threads.emplace_back([&, d] {
      storage::testing::RandomEditor editor(seed * 1000 + d);
      protocol::Document doc;
      for (std::uint64_t rev = 1;; ++rev) {
        auto op = editor.next(doc);
        if (!protocol::apply(doc, op).ok()) die("apply", Status(storage::Code::internal, "op"));
        auto s = store.append(ids[d], rev, op, info(rev), doc);
        if (!s.ok()) die("append", s);
        say("ack " + std::to_string(ids[d]) + " " + std::to_string(rev));
      }
    });
  }
  // The last document: asynchronous, pipelined.
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  storage::testing::RandomEditor editor(seed * 1000 + 999);
  protocol::Document doc;
  const auto id = ids.back();
  for (std::uint64_t rev = 1;; ++rev) {
    auto op = editor.next(doc);
    if (!protocol::apply(doc, op).ok()) die("apply", Status(storage::Code::internal, "op"));
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return in_flight < 32; });
      ++in_flight;
    }
    Status s;
    do {
      s = store.append_async(id, rev, op, info(rev), doc, [&, rev](const Status& st) {
        if (!st.ok()) die("async append", st);
        say("ack " + std::to_string(id) + " " + std::to_string(rev));
        std::lock_guard lk(mu);
        --in_flight;
        cv.notify_one();
      });
      if (s.code() == storage::Code::busy) std::this_thread::yield();
    } while (s.code() == storage::Code::busy);
    if (!s.ok()) die("queue", s);
  }
}
