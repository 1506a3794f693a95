// server/history.hpp: word diffs, documents at revisions, blame with people, contributions,
// the restore op (and the diff it shows), exports.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include <sodium.h>
#include <nlohmann/json.hpp>

#include "server/history.hpp"
#include "storage/history_index.hpp"
#include "tests/storage/doc_ops.hpp"
#include "tests/storage/history_random.hpp"
#include "tests/storage/temp_dir.hpp"

namespace jointly::server {
namespace {

using storage::testing::append_random;
using storage::testing::RandomHistory;
using storage::testing::TempDir;
using Ops = std::vector<std::pair<protocol::DocOp, storage::RevisionInfo>>;

std::string side(const std::vector<DiffRun>& runs, DiffRun::Kind skip) {
  std::string out;
  for (const auto& r : runs) {
    if (r.kind != skip) out += r.text;
  }
  return out;
}

TEST(HistoryDiff, WordRunsRebuildBothSides) {
  const auto runs =
      diff_words("The course has 5 ECTS and two exams.", "The course has 6 ECTS and one exam.");
  EXPECT_EQ(side(runs, DiffRun::Kind::insert), "The course has 5 ECTS and two exams.");
  EXPECT_EQ(side(runs, DiffRun::Kind::del), "The course has 6 ECTS and one exam.");
  const std::vector<DiffRun> expected{{DiffRun::Kind::equal, "The course has "},
                                      {DiffRun::Kind::del, "5"},
                                      {DiffRun::Kind::insert, "6"},
                                      {DiffRun::Kind::equal, " ECTS and "},
                                      {DiffRun::Kind::del, "two exams"},
                                      {DiffRun::Kind::insert, "one exam"},
                                      {DiffRun::Kind::equal, "."}};
  EXPECT_EQ(runs, expected);
  EXPECT_TRUE(diff_words("", "").empty());
  EXPECT_EQ(diff_words("", "new"), (std::vector<DiffRun>{{DiffRun::Kind::insert, "new"}}));
  EXPECT_EQ(diff_words("old", ""), (std::vector<DiffRun>{{DiffRun::Kind::del, "old"}}));
  // Non-ASCII words are never split inside a character.
  const auto u = diff_words("caf\xC3\xA9 \xF0\x9F\x8E\x93", "caf\xC3\xA8 \xF0\x9F\x8E\x93");
  EXPECT_EQ(u.front(), (DiffRun{DiffRun::Kind::del, "caf\xC3\xA9"}));
}

TEST(HistoryDiff, RandomTextsRebuildBothSides) {
  std::mt19937_64 rng(1);
  const char* words[] = {"a", "b ", "learning", " ", "\n", ".", "\xC3\xA9t\xC3\xA9", "ECTS"};
  for (int trial = 0; trial < 300; ++trial) {
    std::string a, b;
    for (int i = rng() % 40; i > 0; --i) a += words[rng() % 8];
    for (int i = rng() % 40; i > 0; --i) b += words[rng() % 8];
    if (trial % 2 == 0) b = a.substr(0, a.size() / 2) + "inserted" + a.substr(a.size() / 2);
    const auto runs = diff_words(a, b);
    EXPECT_EQ(side(runs, DiffRun::Kind::insert), a);
    EXPECT_EQ(side(runs, DiffRun::Kind::del), b);
    for (std::size_t i = 1; i < runs.size(); ++i) {
      EXPECT_FALSE(runs[i].kind == runs[i - 1].kind) << "adjacent runs of one kind are merged";
    }
  }
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<storage::Store> store;
  storage::DocumentId id = 0;
  protocol::Document doc;
  std::uint64_t rev = 0;
  Ops ops;

  explicit Fixture(std::uint64_t seed, int n) {
    storage::Options o;
    o.durability = storage::Durability::none;
    o.snapshot_interval = 16;
    store = std::move(storage::Store::open(dir.sub("s"), o)).value();
    id = *store->create_document("Data literacy");
    RandomHistory h(seed);
    ops = append_random(*store, id, doc, rev, h, n);
  }
  protocol::Document replay(std::uint64_t r) const {
    protocol::Document d;
    for (std::uint64_t i = 0; i < r; ++i) EXPECT_TRUE(protocol::apply(d, ops[i].first).ok());
    return d;
  }
};

TEST(History, TheDocumentAtARevisionIsTheReplayOfItsOps) {
  Fixture fx(1, 400);
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 40; ++trial) {
    const std::uint64_t r = rng() % (fx.rev + 1);
    auto loaded = fx.store->load_at(fx.id, r);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->doc, fx.replay(r)) << "revision " << r;
  }
}

TEST(History, BlameNamesTheAuthorAndInstitutionOfEveryCharacter) {
  std::size_t named_fields = 0;
  for (std::uint64_t seed = 10; seed < 14; ++seed) {
    Fixture fx(seed, 300);
    std::mt19937_64 rng(seed);
    for (int trial = 0; trial < 10; ++trial) {
      const std::uint64_t r = 1 + rng() % fx.rev;
      const auto& section = fx.ops[rng() % r].second.sections.front();
      auto b = blame_section(*fx.store, fx.id, section, r);
      ASSERT_TRUE(b.ok()) << b.error().message;
      const auto naive = storage::testing::naive_blame(fx.ops, section, r);
      EXPECT_EQ(b->live, naive.live);
      const protocol::Document d = fx.replay(r);
      const protocol::Section* s = d.find(section);
      auto check = [&](const std::vector<BlameSpan>& spans, const std::vector<std::uint64_t>& who,
                       const protocol::Rope& text) {
        std::string all;
        std::size_t at = 0;
        for (const auto& span : spans) {
          all += span.text;
          const std::size_t n = protocol::utf8::count(span.text);
          for (std::size_t k = 0; k < n; ++k) EXPECT_EQ(who.at(at + k), span.rev);
          at += n;
          const auto& info = fx.ops[span.rev - 1].second;
          EXPECT_EQ(span.author, info.author);
          EXPECT_EQ(span.institution, info.institution);
          EXPECT_EQ(span.time_ms, info.server_time_ms);
        }
        EXPECT_EQ(all, text.to_string());
      };
      if (b->live) {
        check(b->title, naive.title, s->title);
        check(b->body, naive.body, s->body);
        // Every named field the section has, by name, each spelled by its spans.
        ASSERT_EQ(b->fields.size(), s->fields.size());
        for (const auto& [name, spans] : b->fields) {
          ASSERT_TRUE(s->fields.count(name)) << name;
          const auto who = naive.fields.find(name);
          check(spans, who == naive.fields.end() ? std::vector<std::uint64_t>{} : who->second,
                s->fields.at(name));
        }
        named_fields += b->fields.size();
      }
    }
  }
  EXPECT_GT(named_fields, 0u) << "some blamed sections have named fields";
}

TEST(History, TemplateTextIsRevisionZeros) {
  TempDir dir;
  auto store = std::move(storage::Store::open(dir.sub("s"), storage::Options{})).value();
  protocol::Document initial;
  ASSERT_TRUE(
      protocol::apply(initial, storage::testing::add_section("v", "V", "Vision", "Why")).ok());
  const auto id = *store->create_document("T", initial);
  protocol::Document doc = initial;
  auto op = storage::testing::insert_text("v", 3, "?");
  ASSERT_TRUE(protocol::apply(doc, op).ok());
  ASSERT_TRUE(store->append(id, 1, op, {"ana", "uni-graz", 5, {}, "c", 1, 0}, doc).ok());
  auto b = blame_section(*store, id, "v", 1);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->body.size(), 2u);
  EXPECT_EQ(b->body[0].text, "Why");
  EXPECT_EQ(b->body[0].rev, 0u);
  EXPECT_EQ(b->body[0].institution, "");
  EXPECT_EQ(b->body[1].text, "?");
  EXPECT_EQ(b->body[1].institution, "uni-graz");
  EXPECT_EQ(b->title[0].text, "Vision");
}

TEST(History, ContributionsCountCharactersAndRevisionsPerInstitution) {
  Fixture fx(20, 400);
  auto c = contributions(*fx.store, fx.id, fx.rev);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->size(), fx.doc.ordered().size());
  for (const auto& sc : *c) {
    const auto* s = fx.doc.find(sc.id);
    ASSERT_NE(s, nullptr);
    std::uint64_t size = s->title.size() + s->body.size();
    for (const auto& [name, text] : s->fields) size += text.size();
    EXPECT_EQ(sc.characters, size) << "title, body and named fields";
    const auto naive = storage::testing::naive_blame(fx.ops, sc.id, fx.rev);
    std::map<std::string, std::uint64_t> chars, revs;
    std::vector<const std::vector<std::uint64_t>*> all{&naive.title, &naive.body};
    for (const auto& [name, who] : naive.fields) all.push_back(&who);
    for (const auto* who : all) {
      for (auto r : *who) ++chars[fx.ops[r - 1].second.institution];
    }
    for (const auto& [op, info] : fx.ops) {
      if (std::count(info.sections.begin(), info.sections.end(), sc.id)) ++revs[info.institution];
    }
    for (const auto& share : sc.institutions) {
      EXPECT_EQ(share.characters, chars[share.institution]) << sc.id << " " << share.institution;
      EXPECT_EQ(share.revisions, revs[share.institution]) << sc.id << " " << share.institution;
    }
  }
}

// The parts of a document a restore brings back: live sections' text and places.
std::map<std::string, std::tuple<std::string, std::string, std::string>> content(
    const protocol::Document& d) {
  std::map<std::string, std::tuple<std::string, std::string, std::string>> out;
  for (const auto* s : d.ordered()) {
    out[s->id] = {s->position, s->title.to_string(), s->body.to_string()};
  }
  return out;
}

protocol::Document unlocked(protocol::Document d) {
  protocol::DocOp op;
  for (const auto* s : d.ordered()) {
    if (s->locked) op.components.push_back(protocol::SectionUnlock{s->id});
  }
  EXPECT_TRUE(protocol::apply(d, op).ok());
  return d;
}

TEST(History, RestoreTurnsTheDocumentBackAndTheDiffShowsIt) {
  for (std::uint64_t seed = 30; seed < 40; ++seed) {
    Fixture fx(seed, 300);
    std::mt19937_64 rng(seed);
    const protocol::Document now = unlocked(fx.doc);
    for (int trial = 0; trial < 8; ++trial) {
      const std::uint64_t r = rng() % fx.rev;
      const protocol::Document then = fx.replay(r);
      auto op = make_restore_op(now, then, std::nullopt);
      ASSERT_TRUE(op.ok()) << op.error().message;
      protocol::Document restored = now;
      ASSERT_TRUE(protocol::apply(restored, *op).ok());
      EXPECT_EQ(content(restored), content(then)) << "seed " << seed << " revision " << r;
      // Restoring again changes nothing; the diff from then to the restored state is empty, and
      // from now to it is the diff from now to then.
      auto again = make_restore_op(restored, then, std::nullopt);
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE(again->empty());
      EXPECT_TRUE(diff_documents(then, restored).empty());
      const auto d1 = diff_documents(now, restored), d2 = diff_documents(now, then);
      ASSERT_EQ(d1.size(), d2.size());
      for (std::size_t i = 0; i < d1.size(); ++i) {
        EXPECT_EQ(d1[i].id, d2[i].id);
        EXPECT_EQ(d1[i].change, d2[i].change);
        EXPECT_EQ(d1[i].body, d2[i].body);
      }
      // One section only: the others stay as they are now.
      const auto all = now.sections();
      auto it = all.begin();
      std::advance(it, rng() % all.size());
      auto one = make_restore_op(now, then, it->first);
      ASSERT_TRUE(one.ok());
      protocol::Document part = now;
      ASSERT_TRUE(protocol::apply(part, *one).ok());
      auto expected = content(now);
      expected.erase(it->first);
      if (const auto* t = then.find(it->first); t != nullptr && !t->removed) {
        expected[it->first] = content(then).at(it->first);
      }
      EXPECT_EQ(content(part), expected);
    }
  }
}

TEST(History, RestoreKeepsCursorsWhereTheTextStays) {
  protocol::Document then, now;
  ASSERT_TRUE(protocol::apply(then, storage::testing::add_section("g", "V", "Goals",
                                                                  "Students learn to read data."))
                  .ok());
  now = then;
  ASSERT_TRUE(protocol::apply(now, storage::testing::insert_text("g", 15, "quickly ")).ok());
  auto op = make_restore_op(now, then, std::string_view("g"));
  ASSERT_TRUE(op.ok());
  ASSERT_EQ(op->components.size(), 1u);
  const auto& edit = std::get<protocol::SectionEdit>(op->components[0]);
  // A cursor after "data" stays after "data".
  const std::size_t cursor = now.find("g")->body.size() - 1;
  EXPECT_EQ(protocol::transform_position(cursor, edit.op), then.find("g")->body.size() - 1);
  // The edit deletes "quickly " only, with its text (so it can be undone).
  EXPECT_TRUE(edit.op.invertible());
  EXPECT_EQ(edit.op.length_delta(), -8);
}

TEST(History, RestoreIsRefusedOnALockedSection) {
  protocol::Document then;
  ASSERT_TRUE(
      protocol::apply(then, storage::testing::add_section("g", "V", "Goals", "Old text")).ok());
  protocol::Document now = then;
  ASSERT_TRUE(protocol::apply(now, storage::testing::insert_text("g", 0, "New ")).ok());
  protocol::DocOp lock;
  lock.components.push_back(protocol::SectionLock{"g"});
  ASSERT_TRUE(protocol::apply(now, lock).ok());
  auto op = make_restore_op(now, then, std::string_view("g"));
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.error().code, "section_locked");
  EXPECT_EQ(make_restore_op(now, then, std::nullopt).error().code, "section_locked");
  // Locked but unchanged since then: nothing to do, nothing refused.
  auto same = make_restore_op(now, now, std::nullopt);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());
  EXPECT_EQ(make_restore_op(now, then, std::string_view("nope")).error().code, "not_found");
}

TEST(History, DiffNamesAddedRemovedChangedAndMovedSections) {
  protocol::Document before;
  for (auto [id, pos] : {std::pair{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}) {
    ASSERT_TRUE(protocol::apply(before, storage::testing::add_section(id, pos, id,
                                                                      "text of " + std::string(id)))
                    .ok());
  }
  protocol::Document after = before;
  protocol::DocOp op;
  op.components.push_back(protocol::SectionMove{"a", "5"});
  op.components.push_back(protocol::SectionRemove{"b"});
  op.components.push_back(protocol::SectionAdd{"e", "6", "e", "new"});
  ASSERT_TRUE(protocol::apply(after, op).ok());
  ASSERT_TRUE(protocol::apply(after, storage::testing::insert_text("c", 0, "more ")).ok());
  const auto d = diff_documents(before, after);
  std::map<std::string, std::pair<SectionDiff::Change, bool>> got;
  for (const auto& s : d) got[s.id] = {s.change, s.moved};
  const std::map<std::string, std::pair<SectionDiff::Change, bool>> expected{
      {"a", {SectionDiff::Change::moved, true}},
      {"b", {SectionDiff::Change::removed, false}},
      {"c", {SectionDiff::Change::changed, false}},
      {"e", {SectionDiff::Change::added, false}}};
  EXPECT_EQ(got, expected);
  EXPECT_EQ(d.back().id, "b") << "removed sections come last, where they stood";
  EXPECT_EQ(diff_documents(before, after, std::string_view("d")).size(), 1u);
}

// Named fields (protocol/document.hpp): restored, diffed and exported like title and body.
TEST(History, NamedFieldsAreRestoredDiffedAndExported) {
  protocol::Document then;
  protocol::DocOp add;
  add.components.push_back(
      protocol::SectionAdd{"u", "V", "Unit 1", "Body", "unit", {{"outcomes", "Read a chart"}}});
  ASSERT_TRUE(protocol::apply(then, add).ok());
  protocol::Document now = then;
  protocol::TextOp t;
  t.skip(7).insert("bar ");
  protocol::DocOp edit;
  edit.components.push_back(protocol::SectionEdit{"u", *protocol::Field::named("outcomes"), t});
  ASSERT_TRUE(protocol::apply(now, edit).ok());
  ASSERT_EQ(now.find("u")->field("outcomes")->to_string(), "Read a bar chart");

  const auto d = diff_documents(then, now);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].change, SectionDiff::Change::changed);
  ASSERT_EQ(d[0].fields.size(), 1u);
  EXPECT_EQ(d[0].fields[0].first, "outcomes");
  EXPECT_EQ(side(d[0].fields[0].second, DiffRun::Kind::del), "Read a bar chart");

  auto op = make_restore_op(now, then, std::string_view("u"));
  ASSERT_TRUE(op.ok()) << op.error().message;
  protocol::Document restored = now;
  ASSERT_TRUE(protocol::apply(restored, *op).ok());
  EXPECT_EQ(restored, then);

  protocol::Document removed = now;
  protocol::DocOp remove;
  remove.components.push_back(protocol::SectionRemove{"u"});
  ASSERT_TRUE(protocol::apply(removed, remove).ok());
  op = make_restore_op(removed, then, std::nullopt);
  ASSERT_TRUE(op.ok());
  ASSERT_TRUE(protocol::apply(removed, *op).ok());
  EXPECT_EQ(removed.find("u")->field("outcomes")->to_string(), "Read a chart");

  // A unit's field under the label the course form gives it.
  EXPECT_NE(export_markdown(now, "T").find("### Learning outcomes assessed\n\nRead a bar chart\n"),
            std::string::npos);
  EXPECT_NE(
      export_html(now, "T").find("<h3>Learning outcomes assessed</h3>\n<p>Read a bar chart</p>"),
      std::string::npos);
  EXPECT_EQ(export_json(now, {1, "T", 0, 0}, 0, std::nullopt)["sections"][0]["fields"]["outcomes"],
            "Read a bar chart");
}

// A unit added since (or removed since) shows its named fields' text, not only title and body
// (found by the stored-XSS end-to-end test: a unit's credits were missing from the history's
// "what changed since").
TEST(History, AddedAndRemovedSectionsCarryTheirNamedFields) {
  protocol::Document before;
  protocol::Document after;
  protocol::DocOp add;
  add.components.push_back(
      protocol::SectionAdd{"u",
                           "V",
                           "Unit 1",
                           "",
                           "unit",
                           {{"ects", "2.5"}, {"outcomes", "LO1, LO2"}, {"assessment", ""}}});
  ASSERT_TRUE(protocol::apply(after, add).ok());

  const auto added = diff_documents(before, after);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].change, SectionDiff::Change::added);
  std::map<std::string, std::string> inserted;
  for (const auto& [name, runs] : added[0].fields) {
    for (const auto& r : runs) EXPECT_EQ(r.kind, DiffRun::Kind::insert) << name;
    inserted[name] = side(runs, DiffRun::Kind::del);  // the newer text
  }
  EXPECT_EQ(inserted,
            (std::map<std::string, std::string>{{"ects", "2.5"}, {"outcomes", "LO1, LO2"}}))
      << "an empty field has no run";

  const auto removed = diff_documents(after, before);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].change, SectionDiff::Change::removed);
  ASSERT_EQ(removed[0].fields.size(), 2u);
  for (const auto& [name, runs] : removed[0].fields) {
    EXPECT_EQ(side(runs, DiffRun::Kind::insert), after.find("u")->field(name)->to_string())
        << name << ": the older text";
    EXPECT_EQ(side(runs, DiffRun::Kind::del), "") << name << ": the newer text";
  }
}

TEST(HistoryExport, TheHtmlPageCarriesAStrictPolicyThatAllowsOnlyItsOwnStyle) {
  protocol::Document doc;
  ASSERT_TRUE(protocol::apply(doc, storage::testing::add_section("v", "V", "Vision", "Text")).ok());
  const auto html = export_html(doc, "Plan");
  const std::string policy(export_html_policy());
  // In the head, before anything a body could hold, so a copy opened from disk is covered.
  const auto meta = html.find("<meta http-equiv=\"Content-Security-Policy\" content=\"");
  ASSERT_NE(meta, std::string::npos) << html;
  EXPECT_LT(meta, html.find("<title>"));
  EXPECT_LT(html.find("</head>"), html.find("<body>"));
  const auto start = html.find("content=\"", meta) + 9;
  const std::string content = html.substr(start, html.find('"', start) - start);
  EXPECT_EQ(content, policy);
  EXPECT_EQ(policy.find_first_of("\"&<>"), std::string::npos) << policy;
  EXPECT_EQ(policy.rfind("default-src 'none'; style-src 'sha256-", 0), 0u) << policy;
  EXPECT_NE(policy.find("; base-uri 'none'; form-action 'none'"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe"), std::string::npos) << policy;
  // Exactly one inline style, and the policy's hash is that style's SHA-256.
  const auto open = html.find("<style>");
  ASSERT_NE(open, std::string::npos);
  EXPECT_EQ(html.find("<style", open + 1), std::string::npos);
  EXPECT_EQ(html.find(" style="), std::string::npos);
  const auto from = open + 7;
  const std::string style = html.substr(from, html.find("</style>", from) - from);
  ASSERT_GE(sodium_init(), 0);
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(style.data()), style.size());
  char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, hash, sizeof hash, sodium_base64_VARIANT_ORIGINAL);
  EXPECT_NE(policy.find("'sha256-" + std::string(b64) + "'"), std::string::npos) << policy;
}

TEST(HistoryExport, FieldsShowUnderTheirLabelsInTheFormsOrderAndPromptsAreLeftOut) {
  // A course document as the template makes it: a prose step still showing its prompt, one
  // written over it, the course's fields and a unit's (stored by name, alphabetically).
  protocol::Document doc;
  protocol::DocOp op;
  op.components.push_back(protocol::SectionAdd{
      "vision", "C", "Joint vision", "", "", {{"prompt", "Write the shared vision here."}}});
  op.components.push_back(protocol::SectionAdd{
      "team", "D", "Course team", "Ana leads.", "", {{"prompt", "Who teaches what?"}}});
  op.components.push_back(protocol::SectionAdd{"course",
                                               "E",
                                               "Course details",
                                               "",
                                               "course",
                                               {{"awarding_bodies", "Uni Graz"},
                                                {"course_title", "Data literacy"},
                                                {"ects", "5"},
                                                {"learner_id", ""},
                                                {"outcomes", "LO1: Read tables"},
                                                {"zz_note", "kept, by its name"}}});
  op.components.push_back(
      protocol::SectionAdd{"u1",
                           "F",
                           "Unit 1",
                           "",
                           "unit",
                           {{"assessment", "Quiz"}, {"ects", "2.5"}, {"outcomes", "LO1"}}});
  ASSERT_TRUE(protocol::apply(doc, op).ok());
  const auto md = export_markdown(doc, "Course");
  EXPECT_EQ(md,
            "# Course\n\n## Joint vision\n\n## Course team\n\nAna leads.\n\n"
            "## Course details\n\n### Title\n\nData literacy\n\n"
            "### Awarding institutions\n\nUni Graz\n\n### Workload (ECTS)\n\n5\n\n"
            "### Learning outcomes\n\nLO1: Read tables\n\n### zz_note\n\nkept, by its name\n\n"
            "## Unit 1\n\n### Workload (ECTS)\n\n2.5\n\n### Learning outcomes assessed\n\nLO1\n\n"
            "### Type of assessment\n\nQuiz\n");
  const auto html = export_html(doc, "Course");
  EXPECT_EQ(html.find("Write the shared vision"), std::string::npos) << html;
  EXPECT_EQ(html.find("prompt"), std::string::npos) << html;
  EXPECT_LT(html.find("<h3>Title</h3>\n<p>Data literacy</p>"),
            html.find("<h3>Awarding institutions</h3>"));
  EXPECT_NE(html.find("<h3>Type of assessment</h3>\n<p>Quiz</p>"), std::string::npos) << html;
}

TEST(HistoryExport, TheHtmlRendersGitHubMarkdownAsThePreviewDoesAndStaysSafe) {
  protocol::Document doc;
  ASSERT_TRUE(protocol::apply(doc, storage::testing::add_section(
                                       "a", "V", "Assessment",
                                       "| Unit | ECTS |\n| --- | ---: |\n| 1 | 2.5 |\n\n"
                                       "~~old~~ new, see https://example.org\n\n"
                                       "- [x] quiz\n- [ ] essay\n\n"
                                       "<script>alert(1)</script>\n\n"
                                       "| a |\n| - |\n| <img src=x onerror=alert(3)> |\n"))
                  .ok());
  const auto html = export_html(doc, "Course");
  EXPECT_NE(html.find("<table>"), std::string::npos) << html;
  EXPECT_NE(html.find("<th>Unit</th>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td align=\"right\">2.5</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<del>old</del>"), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"https://example.org\">"), std::string::npos) << html;
  EXPECT_NE(html.find("type=\"checkbox\""), std::string::npos) << html;
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("<img"), std::string::npos) << html;
  EXPECT_EQ(html.find("onerror"), std::string::npos) << html;
}

TEST(HistoryExport, TheThreeFormatsCarryTheSameText) {
  protocol::Document doc;
  ASSERT_TRUE(protocol::apply(doc, storage::testing::add_section(
                                       "v", "V", "Vision <b>bold</b>",
                                       "We *teach* data.\n\n<script>alert(1)</script>\n\n"
                                       "[x](javascript:alert(2)) \xC3\xA9t\xC3\xA9"))
                  .ok());
  ASSERT_TRUE(
      protocol::apply(doc, storage::testing::add_section("w", "W", "Workload", "5 ECTS")).ok());
  const auto md = export_markdown(doc, "Data & literacy");
  EXPECT_EQ(md,
            "# Data & literacy\n\n## Vision <b>bold</b>\n\nWe *teach* data.\n\n"
            "<script>alert(1)</script>\n\n[x](javascript:alert(2)) \xC3\xA9t\xC3\xA9\n\n"
            "## Workload\n\n5 ECTS\n");
  const auto html = export_html(doc, "Data & literacy");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>Data &amp; literacy</title>"), std::string::npos);
  EXPECT_NE(html.find("<h2>Vision &lt;b&gt;bold&lt;/b&gt;</h2>"), std::string::npos);
  EXPECT_NE(html.find("<p>We <em>teach</em> data.</p>"), std::string::npos);
  EXPECT_NE(html.find("<h2>Workload</h2>\n<p>5 ECTS</p>"), std::string::npos);
  EXPECT_NE(html.find("\xC3\xA9t\xC3\xA9"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_EQ(html.find("javascript:"), std::string::npos) << html;
  EXPECT_NE(html.find("</html>"), std::string::npos);
  storage::DocumentMeta meta{7, "Data & literacy", 1, 2};
  const auto j = export_json(doc, meta, 2, storage::NamedVersion{2, "final", "Ana", 9});
  EXPECT_EQ(j["document"]["title"], "Data & literacy");
  EXPECT_EQ(j["rev"], 2);
  EXPECT_EQ(j["version"]["name"], "final");
  ASSERT_EQ(j["sections"].size(), 2u);
  EXPECT_EQ(j["sections"][0]["title"], "Vision <b>bold</b>");
  EXPECT_EQ(j["sections"][1]["body"], "5 ECTS");
  EXPECT_EQ(*protocol::parse_document(j["snapshot"]), doc);
}

}  // namespace
}  // namespace jointly::server
