// jointly-replay FILE.json.gz...: replays editing traces (tests/traces/README.md) through the
// path the server takes for a submitted text op (build, check, apply to a Rope) and prints one
// JSON line per file:
//   sequential: {"trace","patches","final_chars","ok","apply_ms"}; ok when the final text is
//               endContent; apply_ms times the patches alone, not reading or parsing.
//   concurrent: {"trace","kind":"concurrent","agents","patches","final_chars","converged",
//               "matches_end_content","transforms","merge_ms","ok"}; merged server-ordered
//               (Jupiter), ok when every agent's replica converged to the server's text.
//   unreadable or unsupported: {"trace","ok":false,"error":{"code","message"}}.
// Exit status: 0 when every file is ok, 1 otherwise, 2 on a usage error.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol/tools/trace.hpp"

namespace {

using jointly::protocol::Error;
using json = nlohmann::ordered_json;

json error_line(const std::string& name, const Error& e) {
  return json{
      {"trace", name}, {"ok", false}, {"error", {{"code", e.code}, {"message", e.message}}}};
}

// Replays one file; returns its line.
json replay_file(const std::string& path) {
  namespace p = jointly::protocol;
  const std::string name = std::filesystem::path(path).filename().string();
  auto trace = p::read_trace(path);
  if (!trace) return error_line(name, trace.error());
  if (trace->kind == p::TraceKind::sequential) {
    auto r = p::replay_sequential(*trace);
    if (!r) return error_line(name, r.error());
    return json{{"trace", name},
                {"patches", r->patches},
                {"final_chars", r->final_chars},
                {"ok", r->matches_end},
                {"apply_ms", r->apply_ms}};
  }
  auto r = p::replay_concurrent(*trace);
  if (!r) return error_line(name, r.error());
  return json{{"trace", name},
              {"kind", "concurrent"},
              {"agents", r->agents},
              {"patches", r->patches},
              {"final_chars", r->final_chars},
              {"converged", r->converged},
              {"matches_end_content", r->matches_end},
              {"transforms", r->transforms},
              {"merge_ms", r->merge_ms},
              {"ok", r->converged}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: jointly-replay FILE.json.gz...\n"
                 "Replays editing traces (tests/traces/README.md) and prints one JSON line per "
                 "file.\n");
    return 2;
  }
  int status = 0;
  for (int i = 1; i < argc; ++i) {
    json line = replay_file(argv[i]);
    if (!line["ok"].get<bool>()) status = 1;
    std::cout << line.dump() << '\n' << std::flush;
  }
  return status;
}
