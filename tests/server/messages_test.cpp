// Client message validation (protocol/messages.cpp): every message type, every error code,
// and the server's encoders.
#include "protocol/messages.hpp"

#include <gtest/gtest.h>

#include <string>

namespace jointly::protocol {
namespace {

using nlohmann::json;

// The error code parse_client_message answers for text ("" when it parses).
std::string code_of(const std::string& text, MessageContext* ctx = nullptr) {
  auto r = parse_client_message(text, ctx);
  return r.ok() ? std::string() : r.error().code;
}

TEST(Messages, ParsesHello) {
  auto r = parse_client_message(
      R"({"type":"hello","client":"c-1_A","name":"Ana Silva","institution":"Uni Graz"})");
  // name and institution come from the session now: ignored like any unknown field.
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<HelloMessage>(*r), (HelloMessage{"c-1_A"}));
}

TEST(Messages, HelloMayAskForBatches) {
  auto yes = parse_client_message(R"({"type":"hello","client":"c1","batch":true})");
  ASSERT_TRUE(yes.ok());
  EXPECT_EQ(std::get<HelloMessage>(*yes), (HelloMessage{"c1", true}));
  auto no = parse_client_message(R"({"type":"hello","client":"c1","batch":false})");
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(std::get<HelloMessage>(*no).batch);
  auto null = parse_client_message(R"({"type":"hello","client":"c1","batch":null})");
  ASSERT_TRUE(null.ok());
  EXPECT_FALSE(std::get<HelloMessage>(*null).batch);
  auto wrong = parse_client_message(R"({"type":"hello","client":"c1","batch":"yes"})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "wrong_type");
  EXPECT_EQ(wrong.error().message, "\"batch\" must be true or false");
}

TEST(Messages, ParsesOpenWithAndWithoutRev) {
  auto a = parse_client_message(R"({"type":"open","doc":3})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(std::get<OpenMessage>(*a), (OpenMessage{3, std::nullopt}));
  auto b = parse_client_message(R"({"type":"open","doc":3,"rev":0})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(std::get<OpenMessage>(*b), (OpenMessage{3, 0}));
  auto c = parse_client_message(R"({"type":"open","doc":3.0,"rev":4e0})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(std::get<OpenMessage>(*c), (OpenMessage{3, 4}));
}

TEST(Messages, ParsesSubmit) {
  MessageContext ctx;
  auto r = parse_client_message(
      R"({"type":"submit","doc":1,"rev":41,"client":"c1","seq":12,"op":[{"edit":"s1","f":"body","op":[5,"hello"]}]})",
      &ctx);
  ASSERT_TRUE(r.ok());
  const auto& m = std::get<SubmitMessage>(*r);
  EXPECT_EQ(m.doc, 1u);
  EXPECT_EQ(m.rev, 41u);
  EXPECT_EQ(m.client, "c1");
  EXPECT_EQ(m.seq, 12u);
  ASSERT_EQ(m.op.components.size(), 1u);
  EXPECT_EQ(ctx.in, "submit");
  EXPECT_EQ(ctx.doc, 1u);
  EXPECT_EQ(ctx.seq, 12u);
}

TEST(Messages, ParsesPresenceAndItsClearing) {
  auto r = parse_client_message(
      R"({"type":"presence","doc":1,"rev":2,"section":"s1","field":"title","anchor":1,"head":3})");
  ASSERT_TRUE(r.ok());
  const auto& m = std::get<PresenceMessage>(*r);
  ASSERT_TRUE(m.cursor);
  EXPECT_EQ(*m.cursor, (Cursor{"s1", Field::title, 1, 3}));
  auto c = parse_client_message(R"({"type":"presence","doc":1,"section":null})");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(std::get<PresenceMessage>(*c).cursor);
}

TEST(Messages, ParsesLeave) {
  auto r = parse_client_message(R"({"type":"leave","doc":9})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<LeaveMessage>(*r).doc, 9u);
}

TEST(Messages, MalformedJsonIsInvalidJson) {
  EXPECT_EQ(code_of("{"), "invalid_json");
  EXPECT_EQ(code_of(""), "invalid_json");
  EXPECT_EQ(code_of(R"({"type":"hello",})"), "invalid_json");
  EXPECT_EQ(code_of("{\"type\":\"hello\",\"name\":\"\xff\"}"), "invalid_json");
  EXPECT_EQ(code_of(R"({"type":"hello","name":"\ud800"})"), "invalid_json");
}

TEST(Messages, DeepNestingIsTooDeepBeforeParsing) {
  std::string deep =
      R"({"type":"open","doc":1,"x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(code_of(deep), "too_deep");
  // Brackets inside strings do not count.
  std::string in_string = R"({"type":"open","doc":1,"x":")" + std::string(100, '[') + "\"}";
  EXPECT_EQ(code_of(in_string), "");
  // An unbalanced flood of brackets is caught before the parser sees it.
  EXPECT_EQ(code_of(std::string(100000, '[')), "too_deep");
}

TEST(Messages, NotAnObjectOrNoTypeIsInvalidMessage) {
  EXPECT_EQ(code_of("[]"), "invalid_message");
  EXPECT_EQ(code_of("42"), "invalid_message");
  EXPECT_EQ(code_of(R"({"doc":1})"), "invalid_message");
  EXPECT_EQ(code_of(R"({"type":7})"), "invalid_message");
}

TEST(Messages, UnknownTypeIsUnknownTypeAndNotEchoed) {
  MessageContext ctx;
  EXPECT_EQ(code_of(R"({"type":"<script>"})", &ctx), "unknown_type");
  EXPECT_EQ(ctx.in, "");
}

TEST(Messages, MissingFieldsAreNamed) {
  auto r = parse_client_message(R"({"type":"submit","doc":1,"rev":0,"client":"c","op":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "missing_field");
  EXPECT_NE(r.error().message.find("\"seq\""), std::string::npos);
  EXPECT_EQ(code_of(R"({"type":"hello","name":"n"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"hello","client":"c"})"), "");
  EXPECT_EQ(code_of(R"({"type":"open"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"submit","doc":1,"seq":1,"client":"c","op":[]})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"submit","doc":1,"seq":1,"rev":0,"op":[]})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"submit","doc":1,"seq":1,"rev":0,"client":"c"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"presence","doc":1})"), "missing_field");
  EXPECT_EQ(
      code_of(R"({"type":"presence","doc":1,"section":"s","field":"body","anchor":0,"head":0})"),
      "missing_field");
}

TEST(Messages, WrongTypesAreWrongType) {
  EXPECT_EQ(code_of(R"({"type":"open","doc":"1"})"), "wrong_type");
  EXPECT_EQ(code_of(R"({"type":"open","doc":1,"rev":"4"})"), "wrong_type");
  EXPECT_EQ(code_of(R"({"type":"hello","client":1,"name":"n","institution":"i"})"), "wrong_type");
  EXPECT_EQ(code_of(R"({"type":"submit","doc":1,"seq":1,"rev":0,"client":"c","op":{}})"),
            "wrong_type");
  EXPECT_EQ(code_of(R"({"type":"presence","doc":1,"section":5})"), "wrong_type");
  EXPECT_EQ(code_of(R"({"type":"open","doc":true})"), "wrong_type");
}

TEST(Messages, OutOfBoundValuesAreInvalidValue) {
  EXPECT_EQ(code_of(R"({"type":"open","doc":0})"), "invalid_value");
  EXPECT_EQ(code_of(R"({"type":"open","doc":-1})"), "invalid_value");
  EXPECT_EQ(code_of(R"({"type":"open","doc":1.5})"), "invalid_value");
  EXPECT_EQ(code_of(R"({"type":"open","doc":1e300})"), "invalid_value");
  EXPECT_EQ(code_of(R"({"type":"open","doc":1,"rev":9007199254740992})"), "invalid_value");
  EXPECT_EQ(code_of(R"({"type":"open","doc":1,"rev":18446744073709551616})"), "invalid_value");
  EXPECT_EQ(code_of(R"({"type":"open","doc":1,"rev":9007199254740991})"), "");
  EXPECT_EQ(code_of(R"({"type":"hello","client":"a b","name":"n","institution":"i"})"),
            "invalid_value");
  EXPECT_EQ(code_of(R"({"type":"hello","client":")" + std::string(65, 'c') +
                    R"(","name":"n","institution":"i"})"),
            "invalid_value");
  EXPECT_EQ(
      code_of(
          R"({"type":"presence","doc":1,"rev":0,"section":"s","field":"X","anchor":0,"head":0})"),
      "invalid_value");
  EXPECT_EQ(
      code_of(
          R"({"type":"presence","doc":1,"rev":0,"section":"bad id!","field":"body","anchor":0,"head":0})"),
      "invalid_value");
}

TEST(Messages, InvalidOpsAreInvalidOpOrInvalidUtf8) {
  EXPECT_EQ(
      code_of(
          R"({"type":"submit","doc":1,"seq":1,"rev":0,"client":"c","op":[{"edit":"s","f":"body","op":[0]}]})"),
      "invalid_op");
  EXPECT_EQ(code_of(R"({"type":"submit","doc":1,"seq":1,"rev":0,"client":"c","op":[{"bogus":1}]})"),
            "invalid_op");
  EXPECT_EQ(
      code_of(
          R"({"type":"submit","doc":1,"seq":1,"rev":0,"client":"c","op":[{"edit":"s","f":"body","op":[3]}]})"),
      "invalid_op");
}

TEST(Messages, TheContextNamesWhatWasReadBeforeTheError) {
  MessageContext ctx;
  EXPECT_EQ(code_of(R"({"type":"submit","doc":4,"seq":9,"rev":"x","client":"c","op":[]})", &ctx),
            "wrong_type");
  EXPECT_EQ(ctx.in, "submit");
  EXPECT_EQ(ctx.doc, 4u);
  EXPECT_EQ(ctx.seq, 9u);
  EXPECT_EQ(
      json::parse(encode_error(make_error("wrong_type", "m"), ctx)),
      json::parse(
          R"({"type":"error","code":"wrong_type","message":"m","in":"submit","doc":4,"seq":9})"));
  EXPECT_EQ(json::parse(encode_error(make_error("invalid_json", "m"))),
            json::parse(R"({"type":"error","code":"invalid_json","message":"m"})"));
}

TEST(Messages, EncodesTheServerMessages) {
  EXPECT_EQ(json::parse(encode_ack(1, 12, 43, false)),
            json::parse(R"({"type":"ack","doc":1,"seq":12,"rev":43})"));
  EXPECT_EQ(json::parse(encode_ack(1, 12, 43, true)),
            json::parse(R"({"type":"ack","doc":1,"seq":12,"rev":43,"duplicate":true})"));
  RevisionMessage r{43, json::parse(R"([{"lock":"s1"}])"), "c-7", 12, "Ana", "Uni Graz", 1000};
  EXPECT_EQ(
      json::parse(encode_op(1, r)),
      json::parse(
          R"({"type":"op","doc":1,"rev":43,"op":[{"lock":"s1"}],"client":"c-7","seq":12,"author":"Ana","institution":"Uni Graz","time":1000})"));
  PresenceEntry p{"c-1", "Jan", "MU", Cursor{"s1", Field::body, 8, 9}};
  EXPECT_EQ(
      json::parse(encode_presence(1, 43, p)),
      json::parse(
          R"({"type":"presence","doc":1,"rev":43,"client":"c-1","name":"Jan","institution":"MU","section":"s1","field":"body","anchor":8,"head":9})"));
  EXPECT_EQ(json::parse(encode_presence_cleared(1, "c-1")),
            json::parse(R"({"type":"presence","doc":1,"client":"c-1","section":null})"));
  EXPECT_EQ(json::parse(encode_left(2)), json::parse(R"({"type":"left","doc":2})"));
  const std::vector<std::shared_ptr<const std::string>> two{
      std::make_shared<const std::string>(encode_ack(2, 3, 9, false)),
      std::make_shared<const std::string>(encode_left(2))};
  EXPECT_EQ(json::parse(encode_batch(2, two)),
            json::parse(R"({"type":"batch","doc":2,"messages":[)"
                        R"({"type":"ack","doc":2,"seq":3,"rev":9},{"type":"left","doc":2}]})"));
  auto ops = json::parse(encode_ops(1, 41, 43, {r}, {p}, "editor"));
  EXPECT_EQ(ops["from"], 41);
  EXPECT_EQ(ops["role"], "editor");
  auto snap = json::parse(encode_snapshot(1, 43, "T", json::object(), {}, "viewer"));
  EXPECT_EQ(snap["role"], "viewer");
  EXPECT_EQ(ops["ops"][0]["author"], "Ana");
  EXPECT_EQ(ops["presence"][0]["client"], "c-1");
  auto w = json::parse(encode_welcome("17", "jointly/0.1.0", Limits{262144, 16, 100, 200},
                                      json{{"id", 3}, {"name", "Ana"}}));
  EXPECT_EQ(w["limits"]["max_message_bytes"], 262144);
  EXPECT_EQ(w["user"]["id"], 3);
  EXPECT_EQ(w["connection"], "17");
}

}  // namespace
}  // namespace jointly::protocol
