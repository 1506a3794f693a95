// DocState, jointly-load's client state machine (server/load/doc_state.hpp): two clients edit
// concurrently through a simulated server that orders, transforms and applies like
// DocumentAuthority; both end with the server's document. Plus each error code.
#include "server/load/doc_state.hpp"

#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace jointly::load {
namespace {

using protocol::DocOp;
using protocol::Document;

Document blank() {
  auto d = protocol::parse_document(nlohmann::json::parse(
      R"({"v":1,"sections":[{"id":"intro","pos":"V","title":"","body":"ab"}]})"));
  EXPECT_TRUE(d.ok());
  return *d;
}

DocOp insert_at(std::size_t pos, const std::string& s) {
  protocol::TextOp t;
  t.skip(pos).insert(s);
  DocOp op;
  op.components.push_back(protocol::SectionEdit{"intro", protocol::Field::body, t});
  return op;
}

std::string body(const Document& d) { return d.find("intro")->body.to_string(); }

// The server of PROTOCOL.md "Sync rules" 1: a submission made on rev is transformed (left)
// against every later revision, then applied.
struct Server {
  Document doc = blank();
  std::vector<DocOp> log;  // log[i] is revision i + 1
  std::uint64_t submit(const Submission& s, DocOp* applied) {
    DocOp op = s.op;
    for (std::size_t r = s.rev; r < log.size(); ++r) {
      op = protocol::transform(op, log[r], protocol::Side::left);
    }
    EXPECT_TRUE(protocol::apply(doc, op).ok());
    log.push_back(op);
    *applied = op;
    return log.size();
  }
};

TEST(DocState, ConcurrentEditsConvergeWithTheServer) {
  Server server;
  DocState a, b;
  a.reset(0, blank());
  b.reset(0, blank());
  auto sa = a.local(insert_at(0, "X"));
  auto sb = b.local(insert_at(2, "Y"));
  ASSERT_TRUE(sa.ok() && *sa && sb.ok() && *sb);
  // b's second edit is buffered while its first is in flight.
  auto sb2 = b.local(insert_at(3, "Z"));
  ASSERT_TRUE(sb2.ok());
  EXPECT_FALSE(*sb2);
  EXPECT_FALSE(b.idle());

  DocOp applied_a, applied_b, applied_b2;
  const auto ra = server.submit(**sa, &applied_a);
  const auto rb = server.submit(**sb, &applied_b);
  // a: its ack, then b's op.
  ASSERT_TRUE(a.ack(ra, (*sa)->seq).ok());
  ASSERT_TRUE(a.remote(rb, applied_b).ok());
  // b: a's op, then its ack, which releases the buffer as the next submission on rev rb.
  ASSERT_TRUE(b.remote(ra, applied_a).ok());
  auto next = b.ack(rb, (*sb)->seq);
  ASSERT_TRUE(next.ok() && *next);
  EXPECT_EQ((*next)->rev, rb);
  EXPECT_EQ((*next)->seq, (*sb)->seq + 1);
  const auto rb2 = server.submit(**next, &applied_b2);
  ASSERT_TRUE(a.remote(rb2, applied_b2).ok());
  ASSERT_TRUE(b.ack(rb2, (*next)->seq).ok());

  EXPECT_EQ(body(server.doc), "XabYZ");
  EXPECT_EQ(body(a.document()), body(server.doc));
  EXPECT_EQ(body(b.document()), body(server.doc));
  EXPECT_TRUE(a.idle() && b.idle());
  EXPECT_EQ(a.rev(), 3u);
  EXPECT_EQ(b.rev(), 3u);
}

TEST(DocState, RandomInterleavingsConverge) {
  constexpr unsigned kClients = 3;
  for (unsigned seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    Server server;
    std::vector<unsigned> author;       // author[r - 1]: the client of revision r
    std::vector<std::uint64_t> seq_of;  // seq_of[r - 1]: its seq
    std::vector<DocState> clients(kClients);
    std::vector<std::optional<Submission>> wire(kClients);  // sent, not yet taken by the server
    std::vector<std::size_t> delivered(kClients, 0);
    for (auto& c : clients) c.reset(0, blank());
    auto take = [&](unsigned i) {
      DocOp applied;
      server.submit(*wire[i], &applied);
      author.push_back(i);
      seq_of.push_back(wire[i]->seq);
      wire[i].reset();
    };
    auto deliver = [&](unsigned k) {
      const auto rev = delivered[k] + 1;
      if (author[rev - 1] == k) {
        auto next = clients[k].ack(rev, seq_of[rev - 1]);
        ASSERT_TRUE(next.ok()) << next.error().message;
        if (*next) wire[k] = **next;
      } else {
        ASSERT_TRUE(clients[k].remote(rev, server.log[rev - 1]).ok());
      }
      ++delivered[k];
    };
    for (int step = 0; step < 80; ++step) {
      const unsigned i = rng() % kClients;
      switch (rng() % 3) {
        case 0: {
          const auto len = clients[i].document().find("intro")->body.size();
          auto s = clients[i].local(insert_at(rng() % (len + 1), std::string(1, 'a' + rng() % 26)));
          ASSERT_TRUE(s.ok());
          if (*s) wire[i] = **s;
          break;
        }
        case 1:
          if (wire[i]) take(i);
          break;
        default:
          if (delivered[i] < server.log.size()) deliver(i);
          if (HasFatalFailure()) return;
      }
    }
    for (bool moved = true; moved;) {
      moved = false;
      for (unsigned i = 0; i < kClients; ++i) {
        if (wire[i]) take(i), moved = true;
        while (delivered[i] < server.log.size()) {
          deliver(i);
          if (HasFatalFailure()) return;
          moved = true;
        }
      }
    }
    for (auto& c : clients) {
      EXPECT_TRUE(c.idle()) << "seed " << seed;
      EXPECT_EQ(c.rev(), server.log.size()) << "seed " << seed;
      EXPECT_EQ(body(c.document()), body(server.doc)) << "seed " << seed;
    }
  }
}

TEST(DocState, ErrorsHaveStableCodes) {
  DocState c;
  auto before = c.local(insert_at(0, "x"));
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, "not_open");
  c.reset(5, blank());
  auto bad_ack = c.ack(6, 1);
  ASSERT_FALSE(bad_ack.ok());
  EXPECT_EQ(bad_ack.error().code, "unexpected_ack");
  auto gap = c.remote(7, insert_at(0, "y"));
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().code, "rev_gap");
  auto too_far = c.local(insert_at(10, "z"));
  ASSERT_FALSE(too_far.ok());
  EXPECT_EQ(too_far.error().code, "apply_failed");
  auto s = c.local(insert_at(0, "q"));
  ASSERT_TRUE(s.ok() && *s);
  auto wrong_seq = c.ack(6, (*s)->seq + 1);
  ASSERT_FALSE(wrong_seq.ok());
  EXPECT_EQ(wrong_seq.error().code, "unexpected_ack");
  EXPECT_EQ(body(c.document()), "qab");
}

}  // namespace
}  // namespace jointly::load
