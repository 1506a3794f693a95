// Static file path resolution: no target names a file outside the static root.
#include "server/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/storage/temp_dir.hpp"

namespace jointly::server {
namespace {

std::string resolved(std::string_view target) {
  auto r = resolve_static_target(target);
  return r.ok() ? *r : "!" + r.error().code;
}

TEST(StaticFiles, PlainPathsResolveRelativeToTheRoot) {
  EXPECT_EQ(resolved("/"), "index.html");
  EXPECT_EQ(resolved("/app.js"), "app.js");
  EXPECT_EQ(resolved("/assets/app.css?v=3#x"), "assets/app.css");
  EXPECT_EQ(resolved("/a%20b.txt"), "a b.txt");
  EXPECT_EQ(resolved("/?x=../../etc/passwd"), "index.html");
  EXPECT_EQ(resolved("/..."), "...");                // a name, not a parent
  EXPECT_EQ(resolved("/%252e%252e/x"), "%2e%2e/x");  // decoded once only: a literal name
}

TEST(StaticFiles, TraversalAttemptsAreBadPaths) {
  for (const char* t : {"/../etc/passwd",
                        "/..",
                        "/a/../../b",
                        "/a/..",
                        "/./a",
                        "/a/./b",
                        "/%2e%2e/etc/passwd",
                        "/%2E%2E/x",
                        "/.%2e/x",
                        "/%2e./x",
                        "/a/%2e%2e%2f%2e%2e/b",
                        "/..%2fetc",
                        "/%2e%2e%5cetc",
                        "/..\\etc\\passwd",
                        "/a\\b",
                        "/a%5cb",
                        "//etc/passwd",
                        "/a//b",
                        "/a%2f%2fb",
                        "/a%00.html",
                        "/index.html%00",
                        "/a%0a",
                        "/a%7f",
                        "/a%zz",
                        "/a%2",
                        "/a%",
                        "etc/passwd",
                        "",
                        "*",
                        "/a/",
                        "/assets/"}) {
    EXPECT_EQ(resolved(t), "!bad_path") << t;
  }
  std::string nul = "/a";
  nul.push_back('\0');
  nul += ".js";
  EXPECT_EQ(resolved(nul), "!bad_path");
  EXPECT_EQ(resolved("/a\tb"), "!bad_path");
}

TEST(StaticFiles, LocateFindsOnlyRegularFilesInsideTheRoot) {
  storage::testing::TempDir dir;
  const auto root = dir.path() / "dist";
  std::filesystem::create_directories(root / "assets");
  storage::testing::write_file(root / "index.html", "<!doctype html>");
  storage::testing::write_file(root / "assets" / "app.js", "1");
  storage::testing::write_file(dir.path() / "secret.txt", "no");
  std::filesystem::create_symlink(dir.path() / "secret.txt", root / "leak.txt");
  const std::string r = root.string();
  EXPECT_TRUE(locate_static_file(r, "index.html").ok());
  EXPECT_TRUE(locate_static_file(r, "assets/app.js").ok());
  EXPECT_EQ(locate_static_file(r, "assets").error().code, "not_found");
  EXPECT_EQ(locate_static_file(r, "missing.js").error().code, "not_found");
  EXPECT_EQ(locate_static_file(r, "leak.txt").error().code, "not_found");
  EXPECT_EQ(locate_static_file(r, "../secret.txt").error().code, "not_found");
  EXPECT_EQ(locate_static_file((dir.path() / "absent").string(), "index.html").error().code,
            "not_found");
}

TEST(StaticFiles, MimeTypesFollowTheExtension) {
  EXPECT_EQ(mime_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("a/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("m.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("s.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("x.json"), "application/json");
  EXPECT_EQ(mime_type("x.js.map"), "application/json");
  EXPECT_EQ(mime_type("i.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type("f.woff2"), "font/woff2");
  EXPECT_EQ(mime_type("blob"), "application/octet-stream");
  EXPECT_EQ(mime_type("x.exe"), "application/octet-stream");
}

}  // namespace
}  // namespace jointly::server
