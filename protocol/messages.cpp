// Client message parsing and server message writing: see protocol/messages.hpp and
// protocol/PROTOCOL.md ("WebSocket protocol").
#include "protocol/messages.hpp"

#include <charconv>
#include <cmath>
#include <utility>

#include "protocol/utf8.hpp"

namespace jointly::protocol {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Error missing(const char* field) {
  return make_error("missing_field", std::string("the message has no \"") + field + "\" field");
}

Error wrong_type(const char* field, const char* expected) {
  return make_error("wrong_type", std::string("\"") + field + "\" must be " + expected);
}

std::string describe_number(const json& j) { return dump(j); }

// A whole number from min to 2^53 - 1, however JSON writes it (3, 3.0, 3e0).
Result<std::uint64_t> whole_number(const json& obj, const char* field, std::uint64_t min) {
  const auto it = obj.find(field);
  if (it == obj.end()) return missing(field);
  const json& j = *it;
  if (!j.is_number()) return wrong_type(field, "a number");
  std::optional<std::uint64_t> v;
  if (j.is_number_unsigned()) {
    v = j.get<std::uint64_t>();
  } else if (j.is_number_integer()) {
    const auto i = j.get<std::int64_t>();
    if (i >= 0) v = static_cast<std::uint64_t>(i);
  } else {
    const double d = j.get<double>();
    if (std::isfinite(d) && d >= 0 && d <= static_cast<double>(kMaxWholeNumber) &&
        std::floor(d) == d) {
      v = static_cast<std::uint64_t>(d);
    }
  }
  if (!v || *v < min || *v > kMaxWholeNumber) {
    return make_error("invalid_value", std::string("\"") + field + "\" is " + describe_number(j) +
                                           "; it must be a whole number from " +
                                           std::to_string(min) + " to " +
                                           std::to_string(kMaxWholeNumber));
  }
  return *v;
}

Result<std::string> string_field(const json& obj, const char* field) {
  const auto it = obj.find(field);
  if (it == obj.end()) return missing(field);
  if (!it->is_string()) return wrong_type(field, "a string");
  return it->get<std::string>();
}

Status check_client_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxClientIdLength) {
    return make_error("invalid_value", "\"client\" must be 1 to " +
                                           std::to_string(kMaxClientIdLength) +
                                           " characters long; it has " + std::to_string(id.size()));
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) {
      return make_error("invalid_value", "\"client\" may hold only A-Z, a-z, 0-9, _ and -; byte " +
                                             std::to_string(i) + " is not one of them");
    }
  }
  return Status::Ok();
}

Result<ClientMessage> parse_hello(const json& j) {
  // Who is on the connection comes from its session: "name" and "institution", which earlier
  // versions sent, are ignored like any unknown field.
  HelloMessage m;
  auto client = string_field(j, "client");
  if (!client) return std::move(client).error();
  m.client = std::move(*client);
  if (auto st = check_client_id(m.client); !st) return st.error();
  if (const auto it = j.find("batch"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return wrong_type("batch", "true or false");
    m.batch = it->get<bool>();
  }
  return ClientMessage(std::move(m));
}

Result<ClientMessage> parse_open(const json& j, std::uint64_t doc) {
  OpenMessage m;
  m.doc = doc;
  if (const auto it = j.find("rev"); it != j.end() && !it->is_null()) {
    auto rev = whole_number(j, "rev", 0);
    if (!rev) return std::move(rev).error();
    m.rev = *rev;
  }
  return ClientMessage(m);
}

Result<ClientMessage> parse_submit(const json& j, std::uint64_t doc, std::uint64_t seq) {
  SubmitMessage m;
  m.doc = doc;
  m.seq = seq;
  auto rev = whole_number(j, "rev", 0);
  if (!rev) return std::move(rev).error();
  m.rev = *rev;
  auto client = string_field(j, "client");
  if (!client) return std::move(client).error();
  if (auto st = check_client_id(*client); !st) return st.error();
  m.client = std::move(*client);
  const auto op_it = j.find("op");
  if (op_it == j.end()) return missing("op");
  if (!op_it->is_array()) return wrong_type("op", "an array of document operation components");
  auto op = parse_doc_op(*op_it);
  if (!op) return std::move(op).error();
  m.op = std::move(*op);
  return ClientMessage(std::move(m));
}

Result<ClientMessage> parse_presence(const json& j, std::uint64_t doc) {
  PresenceMessage m;
  m.doc = doc;
  const auto section_it = j.find("section");
  if (section_it == j.end()) return missing("section");
  if (section_it->is_null()) return ClientMessage(m);
  if (!section_it->is_string()) return wrong_type("section", "a section id or null");
  Cursor c;
  c.section = section_it->get<std::string>();
  if (auto st = check_section_id(c.section); !st) {
    return make_error("invalid_value", "\"section\": " + st.error().message);
  }
  auto rev = whole_number(j, "rev", 0);
  if (!rev) return std::move(rev).error();
  m.rev = *rev;
  auto field = string_field(j, "field");
  if (!field) return std::move(field).error();
  auto named = Field::named(*field);  // "title", "body" or a named field
  if (!named) {
    return make_error("invalid_value", "\"field\": " + named.error().message);
  }
  c.field = std::move(named).value();
  auto anchor = whole_number(j, "anchor", 0);
  if (!anchor) return std::move(anchor).error();
  auto head = whole_number(j, "head", 0);
  if (!head) return std::move(head).error();
  c.anchor = *anchor;
  c.head = *head;
  m.cursor = std::move(c);
  return ClientMessage(std::move(m));
}

}  // namespace

Result<ClientMessage> parse_client_message(std::string_view text, MessageContext* ctx) {
  if (auto fast = parse_submit_fast(text)) {
    if (ctx) *ctx = MessageContext{"submit", fast->doc, fast->seq};
    return ClientMessage(std::move(*fast));
  }
  return parse_client_message_tree(text, ctx);
}

Result<ClientMessage> parse_client_message_tree(std::string_view text, MessageContext* ctx) {
  MessageContext local;
  MessageContext& c = ctx ? *ctx : local;
  c = MessageContext{};
  if (check_json_bounds(text, kMaxMessageDepth) != JsonBound::within) {
    return make_error("too_deep", "the message nests deeper than " +
                                      std::to_string(kMaxMessageDepth) + " levels");
  }
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("invalid_json", "the message is not valid JSON text");
  if (!j.is_object()) return make_error("invalid_message", "a message must be a JSON object");
  const auto type_it = j.find("type");
  if (type_it == j.end() || !type_it->is_string()) {
    return make_error("invalid_message", "the message has no \"type\" string");
  }
  const std::string& type = type_it->get_ref<const std::string&>();
  if (type != "hello" && type != "open" && type != "submit" && type != "presence" &&
      type != "leave") {
    return make_error("unknown_type",
                      "unknown message type; expected hello, open, submit, presence or leave");
  }
  c.in = type;
  if (type == "hello") return parse_hello(j);
  auto doc = whole_number(j, "doc", 1);
  if (!doc) return std::move(doc).error();
  c.doc = *doc;
  if (type == "open") return parse_open(j, *doc);
  if (type == "leave") return ClientMessage(LeaveMessage{*doc});
  if (type == "presence") return parse_presence(j, *doc);
  auto seq = whole_number(j, "seq", 0);
  if (!seq) return std::move(seq).error();
  c.seq = *seq;
  return parse_submit(j, *doc, *seq);
}

// ---- Bounds and the submit scanner ----------------------------------------------------------

JsonBound check_json_bounds(std::string_view text, std::size_t max_depth, std::size_t max_values) {
  std::size_t depth = 0, values = 1;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      if (ch == '\\') {
        ++i;
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    switch (ch) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return JsonBound::too_deep;
        ++values;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case ',':
        if (++values > max_values) return JsonBound::too_many_values;
        break;
      default:
        break;
    }
  }
  return JsonBound::within;
}

namespace {

// One pass over a submit frame (see parse_submit_fast). Every method returns false for
// anything outside the accepted shape; the caller then falls back to the tree.
class SubmitScanner {
 public:
  explicit SubmitScanner(std::string_view text) : t_(text) {}

  std::optional<SubmitMessage> run() {
    SubmitMessage m;
    unsigned seen = 0;  // a bit per top-level key
    if (!eat('{')) return std::nullopt;
    do {
      std::string_view key;
      if (!read_key(key) || !eat(':')) return std::nullopt;
      unsigned bit = 0;
      bool ok = false;
      if (key == "type") {
        bit = 1;
        std::string type;
        ok = read_string(type) && type == "submit";
      } else if (key == "doc") {
        bit = 2;
        ok = read_number(m.doc) && m.doc >= 1;
      } else if (key == "rev") {
        bit = 4;
        ok = read_number(m.rev);
      } else if (key == "client") {
        bit = 8;
        ok = read_string(m.client) && check_client_id(m.client).ok();
      } else if (key == "seq") {
        bit = 16;
        ok = read_number(m.seq);
      } else if (key == "op") {
        bit = 32;
        ok = read_doc_op(m.op);
      }
      if (!ok || (seen & bit) != 0) return std::nullopt;
      seen |= bit;
    } while (eat(','));
    if (!eat('}') || seen != 63) return std::nullopt;
    skip_space();
    if (i_ != t_.size()) return std::nullopt;
    return m;
  }

 private:
  void skip_space() {
    while (i_ < t_.size() &&
           (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) {
      ++i_;
    }
  }
  bool eat(char c) {
    skip_space();
    if (i_ >= t_.size() || t_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool at(char c) {
    skip_space();
    return i_ < t_.size() && t_[i_] == c;
  }

  // A key: a string without escapes (an escaped key is left to the tree).
  bool read_key(std::string_view& key) {
    if (!eat('"')) return false;
    const std::size_t start = i_;
    while (i_ < t_.size() && t_[i_] != '"') {
      const auto c = static_cast<unsigned char>(t_[i_]);
      if (c == '\\' || c < 0x20) return false;
      ++i_;
    }
    if (i_ >= t_.size()) return false;
    key = t_.substr(start, i_ - start);
    ++i_;
    return true;
  }

  static bool hex4(std::string_view s, std::uint32_t& v) {
    if (s.size() < 4) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s[k];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<std::uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<std::uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<std::uint32_t>(h - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  // A string value, escapes decoded; false unless it is a JSON string of valid UTF-8 (a raw
  // control character, a bad escape or a lone surrogate is not: the tree refuses those too).
  bool read_string(std::string& out) {
    if (!eat('"')) return false;
    out.clear();
    std::size_t run = i_;  // start of the bytes not yet copied
    while (i_ < t_.size()) {
      const auto c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') {
        out.append(t_.data() + run, i_ - run);
        ++i_;
        return utf8::validate(out).ok();
      }
      if (c < 0x20) return false;
      if (c != '\\') {
        ++i_;
        continue;
      }
      out.append(t_.data() + run, i_ - run);
      if (++i_ >= t_.size()) return false;
      const char e = t_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(t_.substr(i_), cp)) return false;
          i_ += 4;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a lone low surrogate
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (t_.substr(i_, 2) != "\\u" || !hex4(t_.substr(i_ + 2), low) || low < 0xDC00 ||
                low > 0xDFFF) {
              return false;  // a high surrogate must be followed by a low one
            }
            i_ += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          utf8::append(out, cp);
          break;
        }
        default:
          return false;
      }
      run = i_;
    }
    return false;
  }

  // A whole number 0..2^53-1 written as plain digits (3.0, 3e0, -0 and the like: the tree).
  bool read_number(std::uint64_t& v) {
    skip_space();
    const std::size_t start = i_;
    v = 0;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') {
      if (i_ - start >= 16) return false;
      v = v * 10 + static_cast<std::uint64_t>(t_[i_] - '0');
      ++i_;
    }
    const std::size_t digits = i_ - start;
    if (digits == 0 || (digits > 1 && t_[start] == '0') || v > kMaxWholeNumber) return false;
    return i_ >= t_.size() || (t_[i_] != '.' && t_[i_] != 'e' && t_[i_] != 'E');
  }

  bool read_doc_op(DocOp& op) {
    if (!eat('[')) return false;
    if (eat(']')) return true;
    do {
      SectionEdit e;
      if (!read_edit(e)) return false;
      op.components.emplace_back(std::move(e));
    } while (eat(','));
    return eat(']');
  }

  // {"edit": id, "f": field, "op": [text op]}, keys in any order, each once.
  bool read_edit(SectionEdit& e) {
    if (!eat('{')) return false;
    unsigned seen = 0;
    std::string scratch;
    do {
      std::string_view key;
      if (!read_key(key) || !eat(':')) return false;
      unsigned bit = 0;
      bool ok = false;
      if (key == "edit") {
        bit = 1;
        ok = read_string(e.section) && check_section_id(e.section).ok();
      } else if (key == "f") {
        bit = 2;
        if (read_string(scratch)) {
          auto field = Field::named(scratch);
          if (field.ok()) {
            e.field = std::move(field).value();
            ok = true;
          }
        }
      } else if (key == "op") {
        bit = 4;
        ok = read_text_op(e.op);
      }
      if (!ok || (seen & bit) != 0) return false;
      seen |= bit;
    } while (eat(','));
    return eat('}') && seen == 7;
  }

  // A text op in the form parse_text_op accepts: positive skips, never adjacent or trailing;
  // non-empty inserts; deletes {"d": N > 0} or {"d": "non-empty text"}; lengths below 2^53.
  bool read_text_op(TextOp& op) {
    if (!eat('[')) return false;
    if (eat(']')) return true;
    std::uint64_t base = 0, inserted = 0;
    bool last_was_skip = false;
    std::string text;
    do {
      bool is_skip = false;
      if (at('"')) {
        if (!read_string(text) || text.empty()) return false;
        const std::size_t cp = utf8::count(text);
        inserted += cp;
        op.insert(text, cp);
      } else if (at('{')) {
        ++i_;
        std::string_view key;
        if (!read_key(key) || key != "d" || !eat(':')) return false;
        if (at('"')) {
          if (!read_string(text) || text.empty()) return false;
          const std::size_t cp = utf8::count(text);
          base += cp;
          op.del_text(text, cp);
        } else {
          std::uint64_t n = 0;
          if (!read_number(n) || n == 0) return false;
          base += n;
          op.del(n);
        }
        if (!eat('}')) return false;
      } else {
        std::uint64_t n = 0;
        if (!read_number(n) || n == 0 || last_was_skip) return false;
        base += n;
        op.skip(n);
        is_skip = true;
      }
      if (base > kMaxWholeNumber || inserted > kMaxWholeNumber) return false;
      last_was_skip = is_skip;
    } while (eat(','));
    return eat(']') && !last_was_skip;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<SubmitMessage> parse_submit_fast(std::string_view text) {
  return SubmitScanner(text).run();
}

// ---- Encoders -------------------------------------------------------------------------------

std::string_view field_name(const Field& f) { return f.name(); }

json revision_json(const RevisionMessage& r) {
  json j = json::object();
  j["rev"] = r.rev;
  j["op"] = r.op;
  j["client"] = r.client;
  j["seq"] = r.seq;
  j["author"] = r.author;
  j["institution"] = r.institution;
  j["time"] = r.time_ms;
  if (r.restored_from != 0) j["restored_from"] = r.restored_from;
  return j;
}

json presence_json(const PresenceEntry& p) {
  json j = json::object();
  j["client"] = p.client;
  j["name"] = p.name;
  j["institution"] = p.institution;
  j["section"] = p.cursor.section;
  j["field"] = field_name(p.cursor.field);
  j["anchor"] = p.cursor.anchor;
  j["head"] = p.cursor.head;
  return j;
}

namespace {
json presence_list(const std::vector<PresenceEntry>& presence) {
  json list = json::array();
  for (const auto& p : presence) list.push_back(presence_json(p));
  return list;
}
}  // namespace

std::string encode_welcome(std::string_view connection, std::string_view server,
                           const Limits& limits, json user) {
  json j = json::object();
  j["type"] = "welcome";
  j["connection"] = connection;
  j["server"] = server;
  j["user"] = std::move(user);
  j["limits"] = {{"max_message_bytes", limits.max_message_bytes},
                 {"max_documents_per_connection", limits.max_documents_per_connection},
                 {"messages_per_second", limits.messages_per_second},
                 {"message_burst", limits.message_burst}};
  return dump(j);
}

std::string encode_snapshot(std::uint64_t doc, std::uint64_t rev, std::string_view title,
                            json snapshot, const std::vector<PresenceEntry>& presence,
                            std::string_view role) {
  json j = json::object();
  j["type"] = "snapshot";
  j["doc"] = doc;
  j["rev"] = rev;
  j["title"] = title;
  j["role"] = role;
  j["snapshot"] = std::move(snapshot);
  j["presence"] = presence_list(presence);
  return dump(j);
}

std::string encode_ops(std::uint64_t doc, std::uint64_t from, std::uint64_t rev,
                       const std::vector<RevisionMessage>& ops,
                       const std::vector<PresenceEntry>& presence, std::string_view role) {
  json j = json::object();
  j["type"] = "ops";
  j["doc"] = doc;
  j["from"] = from;
  j["rev"] = rev;
  j["role"] = role;
  json list = json::array();
  for (const auto& r : ops) list.push_back(revision_json(r));
  j["ops"] = std::move(list);
  j["presence"] = presence_list(presence);
  return dump(j);
}

// ack and op are the messages of every edit: written straight into one string, without a
// json tree, byte for byte as dump() writes the tree (keys in byte order, no spaces, strings
// escaped as nlohmann does with invalid UTF-8 replaced). Their test compares the two.
namespace {

template <class Int>
void append_number(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Appends s as a JSON string, escaped as nlohmann's dump escapes it.
void append_string(std::string& out, std::string_view s) {
  if (!utf8::validate(s).ok()) {
    out += dump(json(s));  // the rare invalid text: replaced the way dump() replaces it
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

}  // namespace

std::string encode_ack(std::uint64_t doc, std::uint64_t seq, std::uint64_t rev, bool duplicate,
                       const nlohmann::json* applied) {
  const std::string op = applied ? dump(*applied) : std::string();
  std::string out;
  out.reserve(96 + op.size());
  out += "{\"doc\":";
  append_number(out, doc);
  if (duplicate) out += ",\"duplicate\":true";
  if (applied) {
    out += ",\"op\":";
    out += op;
  }
  out += ",\"rev\":";
  append_number(out, rev);
  out += ",\"seq\":";
  append_number(out, seq);
  out += ",\"type\":\"ack\"}";
  return out;
}

std::string op_text(const DocOp& op) {
  for (const auto& c : op.components) {
    if (!std::holds_alternative<SectionEdit>(c)) return dump(to_json(op));  // rare: the tree
  }
  std::string out = "[";
  for (std::size_t i = 0; i < op.components.size(); ++i) {
    const auto& e = std::get<SectionEdit>(op.components[i]);
    if (i > 0) out += ',';
    out += "{\"edit\":";
    append_string(out, e.section);
    out += ",\"f\":";
    append_string(out, e.field.name());
    out += ",\"op\":[";
    bool first = true;
    for (const TextComponent& t : e.op.components()) {
      if (!first) out += ',';
      first = false;
      switch (t.kind) {
        case TextComponent::Kind::skip:
          append_number(out, static_cast<std::uint64_t>(t.n));
          break;
        case TextComponent::Kind::insert:
          append_string(out, t.text);
          break;
        case TextComponent::Kind::del:
          out += "{\"d\":";
          if (t.has_text) {
            append_string(out, t.text);
          } else {
            append_number(out, static_cast<std::uint64_t>(t.n));
          }
          out += '}';
          break;
      }
    }
    out += "]}";
  }
  out += ']';
  return out;
}

std::string encode_op(std::uint64_t doc, const RevisionMessage& r) {
  return encode_op(doc, r, dump(r.op));
}

std::string encode_op(std::uint64_t doc, const RevisionMessage& r, std::string_view op) {
  std::string out;
  out.reserve(op.size() + r.client.size() + r.author.size() + r.institution.size() + 160);
  out += "{\"author\":";
  append_string(out, r.author);
  out += ",\"client\":";
  append_string(out, r.client);
  out += ",\"doc\":";
  append_number(out, doc);
  out += ",\"institution\":";
  append_string(out, r.institution);
  out += ",\"op\":";
  out += op;
  if (r.restored_from != 0) {
    out += ",\"restored_from\":";
    append_number(out, r.restored_from);
  }
  out += ",\"rev\":";
  append_number(out, r.rev);
  out += ",\"seq\":";
  append_number(out, r.seq);
  out += ",\"time\":";
  append_number(out, r.time_ms);
  out += ",\"type\":\"op\"}";
  return out;
}

std::string encode_presence(std::uint64_t doc, std::uint64_t rev, const PresenceEntry& p) {
  json j = json::object();
  j["type"] = "presence";
  j["doc"] = doc;
  j["rev"] = rev;
  const json fields = presence_json(p);
  for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
  return dump(j);
}

std::string encode_presence_cleared(std::uint64_t doc, std::string_view client) {
  json j = json::object();
  j["type"] = "presence";
  j["doc"] = doc;
  j["client"] = client;
  j["section"] = nullptr;
  return dump(j);
}

std::string encode_left(std::uint64_t doc) {
  json j = json::object();
  j["type"] = "left";
  j["doc"] = doc;
  return dump(j);
}

std::string encode_batch(std::uint64_t doc,
                         const std::vector<std::shared_ptr<const std::string>>& messages) {
  std::size_t n = 64;
  for (const auto& m : messages) n += m->size() + 1;
  std::string out;
  out.reserve(n);
  out += R"({"type":"batch","doc":)";
  out += std::to_string(doc);
  out += R"(,"messages":[)";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ',';
    out += *messages[i];
  }
  out += "]}";
  return out;
}

std::string encode_error(const Error& error, const MessageContext& ctx) {
  json j = json::object();
  j["type"] = "error";
  j["code"] = error.code;
  j["message"] = error.message;
  if (!ctx.in.empty()) j["in"] = ctx.in;
  if (ctx.doc) j["doc"] = *ctx.doc;
  if (ctx.seq) j["seq"] = *ctx.seq;
  return dump(j);
}

}  // namespace jointly::protocol
