// The submit scanner (parse_submit_fast) against the JSON-tree parser it stands in front of:
// over random submits written in many ways, and over random mutations of them, whatever the
// scanner accepts the tree parses to the same message; the frames clients send take the fast
// path; the unusual ones it must decline do fall back to the tree, with the tree's answer.
// Also check_json_bounds, the one pre-parse scan of the server and the command-line tools.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "protocol/messages.hpp"

namespace jointly::protocol {
namespace {

using nlohmann::json;

// The tree's reading of text as a submit, or nullopt when it is an error or another type.
std::optional<SubmitMessage> tree_submit(std::string_view text) {
  auto r = parse_client_message_tree(text);
  if (!r) return std::nullopt;
  if (auto* s = std::get_if<SubmitMessage>(&*r)) return *s;
  return std::nullopt;
}

// Text as a JSON string, escaped in one of several ways JSON allows.
std::string quote(std::mt19937_64& rng, const std::string& s) {
  switch (rng() % 3) {
    case 0:
      return json(s).dump();  // nlohmann's escaping: raw UTF-8, \n, \u001f
    case 1:
      return json(s).dump(-1, ' ', /*ensure_ascii=*/true);  // \uXXXX, surrogate pairs
    default: {
      // Escapes where none is needed: "/" as \/ and "a" as \u0061 (the dump writes no
      // escape with an "a" in it for these texts: no control characters but \n and \t).
      std::string out;
      for (char c : json(s).dump()) {
        if (c == '/') {
          out += "\\/";
        } else if (c == 'a') {
          out += "\\u0061";
        } else {
          out += c;
        }
      }
      return out;
    }
  }
}

std::string random_text(std::mt19937_64& rng) {
  static const char* const kPieces[] = {
      "a", "Z", "\"", "\\", "/", " ", "\n", "\t", "é", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "<"};
  std::string s;
  const int n = 1 + static_cast<int>(rng() % 6);
  for (int i = 0; i < n; ++i) s += kPieces[rng() % std::size(kPieces)];
  return s;
}

// Optional whitespace between tokens.
std::string sp(std::mt19937_64& rng) {
  static const char* const kSpace[] = {"", "", "", " ", "\n", " \t", "\r\n  "};
  return kSpace[rng() % std::size(kSpace)];
}

// A random canonical text op as JSON text (what parse_text_op accepts).
std::string random_text_op(std::mt19937_64& rng) {
  std::vector<std::string> parts;
  bool last_skip = false;
  const int n = static_cast<int>(rng() % 5);
  for (int i = 0; i < n; ++i) {
    const auto kind = rng() % 4;
    if (kind == 0 && !last_skip) {
      parts.push_back(std::to_string(1 + rng() % 1000));
      last_skip = true;
      continue;
    }
    last_skip = false;
    if (kind <= 1) {
      parts.push_back(quote(rng, random_text(rng)));
    } else if (kind == 2) {
      parts.push_back("{" + sp(rng) + "\"d\"" + sp(rng) + ":" + sp(rng) +
                      std::to_string(1 + rng() % 50) + sp(rng) + "}");
    } else {
      parts.push_back("{\"d\":" + quote(rng, random_text(rng)) + "}");
    }
  }
  if (last_skip) parts.push_back(quote(rng, random_text(rng)));
  std::string out = "[" + sp(rng);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += (i ? "," + sp(rng) : "") + parts[i] + sp(rng);
  }
  return out + "]";
}

// Joins "key":value members in a random order.
std::string object(std::mt19937_64& rng, std::vector<std::pair<std::string, std::string>> kv) {
  std::shuffle(kv.begin(), kv.end(), rng);
  std::string out = "{" + sp(rng);
  for (std::size_t i = 0; i < kv.size(); ++i) {
    out += (i ? "," + sp(rng) : "") + "\"" + kv[i].first + "\"" + sp(rng) + ":" + sp(rng) +
           kv[i].second + sp(rng);
  }
  return out + "}";
}

std::string random_submit(std::mt19937_64& rng) {
  static const char* const kFields[] = {"body", "title", "outcomes", "ects"};
  static const char* const kSections[] = {"s1", "intro", "zz81Qe", "a-b_c"};
  std::string op = "[" + sp(rng);
  const int n = static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) {
    op += (i ? "," + sp(rng) : "") +
          object(rng, {{"edit", quote(rng, kSections[rng() % std::size(kSections)])},
                       {"f", quote(rng, kFields[rng() % std::size(kFields)])},
                       {"op", random_text_op(rng)}});
  }
  op += "]";
  const std::uint64_t big = (std::uint64_t{1} << 53) - 1;
  auto number = [&](std::uint64_t min) {
    const auto pick = rng() % 8;
    return std::to_string(pick == 0 ? min : pick == 1 ? big : min + rng() % 100000);
  };
  return sp(rng) +
         object(rng, {{"type", quote(rng, "submit")},
                      {"doc", number(1)},
                      {"rev", number(0)},
                      {"client", quote(rng, rng() % 2 ? "c-7f3a9b" : "Tab_12")},
                      {"seq", number(0)},
                      {"op", op}}) +
         sp(rng);
}

TEST(SubmitScanner, AcceptsWhatClientsSendAsTheTreeReadsIt) {
  const std::string frames[] = {
      R"({"type":"submit","doc":1,"rev":42,"client":"c-7f3a9b","seq":12,"op":[{"edit":"s1","f":"body","op":[5,"hi",{"d":2}]}]})",
      R"({"type":"submit","doc":3,"rev":0,"client":"x","seq":0,"op":[]})",
      R"({"op":[{"op":["line\none \"quoted\" \u00e9 \ud83d\ude00"],"f":"title","edit":"a"}],"seq":1,"client":"k","rev":7,"doc":9,"type":"submit"})",
      R"({"type":"submit","doc":1,"rev":1,"client":"c","seq":2,"op":[{"edit":"s","f":"outcomes","op":[3,{"d":"abc"},"x"]},{"edit":"t","f":"body","op":[]}]})",
  };
  for (const auto& f : frames) {
    SCOPED_TRACE(f);
    const auto fast = parse_submit_fast(f);
    ASSERT_TRUE(fast.has_value());
    const auto tree = tree_submit(f);
    ASSERT_TRUE(tree.has_value());
    EXPECT_EQ(*fast, *tree);
    MessageContext ctx;
    auto parsed = parse_client_message(f, &ctx);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(std::get<SubmitMessage>(*parsed), *tree);
    EXPECT_EQ(ctx.in, "submit");
    EXPECT_EQ(ctx.doc, tree->doc);
    EXPECT_EQ(ctx.seq, tree->seq);
  }
}

TEST(SubmitScanner, RandomSubmitsParseAsTheTreeParsesThem) {
  std::mt19937_64 rng(20261130);
  int fast_taken = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string f = random_submit(rng);
    SCOPED_TRACE(f);
    const auto tree = tree_submit(f);
    ASSERT_TRUE(tree.has_value()) << "the generator made a frame the tree refuses";
    const auto fast = parse_submit_fast(f);
    ASSERT_TRUE(fast.has_value()) << "a frame of the accepted shape fell back to the tree";
    ASSERT_EQ(*fast, *tree);
    ++fast_taken;
  }
  EXPECT_EQ(fast_taken, 20000);
}

// Mutated frames: the scanner may decline anything, but what it accepts the tree reads the
// same; and parse_client_message's answer (value or error code) is always the tree's.
TEST(SubmitScanner, MutatedFramesNeverDisagreeWithTheTree) {
  std::mt19937_64 rng(7);
  static const char kBytes[] =
      "{}[]\":,0123456789.eE-+ \\u\x01\xc3\xa9\xff"
      "dabnt";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string f = random_submit(rng);
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !f.empty(); ++k) {
      const std::size_t at = rng() % f.size();
      const char b = kBytes[rng() % (sizeof kBytes - 1)];
      switch (rng() % 3) {
        case 0:
          f[at] = b;
          break;
        case 1:
          f.insert(f.begin() + static_cast<std::ptrdiff_t>(at), b);
          break;
        default:
          f.erase(at, 1);
      }
    }
    SCOPED_TRACE(f);
    const auto fast = parse_submit_fast(f);
    MessageContext ctx_full, ctx_tree;
    const auto full = parse_client_message(f, &ctx_full);
    const auto tree = parse_client_message_tree(f, &ctx_tree);
    ASSERT_EQ(full.ok(), tree.ok());
    if (full.ok()) {
      ASSERT_EQ(*full, *tree);
    } else {
      ASSERT_EQ(full.error().code, tree.error().code);
      ASSERT_EQ(full.error().message, tree.error().message);
    }
    ASSERT_EQ(ctx_full.in, ctx_tree.in);
    ASSERT_EQ(ctx_full.doc, ctx_tree.doc);
    ASSERT_EQ(ctx_full.seq, ctx_tree.seq);
    if (fast) {
      ++accepted;
      ASSERT_TRUE(tree.ok());
      ASSERT_EQ(std::get<SubmitMessage>(*tree), *fast);
    }
  }
  EXPECT_GT(accepted, 100);  // mutations inside strings and numbers stay on the fast path
}

TEST(SubmitScanner, DeclinesTheUnusualAndTheTreeAnswers) {
  struct Case {
    std::string frame;
    std::string tree_code;  // "" when the tree parses it
  };
  const std::string op = R"([{"edit":"s1","f":"body","op":[1,"x"]}])";
  auto submit = [&](std::string extra) {
    return R"({"type":"submit","doc":1,"rev":2,"client":"c","seq":3,"op":)" + op + extra + "}";
  };
  const Case cases[] = {
      {submit(R"(,"extra":true)"), ""},  // unknown keys: the tree ignores them
      {submit(R"(,"seq":4)"), ""},       // a repeated key: the tree keeps the last
      {R"({"type":"submit","doc":1.0,"rev":2,"client":"c","seq":3,"op":[]})", ""},
      {R"({"type":"submit","doc":1,"rev":2e0,"client":"c","seq":3,"op":[]})", ""},
      {R"({"typ\u0065":"submit","doc":1,"rev":2,"client":"c","seq":3,"op":[]})", ""},
      {R"({"type":"submit","doc":1,"rev":2,"client":"c","seq":3,"op":[{"lock":"s1"}]})", ""},
      {R"({"type":"submit","doc":0,"rev":2,"client":"c","seq":3,"op":[]})", "invalid_value"},
      {R"({"type":"submit","doc":1,"rev":-1,"client":"c","seq":3,"op":[]})", "invalid_value"},
      {R"({"type":"submit","doc":1,"rev":9007199254740992,"client":"c","seq":3,"op":[]})",
       "invalid_value"},
      {R"({"type":"submit","doc":1,"rev":2,"client":"a b","seq":3,"op":[]})", "invalid_value"},
      {R"({"type":"submit","doc":1,"rev":2,"client":"c","op":[]})", "missing_field"},
      {R"({"type":"submit","doc":1,"rev":2,"client":"c","seq":3,"op":[{"edit":"s1","f":"body","op":[1]}]})",
       "invalid_op"},  // a trailing skip
      {R"({"type":"submit","doc":1,"rev":2,"client":"c","seq":3,"op":[{"edit":"s1","f":"body","op":[1,2,"x"]}]})",
       "invalid_op"},  // adjacent skips
      {R"({"type":"submit","doc":1,"rev":2,"client":"c","seq":3,"op":[{"edit":"s1","f":"body","op":[""]}]})",
       "invalid_op"},
      {R"({"type":"submit","doc":1,"rev":2,"client":"c","seq":3,"op":[{"edit":"s1","f":"body","op":[{"d":0}]}]})",
       "invalid_op"},
      {R"({"type":"submit","doc":1,"rev":2,"client":"c","seq":3,"op":[{"edit":"s1","f":"body","op":["\ud800"]}]})",
       "invalid_json"},  // a lone surrogate
      {"{\"type\":\"submit\",\"doc\":1,\"rev\":2,\"client\":\"c\",\"seq\":3,\"op\":[{\"edit\":"
       "\"s1\",\"f\":\"body\",\"op\":[\"\xff\"]}]}",
       "invalid_json"},  // not UTF-8
      {"{\"type\":\"submit\",\"doc\":1,\"rev\":2,\"client\":\"c\",\"seq\":3,\"op\":[{\"edit\":"
       "\"s1\",\"f\":\"body\",\"op\":[\"a\x01\"]}]}",
       "invalid_json"},  // a raw control character
      {R"({"type":"submit","doc":01,"rev":2,"client":"c","seq":3,"op":[]})", "invalid_json"},
      {submit("") + "x", "invalid_json"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.frame);
    EXPECT_FALSE(parse_submit_fast(c.frame).has_value());
    const auto full = parse_client_message(c.frame);
    const auto tree = parse_client_message_tree(c.frame);
    if (c.tree_code.empty()) {
      ASSERT_TRUE(tree.ok()) << tree.error().code << ": " << tree.error().message;
      ASSERT_TRUE(full.ok());
      EXPECT_EQ(*full, *tree);
    } else {
      ASSERT_FALSE(tree.ok());
      EXPECT_EQ(tree.error().code, c.tree_code);
      ASSERT_FALSE(full.ok());
      EXPECT_EQ(full.error().code, c.tree_code);
    }
  }
}

TEST(JsonBounds, DepthAndValuesOutsideStrings) {
  EXPECT_EQ(check_json_bounds("[[[1]]]", 3), JsonBound::within);
  EXPECT_EQ(check_json_bounds("[[[[1]]]]", 3), JsonBound::too_deep);
  EXPECT_EQ(check_json_bounds(R"(["[[[[[[", "\"[[[[["])", 2), JsonBound::within);
  EXPECT_EQ(check_json_bounds("[1,2,3]", 8, 4), JsonBound::within);  // 1 + '[' + 2 commas
  EXPECT_EQ(check_json_bounds("[1,2,3,4]", 8, 4), JsonBound::too_many_values);
  EXPECT_EQ(check_json_bounds(R"(["a,b,c,d,e"])", 8, 2), JsonBound::within);
  // The first bound broken in text order answers.
  EXPECT_EQ(check_json_bounds("[[[1,2,3]]]", 2, 2), JsonBound::too_deep);
  EXPECT_EQ(check_json_bounds("[1,2,3,[[[[", 2, 3), JsonBound::too_many_values);
  // Not JSON: still scanned, never read past the end (an escape at the very end).
  EXPECT_EQ(check_json_bounds("\"\\", 1), JsonBound::within);
  EXPECT_EQ(check_json_bounds("]]]]}", 1), JsonBound::within);
  // The message parser's bound.
  std::string deep(kMaxMessageDepth + 1, '[');
  EXPECT_EQ(check_json_bounds(deep, kMaxMessageDepth), JsonBound::too_deep);
  EXPECT_EQ(check_json_bounds(deep.substr(1), kMaxMessageDepth), JsonBound::within);
  auto r = parse_client_message(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "too_deep");
}

}  // namespace
}  // namespace jointly::protocol
