// The HTTP API: see server/http_api.hpp and protocol/PROTOCOL.md ("HTTP API").
#include "server/http_api.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "protocol/document.hpp"
#include "protocol/messages.hpp"
#include "server/log.hpp"
#include "server/templates.hpp"

namespace jointly::server {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpAnswer json_answer(unsigned status, const json& j) {
  HttpAnswer a;
  a.status = status;
  a.body = dump(j);
  return a;
}

json meta_json(const storage::DocumentMeta& m) {
  return {{"id", m.id}, {"title", m.title}, {"created", m.created_ms}, {"rev", m.last_rev}};
}

HttpAnswer storage_error(const storage::Status& s) {
  log::error("storage request failed", {{"error", s.to_string()}});
  return json_error(503, "storage_failed", "storage cannot serve this request now");
}

HttpAnswer list_documents(const storage::Store& store) {
  auto docs = store.list_documents();
  if (!docs.ok()) return storage_error(docs.status());
  json list = json::array();
  for (const auto& m : *docs) list.push_back(meta_json(m));
  return json_answer(200, {{"documents", std::move(list)}});
}

bool is_json_content_type(std::string_view ct) {
  const auto semi = ct.find(';');
  std::string_view base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  std::string lower(base);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json";
}

HttpAnswer create_document(storage::Store& store, std::string_view content_type,
                           std::string_view body) {
  if (!is_json_content_type(content_type)) {
    return json_error(415, "unsupported_media_type",
                      "send the new document as Content-Type: application/json");
  }
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return json_error(400, "invalid_json", "the body is not valid JSON text");
  if (!j.is_object()) return json_error(400, "invalid_request", "the body must be a JSON object");
  const auto title_it = j.find("title");
  if (title_it == j.end() || !title_it->is_string()) {
    return json_error(400, "invalid_request", "\"title\" must be a string");
  }
  const std::string title = title_it->get<std::string>();
  if (title.empty() || title.size() > kMaxTitleBytes) {
    return json_error(400, "invalid_request",
                      "\"title\" must be 1 to " + std::to_string(kMaxTitleBytes) + " bytes long");
  }
  for (unsigned char c : title) {
    if (c < 0x20 || c == 0x7f) {
      return json_error(400, "invalid_request", "\"title\" holds a control character");
    }
  }
  std::string template_name = "blank";
  if (const auto t = j.find("template"); t != j.end() && !t->is_null()) {
    if (!t->is_string()) return json_error(400, "invalid_request", "\"template\" must be a string");
    template_name = t->get<std::string>();
  }
  auto doc = make_template(template_name);
  if (!doc) {
    return json_error(400, "invalid_request", "\"template\" must be \"blank\" or \"demo\"");
  }
  auto id = store.create_document(title, *doc);
  if (!id.ok()) return storage_error(id.status());
  auto meta = store.document(*id);
  if (!meta.ok()) return storage_error(meta.status());
  log::info("document created", {{"doc", *id}, {"template", template_name}});
  HttpAnswer a = json_answer(201, meta_json(*meta));
  a.headers.emplace_back("Location", "/api/documents/" + std::to_string(*id));
  return a;
}

HttpAnswer get_document(const storage::Store& store, std::string_view id_text) {
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size() || id == 0 ||
      id > protocol::kMaxWholeNumber || (id_text.size() > 1 && id_text[0] == '0')) {
    return json_error(400, "invalid_request", "a document id is a whole number from 1");
  }
  auto meta = store.document(id);
  if (!meta.ok()) {
    if (meta.status().is_not_found()) return json_error(404, "not_found", "no such document");
    return storage_error(meta.status());
  }
  auto loaded = store.load(id);
  if (!loaded.ok()) return storage_error(loaded.status());
  json j = meta_json(*meta);
  j["rev"] = loaded->rev;
  j["snapshot"] = protocol::to_json(loaded->doc);
  return json_answer(200, j);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed) {
  if (!allowed.empty()) {
    const std::string o = lower(origin);
    for (const auto& a : allowed) {
      std::string_view want = a;
      while (!want.empty() && want.back() == '/') want.remove_suffix(1);
      if (!o.empty() && o == lower(want)) return true;
    }
    return false;
  }
  if (origin.empty()) return true;
  const std::string o = lower(origin);
  std::string_view rest;
  if (o.rfind("http://", 0) == 0) {
    rest = std::string_view(o).substr(7);
  } else if (o.rfind("https://", 0) == 0) {
    rest = std::string_view(o).substr(8);
  } else {
    return false;  // "null", other schemes
  }
  return !rest.empty() && !host.empty() && rest == lower(host);
}

HttpAnswer json_error(unsigned status, std::string_view code, std::string_view message) {
  return json_answer(status, {{"error", {{"code", code}, {"message", message}}}});
}

std::optional<HttpAnswer> route_api(storage::Store& store, const Metrics& metrics,
                                    std::string_view method, std::string_view target,
                                    std::string_view content_type, std::string_view body) {
  std::string_view path = target.substr(0, target.find('?'));
  const bool get = method == "GET" || method == "HEAD";
  auto not_allowed = [] {
    return json_error(405, "method_not_allowed", "this method is not allowed here");
  };
  if (path == "/healthz") {
    if (!get) return not_allowed();
    if (store.healthy()) return json_answer(200, {{"status", "ok"}});
    return json_answer(503, {{"status", "unhealthy"}, {"error", store.error().to_string()}});
  }
  if (path == "/metrics") {
    if (!get) return not_allowed();
    HttpAnswer a;
    a.content_type = "text/plain; version=0.0.4; charset=utf-8";
    a.body = metrics.render();
    return a;
  }
  if (path == "/api/documents" || path == "/api/documents/") {
    if (get) return list_documents(store);
    if (method == "POST") return create_document(store, content_type, body);
    return not_allowed();
  }
  constexpr std::string_view kPrefix = "/api/documents/";
  if (path.substr(0, kPrefix.size()) == kPrefix) {
    if (!get) return not_allowed();
    return get_document(store, path.substr(kPrefix.size()));
  }
  if (path == "/api" || path.substr(0, 5) == "/api/") {
    return json_error(404, "not_found", "no such API");
  }
  return std::nullopt;
}

}  // namespace jointly::server
