// The history API: see server/history_api.hpp and protocol/PROTOCOL.md ("History API").
#include "server/history_api.hpp"

#include <charconv>
#include <chrono>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "server/history.hpp"
#include "storage/history_index.hpp"

namespace jointly::server {
namespace {

using json = nlohmann::json;
constexpr std::string_view kPrefix = "/api/documents/";

HttpAnswer json_answer(unsigned status, const json& j) {
  HttpAnswer a;
  a.status = status;
  a.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return a;
}

HttpAnswer error_answer(const protocol::Error& e) {
  unsigned status = 400;
  if (e.code == "not_found") status = 404;
  if (e.code == "section_locked" || e.code == "version_exists") status = 409;
  if (e.code == "storage_failed") {
    return json_error(503, "storage_failed", "storage cannot serve this request now");
  }
  return json_error(status, e.code, e.message);
}

HttpAnswer storage_answer(const storage::Status& s) {
  if (s.code() == storage::Code::not_found) return json_error(404, "not_found", s.message());
  return json_error(503, "storage_failed", "storage cannot serve this request now");
}

HttpAnswer bad(std::string message) { return json_error(400, "invalid_request", message); }

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 19) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes s ('+' is a space); nullopt for a bad escape.
std::optional<std::string> decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::map<std::string, std::string>> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto key = decode(part.substr(0, eq));
    auto value = decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    out[*key] = *value;
  }
  return out;
}

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json runs_json(const std::vector<DiffRun>& runs) {
  json out = json::array();
  for (const auto& r : runs) out.push_back({{"kind", diff_kind_name(r.kind)}, {"text", r.text}});
  return out;
}

json spans_json(const std::vector<BlameSpan>& spans) {
  json out = json::array();
  for (const auto& s : spans) {
    out.push_back({{"text", s.text},
                   {"rev", s.rev},
                   {"author", s.author},
                   {"institution", s.institution},
                   {"time", s.time_ms}});
  }
  return out;
}

json version_json(const storage::NamedVersion& v) {
  return {{"rev", v.rev}, {"name", v.name}, {"by", v.who}, {"time", v.time_ms}};
}

json section_json(const protocol::Section& s) {
  return {{"id", s.id},
          {"pos", s.position},
          {"title", s.title.to_string()},
          {"body", s.body.to_string()},
          {"removed", s.removed},
          {"locked", s.locked}};
}

// One request, with its parsed parts.
struct Request {
  storage::Store& store;
  const Caller& caller;
  Role role;
  std::string_view method;
  storage::DocumentId doc = 0;
  std::string_view rest;  // after ".../history", e.g. "", "/at/12", "/diff"
  std::map<std::string, std::string> query;
  std::string_view content_type;
  std::string_view body;
  storage::DocumentMeta meta;
};

// A revision parameter: absent -> the last revision; else a number <= the last revision.
std::optional<std::uint64_t> revision_param(const Request& r, const std::string& name,
                                            HttpAnswer& error) {
  auto it = r.query.find(name);
  if (it == r.query.end()) return r.meta.last_rev;
  auto v = parse_u64(it->second);
  if (!v) {
    error = bad("\"" + name + "\" must be a revision number");
    return std::nullopt;
  }
  if (*v > r.meta.last_rev) {
    error =
        json_error(404, "not_found",
                   "document " + std::to_string(r.doc) + " has no revision " + std::to_string(*v) +
                       " (its last is " + std::to_string(r.meta.last_rev) + ")");
    return std::nullopt;
  }
  return v;
}

HttpAnswer list(const Request& r) {
  storage::HistoryFilter f;
  std::uint64_t cursor = 0;
  std::size_t limit = kHistoryPageDefault;
  bool grouped = true;
  for (const auto& [k, v] : r.query) {
    if (k == "section") {
      f.section = v;
    } else if (k == "author") {
      f.author = v;
    } else if (k == "institution") {
      f.institution = v;
    } else if (k == "from" || k == "to") {
      auto t = parse_u64(v);
      if (!t || *t > (std::uint64_t{1} << 53)) return bad("\"" + k + "\" must be a time in ms");
      (k == "from" ? f.from_ms : f.to_ms) = static_cast<std::int64_t>(*t);
    } else if (k == "cursor") {
      auto c = parse_u64(v);
      if (!c || *c == 0) return bad("\"cursor\" must be the \"next\" of an earlier page");
      cursor = *c;
    } else if (k == "limit") {
      auto n = parse_u64(v);
      if (!n || *n == 0 || *n > kHistoryPageMax) {
        return bad("\"limit\" must be 1 to " + std::to_string(kHistoryPageMax));
      }
      limit = static_cast<std::size_t>(*n);
    } else if (k == "group") {
      if (v != "0" && v != "1") return bad("\"group\" must be 0 or 1");
      grouped = v == "1";
    } else {
      return bad("unknown parameter \"" + k + "\"");
    }
  }
  storage::History history(r.store);
  json entries = json::array();
  std::uint64_t next = 0;
  if (grouped) {
    auto page = history.groups(r.doc, f, cursor, limit);
    if (!page.ok()) return storage_answer(page.status());
    for (const auto& g : page->entries) {
      json sections = json::array();
      for (const auto& [id, n] : g.sections) sections.push_back({{"id", id}, {"revisions", n}});
      entries.push_back({{"first", g.first_rev},
                         {"last", g.last_rev},
                         {"author", g.author},
                         {"institution", g.institution},
                         {"from", g.first_time_ms},
                         {"to", g.last_time_ms},
                         {"revisions", g.revisions},
                         {"matching", g.matching},
                         {"sections", std::move(sections)}});
    }
    next = page->next_cursor;
  } else {
    auto page = history.revisions(r.doc, f, cursor, limit);
    if (!page.ok()) return storage_answer(page.status());
    for (const auto& e : page->entries) {
      json entry = {{"rev", e.rev},
                    {"author", e.info.author},
                    {"institution", e.info.institution},
                    {"time", e.info.server_time_ms},
                    {"sections", e.info.sections}};
      if (e.info.restored_from != 0) entry["restored_from"] = e.info.restored_from;
      entries.push_back(std::move(entry));
    }
    next = page->next_cursor;
  }
  return json_answer(
      200, {{"entries", std::move(entries)}, {"next", next == 0 ? json(nullptr) : json(next)}});
}

HttpAnswer at(const Request& r, std::string_view rev_text) {
  auto rev = parse_u64(rev_text);
  if (!rev) return bad("the revision must be a number");
  if (*rev > r.meta.last_rev) {
    return json_error(
        404, "not_found",
        "document " + std::to_string(r.doc) + " has no revision " + std::to_string(*rev));
  }
  auto doc = r.store.load_at(r.doc, *rev);
  if (!doc.ok()) return storage_answer(doc.status());
  if (auto s = r.query.find("section"); s != r.query.end()) {
    const auto* section = doc->doc.find(s->second);
    if (section == nullptr) return json_error(404, "not_found", "no section " + s->second);
    return json_answer(200, {{"rev", *rev}, {"section", section_json(*section)}});
  }
  return json_answer(200, {{"id", r.doc},
                           {"title", r.meta.title},
                           {"rev", *rev},
                           {"snapshot", protocol::to_json(doc->doc)}});
}

HttpAnswer diff(const Request& r) {
  HttpAnswer error;
  if (r.query.count("from") == 0) return bad("\"from\" is required");
  auto from = revision_param(r, "from", error);
  if (!from) return error;
  auto to = revision_param(r, "to", error);
  if (!to) return error;
  auto before = r.store.load_at(r.doc, *from);
  if (!before.ok()) return storage_answer(before.status());
  auto after = r.store.load_at(r.doc, *to);
  if (!after.ok()) return storage_answer(after.status());
  std::optional<std::string_view> section;
  if (auto s = r.query.find("section"); s != r.query.end()) {
    if (before->doc.find(s->second) == nullptr && after->doc.find(s->second) == nullptr) {
      return json_error(404, "not_found", "no section " + s->second);
    }
    section = s->second;
  }
  json sections = json::array();
  for (const auto& d : diff_documents(before->doc, after->doc, section)) {
    sections.push_back({{"id", d.id},
                        {"change", change_name(d.change)},
                        {"moved", d.moved},
                        {"title", runs_json(d.title)},
                        {"body", runs_json(d.body)}});
    for (const auto& [name, runs] : d.fields) sections.back()["fields"][name] = runs_json(runs);
  }
  return json_answer(200, {{"from", *from}, {"to", *to}, {"sections", std::move(sections)}});
}

HttpAnswer blame(const Request& r, std::string_view section_text) {
  auto section = decode(section_text);
  if (!section || section->empty()) return bad("bad section id");
  HttpAnswer error;
  auto rev = revision_param(r, "rev", error);
  if (!rev) return error;
  auto b = blame_section(r.store, r.doc, *section, *rev);
  if (!b.ok()) return error_answer(b.error());
  json j = {{"rev", b->rev},
            {"section", *section},
            {"live", b->live},
            {"title", spans_json(b->title)},
            {"body", spans_json(b->body)}};
  for (const auto& [name, spans] : b->fields) j["fields"][name] = spans_json(spans);
  return json_answer(200, j);
}

HttpAnswer contributions_of(const Request& r) {
  HttpAnswer error;
  auto rev = revision_param(r, "rev", error);
  if (!rev) return error;
  auto c = contributions(r.store, r.doc, *rev);
  if (!c.ok()) return error_answer(c.error());
  json sections = json::array();
  for (const auto& s : *c) {
    json inst = json::array();
    for (const auto& i : s.institutions) {
      inst.push_back({{"institution", i.institution},
                      {"characters", i.characters},
                      {"revisions", i.revisions}});
    }
    sections.push_back({{"id", s.id},
                        {"title", s.title},
                        {"characters", s.characters},
                        {"institutions", std::move(inst)}});
  }
  return json_answer(200, {{"rev", *rev}, {"sections", std::move(sections)}});
}

bool is_json(std::string_view ct) {
  std::string base(ct.substr(0, ct.find(';')));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  for (auto& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return base == "application/json";
}

HttpAnswer versions(const Request& r) {
  storage::History history(r.store);
  if (r.method == "GET") {
    auto v = history.versions(r.doc);
    if (!v.ok()) return storage_answer(v.status());
    json list = json::array();
    for (const auto& nv : *v) list.push_back(version_json(nv));
    return json_answer(200, {{"versions", std::move(list)}});
  }
  if (r.role < Role::editor) {
    return json_error(403, "forbidden", "naming a version needs the editor or leader role");
  }
  if (!is_json(r.content_type)) {
    return json_error(415, "unsupported_media_type", "send Content-Type: application/json");
  }
  json j = json::parse(r.body.begin(), r.body.end(), nullptr, false);
  if (j.is_discarded()) return json_error(400, "invalid_json", "the body is not valid JSON text");
  if (!j.is_object()) return bad("the body must be a JSON object");
  const auto name = j.find("name");
  if (name == j.end() || !name->is_string()) return bad("\"name\" must be a string");
  std::uint64_t rev = r.meta.last_rev;
  if (const auto it = j.find("rev"); it != j.end()) {
    if (!it->is_number_unsigned()) return bad("\"rev\" must be a revision number");
    rev = it->get<std::uint64_t>();
  }
  const storage::NamedVersion v{rev, name->get<std::string>(), r.caller.name, now_ms()};
  auto s = history.name_version(r.doc, v.rev, v.name, v.who, v.time_ms);
  if (s.code() == storage::Code::invalid_argument) return bad("\"name\": " + s.message());
  if (s.code() == storage::Code::already_exists) {
    return json_error(409, "version_exists", s.message());
  }
  if (!s.ok()) return storage_answer(s);
  return json_answer(201, version_json(v));
}

HttpAnswer export_doc(const Request& r) {
  std::uint64_t rev = r.meta.last_rev;
  std::optional<storage::NamedVersion> version;
  if (r.query.count("rev") > 0 && r.query.count("version") > 0) {
    return bad("give \"rev\" or \"version\", not both");
  }
  if (auto it = r.query.find("version"); it != r.query.end()) {
    auto all = storage::History(r.store).versions(r.doc);
    if (!all.ok()) return storage_answer(all.status());
    for (const auto& v : *all) {
      if (v.name == it->second) version = v;
    }
    if (!version) return json_error(404, "not_found", "no version named " + it->second);
    rev = version->rev;
  } else {
    HttpAnswer error;
    auto v = revision_param(r, "rev", error);
    if (!v) return error;
    rev = *v;
  }
  const auto format = r.query.find("format");
  if (format == r.query.end()) return bad("\"format\" is required: md, html or json");
  auto doc = r.store.load_at(r.doc, rev);
  if (!doc.ok()) return storage_answer(doc.status());
  HttpAnswer a;
  std::string ext;
  if (format->second == "md") {
    a.content_type = "text/markdown; charset=utf-8";
    a.body = export_markdown(doc->doc, r.meta.title);
    ext = "md";
  } else if (format->second == "html") {
    a.content_type = "text/html; charset=utf-8";
    a.body = export_html(doc->doc, r.meta.title);
    a.headers.emplace_back("Content-Security-Policy", std::string(export_html_policy()));
    ext = "html";
  } else if (format->second == "json") {
    a.body = export_json(doc->doc, r.meta, rev, version)
                 .dump(-1, ' ', false, json::error_handler_t::replace);
    ext = "json";
  } else {
    return bad("\"format\" must be md, html or json");
  }
  a.headers.emplace_back("Content-Disposition", "attachment; filename=\"document-" +
                                                    std::to_string(r.doc) + "-r" +
                                                    std::to_string(rev) + "." + ext + "\"");
  return a;
}

}  // namespace

std::optional<HttpAnswer> route_history(storage::Store& store, const Caller& caller,
                                        std::optional<Role> role, std::string_view method,
                                        std::string_view target, std::string_view content_type,
                                        std::string_view body) {
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view id_text = path.substr(0, slash);
  std::string_view rest = path.substr(slash);
  constexpr std::string_view kHistory = "/history";
  if (rest.substr(0, kHistory.size()) != kHistory ||
      (rest.size() > kHistory.size() && rest[kHistory.size()] != '/')) {
    return std::nullopt;
  }
  rest.remove_prefix(kHistory.size());
  // Membership first, for every id, so that a non-member cannot probe which documents exist.
  if (!role) return json_error(403, "forbidden", "you are not a member of this document");
  const auto id = parse_u64(id_text);
  if (!id || *id == 0) return json_error(400, "invalid_request", "not a document id");
  const bool is_versions = rest == "/versions";
  if (method != "GET" && !(is_versions && method == "POST")) {
    return json_error(405, "method_not_allowed",
                      "use GET" + std::string(is_versions ? " or POST" : ""));
  }
  auto query = parse_query(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  if (!query) return json_error(400, "invalid_request", "the query string is malformed");
  auto meta = store.document(*id);
  if (!meta.ok()) return storage_answer(meta.status());
  try {
    Request r{store,
              caller,
              *role,
              method,
              *id,
              rest,
              std::move(*query),
              content_type,
              body,
              std::move(meta).value()};
    if (rest.empty() || rest == "/") return list(r);
    if (rest.substr(0, 4) == "/at/") return at(r, rest.substr(4));
    if (rest == "/diff") return diff(r);
    if (rest.substr(0, 7) == "/blame/") return blame(r, rest.substr(7));
    if (rest == "/contributions") return contributions_of(r);
    if (is_versions) return versions(r);
    if (rest == "/export") return export_doc(r);
    return json_error(404, "not_found", "no such history resource");
  } catch (const std::exception&) {
    return json_error(500, "internal", "the history request failed");
  }
}

}  // namespace jointly::server
