// Authentication primitives (protocol/PROTOCOL.md, "Accounts and access"): password hashing
// (libsodium argon2id, interactive limits), session and invite tokens (256 random bits, unpadded
// base64url) and their SHA-256, the session cookie (parsing the Cookie header strictly, writing
// Set-Cookie), the login rate limiter, and the section hash an approval must carry.
// Socket-free; part of jointly_server_core.
//
// Thread-safety: the free functions are pure or use libsodium's thread-safe calls (init() must
// have run once, which every function here ensures); LoginLimiter is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/document.hpp"

namespace jointly::server::auth {

inline constexpr std::string_view kCookieName = "jointly_session";
inline constexpr std::size_t kTokenChars = 43;  // 32 bytes, base64url without padding
inline constexpr std::size_t kMinPasswordBytes = 10;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// argon2id string (crypto_pwhash_str, interactive limits); nullopt when out of memory.
std::optional<std::string> hash_password(std::string_view password);
// True when password matches hash (a malformed hash never matches). Takes ~50-100 ms.
bool verify_password(std::string_view hash, std::string_view password);
// A burnt-in hash of a random password: verify against it when the email is unknown, so that
// an unknown email costs what a wrong password does.
const std::string& dummy_hash();

// 32 random bytes as 43 characters of unpadded base64url.
std::string new_token();
// True when s has the form new_token makes.
bool token_well_formed(std::string_view s);
// SHA-256 of the token: the 32 raw bytes storage keys sessions and invites by.
std::string token_hash(std::string_view token);
// A random document id from 1 to 2^53 - 1 (a cluster's ids: never a per-node counter).
std::uint64_t random_document_id();
// True when given equals the cluster secret expected (never when expected is empty), compared
// in constant time (over their SHA-256).
bool secret_matches(std::string_view given, std::string_view expected);
// Lower-case hex SHA-256.
std::string sha256_hex(std::string_view bytes);

// The session token from a Cookie header, or nullopt. Strict: the header is a list of
// name=value pairs separated by ";" (spaces around them are skipped); a value may be in double
// quotes; the session cookie must appear exactly once (two of them, even equal, are refused:
// a cookie planted for a parent domain cannot shadow ours) and its value must be well formed.
// A malformed pair elsewhere in the header is skipped.
std::optional<std::string> session_cookie(std::string_view cookie_header);
// Set-Cookie values: the session, and one that clears it (Max-Age=0).
std::string session_set_cookie(std::string_view token, std::int64_t max_age_s, bool secure);
std::string session_clear_cookie(bool secure);

// "sha256:" + hex SHA-256 over the section's text fields in byte order of their names
// (PROTOCOL.md, "Documents, members and roles"): for each, name "\n" byte length "\n" bytes.
std::string section_hash(const protocol::Section& section);

// The login rate limit: after max_per_email failures for one email, or max_per_address from one
// address, within window, attempts for that email or from that address are refused until the
// oldest counted failure leaves the window. Memory is bounded: at most max_keys emails and
// max_keys addresses are tracked (beyond that, the stalest are forgotten).
class LoginLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    std::size_t max_per_email = 5;
    std::size_t max_per_address = 20;
    std::chrono::seconds window{15 * 60};
    std::size_t max_keys = 100000;
  };
  LoginLimiter() : LoginLimiter(Limits{}) {}
  explicit LoginLimiter(Limits limits) : limits_(limits) {}

  // nullopt: the attempt may go on; else how long until it may (whole seconds, at least 1).
  std::optional<std::chrono::seconds> check(std::string_view email, std::string_view address,
                                            Clock::time_point now);
  void failed(std::string_view email, std::string_view address, Clock::time_point now);
  // A successful login clears the email's failures (not the address's).
  void succeeded(std::string_view email);
  std::size_t tracked() const;  // emails + addresses tracked (tests)

 private:
  using Stamps = std::deque<Clock::time_point>;
  using Table = std::map<std::string, Stamps, std::less<>>;
  std::optional<Clock::duration> blocked(Table& t, std::string_view key, std::size_t max,
                                         Clock::time_point now);
  void add(Table& t, std::string_view key, std::size_t max, Clock::time_point now);

  const Limits limits_;
  mutable std::mutex mu_;
  Table emails_;     // GUARDED_BY(mu_)
  Table addresses_;  // GUARDED_BY(mu_)
};

}  // namespace jointly::server::auth
