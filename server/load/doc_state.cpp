#include "server/load/doc_state.hpp"

#include <string>
#include <utility>

namespace jointly::load {

using protocol::DocOp;
using protocol::make_error;
using protocol::Side;

void DocState::reset(std::uint64_t rev, protocol::Document doc) {
  open_ = true;
  rev_ = rev;
  doc_ = std::move(doc);
  inflight_.reset();
  buffer_.reset();
}

protocol::Result<std::optional<Submission>> DocState::local(const DocOp& op) {
  if (!open_) return make_error("not_open", "a local edit before the document's snapshot");
  if (auto st = protocol::apply(doc_, op); !st.ok()) {
    return make_error("apply_failed", "local edit: " + st.error().message);
  }
  if (!inflight_) {
    inflight_ = Submission{rev_, next_seq_++, op};
    return std::optional<Submission>(*inflight_);
  }
  buffer_ = buffer_ ? protocol::compose(*buffer_, op) : op;
  return std::optional<Submission>();
}

protocol::Result<std::optional<Submission>> DocState::ack(std::uint64_t rev, std::uint64_t seq) {
  if (!open_) return make_error("not_open", "an ack before the document's snapshot");
  if (!inflight_ || inflight_->seq != seq) {
    return make_error("unexpected_ack",
                      "ack of seq " + std::to_string(seq) + " with no such submission in flight");
  }
  if (rev != rev_ + 1) {
    return make_error("rev_gap", "ack at revision " + std::to_string(rev) + " after revision " +
                                     std::to_string(rev_));
  }
  rev_ = rev;
  inflight_.reset();
  if (!buffer_) return std::optional<Submission>();
  inflight_ = Submission{rev_, next_seq_++, std::move(*buffer_)};
  buffer_.reset();
  return std::optional<Submission>(*inflight_);
}

protocol::Result<DocOp> DocState::remote(std::uint64_t rev, const DocOp& op) {
  if (!open_) return make_error("not_open", "an op before the document's snapshot");
  if (rev != rev_ + 1) {
    return make_error("rev_gap", "op at revision " + std::to_string(rev) + " after revision " +
                                     std::to_string(rev_));
  }
  DocOp incoming = op;
  if (inflight_) {
    DocOp next = protocol::transform(incoming, inflight_->op, Side::right);
    inflight_->op = protocol::transform(inflight_->op, incoming, Side::left);
    incoming = std::move(next);
  }
  if (buffer_) {
    DocOp next = protocol::transform(incoming, *buffer_, Side::right);
    *buffer_ = protocol::transform(*buffer_, incoming, Side::left);
    incoming = std::move(next);
  }
  if (auto st = protocol::apply(doc_, incoming); !st.ok()) {
    return make_error("apply_failed",
                      "op of revision " + std::to_string(rev) + ": " + st.error().message);
  }
  rev_ = rev;
  return incoming;
}

}  // namespace jointly::load
