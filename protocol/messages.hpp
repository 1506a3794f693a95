// Messages of the WebSocket protocol (protocol/PROTOCOL.md, "WebSocket protocol"): parsing and
// validating what a client sends, and writing what the server sends.
//
// parse_client_message() takes the text of one frame and returns one of the client message
// types below, fully validated (ids, whole numbers, text, the document operation), or an Error
// with one of the stable codes of PROTOCOL.md's error table: invalid_json, too_deep,
// invalid_message, unknown_type, missing_field, wrong_type, invalid_value, invalid_op,
// invalid_utf8. It fills a MessageContext with what it could read (the type, doc and seq) so
// that an error can name the message it answers.
//
// The encode_* functions write the server's messages as compact JSON text.
//
// Pure functions on values: no I/O, no shared state, callable from any thread. Nothing here
// throws across the API (allocation failure aside).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "protocol/result.hpp"

namespace jointly::protocol {

// Bounds of a client message (see PROTOCOL.md).
inline constexpr std::size_t kMaxMessageDepth = 32;
inline constexpr std::size_t kMaxClientIdLength = 64;
inline constexpr std::size_t kMaxDisplayNameBytes = 128;
inline constexpr std::uint64_t kMaxWholeNumber = (std::uint64_t{1} << 53) - 1;

// The connection's account comes from its session, not from hello.
struct HelloMessage {
  std::string client;
  // The client takes `batch` messages: several messages of one document in one frame.
  bool batch = false;
  friend bool operator==(const HelloMessage&, const HelloMessage&) = default;
};

struct OpenMessage {
  std::uint64_t doc = 0;
  std::optional<std::uint64_t> rev;  // absent: answer with a snapshot
  friend bool operator==(const OpenMessage&, const OpenMessage&) = default;
};

struct SubmitMessage {
  std::uint64_t doc = 0;
  std::uint64_t rev = 0;
  std::string client;
  std::uint64_t seq = 0;
  DocOp op;
  friend bool operator==(const SubmitMessage&, const SubmitMessage&) = default;
};

// A cursor (anchor == head) or selection in one field of one section, in code points.
struct Cursor {
  std::string section;
  Field field = Field::body;
  std::uint64_t anchor = 0;
  std::uint64_t head = 0;
  friend bool operator==(const Cursor&, const Cursor&) = default;
};

struct PresenceMessage {
  std::uint64_t doc = 0;
  std::uint64_t rev = 0;         // meaningful only with a cursor
  std::optional<Cursor> cursor;  // absent: clear this client's presence
  friend bool operator==(const PresenceMessage&, const PresenceMessage&) = default;
};

struct LeaveMessage {
  std::uint64_t doc = 0;
  friend bool operator==(const LeaveMessage&, const LeaveMessage&) = default;
};

using ClientMessage =
    std::variant<HelloMessage, OpenMessage, SubmitMessage, PresenceMessage, LeaveMessage>;

// What could be read of a message, for the error that answers it. Empty fields were not read.
struct MessageContext {
  std::string in;  // the message's type, when it is a string
  std::optional<std::uint64_t> doc;
  std::optional<std::uint64_t> seq;
};

// Parses one text frame. ctx (optional) receives what could be read, also on error.
// A submit in the shape clients send is read by parse_submit_fast (no JSON tree); every other
// frame, and every frame that scanner declines, goes through the JSON tree.
Result<ClientMessage> parse_client_message(std::string_view text, MessageContext* ctx = nullptr);

// The hot path's scanner: reads a submit whose op holds only text edits, in one pass over the
// bytes, without building a JSON tree. It accepts exactly
//   {"type":"submit","doc":N,"rev":N,"client":"id","seq":N,"op":[{"edit":"id","f":"field",
//    "op":[text op]}, ...]}
// with the keys in any order, whitespace anywhere JSON allows it, escapes in string values (not
// in keys), numbers written as plain digits, and every value valid (the checks of the tree
// path). For such a frame the result equals what the tree path parses. nullopt for anything
// else — another type, another component, an unknown or repeated key, 3.0 or 3e0, any invalid
// value or text — which parse_client_message then parses (and answers) through the tree.
std::optional<SubmitMessage> parse_submit_fast(std::string_view text);
// The JSON-tree path alone, for every type (what parse_client_message does with a frame the
// scanner declines): the reference the scanner is tested and fuzzed against.
Result<ClientMessage> parse_client_message_tree(std::string_view text,
                                                MessageContext* ctx = nullptr);

// ---- Bounds checked before parsing ----------------------------------------------------------

// Which bound a JSON text breaks. check_json_bounds scans the bytes once, skipping the contents
// of strings, so that a hostile text is refused for no more than its size, before any parser
// (which would recurse, or allocate per value) sees it: arrays and objects nested deeper than
// max_depth, or more than max_values values (counted as 1 + opening brackets + commas, an upper
// bound of the values the text holds). The first bound broken, in text order, is the answer.
// The text need not be valid JSON (the parser judges that).
enum class JsonBound : std::uint8_t { within, too_deep, too_many_values };
JsonBound check_json_bounds(std::string_view text, std::size_t max_depth,
                            std::size_t max_values = SIZE_MAX);

// ---- What the server sends ------------------------------------------------------------------

struct Limits {
  std::uint64_t max_message_bytes = 0;
  std::uint64_t max_documents_per_connection = 0;
  std::uint64_t messages_per_second = 0;
  std::uint64_t message_burst = 0;
};

// A revision as the server sends it (in "op" and inside "ops").
struct RevisionMessage {
  std::uint64_t rev = 0;
  nlohmann::json op;  // the DocOp's wire form (to_json(DocOp))
  std::string client;
  std::uint64_t seq = 0;
  std::string author;
  std::string institution;
  std::int64_t time_ms = 0;
  // The revision a history restore brought back (PROTOCOL.md, "History API"); 0: not a restore,
  // and left out of the message.
  std::uint64_t restored_from = 0;
};

// Another client's presence, as the server sends it.
struct PresenceEntry {
  std::string client;
  std::string name;
  std::string institution;
  Cursor cursor;
};

// user: the connection's account (PROTOCOL.md's USER object).
std::string encode_welcome(std::string_view connection, std::string_view server,
                           const Limits& limits, nlohmann::json user);
// presence: the entries at rev; role: the caller's role in the document.
std::string encode_snapshot(std::uint64_t doc, std::uint64_t rev, std::string_view title,
                            nlohmann::json snapshot, const std::vector<PresenceEntry>& presence,
                            std::string_view role);
std::string encode_ops(std::uint64_t doc, std::uint64_t from, std::uint64_t rev,
                       const std::vector<RevisionMessage>& ops,
                       const std::vector<PresenceEntry>& presence, std::string_view role);
// applied: the op as the server applied it (its wire form), sent when the server rewrote the
// submitted op (an approve's inst, user and time); nullptr leaves "op" out.
std::string encode_ack(std::uint64_t doc, std::uint64_t seq, std::uint64_t rev, bool duplicate,
                       const nlohmann::json* applied = nullptr);
std::string encode_op(std::uint64_t doc, const RevisionMessage& r);
// The same with the op given as its JSON text (op_text), r.op unused: the message of every
// edit, built without a json tree.
std::string encode_op(std::uint64_t doc, const RevisionMessage& r, std::string_view op);
// to_json(op).dump(), byte for byte; text edits are written directly, without the tree.
std::string op_text(const DocOp& op);
std::string encode_presence(std::uint64_t doc, std::uint64_t rev, const PresenceEntry& p);
std::string encode_presence_cleared(std::uint64_t doc, std::string_view client);
std::string encode_left(std::uint64_t doc);
// Several messages of one document, each a complete encoded message, in one frame: the
// receiver handles them in order, as if each had come alone (PROTOCOL.md, `batch`).
std::string encode_batch(std::uint64_t doc,
                         const std::vector<std::shared_ptr<const std::string>>& messages);
std::string encode_error(const Error& error, const MessageContext& ctx = {});

// The JSON forms used inside the messages above (exposed for tests and the HTTP API).
nlohmann::json revision_json(const RevisionMessage& r);
nlohmann::json presence_json(const PresenceEntry& p);
std::string_view field_name(const Field& f);

}  // namespace jointly::protocol
