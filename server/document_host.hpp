// DocumentHost: the registry of the documents in memory. Each document has one Entry with its
// own strand; the DocumentAuthority inside is created, used and destroyed only on that strand.
// The host's mutex guards only its map and the entries' user counts; it is never held while a
// document's state is touched.
//
// Lifecycle: a session acquire()s a document when it opens it and release()s it when it leaves
// or closes. A document is loaded by the first run() on its strand and unloaded when it has had
// no users, no subscribers and no revision in flight for `unload_after`; the next acquire loads
// it again, transparently (from storage, which has every acknowledged revision).
//
// Memory: an unloaded document's memory goes back to the allocator, which keeps it (glibc
// returns memory only from the top of a heap, and a churn of loads and unloads leaves its free
// space in holes). So a second after documents were unloaded (once per second at most, however
// many unload) the host has the allocator return every whole free page to the system
// (malloc_trim), on a thread of its own: never on an I/O thread or a document's strand.
//
// Thread-safety: acquire, release and run may be called from any thread. clear() only after the
// io_context has stopped.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "server/document_authority.hpp"

namespace jointly::server {

class DocumentHost {
 public:
  struct Entry {
    Entry(storage::DocumentId id, boost::asio::io_context& ioc)
        : id(id), strand(boost::asio::make_strand(ioc)), unload_timer(strand) {}
    const storage::DocumentId id;
    boost::asio::strand<boost::asio::io_context::executor_type> strand;
    // On the strand only:
    std::shared_ptr<DocumentAuthority> authority;
    boost::asio::steady_timer unload_timer;
    bool timer_armed = false;
    bool handing_off = false;  // hand_off() runs: every task gets document_moved
    bool acquiring = false;    // the cluster thread is getting this node's copy (materialiser)
    bool acquired = false;     // it got it; until the document is unloaded or handed off
    // Tasks that wait for the copy, in order.
    std::vector<std::function<void(DocumentAuthority*, std::string_view)>> waiting;
    // Guarded by DocumentHost::mu_:
    std::size_t users = 0;
  };
  // f gets the authority, or nullptr and an error code (unknown_document, storage_failed,
  // document_moved: being handed to another node, or not obtainable from the cluster now).
  using Task = std::function<void(DocumentAuthority*, std::string_view error)>;

  // roles: every authority's role lookup (see DocumentAuthority).
  DocumentHost(boost::asio::io_context& ioc, storage::Store& store, AuthorityOptions options,
               Metrics& metrics, std::chrono::milliseconds unload_after, RoleLookup roles);

  std::shared_ptr<Entry> acquire(storage::DocumentId id);
  void release(const std::shared_ptr<Entry>& e);
  // Runs f on the document's strand, loading the document first if it is not in memory.
  void run(const std::shared_ptr<Entry>& e, Task f);
  // Runs f on the document's strand only if it is in memory (a connection leaving it needs no
  // load; in a cluster, loading a document may take it back from another node).
  void run_loaded(const std::shared_ptr<Entry>& e, std::function<void(DocumentAuthority&)> f);
  // Has every document in memory look its subscribers' roles up again (after a membership
  // change), each on its own strand.
  void recheck_members();
  // Drops every entry (shutdown).
  void clear();
  // Scale-out: called on the document's strand before a document is loaded; ok means storage
  // holds this node's copy to serve (brought from a peer or built from the registry),
  // not_found that the cluster has no such document, another error that it cannot be had now.
  // Set before the first run(); unset (a single node): storage alone decides.
  using Materialiser = std::function<storage::Status(storage::DocumentId)>;
  void set_materialiser(Materialiser m) { materialise_ = std::move(m); }
  // Scale-out hand-off, on the document's strand: runs mark (the persistent "handed off"
  // mark), closes the document's connections with 1001 "document moved" (clients reconnect
  // and land on the new owner), waits until its revisions in flight are durable, unloads it,
  // then calls done with mark's status. Tasks that arrive meanwhile get document_moved.
  void hand_off(storage::DocumentId id, std::function<storage::Status()> mark,
                std::function<void(storage::Status)> done);

 private:
  void arm_unload(const std::shared_ptr<Entry>& e);  // REQUIRES: on e's strand
  // A document was unloaded (or handed off): returns free memory to the system within
  // kReleaseDelay.
  void schedule_release();
  void run_here(const std::shared_ptr<Entry>& e, Task f);  // REQUIRES: on e's strand
  // REQUIRES: on e's strand; the materialiser's answer: runs or refuses the waiting tasks.
  void on_acquired(const std::shared_ptr<Entry>& e, const storage::Status& st);
  // REQUIRES: on e's strand; polls until e's authority is idle, then finishes the hand-off.
  void finish_hand_off(const std::shared_ptr<Entry>& e,
                       std::shared_ptr<boost::asio::steady_timer> timer, storage::Status marked,
                       std::function<void(storage::Status)> done);

  boost::asio::io_context& ioc_;
  storage::Store& store_;
  const AuthorityOptions options_;
  Metrics& metrics_;
  const std::chrono::milliseconds unload_after_;
  const RoleLookup roles_;
  Materialiser materialise_;
  boost::asio::thread_pool cluster_pool_{1};  // runs the materialiser (it waits for peers)
  // Memory release (schedule_release): the timer on its strand, the trim on its own thread.
  static constexpr std::chrono::seconds kReleaseDelay{1};
  boost::asio::strand<boost::asio::io_context::executor_type> release_strand_;
  boost::asio::steady_timer release_timer_;
  bool release_armed_ = false;  // on release_strand_ only
  boost::asio::thread_pool release_pool_{1};
  std::mutex mu_;
  std::map<storage::DocumentId, std::shared_ptr<Entry>> entries_;  // GUARDED_BY(mu_)
};

}  // namespace jointly::server
