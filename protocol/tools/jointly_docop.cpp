// jointly-docop: the document model and document operations on the command line, one JSON
// request per line of stdin and one JSON answer per line of stdout, in order, like jointly-ot.
// It exists so that the browser client's JavaScript port (client-web/src/doc_op.js) can be
// checked against the C++ core answer by answer (tests/differential/docop_differential.mjs).
//
// Requests (SNAPSHOT and DOCOP as in protocol/PROTOCOL.md, "## Document operations"):
//   {"op":"apply","doc":SNAPSHOT,"a":DOCOP}                        -> {"result":SNAPSHOT}
//   {"op":"transform","a":DOCOP,"b":DOCOP,"side":"left"|"right"}   -> {"result":DOCOP}
//   {"op":"compose","a":DOCOP,"b":DOCOP}                           -> {"result":DOCOP}
//   {"op":"parse","a":DOCOP}                                       -> {"result":DOCOP}
//   {"op":"document","doc":SNAPSHOT}                               -> {"result":SNAPSHOT}
//   {"op":"ordered","doc":SNAPSHOT}                                -> {"result":[ID, ...]}
//   {"op":"position_between","before":KEY|"","after":KEY|""}       -> {"result":KEY}
// `apply` reads the document first, then the op. Anything else gets
// {"error":{"code":C,"message":M}} and the tool goes on with the next line. Codes: those of the
// core (invalid_document, invalid_op, invalid_utf8, out_of_range, unknown_section,
// section_exists, section_removed, section_not_removed, section_locked, section_not_locked)
// and, for the request itself, invalid_json, invalid_request and too_large.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "protocol/result.hpp"
#include "protocol/tools/json_lines.hpp"

namespace {

using jointly::protocol::DocOp;
using jointly::protocol::Document;
using jointly::protocol::Error;
using jointly::protocol::make_error;
using jointly::protocol::Result;
using json = nlohmann::json;
using jointly::protocol::tools::answer;
using jointly::protocol::tools::answer_error;
using jointly::protocol::tools::bad_request;

Error prefixed(Error e, const char* name) {
  e.message = std::string("\"") + name + "\": " + e.message;
  return e;
}

Result<DocOp> op_field(const json& req, const char* name) {
  const auto it = req.find(name);
  if (it == req.end()) return bad_request(std::string("the request has no \"") + name + "\" op");
  Result<DocOp> op = jointly::protocol::parse_doc_op(*it);
  if (!op) return prefixed(std::move(op).error(), name);
  return op;
}

Result<Document> doc_field(const json& req) {
  const auto it = req.find("doc");
  if (it == req.end()) return bad_request("the request has no \"doc\" snapshot");
  Result<Document> doc = jointly::protocol::parse_document(*it);
  if (!doc) return prefixed(std::move(doc).error(), "doc");
  return doc;
}

std::string handle(const std::string& kind, json& req) {
  namespace p = jointly::protocol;

  if (kind == "apply") {
    Result<Document> doc = doc_field(req);
    if (!doc) return answer_error(doc.error());
    Result<DocOp> a = op_field(req, "a");
    if (!a) return answer_error(a.error());
    if (p::Status st = p::apply(*doc, *a); !st) return answer_error(st.error());
    return answer(p::to_json(*doc));
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
    Result<DocOp> a = op_field(req, "a");
    if (!a) return answer_error(a.error());
    Result<DocOp> b = op_field(req, "b");
    if (!b) return answer_error(b.error());
    return answer(p::to_json(p::transform(*a, *b, s)));
  }
  if (kind == "compose") {
    Result<DocOp> a = op_field(req, "a");
    if (!a) return answer_error(a.error());
    Result<DocOp> b = op_field(req, "b");
    if (!b) return answer_error(b.error());
    return answer(p::to_json(p::compose(*a, *b)));
  }
  if (kind == "parse") {
    Result<DocOp> a = op_field(req, "a");
    if (!a) return answer_error(a.error());
    return answer(p::to_json(*a));
  }
  if (kind == "document" || kind == "ordered") {
    Result<Document> doc = doc_field(req);
    if (!doc) return answer_error(doc.error());
    if (kind == "document") return answer(p::to_json(*doc));
    json ids = json::array();
    for (const p::Section* s : doc->ordered()) ids.push_back(s->id);
    return answer(std::move(ids));
  }
  if (kind == "position_between") {
    const auto before = req.find("before");
    const auto after = req.find("after");
    if (before == req.end() || !before->is_string() || after == req.end() || !after->is_string()) {
      return answer_error(
          bad_request("position_between needs \"before\" and \"after\" strings (\"\" for none)"));
    }
    Result<std::string> key = p::position_between(before->get_ref<const std::string&>(),
                                                  after->get_ref<const std::string&>());
    if (!key) return answer_error(key.error());
    return answer(std::move(key).value());
  }
  return answer_error(bad_request("unknown op \"" + kind +
                                  "\"; known: apply, transform, compose, parse, document, "
                                  "ordered, position_between"));
}

}  // namespace

int main() { return jointly::protocol::tools::serve_json_lines(handle); }
