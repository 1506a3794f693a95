#include "server/load/proc_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace jointly::load {

namespace fs = std::filesystem;

std::optional<double> proc_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // The command name may hold spaces: the fields that matter follow its closing parenthesis.
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 0; i < 13 && fields >> field; ++i) {
    if (i == 11) utime = std::stoull(field);
    if (i == 12) stime = std::stoull(field);
  }
  if (!fields) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<ProcMemory> proc_memory(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) return std::nullopt;
  ProcMemory m;
  bool rss = false, hwm = false;
  std::string line;
  while (std::getline(in, line)) {
    auto kib = [&](std::string_view key, double& out, bool& found) {
      if (line.rfind(key, 0) != 0) return;
      out = std::stod(line.substr(key.size())) / 1024.0;
      found = true;
    };
    kib("VmRSS:", m.rss_mib, rss);
    kib("VmHWM:", m.hwm_mib, hwm);
  }
  if (!rss || !hwm) return std::nullopt;
  return m;
}

namespace {

// The inode of a socket in LISTEN state (st 0A) on port, from /proc/net/tcp or tcp6.
std::optional<std::string> listening_inode(const std::string& table, std::uint16_t port) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
    f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
    if (!f || st != "0A") continue;
    const auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return inode;
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> pid_listening_on(std::uint16_t port) {
  auto inode = listening_inode("/proc/net/tcp", port);
  if (!inode) inode = listening_inode("/proc/net/tcp6", port);
  if (!inode) return std::nullopt;
  const std::string wanted = "socket:[" + *inode + "]";
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    const std::string name = proc.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      if (fs::read_symlink(fd.path(), link_ec).string() == wanted) return std::stoi(name);
    }
  }
  return std::nullopt;
}

}  // namespace jointly::load
