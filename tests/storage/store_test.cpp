// Store: documents and operations in protocol's types over the revision log.
#include "storage/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/storage/doc_ops.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::storage {
namespace {

using protocol::DocOp;
using protocol::Document;
using testing::RandomEditor;
using testing::TempDir;

std::unique_ptr<Store> open_or_die(const std::string& dir, std::uint64_t k = 5) {
  Options o;
  o.snapshot_interval = k;
  auto store = Store::open(dir, o);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  return store.ok() ? std::move(store).value() : nullptr;
}

RevisionInfo info(std::uint64_t seq, std::string client = "client-1") {
  RevisionInfo i;
  i.author = "u17";
  i.institution = "uni-graz";
  i.server_time_ms = 1732900000000 + static_cast<std::int64_t>(seq);
  i.client_id = std::move(client);
  i.client_seq = seq;
  return i;
}

// Applies op to doc and appends it as the next revision; returns the append's status.
Status edit(Store& store, DocumentId id, Document& doc, std::uint64_t& rev, const DocOp& op) {
  auto applied = protocol::apply(doc, op);
  EXPECT_TRUE(applied.ok()) << applied.error().message;
  ++rev;
  return store.append(id, rev, op, info(rev), doc);
}

std::string render(const Document& doc) { return to_json(doc).dump(); }

// A document with `revisions` random revisions; history[r] is the document at revision r.
struct Built {
  DocumentId id = 0;
  std::vector<Document> history;
};
Built build(Store& store, int revisions, std::uint64_t seed) {
  Built b;
  auto id = store.create_document("Joint micro-credential");
  EXPECT_TRUE(id.ok());
  b.id = *id;
  Document doc;
  b.history.push_back(doc);
  RandomEditor editor(seed);
  std::uint64_t rev = 0;
  for (int i = 0; i < revisions; ++i) {
    auto s = edit(store, b.id, doc, rev, editor.next(doc));
    EXPECT_TRUE(s.ok()) << s.to_string();
    b.history.push_back(doc);
  }
  return b;
}

TEST(Store, CreatesADocumentWithATitleThatLoadsEmpty) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"));
  auto id = store->create_document("Micro-credential in data literacy");
  ASSERT_TRUE(id.ok());
  auto loaded = store->load(*id);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->rev, 0u);
  EXPECT_TRUE(loaded->doc.sections().empty());
  auto meta = store->document(*id);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->title, "Micro-credential in data literacy");
  EXPECT_GT(meta->created_ms, 1700000000000);
}

TEST(Store, CreatesADocumentFromATemplate) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"));
  Document templ;
  ASSERT_TRUE(
      protocol::apply(templ, testing::add_section("vision", "V", "Joint vision", "Why")).ok());
  auto id = store->create_document("From the template", templ, 42);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(render(store->load(*id)->doc), render(templ));
  EXPECT_EQ(store->document(*id)->created_ms, 42);
}

TEST(Store, LoadsTheLatestDocumentAfterAppends) {
  TempDir tmp;
  const auto dir = tmp.sub("s");
  Built b;
  {
    auto store = open_or_die(dir);
    b = build(*store, 23, 1);
    auto loaded = store->load(b.id);
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    EXPECT_EQ(loaded->rev, 23u);
    EXPECT_EQ(loaded->doc, b.history.back());
  }
  auto store = open_or_die(dir);
  auto loaded = store->load(b.id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->doc, b.history.back());
}

TEST(Store, ReadsBackARevisionWithTheSectionsItTouched) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"));
  auto id = *store->create_document("d");
  Document doc;
  std::uint64_t rev = 0;
  ASSERT_TRUE(edit(*store, id, doc, rev, testing::add_section("b", "V", "B")).ok());
  ASSERT_TRUE(edit(*store, id, doc, rev, testing::add_section("a", "k", "A")).ok());
  DocOp both = testing::insert_text("b", 0, "hello");
  both.components.push_back(testing::insert_text("a", 0, "x").components[0]);
  ASSERT_TRUE(edit(*store, id, doc, rev, both).ok());
  auto r = store->revision(id, 3);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->rev, 3u);
  EXPECT_EQ(r->op, both);
  EXPECT_EQ(r->info.sections, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->info.author, "u17");
  EXPECT_EQ(r->info.institution, "uni-graz");
  EXPECT_EQ(r->info.client_id, "client-1");
  EXPECT_EQ(r->info.client_seq, 3u);
  EXPECT_EQ(r->info.server_time_ms, 1732900000003);
  auto range = store->revisions(id, 1, 3);
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->size(), 3u);
  EXPECT_EQ((*range)[0].op, testing::add_section("b", "V", "B"));
  EXPECT_EQ(store->revision(id, 4).status().code(), Code::not_found);
}

TEST(Store, LoadsTheDocumentAtEveryRevisionAroundASnapshot) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"), /*k=*/5);
  auto b = build(*store, 12, 2);
  EXPECT_EQ(*store->log().snapshot_revisions(b.id), (std::vector<std::uint64_t>{0, 5, 10}));
  for (std::uint64_t r : {0, 1, 4, 5, 6, 9, 10, 11, 12}) {  // K-1, K, K+1, 2K-1, 2K, 2K+1
    auto at = store->load_at(b.id, r);
    ASSERT_TRUE(at.ok()) << at.status().to_string();
    EXPECT_EQ(at->rev, r);
    EXPECT_EQ(at->doc, b.history[r]) << "at revision " << r;
  }
  EXPECT_EQ(store->load_at(b.id, 13).status().code(), Code::not_found);
}

TEST(Store, LoadsAtRandomRevisionsWhatAReplayFromZeroGives) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"), /*k=*/7);
  auto b = build(*store, 300, 3);
  std::mt19937 rng(4);
  for (int i = 0; i < 60; ++i) {
    const std::uint64_t r = std::uniform_int_distribution<std::uint64_t>(0, 300)(rng);
    auto at = store->load_at(b.id, r);
    ASSERT_TRUE(at.ok()) << at.status().to_string();
    // Replay from zero, independently of the snapshots.
    Document replay;
    auto revs = store->revisions(b.id, 1, r);
    ASSERT_TRUE(revs.ok());
    for (const auto& rv : *revs) ASSERT_TRUE(protocol::apply(replay, rv.op).ok());
    EXPECT_EQ(at->doc, replay) << "at revision " << r;
    EXPECT_EQ(at->doc, b.history[r]);
  }
}

TEST(Store, RefusesAWrongRevisionAndKeepsTheLogIntact) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"));
  auto b = build(*store, 3, 5);
  const auto op = testing::add_section("z", "z", "Z");
  Document after = b.history.back();
  ASSERT_TRUE(protocol::apply(after, op).ok());
  EXPECT_EQ(store->append(b.id, 3, op, info(100), after).code(), Code::conflict);
  EXPECT_EQ(store->append(b.id, 5, op, info(100), after).code(), Code::conflict);
  EXPECT_EQ(store->append(b.id + 1, 1, op, info(100), after).code(), Code::not_found);
  EXPECT_EQ(store->load(b.id)->doc, b.history.back());
  EXPECT_TRUE(store->append(b.id, 4, op, info(100), after).ok());
}

TEST(Store, FindsTheRevisionOfAResubmission) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"));
  auto b = build(*store, 4, 6);
  EXPECT_EQ(*store->find_by_client(b.id, "client-1", 3), 3u);
  EXPECT_EQ(store->find_by_client(b.id, "client-2", 3).status().code(), Code::not_found);
  // Appending the same submission again is refused, not applied twice.
  const auto op = testing::add_section("z", "z", "Z");
  Document after = b.history.back();
  ASSERT_TRUE(protocol::apply(after, op).ok());
  EXPECT_EQ(store->append(b.id, 5, op, info(3), after).code(), Code::already_exists);
}

TEST(Store, AppendsAsynchronouslyWithACallbackOnTheWriterThread) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"));
  auto id = *store->create_document("async");
  RandomEditor editor(7);
  Document doc;
  std::vector<Document> history{doc};
  std::atomic<int> ok{0};
  std::atomic<std::uint64_t> last_acked{0};
  for (std::uint64_t r = 1; r <= 200; ++r) {
    auto op = editor.next(doc);
    ASSERT_TRUE(protocol::apply(doc, op).ok());
    history.push_back(doc);
    Status s;
    do {
      s = store->append_async(id, r, op, info(r), doc, [&, r](const Status& st) {
        EXPECT_EQ(last_acked.exchange(r), r - 1);  // in order
        ok += st.ok();
      });
    } while (s.code() == Code::busy);
    ASSERT_TRUE(s.ok()) << s.to_string();
  }
  while (ok.load() < 200) std::this_thread::yield();
  EXPECT_EQ(store->load(id)->doc, doc);
  EXPECT_EQ(store->load_at(id, 137)->doc, history[137]);
}

TEST(Store, ListsDocumentsWithTheirLastRevision) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"));
  auto a = build(*store, 7, 8);
  auto b = build(*store, 2, 9);
  auto docs = store->list_documents();
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].id, a.id);
  EXPECT_EQ((*docs)[0].last_rev, 7u);
  EXPECT_EQ((*docs)[1].id, b.id);
  EXPECT_EQ((*docs)[1].last_rev, 2u);
}

TEST(Store, ChecksThatASoundStoreIsSound) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"), 4);
  build(*store, 30, 10);
  build(*store, 9, 11);
  auto report = store->check();
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->size(), 2u);
  for (const auto& c : *report) EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_EQ((*report)[0].last_rev, 30u);
  EXPECT_EQ((*report)[0].snapshots, 8u);  // 0, 4, ..., 28
}

TEST(Store, CheckFindsASnapshotThatDiffersFromTheReplay) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"), 4);
  auto b = build(*store, 3, 12);
  // Revision 4 with a snapshot that is not what the operation gives.
  const auto op = testing::add_section("z", "z", "Z");
  RawAppend a;
  a.document = b.id;
  a.rev = 4;
  a.info = info(4);
  a.op = Store::encode_op(op);
  a.snapshot = Store::encode_document(Document());
  ASSERT_TRUE(store->log().append(a).ok());
  auto c = store->check_document(b.id);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->problems.size(), 1u);
  EXPECT_NE(c->problems[0].find("snapshot 4 differs"), std::string::npos) << c->problems[0];
}

TEST(Store, CheckFindsAnOperationThatDoesNotApply) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"), 4);
  auto b = build(*store, 2, 13);
  RawAppend a;
  a.document = b.id;
  a.rev = 3;
  a.info = info(3);
  a.op = Store::encode_op(testing::insert_text("no-such-section", 0, "x"));
  ASSERT_TRUE(store->log().append(a).ok());
  auto c = store->check_document(b.id);
  ASSERT_TRUE(c.ok());
  ASSERT_FALSE(c->problems.empty());
  EXPECT_NE(c->problems[0].find("does not apply"), std::string::npos) << c->problems[0];
  EXPECT_EQ(store->load(b.id).status().code(), Code::corruption);
}

TEST(Store, RejectsBytesThatAreNotAnEncodedOperation) {
  EXPECT_EQ(Store::decode_op("").status().code(), Code::corruption);
  EXPECT_EQ(Store::decode_op("\x01\xc1").status().code(), Code::corruption);
  EXPECT_EQ(Store::decode_op("\x07[]").status().code(), Code::corruption);
  EXPECT_EQ(Store::decode_document("\x01\x90").status().code(), Code::corruption);
}

TEST(Store, EncodesAOneCharacterEditInFewBytes) {
  const auto op = testing::insert_text("s7Kq2", 1234, "a");
  const auto encoded = Store::encode_op(op);
  const auto json = to_json(op).dump();
  EXPECT_LT(encoded.size(), json.size());
  EXPECT_LE(encoded.size(), 32u) << json;
  EXPECT_EQ(*Store::decode_op(encoded), op);
}

TEST(Store, KeepsDocumentsApartUnderConcurrentAppends) {
  TempDir tmp;
  auto store = open_or_die(tmp.sub("s"), 10);
  const int docs = 6;
  std::vector<Built> built(docs);
  std::vector<std::thread> threads;
  std::vector<DocumentId> ids;
  for (int d = 0; d < docs; ++d) ids.push_back(*store->create_document("d" + std::to_string(d)));
  for (int d = 0; d < docs; ++d) {
    threads.emplace_back([&, d] {
      RandomEditor editor(100 + d);
      Document doc;
      std::uint64_t rev = 0;
      for (int i = 0; i < 80; ++i) {
        auto s = edit(*store, ids[d], doc, rev, editor.next(doc));
        if (!s.ok()) ADD_FAILURE() << s.to_string();
      }
      built[d].history.push_back(doc);
    });
  }
  for (auto& t : threads) t.join();
  for (int d = 0; d < docs; ++d) {
    auto loaded = store->load(ids[d]);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->rev, 80u);
    EXPECT_EQ(loaded->doc, built[d].history.back());
  }
  auto report = store->check();
  ASSERT_TRUE(report.ok());
  for (const auto& c : *report) EXPECT_TRUE(c.problems.empty());
}

}  // namespace
}  // namespace jointly::storage
