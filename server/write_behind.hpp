// WriteBehindStream: a stream layer under the WebSocket stream that coalesces outbound writes.
//
// Beast writes one frame at a time and waits for each write to complete before it starts the
// next, so a session that sends N queued messages makes N sendmsg calls. This layer accepts a
// write by copying its bytes into a pending buffer and completing it at once (through the
// executor, never inline); a flush posted onto the executor then sends everything gathered in
// one write to the next layer. The flush waits while writes keep arriving (a session draining
// its queue adds one frame per executor round), so a burst of frames leaves in one write, and
// a single frame leaves after one round. While a flush is on the wire, new writes gather for
// the next one. Everything Beast writes goes through here — the handshake response, messages,
// pings, pongs, the close frame — in the order written.
//
// Bounded: a write that would take the pending bytes over `capacity` (and is not the only one)
// is parked — not completed — until a flush makes room, so the caller sees back-pressure just
// as from a socket whose buffer is full; buffered_bytes() tells how much is held here.
// Reads pass straight through. async_teardown (found by Beast through ADL) first waits for the
// pending bytes to leave, so the close frame reaches the peer before the socket shuts down.
// A failed flush fails every later write with its error.
//
// Thread-safety: like a socket, one stream is used from one strand (its executor); all
// operations and their completions run there. Not copyable or movable (Beast keeps its next
// layer in place).
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

namespace jointly::server {

template <class NextLayer>
class WriteBehindStream {
 public:
  using next_layer_type = NextLayer;
  using executor_type = typename NextLayer::executor_type;

  // The flush sends once this many bytes are pending, without waiting for more writes.
  static constexpr std::size_t kFlushAt = 64 * 1024;

  template <class... Args>
  explicit WriteBehindStream(std::size_t capacity, Args&&... args)
      : next_(std::forward<Args>(args)...), st_(std::make_shared<State>()) {
    st_->next = &next_;
    st_->capacity = capacity;
  }
  ~WriteBehindStream() { st_->next = nullptr; }  // pending callbacks see the layer is gone
  WriteBehindStream(const WriteBehindStream&) = delete;
  WriteBehindStream& operator=(const WriteBehindStream&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }

  // Bytes accepted but not yet written to the next layer (pending and on the wire).
  std::size_t buffered_bytes() const noexcept {
    return st_->pending.size() + st_->in_flight.size();
  }
  // Next-layer writes started so far (for tests and diagnostics).
  std::uint64_t flushes() const noexcept { return st_->flushes; }

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return next_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return boost::asio::async_initiate<WriteToken, void(boost::beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBufferSequence& b) {
          auto op = std::make_unique<Write<std::decay_t<decltype(handler)>, ConstBufferSequence>>(
              std::move(handler), b, get_executor());
          State::submit(st_, std::move(op));
        },
        token, buffers);
  }

  // Calls handler(error_code) once nothing is pending (at once, through the executor, when
  // nothing is); the error is the one a flush failed with, if any.
  template <class Handler>
  void async_drain(Handler&& handler) {
    using H = std::decay_t<Handler>;
    auto op = std::make_unique<Drain<H>>(std::forward<Handler>(handler), get_executor());
    if (st_->pending.empty() && !st_->writing) {
      op->complete(st_->error, 0);
      return;
    }
    st_->drains.push_back(std::move(op));
  }

 private:
  // A write or drain waiting here; complete() posts its handler and destroys nothing else.
  struct Waiter {
    virtual ~Waiter() = default;
    virtual std::size_t size() const = 0;
    virtual void copy_to(std::vector<char>& out) const = 0;
    virtual void complete(boost::beast::error_code ec, std::size_t n) = 0;
  };

  template <class Handler, class Buffers>
  struct Write final : Waiter {
    Write(Handler h, const Buffers& b, const executor_type& ex)
        : handler(std::move(h)),
          buffers(b),
          work(boost::asio::make_work_guard(boost::asio::get_associated_executor(handler, ex))),
          ex(ex) {}
    std::size_t size() const override { return boost::asio::buffer_size(buffers); }
    void copy_to(std::vector<char>& out) const override {
      const std::size_t at = out.size();
      out.resize(at + size());
      boost::asio::buffer_copy(boost::asio::buffer(out.data() + at, out.size() - at), buffers);
    }
    void complete(boost::beast::error_code ec, std::size_t n) override {
      auto w = std::move(work);
      boost::asio::post(ex, boost::beast::bind_front_handler(std::move(handler), ec, n));
      w.reset();
    }
    Handler handler;
    Buffers buffers;
    boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler, executor_type>>
        work;
    executor_type ex;
  };

  template <class Handler>
  struct Drain final : Waiter {
    Drain(Handler h, const executor_type& ex)
        : handler(std::move(h)),
          work(boost::asio::make_work_guard(boost::asio::get_associated_executor(handler, ex))),
          ex(ex) {}
    std::size_t size() const override { return 0; }
    void copy_to(std::vector<char>&) const override {}
    void complete(boost::beast::error_code ec, std::size_t) override {
      auto w = std::move(work);
      boost::asio::post(ex, boost::beast::bind_front_handler(std::move(handler), ec));
      w.reset();
    }
    Handler handler;
    boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler, executor_type>>
        work;
    executor_type ex;
  };

  // Shared with the layer's own pending operations, which may outlive the layer.
  struct State {
    NextLayer* next = nullptr;  // nullptr once the layer is destroyed
    std::size_t capacity = 0;
    std::vector<char> pending;    // accepted, not yet on the wire
    std::vector<char> in_flight;  // being written to the next layer
    bool writing = false;
    bool flush_posted = false;
    std::uint64_t accepted = 0;                  // writes accepted so far
    std::uint64_t seen = 0;                      // `accepted` when the posted flush last looked
    std::uint64_t flushes = 0;                   // next-layer writes started
    boost::beast::error_code error;              // the error a flush failed with
    std::deque<std::unique_ptr<Waiter>> parked;  // writes waiting for room, in order
    std::vector<std::unique_ptr<Waiter>> drains;

    bool fits(std::size_t n) const {
      return pending.empty() || pending.size() + in_flight.size() + n <= capacity;
    }

    static void submit(const std::shared_ptr<State>& st, std::unique_ptr<Waiter> w) {
      if (st->error) return w->complete(st->error, 0);
      if (!st->parked.empty() || !st->fits(w->size())) {
        st->parked.push_back(std::move(w));
        return;
      }
      accept(st, *w);
    }

    static void accept(const std::shared_ptr<State>& st, Waiter& w) {
      const std::size_t n = w.size();
      w.copy_to(st->pending);
      ++st->accepted;
      w.complete({}, n);
      if (!st->writing) post_flush(st);
    }

    static void post_flush(const std::shared_ptr<State>& st) {
      if (st->flush_posted) return;
      st->flush_posted = true;
      st->seen = st->accepted;
      boost::asio::post(st->next->get_executor(), [st] { flush(st); });
    }

    // Runs on the executor: waits another round while writes keep arriving (up to kFlushAt
    // bytes), then writes everything pending.
    static void flush(const std::shared_ptr<State>& st) {
      st->flush_posted = false;
      if (st->next == nullptr || st->writing || st->pending.empty()) return;
      if (st->accepted != st->seen && st->pending.size() < kFlushAt) return post_flush(st);
      st->writing = true;
      st->in_flight.swap(st->pending);
      ++st->flushes;
      boost::asio::async_write(
          *st->next, boost::asio::buffer(st->in_flight),
          [st](boost::beast::error_code ec, std::size_t) { on_flushed(st, ec); });
    }

    static void on_flushed(const std::shared_ptr<State>& st, boost::beast::error_code ec) {
      st->writing = false;
      st->in_flight.clear();
      // A message larger than the capacity (a long `ops`) went out alone: its room is not kept.
      if (st->in_flight.capacity() > st->capacity) st->in_flight.shrink_to_fit();
      if (ec && !st->error) st->error = ec;
      if (st->next == nullptr && !st->error) st->error = boost::asio::error::operation_aborted;
      if (st->error) {
        st->pending.clear();
        auto parked = std::move(st->parked);
        for (auto& w : parked) w->complete(st->error, 0);
      } else {
        while (!st->parked.empty() && st->fits(st->parked.front()->size())) {
          auto w = std::move(st->parked.front());
          st->parked.pop_front();
          accept(st, *w);
        }
      }
      if (st->next != nullptr && !st->pending.empty() && !st->error) return post_flush(st);
      auto drains = std::move(st->drains);
      for (auto& d : drains) d->complete(st->error, 0);
    }
  };

  NextLayer next_;
  std::shared_ptr<State> st_;
};

// Beast's teardown of a WebSocket connection on a WriteBehindStream: the pending bytes (the
// close frame) leave first, then the next layer tears down.
template <class NextLayer, class TeardownHandler>
void async_teardown(boost::beast::role_type role, WriteBehindStream<NextLayer>& stream,
                    TeardownHandler&& handler) {
  stream.async_drain([&stream, role, h = std::forward<TeardownHandler>(handler)](
                         boost::beast::error_code) mutable {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, stream.next_layer(), std::move(h));
  });
}

}  // namespace jointly::server
