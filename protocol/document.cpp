// The document model and document operations: see protocol/document.hpp for the API and
// "## Document operations" in protocol/PROTOCOL.md for the rules.
//
// apply() validates the whole op first against a light overlay (what each touched section looks
// like part-way through the op: exists, removed, locked, field lengths), then mutates; the
// document is never copied. transform() works on pairs of components (a component rewritten past
// another yields zero, one or two components) and extends that to lists with the usual grid.
#include "protocol/document.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "protocol/rope.hpp"
#include "protocol/utf8.hpp"

namespace jointly::protocol {

// The one place allowed to change a Document's sections (leveldb's WriteBatchInternal pattern).
class DocumentInternal {
 public:
  static std::map<std::string, Section, std::less<>>& sections(Document& d) { return d.sections_; }
};

namespace {

using json = nlohmann::json;
using SectionMap = std::map<std::string, Section, std::less<>>;

constexpr std::string_view kDigits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr int kBase = 62;
constexpr std::int64_t kMaxTime = std::int64_t{1} << 53;

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  if (c >= 'a' && c <= 'z') return c - 'a' + 36;
  return -1;
}

std::string num(std::size_t n) { return std::to_string(n); }

// A validated id or key, quoted for a message. Only ever called on strings that passed
// check_section_id / check_position (so they are plain ASCII and safe to echo).
std::string q(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

bool is_blank(const Rope& r) {
  if (r.empty()) return true;
  const std::string text = r.to_string();
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Identifiers

Status check_name(std::string_view s, const char* what) {
  if (s.empty()) return make_error("invalid_op", std::string(what) + " is empty");
  if (s.size() > kMaxNameLength) {
    return make_error("invalid_op", std::string(what) + " of " + num(s.size()) +
                                        " bytes is longer than " + num(kMaxNameLength));
  }
  if (Status st = utf8::validate(s); !st.ok()) {
    return make_error("invalid_utf8", std::string(what) + ": " + st.error().message);
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      return make_error("invalid_op",
                        std::string(what) + " has a control character at byte " + num(i));
    }
  }
  return Status::Ok();
}

Status check_text_hash(std::string_view s) {
  if (s.empty()) return make_error("invalid_op", "text hash is empty");
  if (s.size() > kMaxTextHashLength) {
    return make_error("invalid_op", "text hash of " + num(s.size()) +
                                        " characters is longer than " + num(kMaxTextHashLength));
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = digit_value(c) >= 0 || c == '_' || c == ':' || c == '+' || c == '/' ||
                    c == '=' || c == '.' || c == '-';
    if (!ok) {
      return make_error("invalid_op",
                        "text hash has a character outside [A-Za-z0-9_:+/=.-] at " + num(i));
    }
  }
  return Status::Ok();
}

Status check_time(std::int64_t t) {
  if (t < 0 || t > kMaxTime) {
    return make_error("invalid_op",
                      "time " + std::to_string(t) + " is outside 0..2^53 milliseconds");
  }
  return Status::Ok();
}

Status check_approval(std::string_view institution, const Approval& a) {
  if (Status st = check_name(institution, "institution"); !st.ok()) return st;
  if (Status st = check_name(a.user, "user"); !st.ok()) return st;
  if (Status st = check_time(a.time_ms); !st.ok()) return st;
  return check_text_hash(a.text_hash);
}

// ---------------------------------------------------------------------------------------------
// Position keys

// Greenspan's fractional-indexing midpoint over base-62 digits: a key strictly between a and b
// (b nullopt = 1). REQUIRES: a < b, neither ends in '0' (a may be "" = 0).
std::string midpoint(std::string_view a, std::optional<std::string_view> b) {
  if (b) {
    std::size_t n = 0;
    while ((n < a.size() ? a[n] : '0') == (*b)[n]) ++n;
    if (n > 0) {
      return std::string(b->substr(0, n)) + midpoint(a.substr(std::min(n, a.size())), b->substr(n));
    }
  }
  const int da = a.empty() ? 0 : digit_value(a[0]);
  const int db = b ? digit_value((*b)[0]) : kBase;
  if (db - da > 1) return std::string(1, kDigits[(da + db + 1) / 2]);
  if (b && b->size() > 1) return std::string(b->substr(0, 1));
  return std::string(1, kDigits[da]) + midpoint(a.empty() ? a : a.substr(1), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// JSON reading helpers (messages say where: "component 2 (\"edit\")", "section 3")

// A whole number in 0..2^53 (3.0 counts: JSON has one number type).
std::optional<std::int64_t> read_time(const json& j) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(kMaxTime)) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v < 0 || v > kMaxTime) return std::nullopt;
    return v;
  }
  if (j.is_number_float()) {
    const double d = j.get<double>();
    if (!(d >= 0) || d > static_cast<double>(kMaxTime) || std::floor(d) != d) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

// Reads j[key] as a UTF-8 string into out. Missing: out = fallback when optional, else error.
Status read_string(const json& j, const char* key, std::string& out, bool optional,
                   const std::string& where, const char* bad_code) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (optional) {
      out.clear();
      return Status::Ok();
    }
    return make_error(bad_code, where + ": \"" + key + "\" is missing");
  }
  if (!it->is_string()) {
    return make_error(bad_code, where + ": \"" + key + "\" is not a string");
  }
  const auto& s = it->get_ref<const std::string&>();
  if (Status st = utf8::validate(s); !st.ok()) {
    return make_error("invalid_utf8", where + ": \"" + key + "\": " + st.error().message);
  }
  out = s;
  return Status::Ok();
}

Status prefixed(const Status& st, const std::string& where, const char* code = nullptr) {
  if (st.ok()) return st;
  return make_error(code ? code : st.error().code, where + ": " + st.error().message);
}

// ---------------------------------------------------------------------------------------------
// Validation overlay for apply/check

// What a section looks like part-way through an op. Trivially copyable: the named fields'
// lengths live in the overlay, so a section without them costs nothing extra.
struct Pending {
  std::string_view id;
  bool exists = false;
  bool removed = false;
  bool locked = false;
  bool text_changed = false;  // by an earlier component of this op (lock then replays them)
  std::size_t title_len = 0;
  std::size_t body_len = 0;
  std::uint32_t named_at = 0;  // its named fields: Overlay's named_[named_at, named_at + named_n)
  std::uint32_t named_n = 0;
};

using NamedLength = std::pair<std::string_view, std::size_t>;

class Overlay {
 public:
  explicit Overlay(const Document& doc) : doc_(doc) {}

  Pending& get(std::string_view id) {
    for (auto& p : pending_) {
      if (p.id == id) return p;
    }
    Pending p;
    p.id = id;
    if (const Section* s = doc_.find(id)) {
      p.exists = true;
      p.removed = s->removed;
      p.locked = s->locked;
      p.title_len = s->title.size();
      p.body_len = s->body.size();
      if (!s->fields.empty()) {
        p.named_at = static_cast<std::uint32_t>(named_.size());
        p.named_n = static_cast<std::uint32_t>(s->fields.size());
        for (const auto& [name, text] : s->fields) named_.emplace_back(name, text.size());
      }
    }
    pending_.push_back(p);
    return pending_.back();
  }

  // The named fields of p and their lengths (few: a linear scan).
  std::span<NamedLength> named(const Pending& p) {
    return std::span<NamedLength>(named_).subspan(p.named_at, p.named_n);
  }
  // Gives p the named fields of an add.
  void set_named(Pending& p, const FieldTexts& fields) {
    p.named_at = static_cast<std::uint32_t>(named_.size());
    p.named_n = static_cast<std::uint32_t>(fields.size());
    for (const auto& [name, text] : fields) named_.emplace_back(name, utf8::count(text));
  }
  // The length of field f of p, or nullptr when the section has no such field.
  std::size_t* len(Pending& p, const Field& f) {
    if (f.kind() == Field::Kind::title) return &p.title_len;
    if (f.kind() == Field::Kind::body) return &p.body_len;
    for (auto& [name, n] : named(p)) {
      if (name == f.name()) return &n;
    }
    return nullptr;
  }
  bool has_field(const Pending& p, std::string_view name) {
    for (const auto& [n, len] : named(p)) {
      if (n == name) return true;
    }
    return false;
  }

 private:
  const Document& doc_;
  std::vector<Pending> pending_;  // ops touch few sections: a linear scan beats a map
  std::vector<NamedLength> named_;
};

std::string where_component(std::size_t i, const char* kind, std::string_view section) {
  return "component " + num(i) + " (" + kind + " of section " + q(section) + ")";
}

// Where a component is, for a message; built only when there is an error to report.
struct Where {
  std::size_t i;
  const char* kind;
  std::string_view section;
  std::string_view field{};  // edits: "title", "body" or the field's name

  std::string str() const {
    std::string s = where_component(i, kind, section);
    if (!field.empty()) s.append(", ").append(field).append(" field");
    return s;
  }
};

Error unknown_section(const std::string& where) {
  return make_error("unknown_section", where + ": no such section in the document");
}
Error section_removed(const std::string& where) {
  return make_error("section_removed", where + ": the section is removed");
}
Error section_locked(const std::string& where) {
  return make_error("section_locked", where + ": the section is locked");
}
Error section_not_locked(const std::string& where) {
  return make_error("section_not_locked", where + ": the section is not locked");
}
Error unknown_field(const std::string& where, std::string_view name) {
  return make_error("unknown_field",
                    where + ": the section has no field \"" + std::string(name) + "\"");
}

// Named fields of an add or restore: valid names (not title or body), at most kMaxFields, UTF-8.
Status check_field_texts(const FieldTexts& fields, const std::string& where) {
  if (fields.size() > kMaxFields) {
    return make_error("invalid_op", where + ": " + num(fields.size()) +
                                        " named fields; a section has at most " + num(kMaxFields));
  }
  for (const auto& [name, text] : fields) {
    if (Status st = check_field_name(name); !st.ok()) return prefixed(st, where);
    if (name == "title" || name == "body") {
      return make_error("invalid_op", where + ": \"" + name +
                                          "\" is not a named field; give it as \"" + name + "\"");
    }
    if (Status st = utf8::validate(text); !st.ok()) {
      return prefixed(st, where + ", field \"" + name + "\"");
    }
  }
  return Status::Ok();
}

Status mutate(SectionMap& sections, const DocComponent& c);

// Whether the section named by op.components[i] is incomplete just before component i: from the
// document when no earlier component changed its text, else by replaying those components on a
// copy of it (they were validated already).
bool incomplete_at(const Document& doc, const DocOp& op, std::size_t i, const Pending& p) {
  const std::string& id = section_of(op.components[i]);
  if (!p.text_changed) {
    const Section* s = doc.find(id);
    return s && s->incomplete();
  }
  SectionMap scratch;
  if (const Section* s = doc.find(id)) scratch.emplace(id, *s);
  for (std::size_t j = 0; j < i; ++j) {
    if (section_of(op.components[j]) == id) (void)mutate(scratch, op.components[j]);
  }
  auto it = scratch.find(id);
  return it != scratch.end() && it->second.incomplete();
}

// Validates one component (op.components[i]) against the overlay and records its effect there.
Status validate_component(const Document& doc, Overlay& overlay, const DocOp& op, std::size_t i) {
  const DocComponent& c = op.components[i];
  const std::string& id = section_of(c);
  if (Status st = check_section_id(id); !st.ok()) {
    return prefixed(st, "component " + num(i));
  }
  Pending& p = overlay.get(id);
  return std::visit(
      [&](const auto& x) -> Status {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, SectionEdit>) {
          const Where w{i, "edit", id, x.field.name()};
          if (!p.exists) return unknown_section(w.str());
          std::size_t* len = overlay.len(p, x.field);
          if (!len) return unknown_field(where_component(i, "edit", id), x.field.name());
          if (p.removed || x.op.empty()) return Status::Ok();  // dropped / no-op
          if (p.locked) return section_locked(w.str());
          if (Status st = check(x.op, *len); !st.ok()) return prefixed(st, w.str());
          *len = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(*len) + x.op.length_delta());
          p.text_changed = true;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SectionAdd>) {
          const Where w{i, "add", id};
          if (Status st = check_position(x.position); !st.ok()) return prefixed(st, w.str());
          if (Status st = utf8::validate(x.title); !st.ok()) {
            return prefixed(st, w.str() + ", title");
          }
          if (Status st = utf8::validate(x.body); !st.ok()) return prefixed(st, w.str() + ", body");
          if (!x.kind.empty()) {
            if (Status st = check_field_name(x.kind, "kind"); !st.ok()) {
              return prefixed(st, w.str());
            }
          }
          if (Status st = check_field_texts(x.fields, w.str()); !st.ok()) return st;
          if (p.exists) {
            return make_error("section_exists", w.str() + ": the document already has a section " +
                                                    q(id) + (p.removed ? " (removed)" : ""));
          }
          p.exists = true;
          p.removed = p.locked = false;
          p.text_changed = true;
          p.title_len = utf8::count(x.title);
          p.body_len = utf8::count(x.body);
          overlay.set_named(p, x.fields);
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SectionRemove>) {
          const Where w{i, "remove", id};
          if (!p.exists) return unknown_section(w.str());
          if (p.removed) {
            return make_error("section_removed", w.str() + ": the section is already removed");
          }
          if (p.locked) return section_locked(w.str());
          p.removed = true;
          p.text_changed = true;
          p.title_len = p.body_len = 0;
          for (auto& f : overlay.named(p)) f.second = 0;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SectionRestore>) {
          const Where w{i, "restore", id};
          if (Status st = utf8::validate(x.title); !st.ok()) {
            return prefixed(st, w.str() + ", title");
          }
          if (Status st = utf8::validate(x.body); !st.ok()) return prefixed(st, w.str() + ", body");
          if (Status st = check_field_texts(x.fields, w.str()); !st.ok()) return st;
          if (!p.exists) return unknown_section(w.str());
          for (const auto& [name, text] : x.fields) {
            if (!overlay.has_field(p, name)) return unknown_field(w.str(), name);
          }
          if (!p.removed) {
            return make_error("section_not_removed", w.str() + ": the section is not removed");
          }
          p.removed = false;
          p.text_changed = true;
          p.title_len = utf8::count(x.title);
          p.body_len = utf8::count(x.body);
          for (auto& [name, len] : overlay.named(p)) {
            auto it = x.fields.find(name);
            len = it == x.fields.end() ? 0 : utf8::count(it->second);
          }
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SectionMove>) {
          const Where w{i, "move", id};
          if (Status st = check_position(x.position); !st.ok()) return prefixed(st, w.str());
          if (!p.exists) return unknown_section(w.str());
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SectionLock>) {
          const Where w{i, "lock", id};
          if (!p.exists) return unknown_section(w.str());
          if (p.removed) return section_removed(w.str());
          if (p.locked) {
            return make_error("section_locked", w.str() + ": the section is already locked");
          }
          if (incomplete_at(doc, op, i, p)) {
            return make_error("section_incomplete",
                              w.str() +
                                  ": the section's text is still to be written (its body "
                                  "is empty and it has a prompt)");
          }
          p.locked = true;
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SectionUnlock>) {
          const Where w{i, "unlock", id};
          if (!p.exists) return unknown_section(w.str());
          if (p.removed) return section_removed(w.str());
          if (!p.locked) return section_not_locked(w.str());
          p.locked = false;
          return Status::Ok();
        } else {
          static_assert(std::is_same_v<T, SectionApprove>);
          const Where w{i, "approve", id};
          if (Status st = check_approval(x.institution, x.approval); !st.ok()) {
            return prefixed(st, w.str());
          }
          if (!p.exists) return unknown_section(w.str());
          if (p.removed) return section_removed(w.str());
          if (!p.locked) return section_not_locked(w.str());
          return Status::Ok();
        }
      },
      c);
}

Status validate(const Document& doc, const DocOp& op) {
  Overlay overlay(doc);
  for (std::size_t i = 0; i < op.components.size(); ++i) {
    if (Status st = validate_component(doc, overlay, op, i); !st.ok()) return st;
  }
  return Status::Ok();
}

// Applies one component that validate() accepted. The only failure left is a text core that
// disagrees with its own check(), reported rather than hidden.
Status mutate(SectionMap& sections, const DocComponent& c) {
  return std::visit(
      [&](const auto& x) -> Status {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, SectionAdd>) {
          Section s;
          s.id = x.section;
          s.position = x.position;
          s.kind = x.kind;
          s.title = Rope(x.title);
          s.body = Rope(x.body);
          for (const auto& [name, text] : x.fields) s.fields.emplace(name, Rope(text));
          sections.emplace(x.section, std::move(s));
          return Status::Ok();
        } else {
          Section& s = sections.find(x.section)->second;
          if constexpr (std::is_same_v<T, SectionEdit>) {
            if (s.removed || x.op.empty()) return Status::Ok();
            switch (x.field.kind()) {
              case Field::Kind::title:
                return apply(s.title, x.op);
              case Field::Kind::body:
                return apply(s.body, x.op);
              case Field::Kind::named:
                break;
            }
            return apply(s.fields.find(x.field.name())->second, x.op);
          } else if constexpr (std::is_same_v<T, SectionRemove>) {
            s.removed = true;
            s.title = Rope();
            s.body = Rope();
            for (auto& [name, text] : s.fields) text = Rope();
          } else if constexpr (std::is_same_v<T, SectionRestore>) {
            s.removed = false;
            s.title = Rope(x.title);
            s.body = Rope(x.body);
            for (auto& [name, text] : s.fields) {
              auto it = x.fields.find(name);
              text = it == x.fields.end() ? Rope() : Rope(it->second);
            }
          } else if constexpr (std::is_same_v<T, SectionMove>) {
            s.position = x.position;
          } else if constexpr (std::is_same_v<T, SectionLock>) {
            s.locked = true;
          } else if constexpr (std::is_same_v<T, SectionUnlock>) {
            s.locked = false;
            s.approvals.clear();
          } else {
            s.approvals.insert_or_assign(x.institution, x.approval);
          }
          return Status::Ok();
        }
      },
      c);
}

// ---------------------------------------------------------------------------------------------
// Transform

Side other(Side s) { return s == Side::left ? Side::right : Side::left; }

// An edit that replaces `from` with `to` (deletes carry their text, so it inverts).
std::optional<SectionEdit> replacement(const std::string& section, const Field& field,
                                       const std::string& from, const std::string& to) {
  if (from == to) return std::nullopt;
  SectionEdit e;
  e.section = section;
  e.field = field;
  e.op.del_text(from, utf8::count(from));
  e.op.insert(to);
  return e;
}

// Appends to out the component x rewritten to apply after y (y and x apply to the same state).
void transform_component(const DocComponent& x, const DocComponent& y, Side side,
                         std::vector<DocComponent>& out) {
  if (section_of(x) != section_of(y)) {
    out.push_back(x);
    return;
  }
  const bool left = side == Side::left;
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, SectionEdit>) {
          if (std::holds_alternative<SectionRemove>(y) ||
              std::holds_alternative<SectionRestore>(y)) {
            return;  // the section's text is gone, or was restored over an edit that was a no-op
          }
          if (const auto* b = std::get_if<SectionEdit>(&y); b && b->field == a.field) {
            SectionEdit e{a.section, a.field, transform(a.op, b->op, side)};
            if (!e.op.empty()) out.push_back(std::move(e));
            return;
          }
          out.push_back(a);
        } else if constexpr (std::is_same_v<A, SectionRemove>) {
          if (!std::holds_alternative<SectionRemove>(y)) out.push_back(a);
        } else if constexpr (std::is_same_v<A, SectionRestore>) {
          if (const auto* b = std::get_if<SectionRestore>(&y)) {
            if (!left) return;
            // Both restored the section: the left side's text wins over what y restored.
            if (auto e = replacement(a.section, Field::title, b->title, a.title)) {
              out.push_back(std::move(*e));
            }
            if (auto e = replacement(a.section, Field::body, b->body, a.body)) {
              out.push_back(std::move(*e));
            }
            // Named fields, in name order; a field one restore leaves out comes back empty.
            FieldTexts names = a.fields;
            names.insert(b->fields.begin(), b->fields.end());
            static const std::string kEmpty;
            for (const auto& [name, unused] : names) {
              auto from = b->fields.find(name);
              auto to = a.fields.find(name);
              auto field = Field::named(name);  // validated by parse or apply before
              if (!field.ok()) continue;
              if (auto e = replacement(a.section, *field,
                                       from == b->fields.end() ? kEmpty : from->second,
                                       to == a.fields.end() ? kEmpty : to->second)) {
                out.push_back(std::move(*e));
              }
            }
            return;
          }
          out.push_back(a);
        } else if constexpr (std::is_same_v<A, SectionMove>) {
          if (!std::holds_alternative<SectionMove>(y) || left) out.push_back(a);
        } else if constexpr (std::is_same_v<A, SectionLock>) {
          if (std::holds_alternative<SectionLock>(y)) return;
          if (std::holds_alternative<SectionUnlock>(y) && !left) return;
          out.push_back(a);
        } else if constexpr (std::is_same_v<A, SectionUnlock>) {
          if (std::holds_alternative<SectionUnlock>(y)) return;
          if (std::holds_alternative<SectionLock>(y) && !left) return;
          out.push_back(a);
        } else if constexpr (std::is_same_v<A, SectionApprove>) {
          if (std::holds_alternative<SectionUnlock>(y)) return;  // it approved the locked state
          if (const auto* b = std::get_if<SectionApprove>(&y);
              b && b->institution == a.institution && !left) {
            return;
          }
          out.push_back(a);
        } else {
          static_assert(std::is_same_v<A, SectionAdd>);
          out.push_back(a);  // add vs add of one id: apply rejects the later (section_exists)
        }
      },
      x);
}

using Span = std::vector<DocComponent>;

// The grid: (a after b, b after a) for component lists applying to the same state.
std::pair<Span, Span> transform_lists(Span a, Span b, Side side) {
  if (a.empty() || b.empty()) return {std::move(a), std::move(b)};
  if (a.size() == 1 && b.size() == 1) {
    Span a2, b2;
    transform_component(a[0], b[0], side, a2);
    transform_component(b[0], a[0], other(side), b2);
    return {std::move(a2), std::move(b2)};
  }
  if (a.size() > 1) {
    // a = [a0, rest]: a0 past b, then rest past (b past a0).
    Span rest(std::make_move_iterator(a.begin() + 1), std::make_move_iterator(a.end()));
    a.resize(1);
    auto [a0, b1] = transform_lists(std::move(a), std::move(b), side);
    auto [rest2, b2] = transform_lists(std::move(rest), std::move(b1), side);
    a0.insert(a0.end(), std::make_move_iterator(rest2.begin()),
              std::make_move_iterator(rest2.end()));
    return {std::move(a0), std::move(b2)};
  }
  // a is one component, b = [b0, rest].
  Span rest(std::make_move_iterator(b.begin() + 1), std::make_move_iterator(b.end()));
  b.resize(1);
  auto [a1, b0] = transform_lists(std::move(a), std::move(b), side);
  auto [a2, rest2] = transform_lists(std::move(a1), std::move(rest), side);
  b0.insert(b0.end(), std::make_move_iterator(rest2.begin()), std::make_move_iterator(rest2.end()));
  return {std::move(a2), std::move(b0)};
}

// ---------------------------------------------------------------------------------------------
// Parsing DocOps

struct KindKey {
  const char* key;
  const char* allowed[5];  // the other keys this kind takes (nullptr-padded)
};

const KindKey kKinds[] = {
    {"edit", {"f", "op"}}, {"add", {"pos", "title", "body", "kind", "fields"}},
    {"remove", {}},        {"restore", {"title", "body", "fields"}},
    {"move", {"pos"}},     {"lock", {}},
    {"unlock", {}},        {"approve", {"inst", "user", "time", "hash"}},
};

// Reads j["fields"] (optional) as named fields' texts: an object of field name -> text.
Status read_fields(const json& j, FieldTexts& out, const std::string& where, const char* bad_code) {
  auto it = j.find("fields");
  if (it == j.end()) return Status::Ok();
  if (!it->is_object()) {
    return make_error(bad_code, where + ": \"fields\" is not an object");
  }
  if (it->size() > kMaxFields) {
    return make_error(bad_code, where + ": " + num(it->size()) +
                                    " named fields; a section has at most " + num(kMaxFields));
  }
  for (const auto& [name, value] : it->items()) {
    if (Status st = check_field_name(name); !st.ok()) return prefixed(st, where, bad_code);
    if (name == "title" || name == "body") {
      return make_error(bad_code, where + ": \"" + name + "\" is not a named field");
    }
    if (!value.is_string()) {
      return make_error(bad_code, where + ": field \"" + name + "\" is not a string");
    }
    const auto& text = value.get_ref<const std::string&>();
    if (Status st = utf8::validate(text); !st.ok()) {
      return prefixed(st, where + ", field \"" + name + "\"");
    }
    out.emplace(name, text);
  }
  return Status::Ok();
}

Result<DocComponent> parse_component(const json& j, std::size_t i) {
  const std::string at = "component " + num(i);
  if (!j.is_object()) return make_error("invalid_op", at + " is not an object");
  const KindKey* kind = nullptr;
  for (const auto& k : kKinds) {
    if (j.contains(k.key)) {
      if (kind) {
        return make_error("invalid_op", at + " has both \"" + kind->key + "\" and \"" + k.key +
                                            "\"; a component does one thing");
      }
      kind = &k;
    }
  }
  if (!kind) {
    return make_error("invalid_op", at + " names no kind (edit, add, remove, restore, move, "
                                         "lock, unlock, approve)");
  }
  for (const auto& [key, value] : j.items()) {
    if (key == kind->key) continue;
    bool ok = false;
    for (const char* a : kind->allowed) ok = ok || (a && key == a);
    if (!ok) {
      // key is from the sender: echo it only when it is valid UTF-8.
      const bool printable = utf8::validate(key).ok() && key.size() <= 64;
      return make_error("invalid_op", at + " (\"" + kind->key + "\") has an unknown key" +
                                          (printable ? " \"" + key + "\"" : std::string()));
    }
  }
  const json& idj = j[kind->key];
  if (!idj.is_string()) {
    return make_error("invalid_op", at + ": \"" + kind->key + "\" must be a section id string");
  }
  const std::string& id = idj.get_ref<const std::string&>();
  if (Status st = check_section_id(id); !st.ok()) return prefixed(st, at).error();
  const std::string w = where_component(i, kind->key, id);
  const std::string_view k = kind->key;

  auto position = [&](std::string& out) -> Status {
    if (Status st = read_string(j, "pos", out, false, w, "invalid_op"); !st.ok()) return st;
    return prefixed(check_position(out), w);
  };
  auto texts = [&](std::string& title, std::string& body) -> Status {
    if (Status st = read_string(j, "title", title, true, w, "invalid_op"); !st.ok()) return st;
    return read_string(j, "body", body, true, w, "invalid_op");
  };

  if (k == "edit") {
    SectionEdit e;
    e.section = id;
    auto f = j.find("f");
    if (f == j.end() || !f->is_string()) {
      return make_error("invalid_op",
                        w + ": \"f\" must be \"title\", \"body\" or a field name string");
    }
    auto field = Field::named(f->get_ref<const std::string&>());
    if (!field.ok()) return prefixed(field.error(), w + ": \"f\"").error();
    e.field = std::move(field).value();
    auto op = j.find("op");
    if (op == j.end()) return make_error("invalid_op", w + ": \"op\" is missing");
    auto text = parse_text_op(*op);
    if (!text.ok()) return make_error(text.error().code, w + ": " + text.error().message);
    e.op = std::move(text).value();
    return DocComponent(std::move(e));
  }
  if (k == "add") {
    SectionAdd a;
    a.section = id;
    if (Status st = position(a.position); !st.ok()) return st.error();
    if (Status st = texts(a.title, a.body); !st.ok()) return st.error();
    if (auto kind = j.find("kind"); kind != j.end()) {
      if (!kind->is_string()) return make_error("invalid_op", w + ": \"kind\" is not a string");
      a.kind = kind->get<std::string>();
      if (Status st = check_field_name(a.kind, "kind"); !st.ok()) return prefixed(st, w).error();
    }
    if (Status st = read_fields(j, a.fields, w, "invalid_op"); !st.ok()) return st.error();
    return DocComponent(std::move(a));
  }
  if (k == "remove") return DocComponent(SectionRemove{id});
  if (k == "restore") {
    SectionRestore r;
    r.section = id;
    if (Status st = texts(r.title, r.body); !st.ok()) return st.error();
    if (Status st = read_fields(j, r.fields, w, "invalid_op"); !st.ok()) return st.error();
    return DocComponent(std::move(r));
  }
  if (k == "move") {
    SectionMove m;
    m.section = id;
    if (Status st = position(m.position); !st.ok()) return st.error();
    return DocComponent(std::move(m));
  }
  if (k == "lock") return DocComponent(SectionLock{id});
  if (k == "unlock") return DocComponent(SectionUnlock{id});
  SectionApprove a;
  a.section = id;
  if (Status st = read_string(j, "inst", a.institution, false, w, "invalid_op"); !st.ok()) {
    return st.error();
  }
  if (Status st = read_string(j, "user", a.approval.user, false, w, "invalid_op"); !st.ok()) {
    return st.error();
  }
  if (Status st = read_string(j, "hash", a.approval.text_hash, false, w, "invalid_op"); !st.ok()) {
    return st.error();
  }
  auto t = j.find("time");
  if (t == j.end()) return make_error("invalid_op", w + ": \"time\" is missing");
  auto time = read_time(*t);
  if (!time) {
    return make_error("invalid_op", w +
                                        ": \"time\" must be a whole number of milliseconds in "
                                        "0..2^53, not " +
                                        t->dump());
  }
  a.approval.time_ms = *time;
  if (Status st = check_approval(a.institution, a.approval); !st.ok()) {
    return prefixed(st, w).error();
  }
  return DocComponent(std::move(a));
}

json component_to_json(const DocComponent& c) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, SectionEdit>) {
          return {{"edit", x.section}, {"f", x.field.name()}, {"op", to_json(x.op)}};
        } else if constexpr (std::is_same_v<T, SectionAdd>) {
          json j = {{"add", x.section}, {"pos", x.position}, {"title", x.title}, {"body", x.body}};
          if (!x.kind.empty()) j["kind"] = x.kind;
          if (!x.fields.empty()) j["fields"] = x.fields;
          return j;
        } else if constexpr (std::is_same_v<T, SectionRemove>) {
          return {{"remove", x.section}};
        } else if constexpr (std::is_same_v<T, SectionRestore>) {
          json j = {{"restore", x.section}, {"title", x.title}, {"body", x.body}};
          if (!x.fields.empty()) j["fields"] = x.fields;
          return j;
        } else if constexpr (std::is_same_v<T, SectionMove>) {
          return {{"move", x.section}, {"pos", x.position}};
        } else if constexpr (std::is_same_v<T, SectionLock>) {
          return {{"lock", x.section}};
        } else if constexpr (std::is_same_v<T, SectionUnlock>) {
          return {{"unlock", x.section}};
        } else {
          return {{"approve", x.section},
                  {"inst", x.institution},
                  {"user", x.approval.user},
                  {"time", x.approval.time_ms},
                  {"hash", x.approval.text_hash}};
        }
      },
      c);
}

// ---------------------------------------------------------------------------------------------
// Parsing documents

Error invalid_document(const std::string& message) {
  return make_error("invalid_document", message);
}

// version: the snapshot's format version (1: no kind or named fields; 2: with them).
Status parse_section(const json& j, std::size_t i, int version, Section& s) {
  const std::string at = "section " + num(i);
  if (!j.is_object()) return invalid_document(at + " is not an object");
  for (const auto& [key, value] : j.items()) {
    const bool v2_key = version >= 2 && (key == "kind" || key == "fields");
    if (key != "id" && key != "pos" && key != "title" && key != "body" && key != "removed" &&
        key != "locked" && key != "approvals" && !v2_key) {
      const bool printable = utf8::validate(key).ok() && key.size() <= 64;
      return invalid_document(at + " has an unknown key" +
                              (printable ? " \"" + key + "\"" : std::string()));
    }
  }
  if (Status st = read_string(j, "id", s.id, false, at, "invalid_document"); !st.ok()) return st;
  if (Status st = check_section_id(s.id); !st.ok()) return prefixed(st, at, "invalid_document");
  const std::string w = at + " (" + q(s.id) + ")";
  if (Status st = read_string(j, "pos", s.position, false, w, "invalid_document"); !st.ok()) {
    return st;
  }
  if (Status st = check_position(s.position); !st.ok()) {
    return prefixed(st, w, "invalid_document");
  }
  std::string title, body;
  if (Status st = read_string(j, "title", title, true, w, "invalid_document"); !st.ok()) return st;
  if (Status st = read_string(j, "body", body, true, w, "invalid_document"); !st.ok()) return st;
  s.title = Rope(title);
  s.body = Rope(body);
  if (auto kind = j.find("kind"); kind != j.end()) {
    if (!kind->is_string()) return invalid_document(w + ": \"kind\" is not a string");
    s.kind = kind->get<std::string>();
    if (Status st = check_field_name(s.kind, "kind"); !st.ok()) {
      return prefixed(st, w, "invalid_document");
    }
  }
  FieldTexts fields;
  if (Status st = read_fields(j, fields, w, "invalid_document"); !st.ok()) return st;
  for (auto& [name, text] : fields) s.fields.emplace(name, Rope(text));
  for (const char* flag : {"removed", "locked"}) {
    auto it = j.find(flag);
    if (it == j.end()) continue;
    if (!it->is_boolean()) return invalid_document(w + ": \"" + flag + "\" is not a boolean");
    (std::string_view(flag) == "removed" ? s.removed : s.locked) = it->get<bool>();
  }
  if (auto it = j.find("approvals"); it != j.end()) {
    if (!it->is_object()) return invalid_document(w + ": \"approvals\" is not an object");
    for (const auto& [inst, a] : it->items()) {
      if (Status st = check_name(inst, "institution"); !st.ok()) {
        return prefixed(st, w, st.error().code == "invalid_utf8" ? nullptr : "invalid_document");
      }
      const std::string wa = w + ", approval of " + q(inst);
      if (!a.is_object()) return invalid_document(wa + " is not an object");
      for (const auto& [key, value] : a.items()) {
        if (key != "user" && key != "time" && key != "hash") {
          return invalid_document(wa + " has an unknown key");
        }
      }
      Approval ap;
      if (Status st = read_string(a, "user", ap.user, false, wa, "invalid_document"); !st.ok()) {
        return st;
      }
      if (Status st = read_string(a, "hash", ap.text_hash, false, wa, "invalid_document");
          !st.ok()) {
        return st;
      }
      auto t = a.find("time");
      std::optional<std::int64_t> time;
      if (t != a.end()) time = read_time(*t);
      if (!time) return invalid_document(wa + ": \"time\" must be a whole number in 0..2^53");
      ap.time_ms = *time;
      if (Status st = check_approval(inst, ap); !st.ok()) {
        return prefixed(st, wa, st.error().code == "invalid_utf8" ? nullptr : "invalid_document");
      }
      s.approvals.emplace(inst, std::move(ap));
    }
  }
  const bool fields_empty =
      std::all_of(s.fields.begin(), s.fields.end(), [](const auto& f) { return f.second.empty(); });
  if (s.removed && (!s.title.empty() || !s.body.empty() || !fields_empty || s.locked)) {
    return invalid_document(w + ": a removed section must have no text and not be locked");
  }
  if (!s.locked && !s.approvals.empty()) {
    return invalid_document(w + ": only a locked section has approvals");
  }
  return Status::Ok();
}

}  // namespace

// ---- Identifiers and position keys ---------------------------------------------------------

Status check_section_id(std::string_view id) {
  if (id.empty()) return make_error("invalid_op", "section id is empty");
  if (id.size() > kMaxSectionIdLength) {
    return make_error("invalid_op", "section id of " + num(id.size()) +
                                        " characters is longer than " + num(kMaxSectionIdLength));
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (digit_value(c) < 0 && c != '_' && c != '-') {
      return make_error("invalid_op",
                        "section id has a character outside [A-Za-z0-9_-] at " + num(i));
    }
  }
  return Status::Ok();
}

Status check_field_name(std::string_view name, const char* what) {
  if (name.empty()) return make_error("invalid_op", std::string(what) + " is empty");
  if (name.size() > kMaxFieldNameLength) {
    return make_error("invalid_op", std::string(what) + " of " + num(name.size()) +
                                        " characters is longer than " + num(kMaxFieldNameLength));
  }
  if (name[0] < 'a' || name[0] > 'z') {
    return make_error("invalid_op", std::string(what) + " must start with a letter a-z");
  }
  for (std::size_t i = 1; i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return make_error("invalid_op",
                        std::string(what) + " has a character outside [a-z0-9_] at " + num(i));
    }
  }
  return Status::Ok();
}

Status check_position(std::string_view position) {
  if (position.empty()) return make_error("invalid_op", "position key is empty");
  if (position.size() > kMaxPositionLength) {
    return make_error("invalid_op", "position key of " + num(position.size()) +
                                        " digits is longer than " + num(kMaxPositionLength));
  }
  for (std::size_t i = 0; i < position.size(); ++i) {
    if (digit_value(position[i]) < 0) {
      return make_error("invalid_op",
                        "position key has a character outside the base-62 digits [0-9A-Za-z] "
                        "at " +
                            num(i));
    }
  }
  if (position.back() == '0') {
    return make_error("invalid_op", "position key " + q(position) + " ends in '0'");
  }
  return Status::Ok();
}

Result<std::string> position_between(std::string_view before, std::string_view after) {
  if (!before.empty()) {
    if (Status st = check_position(before); !st.ok()) return prefixed(st, "before").error();
  }
  if (!after.empty()) {
    if (Status st = check_position(after); !st.ok()) return prefixed(st, "after").error();
  }
  if (!before.empty() && !after.empty() && before >= after) {
    return make_error("invalid_op", "no key lies between " + q(before) + " and " + q(after) +
                                        ": the first must sort before the second");
  }
  std::string key;
  if (before.empty() && after.empty()) {
    key = std::string(1, kDigits[kBase / 2]);
  } else if (after.empty()) {
    // Append: bump the first digit that can be bumped (short keys for a growing document).
    const std::size_t i = before.find_first_not_of('z');
    if (i == std::string_view::npos) {
      key = std::string(before) + "1";
    } else {
      key = std::string(before.substr(0, i)) + kDigits[digit_value(before[i]) + 1];
    }
  } else if (before.empty()) {
    // Prepend: lower the first digit that stays non-zero when lowered.
    const std::size_t i = after.find_first_not_of("01");
    if (i == std::string_view::npos) {
      key = midpoint("", after);
    } else {
      key = std::string(after.substr(0, i)) + kDigits[digit_value(after[i]) - 1];
    }
  } else {
    key = midpoint(before, after);
  }
  if (key.size() > kMaxPositionLength) {
    return make_error("out_of_range",
                      "no room between " + (before.empty() ? std::string("the start") : q(before)) +
                          " and " + (after.empty() ? std::string("the end") : q(after)) +
                          " within " + num(kMaxPositionLength) +
                          " digits; move sections to spread their keys");
  }
  return key;
}

// ---- Fields and sections ------------------------------------------------------------------

Result<Field> Field::named(std::string_view name) {
  if (name == "title") return Field::title;
  if (name == "body") return Field::body;
  if (Status st = check_field_name(name); !st.ok()) return st.error();
  Field f(Kind::named);
  f.size_ = static_cast<std::uint8_t>(name.size());  // check_field_name: at most 32
  std::copy(name.begin(), name.end(), f.name_.begin());
  return f;
}

std::string_view Field::name() const {
  switch (kind_) {
    case Kind::title:
      return "title";
    case Kind::body:
      return "body";
    case Kind::named:
      break;
  }
  return {name_.data(), size_};
}

const Rope* Section::text(const Field& f) const {
  switch (f.kind()) {
    case Field::Kind::title:
      return &title;
    case Field::Kind::body:
      return &body;
    case Field::Kind::named:
      break;
  }
  return field(f.name());
}

const Rope* Section::field(std::string_view name) const {
  auto it = fields.find(name);
  return it == fields.end() ? nullptr : &it->second;
}

std::size_t Section::text_bytes() const {
  std::size_t n = title.size_bytes() + body.size_bytes();
  for (const auto& [name, text] : fields) n += text.size_bytes();
  return n;
}

bool Section::incomplete() const {
  const Rope* prompt = field(kPromptField);
  return prompt && !prompt->empty() && is_blank(body);
}

// ---- Document -----------------------------------------------------------------------------

const Section* Document::find(std::string_view id) const {
  auto it = sections_.find(id);
  return it == sections_.end() ? nullptr : &it->second;
}

std::vector<const Section*> Document::ordered() const {
  std::vector<const Section*> out;
  out.reserve(sections_.size());
  for (const auto& [id, s] : sections_) {
    if (!s.removed) out.push_back(&s);
  }
  std::sort(out.begin(), out.end(), [](const Section* a, const Section* b) {
    if (a->position != b->position) return a->position < b->position;
    return a->id < b->id;
  });
  return out;
}

json to_json(const Document& doc) {
  json sections = json::array();
  int version = 1;
  for (const auto& [id, s] : doc.sections()) {
    json j = {{"id", s.id},
              {"pos", s.position},
              {"title", s.title.to_string()},
              {"body", s.body.to_string()}};
    if (!s.kind.empty()) j["kind"] = s.kind;
    if (!s.fields.empty()) {
      json fields = json::object();
      for (const auto& [name, text] : s.fields) fields[name] = text.to_string();
      j["fields"] = std::move(fields);
    }
    if (!s.kind.empty() || !s.fields.empty()) version = 2;
    if (s.removed) j["removed"] = true;
    if (s.locked) j["locked"] = true;
    if (!s.approvals.empty()) {
      json approvals = json::object();
      for (const auto& [inst, a] : s.approvals) {
        approvals[inst] = {{"user", a.user}, {"time", a.time_ms}, {"hash", a.text_hash}};
      }
      j["approvals"] = std::move(approvals);
    }
    sections.push_back(std::move(j));
  }
  return {{"v", version}, {"sections", std::move(sections)}};
}

Result<Document> parse_document(const json& j) {
  if (!j.is_object()) return invalid_document("a document is a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "v" && key != "sections") {
      return invalid_document("the document has an unknown key");
    }
  }
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() ||
      (v->get<std::int64_t>() != 1 && v->get<std::int64_t>() != 2)) {
    return invalid_document("the document's format version \"v\" must be 1 or 2");
  }
  const int version = static_cast<int>(v->get<std::int64_t>());
  auto list = j.find("sections");
  if (list == j.end() || !list->is_array()) {
    return invalid_document("the document's \"sections\" must be an array");
  }
  Document doc;
  SectionMap& sections = DocumentInternal::sections(doc);
  for (std::size_t i = 0; i < list->size(); ++i) {
    Section s;
    if (Status st = parse_section((*list)[i], i, version, s); !st.ok()) return st.error();
    if (sections.count(s.id)) {
      return invalid_document("section " + num(i) + ": the id " + q(s.id) + " appears twice");
    }
    std::string id = s.id;
    sections.emplace(std::move(id), std::move(s));
  }
  return doc;
}

// ---- Document operations ------------------------------------------------------------------

const std::string& section_of(const DocComponent& c) {
  return std::visit([](const auto& x) -> const std::string& { return x.section; }, c);
}

Result<DocOp> parse_doc_op(const json& j) {
  if (!j.is_array()) return make_error("invalid_op", "a document operation is a JSON array");
  DocOp op;
  op.components.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    auto c = parse_component(j[i], i);
    if (!c.ok()) return std::move(c).error();
    op.components.push_back(std::move(c).value());
  }
  return op;
}

json to_json(const DocOp& op) {
  json j = json::array();
  for (const auto& c : op.components) j.push_back(component_to_json(c));
  return j;
}

Status check(const Document& doc, const DocOp& op) { return validate(doc, op); }

Status apply(Document& doc, const DocOp& op) {
  if (Status st = validate(doc, op); !st.ok()) return st;
  SectionMap& sections = DocumentInternal::sections(doc);
  for (std::size_t i = 0; i < op.components.size(); ++i) {
    if (Status st = mutate(sections, op.components[i]); !st.ok()) {
      return prefixed(st, "component " + num(i) + " (after validation; document changed)");
    }
  }
  return Status::Ok();
}

DocOp transform(const DocOp& a, const DocOp& b, Side side) {
  if (a.components.empty() || b.components.empty()) return a;
  if (a.components.size() == 1 && b.components.size() == 1) {
    // The usual case (one edit past one edit): transform_lists' first half, without copying
    // both lists and transforming b past a as well only to drop it.
    DocOp out;
    transform_component(a.components[0], b.components[0], side, out.components);
    return out;
  }
  return DocOp{transform_lists(a.components, b.components, side).first};
}

DocOp compose(const DocOp& a, const DocOp& b) {
  DocOp out;
  out.components.reserve(a.components.size() + b.components.size());
  auto push = [&](const DocComponent& c) {
    if (!out.components.empty()) {
      auto* last = std::get_if<SectionEdit>(&out.components.back());
      const auto* next = std::get_if<SectionEdit>(&c);
      if (last && next && last->section == next->section && last->field == next->field) {
        if (auto merged = compose(last->op, next->op); merged.ok()) {
          last->op = std::move(merged).value();
          return;
        }
        // They do not compose (the second needs more text than the first leaves), so they do
        // not both apply to a live section either: keep both and let apply decide.
      }
    }
    out.components.push_back(c);
  };
  for (const auto& c : a.components) push(c);
  for (const auto& c : b.components) push(c);
  return out;
}

Result<DocOp> invert(const DocOp& op, const Document& before) {
  if (Status st = check(before, op); !st.ok()) return st.error();
  // A scratch document with just the sections op touches, stepped through op.
  Document scratch;
  SectionMap& sections = DocumentInternal::sections(scratch);
  for (const auto& id : sections_touched(op)) {
    if (const Section* s = before.find(id)) sections.emplace(id, *s);
  }
  std::vector<std::vector<DocComponent>> pieces;
  pieces.reserve(op.components.size());
  for (const auto& c : op.components) {
    std::vector<DocComponent> inv;
    const std::string& id = section_of(c);
    const Section* s = scratch.find(id);
    auto relock = [&](bool unlock_first) {
      if (unlock_first) inv.push_back(SectionUnlock{id});
      inv.push_back(SectionLock{id});
      for (const auto& [inst, a] : s->approvals) inv.push_back(SectionApprove{id, inst, a});
    };
    Status st = std::visit(
        [&](const auto& x) -> Status {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, SectionEdit>) {
            if (s->removed || x.op.empty()) return Status::Ok();
            // Deletes take their text from the document, not from the op: a client's {"d": "..."}
            // is not checked against what it deletes (PROTOCOL.md, Text operations).
            auto full = make_invertible(strip_invertible(x.op), *s->text(x.field));
            if (!full.ok()) return full.error();
            auto undo = invert(*full);
            if (!undo.ok()) return undo.error();
            inv.push_back(SectionEdit{id, x.field, std::move(undo).value()});
          } else if constexpr (std::is_same_v<T, SectionAdd>) {
            inv.push_back(SectionRemove{id});
          } else if constexpr (std::is_same_v<T, SectionRemove>) {
            FieldTexts fields;
            for (const auto& [name, text] : s->fields) {
              if (!text.empty()) fields.emplace(name, text.to_string());
            }
            inv.push_back(
                SectionRestore{id, s->title.to_string(), s->body.to_string(), std::move(fields)});
          } else if constexpr (std::is_same_v<T, SectionRestore>) {
            inv.push_back(SectionRemove{id});
          } else if constexpr (std::is_same_v<T, SectionMove>) {
            inv.push_back(SectionMove{id, s->position});
          } else if constexpr (std::is_same_v<T, SectionLock>) {
            inv.push_back(SectionUnlock{id});  // it was unlocked, so it had no approvals
          } else if constexpr (std::is_same_v<T, SectionUnlock>) {
            relock(false);
          } else {
            relock(true);  // drops the new approval, puts back the ones before it
          }
          return Status::Ok();
        },
        c);
    if (!st.ok()) return st.error();
    if (st = mutate(sections, c); !st.ok()) return st.error();
    pieces.push_back(std::move(inv));
  }
  DocOp out;
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
    for (auto& c : *it) out.components.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> sections_touched(const DocOp& op) {
  std::vector<std::string> ids;
  ids.reserve(op.components.size());
  for (const auto& c : op.components) ids.push_back(section_of(c));
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace jointly::protocol
