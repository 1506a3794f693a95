// Authentication primitives: see server/auth.hpp.
#include "server/auth.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace jointly::server::auth {
namespace {

void ensure_sodium() {
  static const bool ready = [] {
    if (sodium_init() < 0) std::abort();  // no secure randomness: nothing here can work
    return true;
  }();
  (void)ready;
}

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string cookie(std::string_view value, std::int64_t max_age_s, bool secure) {
  std::string c(kCookieName);
  c += '=';
  c += value;
  c += "; Path=/; HttpOnly; SameSite=Lax; Max-Age=";
  c += std::to_string(max_age_s);
  if (secure) c += "; Secure";
  return c;
}

}  // namespace

std::optional<std::string> hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return std::nullopt;
  }
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  ensure_sodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string h(hash);  // NUL-terminated
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

const std::string& dummy_hash() {
  static const std::string h = hash_password(new_token()).value_or(std::string());
  return h;
}

std::string new_token() {
  ensure_sodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char out[64];
  sodium_bin2base64(out, sizeof out, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes, sizeof bytes);
  return std::string(out);
}

bool token_well_formed(std::string_view s) {
  // 43 characters carry 258 bits: the last one holds 4 of them, its 2 low bits must be 0.
  if (s.size() != kTokenChars || !std::all_of(s.begin(), s.end(), base64url_char)) return false;
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return kAlphabet.find(s.back()) % 4 == 0;
}

std::string token_hash(std::string_view token) {
  ensure_sodium();
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::uint64_t random_document_id() {
  ensure_sodium();
  for (;;) {
    std::uint64_t v = 0;
    randombytes_buf(&v, sizeof v);
    v &= (std::uint64_t{1} << 53) - 1;
    if (v != 0) return v;
  }
}

bool secret_matches(std::string_view given, std::string_view expected) {
  if (expected.empty()) return false;
  // Equal-length digests compared in constant time: neither length nor content leaks.
  const std::string a = token_hash(given), b = token_hash(expected);
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sha256_hex(std::string_view bytes) {
  const std::string raw = token_hash(bytes);
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  return std::string(hex);
}

std::optional<std::string> session_cookie(std::string_view header) {
  std::optional<std::string> found;
  bool seen = false;
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != kCookieName) continue;
    if (seen) return std::nullopt;  // a duplicate: refuse both
    seen = true;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (token_well_formed(value)) found = std::string(value);
  }
  return found;
}

std::string session_set_cookie(std::string_view token, std::int64_t max_age_s, bool secure) {
  return cookie(token, max_age_s, secure);
}

std::string session_clear_cookie(bool secure) { return cookie("", 0, secure); }

std::string section_hash(const protocol::Section& section) {
  // The fields in byte order of their names: body, title and the named ones.
  std::vector<std::pair<std::string_view, std::string>> fields;
  fields.emplace_back("body", section.body.to_string());
  fields.emplace_back("title", section.title.to_string());
  for (const auto& [name, rope] : section.fields) fields.emplace_back(name, rope.to_string());
  std::sort(fields.begin(), fields.end());
  std::string data;
  for (const auto& [name, text] : fields) {
    data.append(name);
    data += '\n';
    data += std::to_string(text.size());
    data += '\n';
    data += text;
  }
  return "sha256:" + sha256_hex(data);
}

// ---- LoginLimiter ----

std::optional<LoginLimiter::Clock::duration> LoginLimiter::blocked(Table& t, std::string_view key,
                                                                   std::size_t max,
                                                                   Clock::time_point now) {
  auto it = t.find(key);
  if (it == t.end()) return std::nullopt;
  Stamps& s = it->second;
  while (!s.empty() && now - s.front() >= limits_.window) s.pop_front();
  if (s.empty()) {
    t.erase(it);
    return std::nullopt;
  }
  if (s.size() < max) return std::nullopt;
  return s.front() + limits_.window - now;
}

void LoginLimiter::add(Table& t, std::string_view key, std::size_t max, Clock::time_point now) {
  auto it = t.find(key);
  if (it == t.end()) {
    if (t.size() >= limits_.max_keys) {
      // Forget what has left the window; if that is not enough, the stalest key.
      for (auto i = t.begin(); i != t.end();) {
        i = (i->second.empty() || now - i->second.back() >= limits_.window) ? t.erase(i)
                                                                            : std::next(i);
      }
      if (t.size() >= limits_.max_keys) {
        auto stalest = std::min_element(t.begin(), t.end(), [](const auto& a, const auto& b) {
          return a.second.back() < b.second.back();
        });
        t.erase(stalest);
      }
    }
    it = t.emplace(std::string(key), Stamps()).first;
  }
  it->second.push_back(now);
  while (it->second.size() > max) it->second.pop_front();
}

std::optional<std::chrono::seconds> LoginLimiter::check(std::string_view email,
                                                        std::string_view address,
                                                        Clock::time_point now) {
  std::lock_guard lk(mu_);
  auto e = blocked(emails_, email, limits_.max_per_email, now);
  auto a = blocked(addresses_, address, limits_.max_per_address, now);
  if (!e && !a) return std::nullopt;
  const auto wait =
      std::max(e.value_or(Clock::duration::zero()), a.value_or(Clock::duration::zero()));
  const auto secs = std::chrono::ceil<std::chrono::seconds>(wait);
  return std::max(secs, std::chrono::seconds(1));
}

void LoginLimiter::failed(std::string_view email, std::string_view address, Clock::time_point now) {
  std::lock_guard lk(mu_);
  add(emails_, email, limits_.max_per_email, now);
  add(addresses_, address, limits_.max_per_address, now);
}

void LoginLimiter::succeeded(std::string_view email) {
  std::lock_guard lk(mu_);
  if (auto it = emails_.find(email); it != emails_.end()) emails_.erase(it);
}

std::size_t LoginLimiter::tracked() const {
  std::lock_guard lk(mu_);
  return emails_.size() + addresses_.size();
}

}  // namespace jointly::server::auth
