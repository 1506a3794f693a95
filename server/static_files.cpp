// Static file path resolution: see server/static_files.hpp.
#include "server/static_files.hpp"

#include <filesystem>
#include <system_error>

namespace jointly::server {
namespace {

namespace fs = std::filesystem;
using protocol::make_error;

protocol::Error bad_path(std::string message) { return make_error("bad_path", std::move(message)); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

protocol::Result<std::string> resolve_static_target(std::string_view target) {
  if (const auto q = target.find_first_of("?#"); q != std::string_view::npos) {
    target = target.substr(0, q);
  }
  if (target.empty() || target.front() != '/') {
    return bad_path("the path must start with /");
  }
  // Raw bytes first: a backslash or control character is refused before decoding, so that an
  // encoded and a raw form are judged alike.
  std::string decoded;
  decoded.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    char c = target[i];
    if (c == '%') {
      const int hi = i + 1 < target.size() ? hex_value(target[i + 1]) : -1;
      const int lo = i + 2 < target.size() ? hex_value(target[i + 2]) : -1;
      if (hi < 0 || lo < 0) return bad_path("the path holds an invalid percent escape");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return bad_path("the path holds a control character");
    if (c == '\\') return bad_path("the path holds a backslash");
    decoded.push_back(c);
  }
  std::string_view rest(decoded);
  rest.remove_prefix(1);  // the leading '/'
  if (rest.empty()) return std::string("index.html");
  std::string out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = rest.find('/', start);
    const std::string_view segment = rest.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) {
      if (slash == std::string_view::npos) return bad_path("the path names a directory");
      return bad_path("the path holds an empty segment (//)");
    }
    if (segment == "." || segment == "..") return bad_path("the path holds a . or .. segment");
    if (!out.empty()) out.push_back('/');
    out.append(segment);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

protocol::Result<std::string> locate_static_file(const std::string& root,
                                                 const std::string& relative) {
  std::error_code ec;
  const fs::path real_root = fs::canonical(root, ec);
  if (ec) return make_error("not_found", "the static root does not exist");
  const fs::path real = fs::canonical(real_root / relative, ec);
  if (ec) return make_error("not_found", "no such file");
  // Inside the root: the root's components are a prefix of the file's.
  auto r = real_root.begin();
  auto f = real.begin();
  for (; r != real_root.end(); ++r, ++f) {
    if (f == real.end() || *r != *f) return make_error("not_found", "no such file");
  }
  if (!fs::is_regular_file(real, ec) || ec) return make_error("not_found", "no such file");
  return real.string();
}

std::string_view mime_type(std::string_view path) {
  struct Entry {
    std::string_view ext, type;
  };
  static constexpr Entry kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/vnd.microsoft.icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  for (const auto& e : kTypes) {
    if (ends_with(path, e.ext)) return e.type;
  }
  return "application/octet-stream";
}

}  // namespace jointly::server
