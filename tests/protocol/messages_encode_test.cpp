// The direct encoders of ack and op (protocol/messages.cpp) against the json-tree encoding they
// replaced: byte-identical output over random messages, including strings that need escaping
// and text that is not valid UTF-8.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "protocol/messages.hpp"
#include "protocol/utf8.hpp"

namespace jointly::protocol {
namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The encodings as a json tree writes them (the encoders before they wrote text directly).
std::string tree_ack(std::uint64_t doc, std::uint64_t seq, std::uint64_t rev, bool duplicate,
                     const json* applied = nullptr) {
  json j = json::object();
  j["type"] = "ack";
  j["doc"] = doc;
  j["seq"] = seq;
  j["rev"] = rev;
  if (duplicate) j["duplicate"] = true;
  if (applied) j["op"] = *applied;
  return dump(j);
}

std::string tree_op(std::uint64_t doc, const RevisionMessage& r) {
  json j = json::object();
  j["type"] = "op";
  j["doc"] = doc;
  j.update(revision_json(r));  // the fields ops lists carry too
  return dump(j);
}

// Random text: ASCII, every control character, quotes and backslashes, 2-, 3- and 4-byte
// UTF-8, and (when `valid` is false) stray bytes that are not UTF-8.
std::string random_text(std::mt19937_64& rng, bool valid) {
  static const char* const kPieces[] = {
      "a",  "Z",           "\"",       "\\",           "/",
      " ",  "\x7f",        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
      "\n", "\t",          "\r",       "\b",           "\f",
      "<",  "\xef\xbf\xbf"};
  static const char* const kInvalid[] = {"\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "\x80"};
  std::string s;
  const int n = static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) {
    const auto pick = rng() % 4;
    if (pick == 0) {
      s += static_cast<char>(rng() % 0x20);  // a control character, NUL included
    } else if (pick == 1 && !valid) {
      s += kInvalid[rng() % std::size(kInvalid)];
    } else {
      s += kPieces[rng() % std::size(kPieces)];
    }
  }
  return s;
}

std::uint64_t random_number(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return 0;
    case 1:
      return kMaxWholeNumber;
    case 2:
      return rng() % 100;
    default:
      return rng() % kMaxWholeNumber;
  }
}

// A random op in the wire form's shape: a list of section edits with retain/insert/delete
// components.
json random_op(std::mt19937_64& rng) {
  json op = json::array();
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    json comps = json::array();
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int c = 0; c < n; ++c) {
      switch (rng() % 3) {
        case 0:
          comps.push_back(static_cast<std::uint64_t>(rng() % 1000));
          break;
        case 1:
          comps.push_back(random_text(rng, true));
          break;
        default:
          comps.push_back(json{{"d", static_cast<std::uint64_t>(1 + rng() % 50)}});
      }
    }
    op.push_back(json{{"edit", random_text(rng, true)}, {"f", "body"}, {"op", comps}});
  }
  return op;
}

TEST(MessagesEncode, AckMatchesTheTreeEncoding) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t doc = random_number(rng), seq = random_number(rng),
                        rev = random_number(rng);
    const bool duplicate = rng() % 2 == 0;
    ASSERT_EQ(encode_ack(doc, seq, rev, duplicate), tree_ack(doc, seq, rev, duplicate));
    const json applied = random_op(rng);
    ASSERT_EQ(encode_ack(doc, seq, rev, duplicate, &applied),
              tree_ack(doc, seq, rev, duplicate, &applied));
  }
  EXPECT_EQ(encode_ack(1, 12, 43, true),
            R"({"doc":1,"duplicate":true,"rev":43,"seq":12,"type":"ack"})");
  const json approve = json::parse(
      R"([{"approve":"s1","hash":"h","inst":"Uni Graz","time":1732900000123,"user":"Ana"}])");
  EXPECT_EQ(encode_ack(1, 12, 43, false, &approve),
            R"({"doc":1,"op":[{"approve":"s1","hash":"h","inst":"Uni Graz","time":1732900000123,)"
            R"("user":"Ana"}],"rev":43,"seq":12,"type":"ack"})");
}

TEST(MessagesEncode, OpMatchesTheTreeEncoding) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 5000; ++i) {
    RevisionMessage r;
    r.rev = random_number(rng);
    r.op = random_op(rng);
    r.client = random_text(rng, true);
    r.seq = random_number(rng);
    const bool valid = rng() % 4 != 0;
    r.author = random_text(rng, valid);
    r.institution = random_text(rng, valid);
    switch (rng() % 3) {
      case 0:
        r.time_ms = std::numeric_limits<std::int64_t>::min();
        break;
      case 1:
        r.time_ms = -static_cast<std::int64_t>(rng() % 1000);
        break;
      default:
        r.time_ms = static_cast<std::int64_t>(rng() >> 1);
    }
    r.restored_from = rng() % 3 == 0 ? random_number(rng) : 0;  // a history restore, or not
    const std::uint64_t doc = random_number(rng);
    ASSERT_EQ(encode_op(doc, r), tree_op(doc, r)) << "case " << i;
  }
}

// A random DocOp of text edits (valid UTF-8 text, every kind of text component), sometimes
// with a component of another kind, which op_text writes through the tree.
DocOp random_doc_op(std::mt19937_64& rng) {
  DocOp op;
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    SectionEdit edit;
    edit.section = "s" + std::to_string(rng() % 100);
    switch (rng() % 3) {
      case 0:
        edit.field = Field::title;
        break;
      case 1:
        edit.field = Field::body;
        break;
      default:
        edit.field = *Field::named(rng() % 2 ? "outcomes" : "ects");
    }
    const int n = 1 + static_cast<int>(rng() % 5);
    for (int c = 0; c < n; ++c) {
      switch (rng() % 4) {
        case 0:
          edit.op.skip(rng() % 1000);
          break;
        case 1:
          edit.op.insert(random_text(rng, true));
          break;
        case 2:
          edit.op.del(1 + rng() % 50);
          break;
        default: {
          const std::string gone = random_text(rng, true) + "x";
          edit.op.del_text(gone, utf8::count(gone));
        }
      }
    }
    op.components.push_back(std::move(edit));
  }
  if (rng() % 8 == 0) op.components.push_back(SectionLock{"s1"});
  return op;
}

TEST(MessagesEncode, OpTextMatchesTheTreeEncoding) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 5000; ++i) {
    const DocOp op = random_doc_op(rng);
    ASSERT_EQ(op_text(op), dump(to_json(op))) << "case " << i;
    RevisionMessage r;
    r.rev = random_number(rng);
    r.client = random_text(rng, true);
    r.author = random_text(rng, rng() % 4 != 0);
    r.time_ms = static_cast<std::int64_t>(rng() >> 1);
    const std::uint64_t doc = random_number(rng);
    const std::string direct = encode_op(doc, r, op_text(op));
    r.op = to_json(op);
    ASSERT_EQ(direct, tree_op(doc, r)) << "case " << i;
  }
  EXPECT_EQ(op_text(DocOp{}), "[]");
}

TEST(MessagesEncode, OpEscapesAsJson) {
  RevisionMessage r;
  r.rev = 5;
  r.op = json::array();
  r.client = "c1";
  r.seq = 2;
  r.author = "A \"q\" \\ \x01\n\xc3\xa9";
  r.institution = "bad \xff";
  r.time_ms = -3;
  EXPECT_EQ(encode_op(9, r),
            "{\"author\":\"A \\\"q\\\" \\\\ \\u0001\\n\xc3\xa9\",\"client\":\"c1\",\"doc\":9,"
            "\"institution\":\"bad \xef\xbf\xbd\",\"op\":[],\"rev\":5,\"seq\":2,\"time\":-3,"
            "\"type\":\"op\"}");
}

TEST(MessagesEncode, ARestoreSaysWhichRevisionItBroughtBack) {
  RevisionMessage r{8, json::array(), "history:restore", 0, "Ana", "Uni Graz", 7, 3};
  EXPECT_EQ(encode_op(1, r),
            R"({"author":"Ana","client":"history:restore","doc":1,"institution":"Uni Graz",)"
            R"("op":[],"restored_from":3,"rev":8,"seq":0,"time":7,"type":"op"})");
  const json ops = json::parse(encode_ops(1, 7, 8, {r}, {}, "viewer"));
  EXPECT_EQ(ops["ops"][0]["restored_from"], 3);
  r.restored_from = 0;
  EXPECT_FALSE(
      json::parse(encode_ops(1, 7, 8, {r}, {}, "viewer"))["ops"][0].contains("restored_from"));
}

}  // namespace
}  // namespace jointly::protocol
