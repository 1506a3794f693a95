// The text OT core: a port of ot-text-unicode 4.0.0 (dist/type.js) to UTF-8 and code points.
//
// The structure follows type.js on purpose, so that the two can be read side by side:
// makeAppend is TextOp's builder methods, makeTake is Taker, and transform, compose,
// transformPosition, invert and makeInvertible keep their loops. Where this code is stricter
// than type.js (see "## Text operations" in protocol/PROTOCOL.md) the difference is at the
// edge: parsing, apply and make_invertible; the algorithms themselves do what type.js does.
#include "protocol/text_op.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "protocol/rope.hpp"
#include "protocol/utf8.hpp"

namespace jointly::protocol {

namespace {

using json = nlohmann::json;
using Kind = TextComponent::Kind;

// Lengths and positions stay below 2^53, the largest integers a JavaScript peer counts exactly;
// it also keeps every sum of lengths far from overflowing std::size_t.
constexpr std::uint64_t kMaxLength = (std::uint64_t{1} << 53) - 1;

std::string num(std::size_t n) { return std::to_string(n); }

Error invalid_op(std::string message) { return make_error("invalid_op", std::move(message)); }

std::string where(std::size_t index) { return "op[" + num(index) + "]"; }

// ---------------------------------------------------------------------------------------------
// Parsing

// A JSON number read as a length.
struct Length {
  enum class Kind { ok, negative, fractional, too_large, not_a_number } kind;
  std::uint64_t value = 0;
};

Length read_length(const json& j) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    return v <= kMaxLength ? Length{Length::Kind::ok, v} : Length{Length::Kind::too_large};
  }
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v < 0) return {Length::Kind::negative};
    return static_cast<std::uint64_t>(v) <= kMaxLength
               ? Length{Length::Kind::ok, static_cast<std::uint64_t>(v)}
               : Length{Length::Kind::too_large};
  }
  if (j.is_number_float()) {
    // JSON has one number type: 3.0 and 3e0 are the integer 3 to a JavaScript peer.
    const double d = j.get<double>();
    if (std::isnan(d)) return {Length::Kind::not_a_number};
    if (d < 0) return {Length::Kind::negative};
    if (d > static_cast<double>(kMaxLength)) return {Length::Kind::too_large};
    if (std::floor(d) != d) return {Length::Kind::fractional};
    return {Length::Kind::ok, static_cast<std::uint64_t>(d)};
  }
  return {Length::Kind::not_a_number};
}

// Why a number is no length, for messages; empty when it is one.
std::string length_problem(const Length& l, const json& j) {
  switch (l.kind) {
    case Length::Kind::ok:
      return {};
    case Length::Kind::negative:
      return "is negative (" + j.dump() + ")";
    case Length::Kind::fractional:
      return "is not a whole number (" + j.dump() + ")";
    case Length::Kind::too_large:
      return "is too large (" + j.dump() + "; lengths must be below 2^53)";
    case Length::Kind::not_a_number:
      return "is not a number";
  }
  return "is not a length";
}

// How parsing treats zero-length and repeated components.
enum class Mode {
  check,      // type.js checkOp: no empty parts, no adjacent or trailing skip
  normalize,  // type.js normalize: empty parts dropped, adjacent parts merged, trailing skip cut
};

Result<TextOp> parse(const json& j, Mode mode) {
  if (!j.is_array()) {
    return invalid_op(std::string("an op must be a JSON array of components, not ") +
                      (j.is_null() ? "null" : std::string("a ") + j.type_name()));
  }
  TextOp op;
  std::uint64_t base = 0;      // code points skipped or deleted
  std::uint64_t inserted = 0;  // code points inserted
  bool last_was_skip = false;
  const std::size_t size = j.size();
  for (std::size_t i = 0; i < size; ++i) {
    const json& c = j[i];
    bool is_skip = false;
    if (c.is_number()) {
      const Length l = read_length(c);
      if (l.kind != Length::Kind::ok) {
        return invalid_op(where(i) + " is a skip that " + length_problem(l, c));
      }
      if (mode == Mode::check) {
        if (l.value == 0) return invalid_op(where(i) + " is a skip of 0; skips must be positive");
        if (last_was_skip) {
          return invalid_op(where(i - 1) + " and " + where(i) +
                            " are adjacent skips; they must be combined into one");
        }
      }
      base += l.value;
      op.skip(l.value);
      is_skip = true;
    } else if (c.is_string()) {
      const auto& s = c.get_ref<const std::string&>();
      if (s.empty() && mode == Mode::check) {
        return invalid_op(where(i) + " is an empty insert; inserts must not be empty");
      }
      if (Status st = utf8::validate(s); !st) {
        return make_error("invalid_utf8", where(i) + " (an insert): " + st.error().message);
      }
      const std::size_t cp = utf8::count(s);
      inserted += cp;
      op.insert(s, cp);
    } else if (c.is_object()) {
      const auto d = c.find("d");
      if (d == c.end() || c.size() != 1) {
        return invalid_op(where(i) +
                          " is an object but not a delete; a delete is {\"d\": N} or "
                          "{\"d\": \"text\"} with no other keys");
      }
      if (d->is_number()) {
        const Length l = read_length(*d);
        if (l.kind != Length::Kind::ok) {
          return invalid_op(where(i) + " is a delete whose length " + length_problem(l, *d));
        }
        if (l.value == 0 && mode == Mode::check) {
          return invalid_op(where(i) + " deletes 0 characters; deletes must not be empty");
        }
        base += l.value;
        op.del(l.value);
      } else if (d->is_string()) {
        const auto& s = d->get_ref<const std::string&>();
        if (s.empty() && mode == Mode::check) {
          return invalid_op(where(i) + " deletes the empty text; deletes must not be empty");
        }
        if (Status st = utf8::validate(s); !st) {
          return make_error("invalid_utf8", where(i) + " (a delete): " + st.error().message);
        }
        const std::size_t cp = utf8::count(s);
        base += cp;
        op.del_text(s, cp);
      } else {
        return invalid_op(where(i) + " is a delete of a " + d->type_name() +
                          "; a delete takes a positive whole number or a non-empty string");
      }
    } else {
      return invalid_op(where(i) + " is a " + c.type_name() +
                        ", which is no component: a skip is a positive whole number, an insert "
                        "a string, a delete {\"d\": N} or {\"d\": \"text\"}");
    }
    if (base > kMaxLength || inserted > kMaxLength) {
      return invalid_op("the op's lengths add up to 2^53 or more at " + where(i));
    }
    last_was_skip = is_skip;
  }
  if (mode == Mode::check && last_was_skip) {
    return invalid_op("the op ends with a skip (" + where(size - 1) +
                      "); a trailing skip must be left out");
  }
  op.trim();
  return op;
}

// ---------------------------------------------------------------------------------------------
// Taking parts of an op (type.js makeTake)

// A part of a component: what take() returns. Text points into the op it was taken from.
struct Piece {
  Kind kind = Kind::skip;
  std::size_t n = 0;
  std::string_view text;  // insert, or delete with has_text
  bool has_text = false;
};

void append(TextOp& op, const Piece& p) {
  switch (p.kind) {
    case Kind::skip:
      op.skip(p.n);
      break;
    case Kind::insert:
      op.insert(p.text, p.n);
      break;
    case Kind::del:
      if (p.has_text) {
        op.del_text(p.text, p.n);
      } else {
        op.del(p.n);
      }
      break;
  }
}

// Walks an op component by component, splitting components where asked. Past the op's end the
// op skips forever, as in type.js.
class Taker {
 public:
  explicit Taker(const std::vector<TextComponent>& components) : c_(components) {}

  // The component the next take starts in, or nullptr at the end.
  const TextComponent* peek() const { return idx_ < c_.size() ? &c_[idx_] : nullptr; }

  // Takes the rest of the current component. False at the end of the op.
  bool take_all(Piece& out) {
    if (idx_ == c_.size()) return false;
    out = rest();
    return true;
  }

  // Takes up to n > 0 code points; components of kind `indivisible` are taken whole.
  Piece take(std::size_t n, Kind indivisible) {
    if (idx_ == c_.size()) return Piece{Kind::skip, n, {}, false};
    const TextComponent& c = c_[idx_];
    if (c.kind == indivisible || c.n - off_ <= n) return rest();
    Piece p{c.kind, n, {}, false};
    if (c.kind == Kind::insert || c.has_text) {
      const std::string_view tail = std::string_view(c.text).substr(off_bytes_);
      const std::size_t bytes = utf8::byte_offset(tail, n);
      p.text = tail.substr(0, bytes);
      p.has_text = c.kind == Kind::del;
      off_bytes_ += bytes;
    }
    off_ += n;
    return p;
  }

 private:
  Piece rest() {
    const TextComponent& c = c_[idx_];
    Piece p{c.kind, c.n - off_, {}, false};
    if (c.kind == Kind::insert || c.has_text) {
      p.text = std::string_view(c.text).substr(off_bytes_);
      p.has_text = c.kind == Kind::del;
    }
    ++idx_;
    off_ = 0;
    off_bytes_ = 0;
    return p;
  }

  const std::vector<TextComponent>& c_;
  std::size_t idx_ = 0;        // component the next take starts in
  std::size_t off_ = 0;        // code points of it already taken
  std::size_t off_bytes_ = 0;  // the same in bytes of its text (inserts, deletes with text)
};

Error too_short(std::size_t need, std::size_t have) {
  return make_error("out_of_range",
                    "the op needs " + num(need) + " characters but the text has " + num(have));
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// Building (type.js makeAppend, trim)

TextOp& TextOp::skip(std::size_t n) {
  if (n == 0) return *this;
  if (!components_.empty() && components_.back().kind == Kind::skip) {
    components_.back().n += n;
  } else {
    TextComponent& c = components_.emplace_back();
    c.kind = Kind::skip;
    c.n = n;
  }
  return *this;
}

TextOp& TextOp::insert(std::string_view utf8, std::size_t cp) {
  if (utf8.empty()) return *this;
  if (!components_.empty() && components_.back().kind == Kind::insert) {
    components_.back().text.append(utf8);
    components_.back().n += cp;
  } else {
    TextComponent& c = components_.emplace_back();
    c.kind = Kind::insert;
    c.n = cp;
    c.text.assign(utf8);
  }
  return *this;
}

TextOp& TextOp::insert(std::string_view utf8) { return insert(utf8, utf8::count(utf8)); }

TextOp& TextOp::del(std::size_t n) {
  if (n == 0) return *this;
  if (!components_.empty() && components_.back().kind == Kind::del) {
    // A delete without text makes the merged delete lose its text too (as type.js does).
    TextComponent& last = components_.back();
    last.n += n;
    last.text.clear();
    last.has_text = false;
  } else {
    TextComponent& c = components_.emplace_back();
    c.kind = Kind::del;
    c.n = n;
  }
  return *this;
}

TextOp& TextOp::del_text(std::string_view utf8, std::size_t cp) {
  if (utf8.empty()) return *this;
  if (!components_.empty() && components_.back().kind == Kind::del) {
    TextComponent& last = components_.back();
    last.n += cp;
    if (last.has_text) last.text.append(utf8);
  } else {
    TextComponent& c = components_.emplace_back();
    c.kind = Kind::del;
    c.n = cp;
    c.text.assign(utf8);
    c.has_text = true;
  }
  return *this;
}

TextOp& TextOp::trim() {
  if (!components_.empty() && components_.back().kind == Kind::skip) components_.pop_back();
  return *this;
}

std::size_t TextOp::base_length() const {
  std::size_t n = 0;
  for (const TextComponent& c : components_) {
    if (c.kind != Kind::insert) n += c.n;
  }
  return n;
}

std::ptrdiff_t TextOp::length_delta() const {
  std::ptrdiff_t d = 0;
  for (const TextComponent& c : components_) {
    if (c.kind == Kind::insert) d += static_cast<std::ptrdiff_t>(c.n);
    if (c.kind == Kind::del) d -= static_cast<std::ptrdiff_t>(c.n);
  }
  return d;
}

bool TextOp::invertible() const {
  for (const TextComponent& c : components_) {
    if (c.kind == Kind::del && !c.has_text) return false;
  }
  return true;
}

// -----------------------------------------------------------------------------------------------
// JSON

Result<TextOp> parse_text_op(const nlohmann::json& j) { return parse(j, Mode::check); }

Result<TextOp> normalize_text_op(const nlohmann::json& j) { return parse(j, Mode::normalize); }

nlohmann::json to_json(const TextOp& op) {
  json out = json::array();
  out.get_ref<json::array_t&>().reserve(op.components().size());
  for (const TextComponent& c : op.components()) {
    switch (c.kind) {
      case Kind::skip:
        out.push_back(static_cast<std::uint64_t>(c.n));
        break;
      case Kind::insert:
        out.push_back(c.text);
        break;
      case Kind::del:
        if (c.has_text) {
          out.push_back(json{{"d", c.text}});
        } else {
          out.push_back(json{{"d", static_cast<std::uint64_t>(c.n)}});
        }
        break;
    }
  }
  return out;
}

// -----------------------------------------------------------------------------------------------
// Apply

Status check(const TextOp& op, std::size_t doc_len) {
  const std::size_t need = op.base_length();
  if (need > doc_len) return too_short(need, doc_len);
  return Status::Ok();
}

Result<std::string> apply(std::string_view doc, const TextOp& op) {
  const std::size_t have = utf8::count(doc);
  if (Status st = check(op, have); !st) return st.error();
  std::size_t grow = 0;
  for (const TextComponent& c : op.components()) {
    if (c.kind == Kind::insert) grow += c.text.size();
  }
  std::string out;
  out.reserve(doc.size() + grow);
  std::size_t at = 0;  // bytes of doc consumed
  for (const TextComponent& c : op.components()) {
    switch (c.kind) {
      case Kind::skip: {
        const std::size_t bytes = utf8::byte_offset(doc.substr(at), c.n);
        out.append(doc.substr(at, bytes));
        at += bytes;
        break;
      }
      case Kind::insert:
        out.append(c.text);
        break;
      case Kind::del:
        at += utf8::byte_offset(doc.substr(at), c.n);
        break;
    }
  }
  out.append(doc.substr(at));
  return out;
}

Status apply(Rope& doc, const TextOp& op) {
  if (Status st = check(op, doc.size()); !st) return st;
  std::size_t pos = 0;
  for (const TextComponent& c : op.components()) {
    switch (c.kind) {
      case Kind::skip:
        pos += c.n;
        break;
      case Kind::insert:
        doc.insert(pos, c.text, c.n);
        pos += c.n;
        break;
      case Kind::del:
        doc.erase(pos, c.n);
        break;
    }
  }
  return Status::Ok();
}

// -----------------------------------------------------------------------------------------------
// Transform, compose, positions (type.js transform, compose, transformPosition)

TextOp transform(const TextOp& a, const TextOp& b, Side side) {
  TextOp out;
  Taker take(a.components());
  Piece p;
  for (const TextComponent& c2 : b.components()) {
    switch (c2.kind) {
      case Kind::skip: {
        std::size_t length = c2.n;
        while (length > 0) {
          p = take.take(length, Kind::insert);
          append(out, p);
          if (p.kind != Kind::insert) length -= p.n;
        }
        break;
      }
      case Kind::insert: {
        // The left insert goes first.
        const TextComponent* next = take.peek();
        if (side == Side::left && next != nullptr && next->kind == Kind::insert) {
          if (take.take_all(p)) append(out, p);
        }
        // Otherwise skip the inserted text.
        out.skip(c2.n);
        break;
      }
      case Kind::del: {
        std::size_t length = c2.n;
        while (length > 0) {
          p = take.take(length, Kind::insert);
          switch (p.kind) {
            case Kind::skip:
              length -= p.n;
              break;
            case Kind::insert:
              append(out, p);
              break;
            case Kind::del:
              // b deleted this text already.
              length -= p.n;
              break;
          }
        }
        break;
      }
    }
  }
  while (take.take_all(p)) append(out, p);
  out.trim();
  return out;
}

Result<TextOp> compose(const TextOp& a, const TextOp& b) {
  TextOp out;
  Taker take(a.components());
  Piece p;
  for (const TextComponent& c2 : b.components()) {
    switch (c2.kind) {
      case Kind::skip: {
        std::size_t length = c2.n;
        while (length > 0) {
          p = take.take(length, Kind::del);
          append(out, p);
          if (p.kind != Kind::del) length -= p.n;
        }
        break;
      }
      case Kind::insert:
        out.insert(c2.text, c2.n);
        break;
      case Kind::del: {
        const std::size_t length = c2.n;
        const std::string_view text = c2.text;
        std::size_t offset = 0;        // code points of c2 done
        std::size_t offset_bytes = 0;  // the same in bytes of c2's text, when it has one
        while (offset < length) {
          p = take.take(length - offset, Kind::del);
          switch (p.kind) {
            case Kind::skip:
              // b deletes text that a kept.
              if (c2.has_text) {
                const std::size_t bytes = utf8::byte_offset(text.substr(offset_bytes), p.n);
                out.del_text(text.substr(offset_bytes, bytes), p.n);
                offset_bytes += bytes;
              } else {
                out.del(p.n);
              }
              offset += p.n;
              break;
            case Kind::insert:
              // b deletes text that a inserted: neither survives.
              if (c2.has_text) offset_bytes += utf8::byte_offset(text.substr(offset_bytes), p.n);
              offset += p.n;
              break;
            case Kind::del:
              append(out, p);
              break;
          }
        }
        break;
      }
    }
  }
  while (take.take_all(p)) append(out, p);
  out.trim();
  return out;
}

std::size_t transform_position(std::size_t pos, const TextOp& op) {
  std::size_t cursor = pos;
  std::size_t at = 0;
  const auto& cs = op.components();
  for (std::size_t i = 0; i < cs.size() && cursor > at; ++i) {
    const TextComponent& c = cs[i];
    switch (c.kind) {
      case Kind::skip:
        at += c.n;
        break;
      case Kind::insert:
        at += c.n;
        cursor += c.n;
        break;
      case Kind::del:
        cursor -= std::min(c.n, cursor - at);
        break;
    }
  }
  return cursor;
}

// -----------------------------------------------------------------------------------------------
// Inversion (type.js invert, makeInvertible)

Result<TextOp> invert(const TextOp& op) {
  TextOp out;
  const auto& cs = op.components();
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const TextComponent& c = cs[i];
    switch (c.kind) {
      case Kind::skip:
        out.skip(c.n);
        break;
      case Kind::insert:
        out.del_text(c.text, c.n);
        break;
      case Kind::del:
        if (!c.has_text) {
          return make_error("not_invertible",
                            where(i) + " deletes " + num(c.n) +
                                " characters without their text, so the op cannot be inverted; "
                                "make it invertible against the document first");
        }
        out.insert(c.text, c.n);
        break;
    }
  }
  out.trim();
  return out;
}

Result<TextOp> make_invertible(const TextOp& op, const Rope& doc) {
  if (Status st = check(op, doc.size()); !st) return st.error();
  TextOp out;
  std::size_t pos = 0;
  for (const TextComponent& c : op.components()) {
    switch (c.kind) {
      case Kind::skip:
        out.skip(c.n);
        pos += c.n;
        break;
      case Kind::insert:
        out.insert(c.text, c.n);
        break;
      case Kind::del:
        if (c.has_text) {
          out.del_text(c.text, c.n);
        } else {
          const std::string deleted = doc.substr(pos, c.n);
          out.del_text(deleted, c.n);
        }
        pos += c.n;
        break;
    }
  }
  return out;
}

TextOp strip_invertible(const TextOp& op) {
  TextOp out;
  for (const TextComponent& c : op.components()) {
    switch (c.kind) {
      case Kind::skip:
        out.skip(c.n);
        break;
      case Kind::insert:
        out.insert(c.text, c.n);
        break;
      case Kind::del:
        out.del(c.n);
        break;
    }
  }
  return out;
}

}  // namespace jointly::protocol
