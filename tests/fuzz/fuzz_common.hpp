// Helpers shared by the libFuzzer targets in this folder: splitting one fuzz input into parts,
// reading JSON without exceptions, a temporary directory, and the invariant check that turns a
// broken law into a crash libFuzzer records (with the input that broke it).
//
// Header-only; each fuzz target is single-threaded, so nothing here is shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace jointly::fuzz {

// The byte that separates the parts of an input (document text, op a, op b). 0xFF never occurs
// in valid UTF-8 or JSON text, so a part never needs to escape it.
inline constexpr char kSeparator = '\xff';

// The input cut at every kSeparator; at least one part.
inline std::vector<std::string_view> split_input(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  for (;;) {
    const std::size_t cut = rest.find(kSeparator);
    if (cut == std::string_view::npos) {
      parts.push_back(rest);
      return parts;
    }
    parts.push_back(rest.substr(0, cut));
    rest.remove_prefix(cut + 1);
  }
}

// JSON text, or nothing when it is not JSON (no exception escapes).
inline std::optional<nlohmann::json> parse_json(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// A new directory under the temporary directory ($TMPDIR, else /tmp), named prefix-XXXXXX.
// libFuzzer ends a run without running atexit handlers, so nothing removes it: run.sh gives
// each target a TMPDIR of its own and removes that.
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "cannot make a temporary directory from %s\n", tmpl.c_str());
    std::abort();
  }
  return std::filesystem::canonical(tmpl);
}

// Reports a broken invariant with what the target knows and aborts, which libFuzzer records as
// a crash and saves the input for.
[[noreturn]] inline void invariant_failed(const char* file, int line, const char* what,
                                          const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n%s\n", file, line, what, detail.c_str());
  std::abort();
}

}  // namespace jointly::fuzz

// FUZZ_CHECK(cond, detail): aborts with detail (a std::string expression, evaluated only on
// failure) unless cond holds.
#define FUZZ_CHECK(cond, detail)                                                         \
  do {                                                                                   \
    if (!(cond)) ::jointly::fuzz::invariant_failed(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)
