// Errors as values for the storage layer.
//
// Every storage operation returns a Status or a Result<T>: success (with a value), or an error
// with a stable Code (its snake_case name, code_name(), is what logs, tools and clients match
// on) and a message in our own words that names the document, revision or path involved.
// No exception crosses the storage API: RocksDB does not throw, and what could throw inside
// (allocation aside) is caught at the boundary and turned into a Status.
//
// Thread-safety: plain values, no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace jointly::storage {

enum class Code : std::uint8_t {
  ok = 0,
  not_found,           // no such document, revision or (client id, seq) entry
  conflict,            // an append for revision r when the log ends at a revision != r - 1
  already_exists,      // the (client id, seq) pair is already in the log
  invalid_argument,    // a caller's mistake (e.g. a missing snapshot at a multiple of K)
  busy,                // the write queue is full; try again later
  corruption,          // RocksDB or our own decoding found damaged data
  unsupported_format,  // the store's format version is not one this build reads
  not_a_store,         // the directory holds something that is not a Jointly store
  io_error,            // the file system failed (RocksDB IOError, disk full, ...)
  failed,              // an earlier write failed: the store refuses every later write
  read_only,           // the store was opened read-only
  closed,              // the store is shutting down
  no_space,            // the data directory is below its free-space reserve: nothing was
                       // written, the store stays healthy and writes again once space returns
  internal,            // a bug or an unexpected exception; the message says where
};

// The stable snake_case name of a code: "not_found", "conflict", ...
std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::ok; }
  explicit operator bool() const { return ok(); }
  Code code() const { return code_; }
  // Empty when ok().
  const std::string& message() const { return message_; }
  // "ok", or "<code>: <message>".
  std::string to_string() const;

  bool is_not_found() const { return code_ == Code::not_found; }
  bool is_conflict() const { return code_ == Code::conflict; }

 private:
  Code code_ = Code::ok;
  std::string message_;
};

// A value of T, or a non-ok Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  // REQUIRES: !status.ok()
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // Status::Ok() when ok().
  Status status() const { return ok() ? Status() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace jointly::storage
