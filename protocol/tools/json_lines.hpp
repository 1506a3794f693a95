// The request loop shared by the protocol's command-line tools (jointly-ot, jointly-docop): one
// JSON request per line of stdin, one JSON answer per line of stdout, in order.
//
// Each line is screened before it reaches the JSON parser (at most kMaxLineBytes bytes, nesting
// kMaxDepth deep, kMaxValues values), parsed, checked to be an object with an "op" string, and
// handed to the tool's handler; a line that fails any of this gets {"error":{"code","message"}}
// (invalid_json, invalid_utf8, invalid_request, too_large, internal) and the loop goes on. Answers
// are flushed whenever no more input is waiting, so a pipe of a million requests and a person
// typing are served equally well.
//
// For the tools' main() only: single-threaded, owns stdin and stdout.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/result.hpp"

namespace jointly::protocol::tools {

// Limits that keep one hostile line from exhausting memory or stack.
inline constexpr std::size_t kMaxLineBytes = std::size_t{512} << 20;
inline constexpr std::size_t kMaxDepth = 64;
inline constexpr std::size_t kMaxValues = std::size_t{4} << 20;

// {"result": result} and {"error": {"code", "message"}}, as one line of JSON (invalid UTF-8 in
// strings replaced, never thrown).
std::string answer(nlohmann::json result);
std::string answer_error(const Error& e);
// An invalid_request error.
Error bad_request(std::string message);

// Answers one request: a JSON object whose "op" string is `kind` (the loop has checked both).
// May throw: the loop turns an exception into an error answer.
using Handler = std::string (*)(const std::string& kind, nlohmann::json& request);

// Serves stdin until it ends; returns the exit status for main().
int serve_json_lines(Handler handle);

}  // namespace jointly::protocol::tools
