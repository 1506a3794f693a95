// jointly-load: runs one workload of ../shared/bench-peers against a running jointly-server and
// prints its figures as a table for people and as one JSON line for scripts (the last line).
// Exit codes: 0 figures measured and every check passed; 1 measured but a check failed (texts
// differ, edits lost); 2 bad command line; 3 the run could not be done (server unreachable,
// refused, deadline).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "server/load/workloads.hpp"

namespace po = boost::program_options;
using nlohmann::json;

namespace {

// "http://127.0.0.1:8080" (the scheme and a trailing slash optional) -> host and port.
bool parse_url(const std::string& url, jointly::load::Endpoint& out) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  try {
    std::size_t used = 0;
    const int port = std::stoi(rest.substr(colon + 1), &used);
    if (used != rest.size() - colon - 1 || port < 1 || port > 65535) return false;
    out.host = rest.substr(0, colon);
    out.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::string fmt(const json& v, const char* spec = "%.2f") {
  if (!v.is_number()) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, spec, v.get<double>());
  return buf;
}

void print_table(const json& r) {
  const auto at = [&](std::initializer_list<const char*> path) {
    const json* j = &r;
    for (const char* k : path) {
      if (!j->is_object() || !j->contains(k)) return json();
      j = &(*j)[k];
    }
    return *j;
  };
  std::printf("jointly-load %s  %s\n", r.value("workload", "?").c_str(),
              r.contains("params") ? r["params"].dump().c_str() : "");
  if (r.contains("error")) {
    std::printf("  ERROR %s: %s\n", at({"error", "code"}).get<std::string>().c_str(),
                at({"error", "message"}).get<std::string>().c_str());
    return;
  }
  const json lat = r.contains("latency_ms") ? r["latency_ms"] : at({"ack_latency_ms"});
  std::printf(
      "  %-28s %s\n", "figure",
      (at({"figure", "name"}).get<std::string>() + " = " + fmt(at({"figure", "value"}))).c_str());
  if (r.contains("edits_per_s"))
    std::printf("  %-28s %s\n", "edits/s", fmt(r["edits_per_s"], "%.0f").c_str());
  if (lat.is_object() && lat.value("n", 0) > 0) {
    std::printf("  %-28s p50 %s  p99 %s  max %s  (n=%d)\n",
                r.contains("latency_ms") ? "latency ms (seen by observer)" : "ack latency ms",
                fmt(lat["p50"], "%.3f").c_str(), fmt(lat["p99"], "%.3f").c_str(),
                fmt(lat["max"], "%.3f").c_str(), lat["n"].get<int>());
  }
  if (r.contains("joins_ms")) std::printf("  %-28s %s\n", "joins ms", r["joins_ms"].dump().c_str());
  std::printf("  %-28s cpu %s s  cpu/edit %s us  rss %s MiB  peak rss %s MiB  (pid %s)\n", "server",
              fmt(at({"server", "cpu_s"}), "%.3f").c_str(),
              fmt(at({"server", "cpu_us_per_edit"}), "%.1f").c_str(),
              fmt(at({"server", "rss_mib"}), "%.1f").c_str(),
              fmt(at({"server", "hwm_mib"}), "%.1f").c_str(), at({"server", "pid"}).dump().c_str());
  if (r.contains("lost")) std::printf("  %-28s %s\n", "lost edits", r["lost"].dump().c_str());
  std::printf("  %-28s %s\n", "converged (clients = server)",
              r.value("converged", false) ? "yes" : "NO");
}

}  // namespace

int main(int argc, char** argv) {
  jointly::load::LoadOptions o;
  std::string url = "http://127.0.0.1:8080";
  po::options_description desc(
      "jointly-load: the bench-peers workloads against a running jointly-server.\n"
      "Usage: jointly-load --url http://127.0.0.1:PORT --workload w1|w2|w3|w4 [options]\n"
      "Options");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help")
    ("url", po::value(&url)->default_value(url), "the server (http://IP:PORT)")
    ("login", po::value(&o.login), "email:password to log in with (also JOINTLY_LOAD_LOGIN); "
                                   "without it, connect without a session")
    ("workload", po::value(&o.workload)->default_value(o.workload), "w1, w2, w3 or w4")
    ("threads", po::value(&o.threads)->default_value(o.threads), "client I/O threads")
    ("server-pid", po::value(&o.server_pid), "the server's PID for CPU and RSS (default: the "
                                             "process listening on the port)")
    ("seed", po::value(&o.seed)->default_value(o.seed), "random seed")
    ("deadline", po::value(&o.deadline_s)->default_value(o.deadline_s), "hard limit, seconds")
    ("clients", po::value(&o.clients)->default_value(o.clients), "w1: clients")
    ("edits", po::value(&o.edits), "w1: edits per client (500); w2: per writer (260); "
                                   "w4: edits building the document (20000)")
    ("writers", po::value(&o.writers)->default_value(o.writers), "w2: writers")
    ("rate", po::value(&o.rate), "w2/w3: edits/s per writer (10 / 2)")
    ("warmup", po::value(&o.warmup), "w2/w3: warm-up seconds (2 / 5)")
    ("duration", po::value(&o.duration)->default_value(o.duration), "w3: measured seconds")
    ("docs", po::value(&o.docs)->default_value(o.docs), "w3: documents")
    ("perdoc", po::value(&o.perdoc)->default_value(o.perdoc), "w3: clients per document")
    ("builders", po::value(&o.builders)->default_value(o.builders), "w4: builders")
    ("joins", po::value(&o.joins)->default_value(o.joins), "w4: joins")
    ("unload", po::bool_switch(&o.unload), "w4: all leave and wait --unloadwait before each "
                                            "join, so the server unloads the document")
    ("unloadwait", po::value(&o.unload_wait_ms)->default_value(o.unload_wait_ms),
     "w4: milliseconds to wait for the unload");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "jointly-load: " << e.what() << "\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (!parse_url(url, o.endpoint)) {
    std::cerr << "jointly-load: --url must be http://IP:PORT, not " << url << "\n";
    return 2;
  }
  if (o.login.empty()) {
    if (const char* env = std::getenv("JOINTLY_LOAD_LOGIN")) o.login = env;
  }
  if (o.threads == 0 || o.clients == 0 || o.writers == 0 || o.docs == 0) {
    std::cerr << "jointly-load: --threads, --clients, --writers and --docs must be positive\n";
    return 2;
  }
  const json r = jointly::load::run_workload(o);
  print_table(r);
  std::printf("%s\n", r.dump().c_str());
  std::fflush(stdout);
  if (r.contains("error")) return 3;
  return r.value("ok", false) ? 0 : 1;
}
