// DocState: one client's copy of one document and its sync state machine, as
// protocol/PROTOCOL.md "Sync rules" 3 describes it (the same machine as ShareDB's and ot.js's):
// at most one operation in flight, later local edits composed into one buffered operation, an
// incoming revision transformed against both (the server's op on the right) before it is applied.
//
// It does no I/O: local(), ack() and remote() return what the caller must send, and the caller
// sends it. Errors are values (protocol::Error) with stable codes:
//   not_open       an edit, ack or op before the snapshot;
//   unexpected_ack an ack with no op in flight, or for another seq;
//   rev_gap        an op whose revision is not the client's revision + 1;
//   apply_failed   an op (local or transformed remote) that does not apply (the message says why).
//
// Thread-safety: a plain value with one owner at a time (jointly-load: the connection's thread).
#pragma once

#include <cstdint>
#include <optional>

#include "protocol/document.hpp"
#include "protocol/result.hpp"

namespace jointly::load {

// An operation to send as `submit`: made on revision `rev`, numbered `seq`.
struct Submission {
  std::uint64_t rev = 0;
  std::uint64_t seq = 0;
  protocol::DocOp op;
};

class DocState {
 public:
  // Starts (over) from a snapshot at revision rev; drops anything in flight or buffered.
  void reset(std::uint64_t rev, protocol::Document doc);

  // A local edit: applied to the document at once, then either sent (nothing in flight: the
  // returned Submission) or composed into the buffer (nullopt).
  protocol::Result<std::optional<Submission>> local(const protocol::DocOp& op);
  // The server acknowledged the op in flight as revision rev; returns the buffer to send next.
  protocol::Result<std::optional<Submission>> ack(std::uint64_t rev, std::uint64_t seq);
  // Another client's op, as the server applied it at revision rev. Returns the op as applied
  // here (transformed through the op in flight and the buffer).
  protocol::Result<protocol::DocOp> remote(std::uint64_t rev, const protocol::DocOp& op);

  bool open() const { return open_; }
  std::uint64_t rev() const { return rev_; }
  // No op in flight and none buffered: everything local is acknowledged.
  bool idle() const { return !inflight_ && !buffer_; }
  const protocol::Document& document() const { return doc_; }

 private:
  bool open_ = false;
  std::uint64_t rev_ = 0;
  std::uint64_t next_seq_ = 1;
  protocol::Document doc_;
  std::optional<Submission> inflight_;
  std::optional<protocol::DocOp> buffer_;
};

}  // namespace jointly::load
