// The registry of documents in memory: see server/document_host.hpp.
#include "server/document_host.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <boost/asio/post.hpp>

#include "server/log.hpp"

namespace jointly::server {

namespace net = boost::asio;

DocumentHost::DocumentHost(net::io_context& ioc, storage::Store& store, AuthorityOptions options,
                           Metrics& metrics, std::chrono::milliseconds unload_after,
                           RoleLookup roles)
    : ioc_(ioc),
      store_(store),
      options_(options),
      metrics_(metrics),
      unload_after_(unload_after),
      roles_(std::move(roles)),
      release_strand_(net::make_strand(ioc)),
      release_timer_(release_strand_) {}

std::shared_ptr<DocumentHost::Entry> DocumentHost::acquire(storage::DocumentId id) {
  std::lock_guard lock(mu_);
  auto& e = entries_[id];
  if (!e) e = std::make_shared<Entry>(id, ioc_);
  ++e->users;
  return e;
}

void DocumentHost::release(const std::shared_ptr<Entry>& e) {
  {
    std::lock_guard lock(mu_);
    if (e->users > 0) --e->users;
    if (e->users > 0) return;
  }
  net::post(e->strand, [this, e] { arm_unload(e); });
}

void DocumentHost::arm_unload(const std::shared_ptr<Entry>& e) {
  if (e->timer_armed) return;
  e->timer_armed = true;
  e->unload_timer.expires_after(unload_after_);
  e->unload_timer.async_wait([this, e](const boost::system::error_code& ec) {
    e->timer_armed = false;
    if (ec) return;
    try {
      if (e->authority && !e->authority->idle()) {
        arm_unload(e);  // revisions in flight or subscribers left: later
        return;
      }
      std::lock_guard lock(mu_);
      if (e->users > 0) return;
      auto it = entries_.find(e->id);
      if (it != entries_.end() && it->second == e) entries_.erase(it);
      if (e->authority) log::info("document unloaded", {{"doc", e->id}});
      e->authority.reset();
      e->acquired = false;
      schedule_release();
    } catch (const std::exception& ex) {
      log::error("unloading a document failed", {{"doc", e->id}, {"error", ex.what()}});
    }
  });
}

void DocumentHost::schedule_release() {
  net::post(release_strand_, [this] {
    if (release_armed_) return;  // one release covers every unload until it runs
    release_armed_ = true;
    release_timer_.expires_after(kReleaseDelay);
    release_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: the host is going away
      release_armed_ = false;
      net::post(release_pool_, [] {
#if defined(__GLIBC__)
        malloc_trim(0);
#endif
      });
    });
  });
}

void DocumentHost::run(const std::shared_ptr<Entry>& e, Task f) {
  net::post(e->strand, [this, e, f = std::move(f)]() mutable { run_here(e, std::move(f)); });
}

void DocumentHost::on_acquired(const std::shared_ptr<Entry>& e, const storage::Status& st) {
  e->acquiring = false;
  auto waiting = std::move(e->waiting);
  e->waiting.clear();
  if (st.ok()) e->acquired = true;
  if (!st.ok() && !st.is_not_found()) {
    log::warn("a document cannot be had from the cluster now",
              {{"doc", e->id}, {"error", st.to_string()}});
  }
  for (auto& f : waiting) {
    if (st.ok()) {
      run_here(e, std::move(f));
      continue;
    }
    try {
      f(nullptr, st.is_not_found() ? "unknown_document" : "document_moved");
    } catch (const std::exception& ex) {
      log::error("a document task failed", {{"doc", e->id}, {"error", ex.what()}});
    }
  }
}

void DocumentHost::run_here(const std::shared_ptr<Entry>& e, Task f) {
  try {
    if (e->handing_off) return f(nullptr, "document_moved");
    auto& a = e->authority;
    if (a && a->failed() && a->idle()) a.reset();  // reload what storage has
    if (!a) {
      auto strand = e->strand;
      if (materialise_ && !e->acquired) {
        // Scale-out: this node's copy, brought from a peer or built from the registry, on the
        // cluster thread (it waits for peers); the document's tasks wait for it, in order.
        e->waiting.push_back(std::move(f));
        if (e->acquiring) return;
        e->acquiring = true;
        net::post(cluster_pool_, [this, e] {
          storage::Status st;
          try {
            st = materialise_(e->id);
          } catch (const std::exception& ex) {
            st = storage::Status(storage::Code::internal, ex.what());
          }
          net::post(e->strand, [this, e, st] { on_acquired(e, st); });
        });
        return;
      }
      auto loaded = DocumentAuthority::load(
          store_, e->id, options_,
          [strand, id = e->id](std::function<void()> fn) {
            // Storage completions: nothing may escape the handler.
            net::post(strand, [fn = std::move(fn), id] {
              try {
                fn();
              } catch (const std::exception& ex) {
                log::error("a storage completion failed", {{"doc", id}, {"error", ex.what()}});
              }
            });
          },
          metrics_, roles_);
      if (!loaded.ok()) {
        if (loaded.status().is_not_found()) return f(nullptr, "unknown_document");
        log::error("loading a document failed",
                   {{"doc", e->id}, {"error", loaded.status().to_string()}});
        return f(nullptr, "storage_failed");
      }
      a = std::move(*loaded);
    }
    if (a->failed()) return f(nullptr, "storage_failed");
    f(a.get(), {});
  } catch (const std::exception& ex) {
    // Nothing may escape a handler: log, and let the caller's task see an internal error.
    log::error("a document task failed", {{"doc", e->id}, {"error", ex.what()}});
  }
}

void DocumentHost::run_loaded(const std::shared_ptr<Entry>& e,
                              std::function<void(DocumentAuthority&)> f) {
  net::post(e->strand, [e, f = std::move(f)] {
    try {
      if (e->authority) f(*e->authority);
    } catch (const std::exception& ex) {
      log::error("a document task failed", {{"doc", e->id}, {"error", ex.what()}});
    }
  });
}

void DocumentHost::hand_off(storage::DocumentId id, std::function<storage::Status()> mark,
                            std::function<void(storage::Status)> done) {
  auto e = acquire(id);
  net::post(e->strand, [this, e, mark = std::move(mark), done = std::move(done)]() mutable {
    storage::Status marked;
    try {
      e->handing_off = true;
      marked = mark();
      if (e->authority) e->authority->close_all(1001, "document moved");
    } catch (const std::exception& ex) {
      log::error("handing a document off failed", {{"doc", e->id}, {"error", ex.what()}});
      marked = storage::Status(storage::Code::internal, ex.what());
    }
    finish_hand_off(e, std::make_shared<net::steady_timer>(e->strand), std::move(marked),
                    std::move(done));
  });
}

void DocumentHost::finish_hand_off(const std::shared_ptr<Entry>& e,
                                   std::shared_ptr<net::steady_timer> timer, storage::Status marked,
                                   std::function<void(storage::Status)> done) {
  if (e->authority && !e->authority->idle()) {
    timer->expires_after(std::chrono::milliseconds(5));
    timer->async_wait([this, e, timer, marked = std::move(marked),
                       done = std::move(done)](const boost::system::error_code&) mutable {
      finish_hand_off(e, timer, std::move(marked), std::move(done));
    });
    return;
  }
  e->authority.reset();
  e->acquired = false;
  e->handing_off = false;
  schedule_release();
  log::info("document handed off", {{"doc", e->id}});
  release(e);
  done(std::move(marked));
}

void DocumentHost::recheck_members() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : entries_) entries.push_back(e);
  }
  for (auto& e : entries) {
    net::post(e->strand, [e] {
      try {
        if (e->authority) e->authority->recheck_members();
      } catch (const std::exception& ex) {
        log::error("rechecking members failed", {{"doc", e->id}, {"error", ex.what()}});
      }
    });
  }
}

void DocumentHost::clear() {
  std::map<storage::DocumentId, std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    entries.swap(entries_);
  }
  for (auto& [id, e] : entries) e->authority.reset();
}

}  // namespace jointly::server
