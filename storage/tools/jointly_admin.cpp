// jointly-admin: backup, restore and check of a Jointly store (see storage/README.md).
//
//   jointly-admin backup  --data DIR --to DIR2    consistent copy, also while the server runs
//   jointly-admin restore --from DIR2 --data DIR  DIR must be absent or empty
//   jointly-admin check   --data DIR              revisions contiguous, snapshots == replay
//   jointly-admin create-user --data DIR --email E --name N --institution NAME --country CC
//                 [--admin]                        the password is read from standard input
//
// Exit status: 0 done (check: the store is sound), 1 the store refused, the operation failed
// or check found problems, 2 the command line is wrong.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "storage/accounts.hpp"
#include "storage/store.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using jointly::storage::Code;
using jointly::storage::Options;
using jointly::storage::Status;
using jointly::storage::Store;

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

int fail(const std::string& what, const Status& s) {
  std::cerr << "jointly-admin: " << what << ": " << s.to_string() << "\n";
  return kFailed;
}

int fail(const std::string& message) {
  std::cerr << "jointly-admin: " << message << "\n";
  return kFailed;
}

Options read_only() {
  Options o;
  o.read_only = true;
  o.create_if_missing = false;
  return o;
}

bool absent_or_empty(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return true;
  return fs::is_directory(p, ec) && fs::is_empty(p, ec);
}

// Checks every document; prints one line each. True if all are sound.
bool check_store(const Store& store, bool verbose) {
  auto docs = store.list_documents();
  if (!docs.ok()) {
    std::cerr << "jointly-admin: listing documents: " << docs.status().to_string() << "\n";
    return false;
  }
  bool sound = true;
  for (const auto& meta : *docs) {
    auto c = store.check_document(meta.id);
    if (!c.ok()) {
      std::cerr << "document " << meta.id << ": " << c.status().to_string() << "\n";
      sound = false;
      continue;
    }
    if (verbose || !c->problems.empty()) {
      std::cout << "document " << meta.id << " \"" << meta.title << "\": " << c->last_rev
                << " revisions, " << c->snapshots
                << " snapshots: " << (c->problems.empty() ? "ok" : "DAMAGED") << "\n";
    }
    for (const auto& p : c->problems) std::cout << "  " << p << "\n";
    sound = sound && c->problems.empty();
  }
  if (verbose) std::cout << docs->size() << " documents, " << (sound ? "sound" : "DAMAGED") << "\n";
  return sound;
}

int check(const std::string& data) {
  auto store = Store::open(data, read_only());
  if (!store.ok()) return fail("cannot open the store in " + data, store.status());
  return check_store(**store, /*verbose=*/true) ? kOk : kFailed;
}

int backup(const std::string& data, const std::string& to) {
  if (!absent_or_empty(to)) return fail("refusing to write a backup into " + to + ": not empty");
  std::error_code ec;
  fs::remove(to, ec);  // RocksDB creates the directory itself
  // A read-only instance does not take the store's lock, so this works while the server runs;
  // if the server deletes a file (a compaction) while we copy, start again.
  Status last;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    auto store = Store::open(data, read_only());
    if (!store.ok()) return fail("cannot open the store in " + data, store.status());
    last = (*store)->log().checkpoint(to);
    if (last.ok()) break;
    fs::remove_all(to, ec);
  }
  if (!last.ok()) return fail("backup of " + data + " to " + to + " failed", last);
  auto copy = Store::open(to, read_only());
  if (!copy.ok()) return fail("the backup in " + to + " does not open", copy.status());
  if (!check_store(**copy, /*verbose=*/false)) return fail("the backup in " + to + " is damaged");
  auto docs = (*copy)->list_documents();
  std::cout << "backed up " << data << " to " << to << " (" << (docs.ok() ? docs->size() : 0)
            << " documents)\n";
  return kOk;
}

Status sync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Status(Code::io_error, "cannot open " + p.string() + " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status(Code::io_error, "fsync of " + p.string() + " failed");
  return Status();
}

int restore(const std::string& from, const std::string& data) {
  if (!absent_or_empty(data)) {
    return fail("refusing to restore into " + data + ": it is not empty (move it away first)");
  }
  {
    auto source = Store::open(from, read_only());
    if (!source.ok()) return fail("cannot open the backup in " + from, source.status());
    if (!check_store(**source, /*verbose=*/false)) {
      return fail("the backup in " + from + " is damaged; not restoring it");
    }
  }
  // Copy into a sibling, sync it, then rename it into place: a crash leaves either nothing or
  // the whole store at data.
  const fs::path target = fs::absolute(fs::path(data)).lexically_normal();
  const fs::path staging = target.string() + ".restoring";
  std::error_code ec;
  if (fs::exists(staging, ec)) {
    return fail(staging.string() + " exists (a restore that stopped?); remove it and retry");
  }
  fs::copy(from, staging, fs::copy_options::recursive, ec);
  if (ec) {
    fs::remove_all(staging, ec);
    return fail("copying " + from + " to " + staging.string() + ": " + ec.message());
  }
  for (const auto& e : fs::recursive_directory_iterator(staging)) {
    if (auto s = sync_path(e.path(), e.is_directory()); !s.ok()) return fail("restore", s);
  }
  if (auto s = sync_path(staging, true); !s.ok()) return fail("restore", s);
  if (fs::exists(target, ec)) fs::remove(target, ec);  // empty, checked above
  fs::rename(staging, target, ec);
  if (ec)
    return fail("moving " + staging.string() + " to " + target.string() + ": " + ec.message());
  if (auto s = sync_path(target.parent_path(), true); !s.ok()) return fail("restore", s);
  Options o;
  o.create_if_missing = false;
  auto restored = Store::open(target.string(), o);
  if (!restored.ok()) return fail("the restored store does not open", restored.status());
  std::cout << "restored " << from << " to " << target.string() << "\n";
  return kOk;
}

// The first user (usually an administrator), with the institution created if it is new. The
// server must be stopped (the store is opened for writing). The password is one line of stdin.
int create_user(const std::string& data, std::string email, const std::string& name,
                const std::string& institution, const std::string& country, bool admin) {
  using jointly::storage::Accounts;
  if (email.size() < 3 || email.size() > 254 || email.find('@') == std::string::npos ||
      email.find('@') != email.rfind('@')) {
    std::cerr << "jointly-admin create-user: --email must be an email address\n";
    return kUsage;
  }
  if (name.empty() || name.size() > 128 || institution.empty() || institution.size() > 128) {
    std::cerr << "jointly-admin create-user: --name and --institution must be 1 to 128 bytes\n";
    return kUsage;
  }
  if (country.size() != 2 || !std::isupper(static_cast<unsigned char>(country[0])) ||
      !std::isupper(static_cast<unsigned char>(country[1]))) {
    std::cerr << "jointly-admin create-user: --country must be an ISO 3166-1 alpha-2 code (AT)\n";
    return kUsage;
  }
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.size() < 10 || password.size() > 1024) {
    return fail("the password (one line on standard input) must be 10 to 1024 bytes");
  }
  if (sodium_init() < 0) return fail("libsodium cannot start");
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return fail("hashing the password ran out of memory");
  }
  sodium_memzero(password.data(), password.size());
  auto store = Store::open(data, Options());
  if (!store.ok()) return fail("cannot open " + data, store.status());
  Accounts accounts((*store)->log());
  auto inst = accounts.institution_by_name(institution);
  if (!inst.ok() && inst.status().is_not_found()) {
    inst = accounts.create_institution(institution, country);
  }
  if (!inst.ok()) return fail("the institution", inst.status());
  auto user = accounts.create_user(std::move(email), name, inst->id, admin, hash);
  if (!user.ok()) {
    if (user.status().code() == Code::already_exists) return fail("a user with this email exists");
    return fail("creating the user", user.status());
  }
  std::cout << "created user " << user->id << " (" << user->email << ")"
            << (admin ? ", administrator," : "") << " of " << inst->name << "\n";
  return kOk;
}

void usage(std::ostream& out, const po::options_description& opts) {
  out << "usage: jointly-admin backup  --data DIR --to DIR2\n"
         "       jointly-admin restore --from DIR2 --data DIR\n"
         "       jointly-admin check   --data DIR\n"
         "       jointly-admin create-user --data DIR --email E --name N --institution NAME\n"
         "                     --country CC [--admin]   (password: one line on stdin)\n\n"
      << opts;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()("help,h", "this help")("data", po::value<std::string>(),
                                            "the store's data directory")(
      "to", po::value<std::string>(), "backup: the new directory to write the copy to")(
      "from", po::value<std::string>(), "restore: the backup directory to restore from")(
      "email", po::value<std::string>(), "create-user: the login email")(
      "name", po::value<std::string>(), "create-user: the display name")(
      "institution", po::value<std::string>(), "create-user: the institution's name")(
      "country", po::value<std::string>(), "create-user: the institution's country (AT, CZ, ...)")(
      "admin", po::bool_switch(), "create-user: make the user an administrator");
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>());
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "jointly-admin: " << e.what() << "\n";
    usage(std::cerr, opts);
    return kUsage;
  }
  if (vm.count("help")) {
    usage(std::cout, opts);
    return kOk;
  }
  const std::string command = vm.count("command") ? vm["command"].as<std::string>() : "";
  auto need = [&](const char* name) {
    if (vm.count(name)) return true;
    std::cerr << "jointly-admin " << command << ": --" << name << " is required\n";
    return false;
  };
  try {
    if (command == "check") {
      if (!need("data")) return kUsage;
      return check(vm["data"].as<std::string>());
    }
    if (command == "backup") {
      if (!need("data") || !need("to")) return kUsage;
      return backup(vm["data"].as<std::string>(), vm["to"].as<std::string>());
    }
    if (command == "restore") {
      if (!need("from") || !need("data")) return kUsage;
      return restore(vm["from"].as<std::string>(), vm["data"].as<std::string>());
    }
    if (command == "create-user") {
      if (!need("data") || !need("email") || !need("name") || !need("institution") ||
          !need("country")) {
        return kUsage;
      }
      return create_user(vm["data"].as<std::string>(), vm["email"].as<std::string>(),
                         vm["name"].as<std::string>(), vm["institution"].as<std::string>(),
                         vm["country"].as<std::string>(), vm["admin"].as<bool>());
    }
  } catch (const std::exception& e) {
    return fail(std::string("unexpected error: ") + e.what());
  }
  std::cerr << "jointly-admin: " << (command.empty() ? "no command" : "unknown command " + command)
            << "\n";
  usage(std::cerr, opts);
  return kUsage;
}
