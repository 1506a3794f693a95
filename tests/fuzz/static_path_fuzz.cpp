// libFuzzer target: the static file path resolver (server/static_files.hpp) on arbitrary request
// targets. Checked for every input:
//   - a path resolve_static_target accepts is relative, has no empty, "." or ".." segment, no
//     backslash, NUL or other control character, and stays inside the root when joined to it;
//   - a file locate_static_file finds lies inside the real static root, and is never the secret
//     file placed just outside it (also not through the symbolic link inside the root that
//     points at it).
// The root is a temporary directory made once per process (see make_temp_dir).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/static_files.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string show(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// base/secret.txt, and the root base/static with index.html, app.js, sub/page.html and a
// symbolic link sub/escape -> ../../secret.txt.
struct Root {
  fs::path base, root, secret;

  Root() : base(jointly::fuzz::make_temp_dir("jointly-fuzz-static")) {
    root = base / "static";
    secret = base / "secret.txt";
    fs::create_directories(root / "sub");
    std::ofstream(secret) << "secret";
    std::ofstream(root / "index.html") << "<!doctype html>";
    std::ofstream(root / "app.js") << "1";
    std::ofstream(root / "sub" / "page.html") << "page";
    fs::create_symlink("../../secret.txt", root / "sub" / "escape");
  }
  static const Root& get() {
    static Root r;
    return r;
  }
};

bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin();
  auto f = p.begin();
  for (; r != root.end(); ++r, ++f) {
    if (f == p.end() || *r != *f) return false;
  }
  return f != p.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  const Root& r = Root::get();
  auto rel = jointly::server::resolve_static_target(target);
  if (!rel) {
    FUZZ_CHECK(rel.error().code == "bad_path", "unexpected code " + rel.error().code);
    return 0;
  }
  const std::string& path = *rel;
  FUZZ_CHECK(!path.empty() && path.front() != '/', "not relative: " + show(path));
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u >= 0x20 && u != 0x7f && c != '\\',
               "a control character or backslash in " + show(path) + " from " + show(target));
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    const std::string_view seg = std::string_view(path).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    FUZZ_CHECK(!seg.empty() && seg != "." && seg != "..",
               "segment " + show(seg) + " in " + show(path) + " from " + show(target));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  FUZZ_CHECK(inside(r.root, (r.root / path).lexically_normal()),
             show(path) + " leaves the root, from " + show(target));
  auto file = jointly::server::locate_static_file(r.root.string(), path);
  if (file) {
    const fs::path found(*file);
    FUZZ_CHECK(inside(r.root, found) && found != r.secret,
               "served " + show(*file) + " for " + show(target));
  }
  return 0;
}
