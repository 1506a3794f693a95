// jointly-ot: the text OT core on the command line, one JSON request per line of stdin and one
// JSON answer per line of stdout, in order. It exists so that the C++ core can be checked
// against ot-text-unicode itself (tests/differential/differential.mjs) and tried by hand.
//
// Requests (OP is a text op as in protocol/PROTOCOL.md, "## Text operations"):
//   {"op":"apply","doc":S,"a":OP}                          -> {"result":S2}
//   {"op":"transform","a":OP,"b":OP,"side":"left"|"right"} -> {"result":OP}
//   {"op":"compose","a":OP,"b":OP}                         -> {"result":OP}
//   {"op":"normalize","a":OP}                              -> {"result":OP}
//   {"op":"transform_position","pos":N,"a":OP}             -> {"result":N}
//   {"op":"invert","a":OP}                                 -> {"result":OP}
// Anything else gets {"error":{"code":C,"message":M}} and the tool goes on with the next line.
// Codes: those of the core (invalid_op, invalid_utf8, out_of_range, not_invertible) and, for
// the request itself, invalid_json, invalid_request, too_large and internal (not expected).
//
// The request loop (limits, flushing) is protocol/tools/json_lines.hpp.

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/result.hpp"
#include "protocol/text_op.hpp"
#include "protocol/tools/json_lines.hpp"
#include "protocol/utf8.hpp"

namespace {

using jointly::protocol::Error;
using jointly::protocol::make_error;
using jointly::protocol::Result;
using jointly::protocol::TextOp;
using json = nlohmann::json;
using jointly::protocol::tools::answer;
using jointly::protocol::tools::answer_error;
using jointly::protocol::tools::bad_request;

constexpr std::uint64_t kMaxPosition = (std::uint64_t{1} << 53) - 1;

// A whole number from 0 to 2^53 - 1, however JSON writes it (3, 3.0, 3e0).
bool is_position(const json& j) {
  if (!j.is_number()) return false;
  if (j.is_number_unsigned()) return j.get<std::uint64_t>() <= kMaxPosition;
  if (j.is_number_integer()) {
    return j.get<std::int64_t>() >= 0 && j.get<std::uint64_t>() <= kMaxPosition;
  }
  const double d = j.get<double>();
  return d >= 0 && d <= static_cast<double>(kMaxPosition) && std::floor(d) == d;
}

using Parser = Result<TextOp> (*)(const json&);

Result<TextOp> op_field(const json& req, const char* name, Parser parse) {
  const auto it = req.find(name);
  if (it == req.end()) return bad_request(std::string("the request has no \"") + name + "\" op");
  Result<TextOp> op = parse(*it);
  if (!op) {
    Error e = std::move(op).error();
    e.message = std::string("\"") + name + "\": " + e.message;
    return e;
  }
  return op;
}

std::string handle(const std::string& kind, json& req) {
  namespace p = jointly::protocol;

  if (kind == "apply") {
    const auto doc = req.find("doc");
    if (doc == req.end() || !doc->is_string()) {
      return answer_error(bad_request("apply needs a \"doc\" string"));
    }
    const std::string& text = doc->get_ref<const std::string&>();
    if (p::Status st = p::utf8::validate(text); !st) return answer_error(st.error());
    Result<TextOp> a = op_field(req, "a", p::parse_text_op);
    if (!a) return answer_error(a.error());
    Result<std::string> out = p::apply(text, *a);
    if (!out) return answer_error(out.error());
    return answer(std::move(out).value());
  }
  if (kind == "transform") {
    const auto side = req.find("side");
    p::Side s;
    if (side != req.end() && *side == "left") {
      s = p::Side::left;
    } else if (side != req.end() && *side == "right") {
      s = p::Side::right;
    } else {
      return answer_error(bad_request("transform needs \"side\": \"left\" or \"right\""));
    }
    Result<TextOp> a = op_field(req, "a", p::parse_text_op);
    if (!a) return answer_error(a.error());
    Result<TextOp> b = op_field(req, "b", p::parse_text_op);
    if (!b) return answer_error(b.error());
    return answer(p::to_json(p::transform(*a, *b, s)));
  }
  if (kind == "compose") {
    Result<TextOp> a = op_field(req, "a", p::parse_text_op);
    if (!a) return answer_error(a.error());
    Result<TextOp> b = op_field(req, "b", p::parse_text_op);
    if (!b) return answer_error(b.error());
    Result<TextOp> c = p::compose(*a, *b);
    if (!c) return answer_error(c.error());
    return answer(p::to_json(*c));
  }
  if (kind == "normalize") {
    Result<TextOp> a = op_field(req, "a", p::normalize_text_op);
    if (!a) return answer_error(a.error());
    return answer(p::to_json(*a));
  }
  if (kind == "transform_position") {
    const auto pos = req.find("pos");
    if (pos == req.end() || !is_position(*pos)) {
      return answer_error(
          bad_request("transform_position needs \"pos\": a whole number from 0 to 2^53 - 1"));
    }
    // type.js transformPosition checks nothing, so accept what normalize accepts.
    Result<TextOp> a = op_field(req, "a", p::normalize_text_op);
    if (!a) return answer_error(a.error());
    return answer(static_cast<std::uint64_t>(
        p::transform_position(static_cast<std::size_t>(pos->get<std::uint64_t>()), *a)));
  }
  if (kind == "invert") {
    Result<TextOp> a = op_field(req, "a", p::parse_text_op);
    if (!a) return answer_error(a.error());
    Result<TextOp> inv = p::invert(*a);
    if (!inv) return answer_error(inv.error());
    return answer(p::to_json(*inv));
  }
  return answer_error(bad_request("unknown op \"" + kind +
                                  "\"; known: apply, transform, compose, normalize, "
                                  "transform_position, invert"));
}

}  // namespace

int main() { return jointly::protocol::tools::serve_json_lines(handle); }
