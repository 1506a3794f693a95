// Random histories for the history tests: several authors from several institutions add,
// remove, restore, move, lock and unlock sections and type and delete text in titles, bodies
// and named fields (some sections have `ects` and `outcomes`); the server clock advances unevenly
// and sometimes steps back. Also the naive recomputations the tests check the indexes against.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "protocol/document.hpp"
#include "protocol/utf8.hpp"
#include "storage/store.hpp"

namespace jointly::storage::testing {

struct Person {
  const char* author;
  const char* institution;
};
inline constexpr Person kPeople[] = {
    {"ana", "uni-graz"}, {"ben", "uni-graz"}, {"chloe", "tu-delft"}, {"dev", "ku-leuven"}};

class RandomHistory {
 public:
  explicit RandomHistory(std::uint64_t seed, std::int64_t start_ms = 1'700'000'000'000)
      : rng_(seed), time_ms_(start_ms) {}

  // The next revision's op (it applies to doc) and who made it when.
  std::pair<protocol::DocOp, RevisionInfo> next(const protocol::Document& doc) {
    // The same person keeps typing for a while, so that revisions group.
    if (pick(100) < 15) person_ = pick(4);
    RevisionInfo info;
    info.author = kPeople[person_].author;
    info.institution = kPeople[person_].institution;
    const int step = pick(100);
    if (step < 5) {
      time_ms_ -= 60'000;  // the clock steps back a minute
    } else if (step < 15) {
      time_ms_ += 10 * 60'000;  // a pause: a new group
    } else {
      time_ms_ += pick(20'000);
    }
    info.server_time_ms = time_ms_;
    info.client_id = "c" + std::to_string(person_);
    info.client_seq = ++seq_;
    return {op_for(doc), info};
  }

 private:
  protocol::DocOp op_for(const protocol::Document& doc) {
    protocol::DocOp op;
    auto live = doc.ordered();
    std::vector<const protocol::Section*> removed;
    for (const auto& [id, s] : doc.sections()) {
      if (s.removed) removed.push_back(&s);
    }
    const int dice = pick(100);
    if (live.empty() || (dice < 5 && live.size() < 8)) {
      const std::string last = live.empty() ? "" : live.back()->position;
      const int n = next_id_++;
      protocol::SectionAdd add{"s" + std::to_string(n), *protocol::position_between(last, ""),
                               "Title " + std::to_string(n), "Body \xC3\xA9 "};
      if (n % 2 == 0) add.fields = {{"ects", "5"}, {"outcomes", ""}};
      op.components.push_back(std::move(add));
      return op;
    }
    const protocol::Section& s = *live[pick(static_cast<int>(live.size()))];
    if (dice < 8 && !removed.empty()) {
      const auto* r = removed[pick(static_cast<int>(removed.size()))];
      protocol::SectionRestore restore{r->id, "Back", "restored text"};
      // Some of its named fields come back with text, the others (left out) empty.
      for (const auto& [name, text] : r->fields) {
        if (pick(2) == 0) restore.fields[name] = "back \xC3\xA9";
      }
      op.components.push_back(std::move(restore));
      return op;
    }
    if (s.locked) {
      op.components.push_back(protocol::SectionUnlock{s.id});
      return op;
    }
    if (dice < 11 && live.size() > 1) {
      op.components.push_back(protocol::SectionRemove{s.id});
      return op;
    }
    if (dice < 14) {
      op.components.push_back(
          protocol::SectionMove{s.id, *protocol::position_between("", live.front()->position)});
      return op;
    }
    if (dice < 16) {
      op.components.push_back(protocol::SectionLock{s.id});
      return op;
    }
    const int edits = pick(100) < 10 ? 2 : 1;
    std::map<std::string, std::size_t> lengths{{"title", s.title.size()}, {"body", s.body.size()}};
    for (const auto& [name, text] : s.fields) lengths[name] = text.size();
    for (int e = 0; e < edits; ++e) {
      const int where = pick(100);
      protocol::Field field = protocol::Field::body;
      if (where < 15) {
        field = protocol::Field::title;
      } else if (where < 40 && !s.fields.empty()) {
        auto f = s.fields.begin();
        std::advance(f, pick(static_cast<int>(s.fields.size())));
        field = *protocol::Field::named(f->first);
      }
      std::size_t& len = lengths[std::string(field.name())];
      protocol::TextOp t;
      if (len > 0 && pick(100) < 35) {
        const std::size_t pos = pick(static_cast<int>(len));
        const std::size_t n = 1 + pick(static_cast<int>(std::min<std::size_t>(len - pos, 6)));
        t.skip(pos).del(n);
        len -= n;
      } else {
        static const char* const kWords[] = {
            "a", "learning ", "ECTS ", "\xC3\xA9", "\xF0\x9F\x8E\x93", "outcome", " "};
        const std::string w = kWords[pick(7)];
        t.skip(pick(static_cast<int>(len) + 1)).insert(w);
        len += protocol::utf8::count(w);
      }
      op.components.push_back(protocol::SectionEdit{s.id, field, t});
    }
    return op;
  }

  std::size_t pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::mt19937_64 rng_;
  std::int64_t time_ms_;
  std::uint64_t seq_ = 0;
  int person_ = 0;
  int next_id_ = 1;
};

// Appends n random revisions to document id of store (whose log ends at `doc`'s revision
// `rev`); returns every revision appended, in order, and leaves doc and rev at the end.
inline std::vector<std::pair<protocol::DocOp, RevisionInfo>> append_random(
    Store& store, DocumentId id, protocol::Document& doc, std::uint64_t& rev, RandomHistory& h,
    int n) {
  std::vector<std::pair<protocol::DocOp, RevisionInfo>> out;
  for (int i = 0; i < n; ++i) {
    auto [op, info] = h.next(doc);
    if (!protocol::apply(doc, op).ok()) std::abort();
    ++rev;
    info.sections = protocol::sections_touched(op);
    if (!store.append(id, rev, op, info, doc).ok()) std::abort();
    out.emplace_back(std::move(op), std::move(info));
  }
  return out;
}

// Naive blame: the revision that wrote each code point of a section's title, body and named
// fields, by replaying every revision from the first. ops[i] is revision i + 1.
struct NaiveBlame {
  bool live = false;
  std::vector<std::uint64_t> title, body;
  std::map<std::string, std::vector<std::uint64_t>> fields;  // every field the section has
};

inline void naive_text(std::vector<std::uint64_t>& chars, const protocol::TextOp& op,
                       std::uint64_t rev) {
  std::vector<std::uint64_t> out;
  std::size_t at = 0;
  for (const auto& c : op.components()) {
    if (c.kind == protocol::TextComponent::Kind::skip) {
      for (std::size_t k = 0; k < c.n; ++k) out.push_back(chars.at(at++));
    } else if (c.kind == protocol::TextComponent::Kind::insert) {
      out.insert(out.end(), c.n, rev);
    } else {
      at += c.n;
    }
  }
  while (at < chars.size()) out.push_back(chars[at++]);
  chars = std::move(out);
}

inline NaiveBlame naive_blame(const std::vector<std::pair<protocol::DocOp, RevisionInfo>>& ops,
                              const std::string& section, std::uint64_t rev) {
  NaiveBlame b;
  for (std::uint64_t r = 1; r <= rev; ++r) {
    for (const auto& c : ops[r - 1].first.components) {
      if (protocol::section_of(c) != section) continue;
      auto written = [r](const std::string& text) {
        return std::vector<std::uint64_t>(protocol::utf8::count(text), r);
      };
      if (const auto* e = std::get_if<protocol::SectionEdit>(&c)) {
        if (!b.live) continue;
        if (e->field == protocol::Field::title) {
          naive_text(b.title, e->op, r);
        } else if (e->field == protocol::Field::body) {
          naive_text(b.body, e->op, r);
        } else {
          naive_text(b.fields[std::string(e->field.name())], e->op, r);
        }
      } else if (const auto* a = std::get_if<protocol::SectionAdd>(&c)) {
        b = NaiveBlame{true, written(a->title), written(a->body), {}};
        for (const auto& [name, text] : a->fields) b.fields[name] = written(text);
      } else if (const auto* s = std::get_if<protocol::SectionRestore>(&c)) {
        b.live = true;
        b.title = written(s->title);
        b.body = written(s->body);
        for (auto& [name, chars] : b.fields) {
          const auto text = s->fields.find(name);  // left out: back empty
          chars = text == s->fields.end() ? std::vector<std::uint64_t>{} : written(text->second);
        }
      } else if (std::holds_alternative<protocol::SectionRemove>(c)) {
        b.live = false;
        b.title.clear();
        b.body.clear();
        for (auto& [name, chars] : b.fields) chars.clear();
      }
    }
  }
  return b;
}

}  // namespace jointly::storage::testing
