// Document operations for storage tests: a few named builders, and RandomEditor, which makes a
// random valid DocOp for a document (sections added, text typed and deleted, sections locked
// and unlocked), the way a course team edits.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>

#include "protocol/document.hpp"

namespace jointly::storage::testing {

inline protocol::DocOp add_section(std::string id, std::string position, std::string title,
                                   std::string body = "") {
  protocol::DocOp op;
  op.components.push_back(
      protocol::SectionAdd{std::move(id), std::move(position), std::move(title), std::move(body)});
  return op;
}

inline protocol::DocOp insert_text(std::string section, std::size_t pos, std::string_view text) {
  protocol::DocOp op;
  protocol::TextOp t;
  t.skip(pos).insert(text);
  op.components.push_back(protocol::SectionEdit{std::move(section), protocol::Field::body, t});
  return op;
}

inline protocol::DocOp delete_text(std::string section, std::size_t pos, std::size_t n) {
  protocol::DocOp op;
  protocol::TextOp t;
  t.skip(pos).del(n);
  op.components.push_back(protocol::SectionEdit{std::move(section), protocol::Field::body, t});
  return op;
}

class RandomEditor {
 public:
  explicit RandomEditor(std::uint64_t seed) : rng_(seed) {}

  // A random op that applies to doc.
  protocol::DocOp next(const protocol::Document& doc) {
    auto live = doc.ordered();
    const int dice = pick(100);
    if (live.empty() || (dice < 3 && live.size() < 12)) {
      std::string last = live.empty() ? "" : live.back()->position;
      auto pos = protocol::position_between(last, "");
      const int n = next_id_++;
      return add_section("s" + std::to_string(n), pos.ok() ? *pos : "V",
                         "Section " + std::to_string(n), "");
    }
    const protocol::Section& s = *live[pick(static_cast<int>(live.size()))];
    protocol::DocOp op;
    if (dice < 6) {
      if (s.locked) {
        op.components.push_back(protocol::SectionUnlock{s.id});
      } else {
        op.components.push_back(protocol::SectionLock{s.id});
      }
      return op;
    }
    if (s.locked) {
      op.components.push_back(protocol::SectionUnlock{s.id});
      return op;
    }
    const std::size_t len = s.body.size();
    if (len > 0 && dice < 30) {
      const std::size_t pos = pick(static_cast<int>(len));
      return delete_text(s.id, pos,
                         1 + pick(static_cast<int>(std::min<std::size_t>(len - pos, 5))));
    }
    static const char* const kWords[] = {
        "a", "learning ", "ECTS ", "\xC3\xA9", "\xF0\x9F\x8E\x93", "outcome", " "};
    return insert_text(s.id, pick(static_cast<int>(len) + 1), kWords[pick(7)]);
  }

 private:
  std::size_t pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::mt19937_64 rng_;
  int next_id_ = 1;
};

}  // namespace jointly::storage::testing
