// TextOp: an operation on plain text, in the format and with the semantics of the npm package
// ot-text-unicode 4.0.0 (the `text-unicode` OT type used by ShareDB).
//
// An op is a list of components that walk the document from its start:
//   skip N        (JSON: a positive integer)  keep N code points
//   insert "s"    (JSON: a non-empty string)  insert s at the current position
//   delete N      (JSON: {"d": N})            delete N code points
//   delete "s"    (JSON: {"d": "s"})          delete the code points of s (s kept so the op
//                                             can be inverted)
// Positions and lengths count Unicode code points. Text is UTF-8 in memory.
// The canonical form has no empty components, no two adjacent components of the same kind and
// no trailing skip; the builder methods below keep an op canonical as it is built.
//
// Values only; no shared state. Functions that take outside data return Result/Status
// (see protocol/result.hpp); nothing here throws across the API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "protocol/result.hpp"

namespace jointly::protocol {

class Rope;

struct TextComponent {
  enum class Kind : std::uint8_t { skip, insert, del };
  Kind kind = Kind::skip;
  // skip: code points kept; insert: code points of `text`; del: code points deleted.
  std::size_t n = 0;
  // insert: the UTF-8 text inserted. del: the UTF-8 text deleted when known (then
  // has_text is true and n counts its code points), else empty.
  std::string text;
  bool has_text = false;

  friend bool operator==(const TextComponent&, const TextComponent&) = default;
};

enum class Side : std::uint8_t { left, right };

class TextOp {
 public:
  TextOp() = default;

  const std::vector<TextComponent>& components() const { return components_; }
  bool empty() const { return components_.empty(); }  // a no-op
  // Empties the op but keeps its storage (no heap churn when an op is reused).
  void clear() { components_.clear(); }

  // Builders that keep the op canonical (like ot-text-unicode's makeAppend): zero-length
  // components are ignored and a component of the same kind as the last one is merged into it.
  // REQUIRES: utf8 is valid UTF-8 with exactly cp code points (the caller has checked it).
  TextOp& skip(std::size_t n);
  TextOp& insert(std::string_view utf8, std::size_t cp);
  TextOp& insert(std::string_view utf8);  // counts the code points itself
  TextOp& del(std::size_t n);
  TextOp& del_text(std::string_view utf8, std::size_t cp);
  // Removes a trailing skip.
  TextOp& trim();

  // Code points the op needs in the document it applies to (skips + deletes).
  std::size_t base_length() const;
  // Change in length: inserted minus deleted code points.
  std::ptrdiff_t length_delta() const;
  // True when every delete carries its text.
  bool invertible() const;

  friend bool operator==(const TextOp&, const TextOp&) = default;

 private:
  std::vector<TextComponent> components_;
};

// Parses and validates an op from JSON with ot-text-unicode's checkOp rules (array of
// components; skips positive integers, never adjacent, never trailing; inserts non-empty
// strings; deletes {"d": positive integer | non-empty string}) plus: strings valid UTF-8 without
// lone surrogates, numbers integers within 2^53 (3.0 counts as 3), lengths summing below 2^53,
// no components but those three (no booleans, no keys besides "d"). The result is normalised
// (canonical). Errors: invalid_op, invalid_utf8. See PROTOCOL.md, "Deviations".
Result<TextOp> parse_text_op(const nlohmann::json& j);
// Like parse_text_op but also accepts the sloppy forms ot-text-unicode's normalize() cleans up
// (zero skips, empty inserts and deletes, adjacent or trailing skips) and returns the canonical
// form. What is no component at all (negative numbers, booleans, a non-array) is still an error.
Result<TextOp> normalize_text_op(const nlohmann::json& j);
nlohmann::json to_json(const TextOp& op);

// Checks that op fits a document of doc_len code points. Error: out_of_range.
Status check(const TextOp& op, std::size_t doc_len);

// Applies op to a UTF-8 string. Errors: out_of_range, also for a delete past the end (where
// ot-text-unicode silently deletes less). REQUIRES: doc is valid UTF-8.
Result<std::string> apply(std::string_view doc, const TextOp& op);
// Applies op to a rope in place; atomic: on error the rope is unchanged. Errors: out_of_range.
Status apply(Rope& doc, const TextOp& op);

// transform(a, b, side): a rewritten to apply after b. Where both insert at the same place,
// side == left puts a's insert first. Ops are canonical and so always transform.
TextOp transform(const TextOp& a, const TextOp& b, Side side);
// compose(a, b): one op with the effect of a then b. An op leaves the rest of the text implicit,
// so b may reach past what a spells out: those positions read as skips of the base text (as in
// ot-text-unicode). Canonical ops always compose; the Result is kept for callers that chain.
Result<TextOp> compose(const TextOp& a, const TextOp& b);
// Where a cursor at pos ends up after op, as ot-text-unicode's transformPosition: inserts before
// the cursor push it right, an insert exactly at the cursor leaves it before the inserted text,
// a delete around it moves it to the delete's start.
std::size_t transform_position(std::size_t pos, const TextOp& op);
// The op that undoes op. Error not_invertible when a delete lacks its text.
Result<TextOp> invert(const TextOp& op);
// op with every {"d": N} replaced by the text it deletes from doc. Deletes that carry a text
// keep it, unchecked (as in ot-text-unicode). Error out_of_range.
Result<TextOp> make_invertible(const TextOp& op, const Rope& doc);
// op with every delete's text dropped ({"d": "abc"} becomes {"d": 3}); ot-text-unicode's
// stripInvertible. make_invertible(strip_invertible(op), doc) takes every deleted text from doc.
TextOp strip_invertible(const TextOp& op);

}  // namespace jointly::protocol
