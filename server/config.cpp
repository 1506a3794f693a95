// Command line and environment parsing: see server/config.hpp.
#include "server/config.hpp"

#include <boost/program_options.hpp>

#include <sstream>
#include <thread>

namespace jointly::server {
namespace {

namespace po = boost::program_options;

std::string env_name(const std::string& option) {
  std::string out = "JOINTLY_";
  for (char c : option) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool parse_listen(const std::string& s, Config& c, std::string& error) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    error = "--listen must be HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)";
    return false;
  }
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1) throw std::invalid_argument("port");
  } catch (const std::exception&) {
    error = "--listen: the port must be a number from 0 to 65535";
    return false;
  }
  if (port > 65535) {
    error = "--listen: the port must be a number from 0 to 65535";
    return false;
  }
  c.listen_host = host;
  c.listen_port = static_cast<std::uint16_t>(port);
  return true;
}

}  // namespace

ConfigParse parse_config(int argc, const char* const* argv,
                         const std::function<const char*(const char*)>& getenv) {
  ConfigParse out;
  Config& c = out.config;
  c.threads = std::max(1u, std::thread::hardware_concurrency());
  std::string listen = "127.0.0.1:8080", durability = "sync", peers;
  po::options_description desc(
      "jointly-server: real-time co-editing of course-design documents\n"
      "Every flag --some-flag can also be set with the environment variable JOINTLY_SOME_FLAG");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("listen", po::value(&listen)->default_value(listen), "HOST:PORT to listen on")
    ("data", po::value(&c.data_dir)->default_value(c.data_dir), "the data directory (RocksDB)")
    ("threads", po::value(&c.threads)->default_value(c.threads), "I/O threads")
    ("static", po::value(&c.static_dir)->default_value(c.static_dir), "the client files' directory")
    ("allowed-origin", po::value(&c.allowed_origins)->composing(),
     "an Origin allowed to open a WebSocket (repeatable; none given: same-host origins only)")
    ("durability", po::value(&durability)->default_value(durability),
     "sync (survives a machine crash), flush (a process crash) or none")
    ("snapshot-interval", po::value(&c.snapshot_interval)->default_value(c.snapshot_interval),
     "a snapshot every this many revisions")
    ("demo", po::bool_switch(&c.demo),
     "create the demo course document and its three demo accounts when the store has none")
    ("session-ttl-hours", po::value(&c.session_ttl_hours)->default_value(c.session_ttl_hours),
     "how long a login session lasts (a fraction allowed: 0.5 is 30 minutes; rounded to whole "
     "seconds, at least one)")
    ("secure-cookies", po::bool_switch(&c.secure_cookies),
     "mark the session cookie Secure (the server is reached over TLS)")
    ("trusted-proxy", po::value(&c.trusted_proxies)->composing(),
     "a reverse proxy's IP address whose X-Forwarded-For and X-Forwarded-Proto are believed "
     "(repeatable)")
    ("log-level", po::value(&c.log_level)->default_value(c.log_level), "debug, info, warn or error")
    ("max-message-bytes", po::value(&c.max_message_bytes)->default_value(c.max_message_bytes),
     "largest WebSocket message accepted (larger: close 1009)")
    ("max-document-bytes", po::value(&c.max_document_bytes)->default_value(c.max_document_bytes),
     "largest document, in bytes of text")
    ("max-connections", po::value(&c.max_connections)->default_value(c.max_connections),
     "open connections at most")
    ("max-outbound-bytes", po::value(&c.max_outbound_bytes)->default_value(c.max_outbound_bytes),
     "bytes queued for one connection at most (more: the slow consumer is closed)")
    ("max-documents-per-connection",
     po::value(&c.max_documents_per_connection)->default_value(c.max_documents_per_connection),
     "documents open at once on one connection")
    ("max-body-bytes", po::value(&c.max_body_bytes)->default_value(c.max_body_bytes),
     "largest HTTP request body")
    ("handshake-timeout", po::value(&c.handshake_timeout_s)->default_value(c.handshake_timeout_s),
     "seconds to complete the HTTP request and the WebSocket handshake")
    ("idle-timeout", po::value(&c.idle_timeout_s)->default_value(c.idle_timeout_s),
     "seconds of silence before a WebSocket is closed (pinged at half)")
    ("message-timeout", po::value(&c.message_timeout_s)->default_value(c.message_timeout_s),
     "seconds a WebSocket message may take to arrive once its first bytes have (more: closed "
     "with 1008)")
    ("min-free-bytes", po::value(&c.min_free_bytes)->default_value(c.min_free_bytes),
     "free bytes kept on the data directory's file system: below it edits are refused with "
     "storage_unavailable and /healthz answers 503 until space is freed (0: no reserve)")
    ("messages-per-second",
     po::value(&c.messages_per_second)->default_value(c.messages_per_second),
     "messages one connection may send per second")
    ("message-burst", po::value(&c.message_burst)->default_value(c.message_burst),
     "messages one connection may send at once")
    ("max-rev-lag", po::value(&c.max_rev_lag)->default_value(c.max_rev_lag),
     "how far behind the head a submission's rev may be")
    ("history-tail", po::value(&c.history_tail)->default_value(c.history_tail),
     "revisions of each open document kept in memory")
    ("unload-after", po::value(&c.unload_after_s)->default_value(c.unload_after_s),
     "seconds an unused document stays in memory")
    ("node-id", po::value(&c.node_id), "this node's name (scale-out)")
    ("accounts-primary", po::value(&c.accounts_primary),
     "the accounts primary's internal base URL, http://HOST:PORT (scale-out; absent: this node "
     "is the primary)")
    ("peers", po::value(&peers),
     "the other nodes' internal base URLs, comma-separated (scale-out: document hand-off)")
    ("cluster-secret-file", po::value(&c.cluster_secret_file),
     "a file holding the secret the nodes' /internal/ requests carry (scale-out)");
  // clang-format on
  std::ostringstream usage;
  usage << desc;
  out.usage = usage.str();
  try {
    // The command line first, to learn which flags it sets; then the environment variables of
    // the others are added as if they had been given after it.
    po::variables_map cmdline;
    po::store(po::parse_command_line(argc, argv, desc), cmdline);
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    for (const auto& opt : desc.options()) {
      const std::string& name = opt->long_name();
      if (name == "help" || (cmdline.count(name) && !cmdline[name].defaulted())) continue;
      const char* v = getenv(env_name(name).c_str());
      if (!v) continue;
      if (name == "allowed-origin" || name == "trusted-proxy") {
        for (const auto& o : split_commas(v)) args.push_back("--" + name + "=" + o);
      } else if (name == "demo" || name == "secure-cookies") {
        if (std::string(v) == "1" || std::string(v) == "true") args.push_back("--" + name);
      } else {
        args.push_back("--" + name + "=" + v);
      }
    }
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      out.help = true;
      return out;
    }
  } catch (const std::exception& e) {
    out.error = e.what();
    return out;
  }
  if (!parse_listen(listen, c, out.error)) return out;
  c.peers = split_commas(peers);
  for (const auto& url : c.peers) {
    if (url.rfind("http://", 0) != 0) {
      out.error = "--peers: each must be an http://HOST:PORT URL";
      return out;
    }
  }
  if (!c.accounts_primary.empty() && c.accounts_primary.rfind("http://", 0) != 0) {
    out.error = "--accounts-primary must be an http://HOST:PORT URL";
    return out;
  }
  if (c.clustered() && c.cluster_secret_file.empty()) {
    out.error = "--accounts-primary and --peers need --cluster-secret-file";
    return out;
  }
  auto d = storage::parse_durability(durability);
  if (!d.ok()) {
    out.error = "--durability must be sync, flush or none";
    return out;
  }
  c.durability = *d;
  if (c.threads == 0 || c.threads > 256) {
    out.error = "--threads must be from 1 to 256";
    return out;
  }
  if (c.max_message_bytes < 1024 || c.message_burst == 0 || c.messages_per_second == 0 ||
      c.max_connections == 0 || c.max_documents_per_connection == 0 || c.max_outbound_bytes == 0 ||
      c.handshake_timeout_s <= 0 || c.idle_timeout_s <= 0 || c.message_timeout_s <= 0 ||
      c.snapshot_interval == 0 || !(c.session_ttl_hours * 3600 >= 0.5)) {
    out.error =
        "limits must be positive (--max-message-bytes at least 1024, --session-ttl-hours at "
        "least a second, 0.0003)";
    return out;
  }
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error") {
    out.error = "--log-level must be debug, info, warn or error";
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace jointly::server
