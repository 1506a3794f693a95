// The document authority: see server/document_authority.hpp and protocol/PROTOCOL.md.
#include "server/document_authority.hpp"

#include <algorithm>
#include <set>

#include "server/auth.hpp"
#include "server/history.hpp"
#include "server/log.hpp"

namespace jointly::server {
namespace {

using protocol::MessageContext;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t elapsed_ns(DocumentAuthority::Clock::time_point since) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(DocumentAuthority::Clock::now() - since)
          .count());
}

std::shared_ptr<const std::string> shared(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

// The op an ack carries (PROTOCOL.md, `ack`): the revision's op when the server rewrote the
// submitted one (an approve gets the approver's institution and name and the server's clock),
// so that the sender applies what everyone else applies; otherwise none.
std::optional<nlohmann::json> rewritten_op(const protocol::DocOp& op) {
  for (const auto& c : op.components) {
    if (std::holds_alternative<protocol::SectionApprove>(c)) return protocol::to_json(op);
  }
  return std::nullopt;
}

// Every text of the section counts toward the limits: title, body and named fields.
std::uint64_t bytes_of(const protocol::Section& s) { return s.text_bytes(); }

std::uint64_t bytes_of(const protocol::FieldTexts& fields) {
  std::uint64_t n = 0;
  for (const auto& [name, text] : fields) n += text.size();
  return n;
}

std::uint64_t bytes_of(const protocol::Document& doc) {
  std::uint64_t n = 0;
  for (const auto& [id, s] : doc.sections()) n += bytes_of(s);
  return n;
}

// Bytes the op may add at most (its inserted text); deletions are not subtracted.
std::uint64_t inserted_bytes(const protocol::DocOp& op) {
  std::uint64_t n = 0;
  for (const auto& c : op.components) {
    if (const auto* e = std::get_if<protocol::SectionEdit>(&c)) {
      for (const auto& tc : e->op.components()) {
        if (tc.kind == protocol::TextComponent::Kind::insert) n += tc.text.size();
      }
    } else if (const auto* a = std::get_if<protocol::SectionAdd>(&c)) {
      n += a->title.size() + a->body.size() + bytes_of(a->fields);
    } else if (const auto* r = std::get_if<protocol::SectionRestore>(&c)) {
      n += r->title.size() + r->body.size() + bytes_of(r->fields);
    }
  }
  return n;
}

// Moves a cursor through op; false when op removes its section.
bool move_cursor(protocol::Cursor& c, const protocol::DocOp& op) {
  for (const auto& comp : op.components) {
    if (const auto* e = std::get_if<protocol::SectionEdit>(&comp)) {
      if (e->section == c.section && e->field == c.field) {
        c.anchor = protocol::transform_position(c.anchor, e->op);
        c.head = protocol::transform_position(c.head, e->op);
      }
    } else if (const auto* r = std::get_if<protocol::SectionRemove>(&comp)) {
      if (r->section == c.section) return false;
    }
  }
  return true;
}

// with_op false leaves m.op null (for encode_op given the op's text).
protocol::RevisionMessage revision_message(std::uint64_t rev, const protocol::DocOp& op,
                                           const storage::RevisionInfo& info, bool with_op = true) {
  protocol::RevisionMessage m;
  m.rev = rev;
  if (with_op) m.op = protocol::to_json(op);
  m.client = info.client_id;
  m.seq = info.client_seq;
  m.author = info.author;
  m.institution = info.institution;
  m.time_ms = info.server_time_ms;
  m.restored_from = info.restored_from;
  return m;
}

}  // namespace

storage::Result<std::shared_ptr<DocumentAuthority>> DocumentAuthority::load(
    storage::Store& store, storage::DocumentId id, AuthorityOptions options, Post post,
    Metrics& metrics, RoleLookup roles) {
  auto meta = store.document(id);
  if (!meta.ok()) return meta.status();
  auto loaded = store.load(id);
  if (!loaded.ok()) return loaded.status();
  std::shared_ptr<DocumentAuthority> a(
      new DocumentAuthority(store, id, options, std::move(post), metrics, std::move(roles)));
  a->title_ = meta->title;
  a->doc_ = std::move(loaded->doc);
  a->doc_bytes_ = bytes_of(a->doc_);
  a->head_ = a->durable_rev_ = loaded->rev;
  log::info("document loaded", {{"doc", id}, {"rev", a->head_}});
  return a;
}

DocumentAuthority::DocumentAuthority(storage::Store& store, storage::DocumentId id,
                                     AuthorityOptions options, Post post, Metrics& metrics,
                                     RoleLookup roles)
    : store_(store),
      id_(id),
      options_(options),
      post_(std::move(post)),
      metrics_(metrics),
      roles_(std::move(roles)) {
  metrics_.documents_open.add(1);
}

DocumentAuthority::~DocumentAuthority() { metrics_.documents_open.sub(1); }

void DocumentAuthority::reject(Subscriber& s, const MessageContext& ctx, std::string code,
                               std::string message) {
  metrics_.rejected.inc(code);
  s.send(shared(
      protocol::encode_error(protocol::make_error(std::move(code), std::move(message)), ctx)));
}

storage::Status DocumentAuthority::for_each_revision(
    std::uint64_t from, std::uint64_t to,
    const std::function<void(std::uint64_t, const protocol::DocOp&, const storage::RevisionInfo&)>&
        f) const {
  if (from > to) return storage::Status::Ok();
  const std::uint64_t first = tail_first();
  if (from < first) {
    const std::uint64_t last = std::min(to, first - 1);
    auto revs = store_.revisions(id_, from, last);
    if (!revs.ok()) return revs.status();
    if (revs->size() != last - from + 1) {
      return storage::Status(storage::Code::corruption,
                             "revisions " + std::to_string(from) + ".." + std::to_string(last) +
                                 " of document " + std::to_string(id_) + " are not all there");
    }
    for (const auto& r : *revs) f(r.rev, r.op, r.info);
    from = last + 1;
  }
  for (std::uint64_t r = from; r <= to; ++r) {
    const TailEntry& e = tail_[r - first];
    f(e.rev, e.op, e.info);
  }
  return storage::Status::Ok();
}

void DocumentAuthority::open(const Peer& peer, std::shared_ptr<Subscriber> s,
                             std::optional<std::uint64_t> rev) {
  MessageContext ctx{"open", id_, std::nullopt};
  if (failed_) return reject(*s, ctx, "storage_failed", "the document cannot be read or written");
  const auto role = authorise(peer, s, ctx, Action::read, "open this document");
  if (!role) return;
  if (rev && *rev > durable_rev_) {
    return reject(*s, ctx, "rev_in_future",
                  "rev " + std::to_string(*rev) + " is newer than the document's head revision " +
                      std::to_string(durable_rev_));
  }
  Sub sub;
  sub.sub = s;
  sub.peer = peer;
  sub.role = *role;
  sub.start_rev = head_;
  if (!rev || head_ - *rev > options_.max_rev_lag) {
    sub.snapshot = true;
    sub.snapshot_json = protocol::to_json(doc_);
  } else {
    sub.from = *rev;
    auto st = for_each_revision(
        *rev + 1, head_,
        [&](std::uint64_t r, const protocol::DocOp& op, const storage::RevisionInfo& info) {
          sub.ops.push_back(revision_message(r, op, info));
        });
    if (!st.ok()) {
      log::error("reading revisions failed", {{"doc", id_}, {"error", st.to_string()}});
      return reject(*s, ctx, "storage_failed", "the document's history cannot be read");
    }
  }
  auto& slot = subs_[peer.connection];
  slot = std::move(sub);
  if (durable_rev_ == head_) release(slot);
}

std::vector<protocol::PresenceEntry> DocumentAuthority::presence_for(
    const std::string& client) const {
  std::vector<protocol::PresenceEntry> out;
  for (const auto& [c, p] : presence_) {
    if (c != client) out.push_back(p.entry);
  }
  return out;
}

void DocumentAuthority::release(Sub& sub) {
  sub.ready = true;
  auto s = sub.sub.lock();
  if (!s) return;
  const auto presence = presence_for(sub.peer.client);
  if (sub.snapshot) {
    deliver(s, shared(protocol::encode_snapshot(id_, sub.start_rev, title_,
                                                std::move(sub.snapshot_json), presence,
                                                role_name(sub.role))));
  } else {
    deliver(s, shared(protocol::encode_ops(id_, sub.from, sub.start_rev, sub.ops, presence,
                                           role_name(sub.role))));
  }
  sub.snapshot_json = nlohmann::json();
  sub.ops.clear();
  sub.ops.shrink_to_fit();
}

void DocumentAuthority::submit(const Peer& peer, std::shared_ptr<Subscriber> s,
                               protocol::SubmitMessage m) {
  const Clock::time_point received = Clock::now();
  MessageContext ctx{"submit", id_, m.seq};
  if (failed_) return reject(*s, ctx, "storage_failed", "the document cannot be written");
  if (!subscribed(peer.connection)) {
    return reject(*s, ctx, "not_open", "the document is not open on this connection");
  }
  // Authorised again at every message: the role may have changed since the last one.
  const auto role = authorise(peer, s, ctx, Action::read, "submit to this document");
  if (!role) return;
  if (auto refused = authorise_op(m.op, *role, peer)) {
    return reject(*s, ctx, "forbidden", std::move(*refused));
  }
  if (m.rev > durable_rev_) {
    return reject(*s, ctx, "rev_in_future",
                  "rev " + std::to_string(m.rev) + " is newer than the document's head revision " +
                      std::to_string(durable_rev_));
  }
  // Already applied? Then the answer is the original ack, never a second revision.
  auto key = std::make_pair(m.client, m.seq);
  if (auto it = dedupe_.find(key); it != dedupe_.end()) {
    if (it->second <= durable_rev_) {
      const auto applied = rewritten_op(tail_[it->second - tail_first()].op);
      s->send(shared(
          protocol::encode_ack(id_, m.seq, it->second, true, applied ? &*applied : nullptr)));
    } else {
      waiters_[it->second].push_back(Waiter{s, peer.connection, m.seq, true, received});
    }
    return;
  }
  if (tail_first() > 1 && !certainly_new(m.client, m.seq)) {
    // It could be a revision that is no longer in memory (or was made before a reload), even
    // when the client claims a recent rev: storage's dedupe index knows. (Were it applied
    // again, storage would refuse the revision as a duplicate and fail the document.)
    auto found = store_.find_by_client(id_, m.client, m.seq);
    if (found.ok()) {
      s->send(shared(protocol::encode_ack(id_, m.seq, *found, true)));
      return;
    }
    if (!found.status().is_not_found()) {
      log::error("dedupe lookup failed", {{"doc", id_}, {"error", found.status().to_string()}});
      return reject(*s, ctx, "storage_failed", "the document's history cannot be read");
    }
  }
  if (head_ - m.rev > options_.max_rev_lag) {
    return reject(*s, ctx, "rev_too_old",
                  "rev " + std::to_string(m.rev) + " is more than " +
                      std::to_string(options_.max_rev_lag) + " revisions behind the head " +
                      std::to_string(head_) + "; open the document again");
  }

  protocol::DocOp op = std::move(m.op);
  auto st = for_each_revision(
      m.rev + 1, head_,
      [&](std::uint64_t, const protocol::DocOp& applied, const storage::RevisionInfo&) {
        op = protocol::transform(op, applied, protocol::Side::left);
      });
  if (!st.ok()) {
    log::error("reading revisions failed", {{"doc", id_}, {"error", st.to_string()}});
    return reject(*s, ctx, "storage_failed", "the document's history cannot be read");
  }

  // An approval must be of the text as it stands now (after transform, before apply).
  if (auto stale = stale_approval(op)) return reject(*s, ctx, "stale_approval", std::move(*stale));

  storage::RevisionInfo info;
  info.author = peer.name;
  info.institution = peer.institution;
  info.client_id = m.client;
  info.client_seq = m.seq;
  auto appended = append_revision(std::move(op), std::move(info), peer.connection);
  if (!appended) return reject(*s, ctx, appended.error().code, appended.error().message);
  waiters_[*appended].push_back(Waiter{s, peer.connection, m.seq, false, received});
}

bool DocumentAuthority::certainly_new(const std::string& client, std::uint64_t seq) {
  auto it = max_seq_.find(client);
  if (it == max_seq_.end()) {
    auto stored = store_.max_client_seq(id_, client);
    if (!stored.ok()) return false;
    std::uint64_t highest = *stored;
    // Pending revisions are not in storage yet; every one is in dedupe_.
    auto d = dedupe_.lower_bound({client, ~std::uint64_t{0}});
    if (d != dedupe_.end() && d->first.first == client)
      highest = std::max(highest, d->first.second);
    if (d != dedupe_.begin() && (--d)->first.first == client) {
      highest = std::max(highest, d->first.second);
    }
    if (max_seq_.size() >= kTrackedClients) max_seq_.clear();
    it = max_seq_.emplace(client, highest).first;
  }
  return seq > it->second;
}

protocol::Result<std::uint64_t> DocumentAuthority::append_revision(protocol::DocOp op,
                                                                   storage::RevisionInfo info,
                                                                   std::uint64_t origin) {
  // Apply (atomic: on error doc_ is unchanged), keeping the document within its size limit.
  const std::uint64_t before = section_bytes(op);
  if (doc_bytes_ + inserted_bytes(op) <= options_.max_document_bytes) {
    if (auto applied = protocol::apply(doc_, op); !applied) return applied.error();
  } else {
    // It might grow the document past the limit: try it on a copy (rare).
    protocol::Document copy = doc_;
    if (auto applied = protocol::apply(copy, op); !applied) return applied.error();
    const std::uint64_t size = bytes_of(copy);
    if (size > options_.max_document_bytes) {
      return protocol::make_error("document_too_large",
                                  "the document would hold " + std::to_string(size) +
                                      " bytes of text; the limit is " +
                                      std::to_string(options_.max_document_bytes));
    }
    doc_ = std::move(copy);
  }
  doc_bytes_ = doc_bytes_ - before + section_bytes(op);

  const std::uint64_t rev = head_ + 1;
  info.server_time_ms = now_ms();
  const Clock::time_point queued = Clock::now();
  std::weak_ptr<DocumentAuthority> weak = weak_from_this();
  auto done = [weak, inbox = inbox_, post = post_, rev, queued](const storage::Status& status) {
    bool first = false;
    {
      std::lock_guard lock(inbox->mu);
      inbox->items.emplace_back(rev, status, queued);
      first = !std::exchange(inbox->posted, true);
    }
    if (!first) return;  // the posted drain takes this one too
    post([weak] {
      if (auto self = weak.lock()) self->drain_completions();
    });
  };
  const storage::Status queued_status = store_.append_async(id_, rev, op, info, doc_, done);
  const bool queue_full = queued_status.code() == storage::Code::busy;
  if (queue_full || queued_status.code() == storage::Code::no_space) {
    // Nothing was written and the store stays healthy: the write queue is full (waiting here
    // for room would stall the document's strand, and every connection on it, behind other
    // documents' writes), or the disk is below its free-space reserve. Refused, the apply taken
    // back and the connection kept; the client submits the same op again later (PROTOCOL.md,
    // `busy` and `storage_unavailable`).
    if (auto st = rebuild_head(); !st.ok()) {
      fail(st);
      return protocol::make_error("storage_failed", "the document cannot be written");
    }
    if (queue_full) {
      log::warn("write queue full; submit refused", {{"doc", id_}, {"rev", rev}});
      return protocol::make_error("busy",
                                  "the server's write queue is full; submit the same op again "
                                  "shortly");
    }
    log::warn("storage below its free-space reserve; submit refused", {{"doc", id_}, {"rev", rev}});
    return protocol::make_error("storage_unavailable",
                                "the server is short of disk space and saved nothing of this "
                                "op; submit the same op again in a few seconds");
  }
  if (!queued_status.ok()) {
    // Not queued (failed, closed, read_only): complete with the error, in order.
    post_([weak, rev, queued_status, queued] {
      if (auto self = weak.lock()) self->on_complete(rev, queued_status, queued);
    });
  }
  head_ = rev;
  ++in_flight_;
  dedupe_[std::make_pair(info.client_id, info.client_seq)] = rev;
  if (auto it = max_seq_.find(info.client_id); it != max_seq_.end()) {
    it->second = std::max(it->second, info.client_seq);
  }
  tail_.push_back(TailEntry{rev, std::move(op), std::move(info), origin});
  tail_bytes_ += footprint(tail_.back());
  return rev;
}

storage::Status DocumentAuthority::rebuild_head() {
  // Storage has every revision written so far (at least up to durable_rev_); the ones after it
  // are all in the tail, which keeps every revision that is not yet durable.
  auto loaded = store_.load(id_);
  if (!loaded.ok()) return loaded.status();
  if (loaded->rev > head_ || loaded->rev + 1 < tail_first()) {
    return storage::Status(storage::Code::corruption,
                           "document " + std::to_string(id_) + " is at revision " +
                               std::to_string(loaded->rev) + " in storage and " +
                               std::to_string(head_) + " in memory");
  }
  protocol::Document doc = std::move(loaded->doc);
  for (std::uint64_t r = loaded->rev + 1; r <= head_; ++r) {
    if (auto applied = protocol::apply(doc, tail_[r - tail_first()].op); !applied) {
      return storage::Status(storage::Code::corruption,
                             "revision " + std::to_string(r) + " of document " +
                                 std::to_string(id_) +
                                 " does not apply again: " + applied.error().message);
    }
  }
  doc_ = std::move(doc);
  doc_bytes_ = bytes_of(doc_);
  return storage::Status::Ok();
}

void DocumentAuthority::restore(const Peer& peer, std::uint64_t from,
                                std::optional<std::string> section, RestoreDone done) {
  auto refuse = [&](std::string code, std::string message) {
    metrics_.rejected.inc(code);
    done(protocol::make_error(std::move(code), std::move(message)));
  };
  if (failed_) return refuse("storage_failed", "the document cannot be written");
  auto role = roles_(id_, peer.user);
  if (!role.ok()) {
    log::error("role lookup failed", {{"doc", id_}, {"error", role.status().to_string()}});
    return refuse("storage_failed", "the document's members cannot be read now");
  }
  if (!*role) {
    return refuse("forbidden", "you are not a member of document " + std::to_string(id_));
  }
  if (!allowed(**role, Action::edit)) {
    return refuse("forbidden", "a " + std::string(role_name(**role)) + " may not restore");
  }
  if (from == 0) {
    // The log records "no restore" as restored_from 0, so revision 0 cannot be recorded.
    return refuse("invalid_request",
                  "revision 0 (the document as created) cannot be restored; restore revision 1 "
                  "or later");
  }
  if (from > durable_rev_) {
    return refuse("not_found", "document " + std::to_string(id_) + " has no revision " +
                                   std::to_string(from) + " (its last is " +
                                   std::to_string(durable_rev_) + ")");
  }
  auto then = store_.load_at(id_, from);
  if (!then.ok()) {
    log::error("loading a revision failed", {{"doc", id_}, {"error", then.status().to_string()}});
    return refuse("storage_failed", "the document's history cannot be read");
  }
  auto op = make_restore_op(doc_, then->doc,
                            section ? std::optional<std::string_view>(*section) : std::nullopt);
  if (!op) return refuse(op.error().code, op.error().message);
  if (op->components.empty()) {
    return done(RestoreOutcome{head_, from, false});
  }
  storage::RevisionInfo info;
  info.author = peer.name;
  info.institution = peer.institution;
  // A dedupe key no client can use (':' is not allowed in a client id), unique per revision.
  info.client_id = std::string(kRestoreClient);
  info.client_seq = head_ + 1;
  info.restored_from = from;
  auto appended = append_revision(std::move(*op), std::move(info), 0);
  if (!appended) return refuse(appended.error().code, appended.error().message);
  restores_[*appended] = std::move(done);
  log::info("restore queued",
            {{"doc", id_}, {"rev", *appended}, {"from", from}, {"user", peer.user}});
}

std::uint64_t DocumentAuthority::section_bytes(const protocol::DocOp& op) const {
  std::uint64_t n = 0;
  for (const auto& id : protocol::sections_touched(op)) {
    if (const auto* s = doc_.find(id)) n += bytes_of(*s);
  }
  return n;
}

void DocumentAuthority::drain_completions() {
  std::vector<std::tuple<std::uint64_t, storage::Status, Clock::time_point>> items;
  {
    std::lock_guard lock(inbox_->mu);
    items.swap(inbox_->items);
    inbox_->posted = false;
  }
  batching_ = true;
  try {
    for (auto& [rev, status, queued] : items) on_complete(rev, std::move(status), queued);
  } catch (...) {
    batching_ = false;
    flush_outbox();
    throw;
  }
  batching_ = false;
  flush_outbox();
}

void DocumentAuthority::deliver(const std::shared_ptr<Subscriber>& s,
                                std::shared_ptr<const std::string> msg) {
  if (!batching_) return s->send(std::move(msg));
  auto [it, added] = outbox_index_.try_emplace(s.get(), outbox_.size());
  if (added) outbox_.emplace_back(s, std::vector<std::shared_ptr<const std::string>>{});
  outbox_[it->second].second.push_back(std::move(msg));
}

void DocumentAuthority::flush_outbox() {
  auto outbox = std::move(outbox_);
  outbox_.clear();
  outbox_index_.clear();
  for (auto& [s, messages] : outbox) {
    if (messages.size() == 1) {
      s->send(std::move(messages.front()));
    } else {
      s->send_all(id_, std::move(messages));
    }
  }
}

void DocumentAuthority::on_complete(std::uint64_t rev, storage::Status status,
                                    Clock::time_point queued) {
  if (in_flight_ > 0) --in_flight_;
  if (failed_) return;
  completed_[rev] = Completion{std::move(status), queued};
  while (!completed_.empty() && completed_.begin()->first == durable_rev_ + 1) {
    auto node = completed_.extract(completed_.begin());
    if (!node.mapped().status.ok()) return fail(node.mapped().status);
    on_durable(node.key(), node.mapped());
    if (failed_) return;
  }
}

void DocumentAuthority::on_durable(std::uint64_t rev, const Completion& c) {
  durable_rev_ = rev;
  metrics_.ops_applied.inc();
  metrics_.fsync_latency.observe_ns(elapsed_ns(c.queued));
  const TailEntry& e = tail_[rev - tail_first()];

  // Presence moves with the text; a presence in a removed section is cleared.
  std::vector<std::string> cleared;
  for (auto& [client, p] : presence_) {
    if (!move_cursor(p.entry.cursor, e.op)) cleared.push_back(client);
  }
  for (const auto& client : cleared) presence_.erase(client);

  // Acks first. Their receivers do not get the op as well: the ack tells them that their own
  // submission (or its resubmission on a new connection) became this revision.
  std::set<std::uint64_t> acked{e.origin};
  if (auto w = waiters_.find(rev); w != waiters_.end()) {
    const auto applied = rewritten_op(e.op);
    for (const auto& waiter : w->second) {
      acked.insert(waiter.connection);
      if (auto s = waiter.sub.lock()) {
        deliver(s, shared(protocol::encode_ack(id_, waiter.seq, rev, waiter.duplicate,
                                               applied ? &*applied : nullptr)));
      }
      if (!waiter.duplicate) metrics_.op_latency.observe_ns(elapsed_ns(waiter.received));
    }
    waiters_.erase(w);
  }

  if (auto r = restores_.find(rev); r != restores_.end()) {
    auto done = std::move(r->second);
    restores_.erase(r);
    done(RestoreOutcome{rev, e.info.restored_from, true});
  }

  std::shared_ptr<const std::string> msg;
  for (auto& [conn, sub] : subs_) {
    if (!sub.ready) {
      if (sub.start_rev <= rev) release(sub);
      continue;
    }
    if (acked.count(conn)) continue;
    if (!msg) msg = shared(encode_revision(rev, e));
    if (auto s = sub.sub.lock()) deliver(s, msg);
  }
  for (const auto& client : cleared) {
    broadcast(shared(protocol::encode_presence_cleared(id_, client)), 0);
  }
  prune_tail();
}

void DocumentAuthority::prune_tail() {
  while ((tail_.size() > options_.history_tail || tail_bytes_ > options_.history_tail_bytes) &&
         !tail_.empty() && tail_.front().rev <= durable_rev_) {
    dedupe_.erase(std::make_pair(tail_.front().info.client_id, tail_.front().info.client_seq));
    tail_bytes_ -= footprint(tail_.front());
    tail_.pop_front();
  }
}

std::size_t DocumentAuthority::footprint(const TailEntry& e) {
  // Heap blocks are counted at their requested size: an estimate, but one that grows with
  // everything the entry holds.
  auto text = [](const std::string& s) { return s.size(); };
  std::size_t n = sizeof(TailEntry) + text(e.info.author) + text(e.info.institution) +
                  2 * text(e.info.client_id) +  // its own copy and dedupe_'s key
                  sizeof(std::pair<const std::pair<std::string, std::uint64_t>, std::uint64_t>) +
                  4 * sizeof(void*);  // dedupe_'s node links
  for (const auto& s : e.info.sections) n += sizeof(std::string) + text(s);
  for (const auto& c : e.op.components) {
    n += sizeof(protocol::DocComponent) + text(protocol::section_of(c));
    if (const auto* edit = std::get_if<protocol::SectionEdit>(&c)) {
      for (const auto& tc : edit->op.components()) n += sizeof(tc) + text(tc.text);
    } else if (const auto* a = std::get_if<protocol::SectionAdd>(&c)) {
      n += text(a->position) + text(a->title) + text(a->body) + text(a->kind) + bytes_of(a->fields);
    } else if (const auto* r = std::get_if<protocol::SectionRestore>(&c)) {
      n += text(r->title) + text(r->body) + bytes_of(r->fields);
    } else if (const auto* m = std::get_if<protocol::SectionMove>(&c)) {
      n += text(m->position);
    } else if (const auto* ap = std::get_if<protocol::SectionApprove>(&c)) {
      n += text(ap->institution) + text(ap->approval.user) + text(ap->approval.text_hash);
    }
  }
  return n;
}

void DocumentAuthority::close_all(std::uint16_t code, const std::string& reason) {
  for (auto& [conn, sub] : subs_) {
    if (auto s = sub.sub.lock()) s->close(code, reason);
  }
  subs_.clear();
  presence_.clear();
}

void DocumentAuthority::fail(const storage::Status& status) {
  failed_ = true;
  flush_outbox();  // what was made durable before the failure is answered before the close
  log::error("storage failed; closing the document's connections",
             {{"doc", id_}, {"error", status.to_string()}, {"subscribers", subs_.size()}});
  const auto msg = shared(protocol::encode_error(
      protocol::make_error("storage_failed",
                           "the server could not save this document; edits not acknowledged "
                           "were not saved"),
      MessageContext{"", id_, std::nullopt}));
  for (auto& [conn, sub] : subs_) {
    if (auto s = sub.sub.lock()) {
      metrics_.rejected.inc("storage_failed");
      s->send(msg);
      s->close(1011, "storage failed");
    }
  }
  subs_.clear();
  presence_.clear();
  waiters_.clear();
  completed_.clear();
  auto restores = std::move(restores_);
  restores_.clear();
  for (auto& [rev, done] : restores) {
    done(protocol::make_error("storage_failed",
                              "the server could not save the restore; nothing was restored"));
  }
}

std::string DocumentAuthority::encode_revision(std::uint64_t rev, const TailEntry& e) const {
  // A restore carries restored_from: clients show "restored from revision R" (PROTOCOL.md,
  // "History API").
  return protocol::encode_op(id_, revision_message(rev, e.op, e.info, false),
                             protocol::op_text(e.op));
}

void DocumentAuthority::broadcast(const std::shared_ptr<const std::string>& msg,
                                  std::uint64_t except) {
  for (auto& [conn, sub] : subs_) {
    if (conn == except || !sub.ready) continue;
    if (auto s = sub.sub.lock()) deliver(s, msg);
  }
}

void DocumentAuthority::presence(const Peer& peer, const std::shared_ptr<Subscriber>& s,
                                 const protocol::PresenceMessage& m) {
  MessageContext ctx{"presence", id_, std::nullopt};
  if (failed_) return reject(*s, ctx, "storage_failed", "the document cannot be read");
  if (!subscribed(peer.connection)) {
    return reject(*s, ctx, "not_open", "the document is not open on this connection");
  }
  if (!authorise(peer, s, ctx, Action::read, "be present in this document")) return;
  if (!m.cursor) return clear_presence(peer.client, peer.connection);
  if (m.rev > durable_rev_) {
    return reject(*s, ctx, "rev_in_future",
                  "rev " + std::to_string(m.rev) + " is newer than the document's head revision " +
                      std::to_string(durable_rev_));
  }
  if (durable_rev_ - m.rev > options_.max_rev_lag) {
    return reject(*s, ctx, "rev_too_old",
                  "rev " + std::to_string(m.rev) + " is more than " +
                      std::to_string(options_.max_rev_lag) + " revisions behind the head");
  }
  const protocol::Section* section = doc_.find(m.cursor->section);
  if (!section) {
    return reject(*s, ctx, "unknown_section",
                  "the document has no section \"" + m.cursor->section + "\"");
  }
  protocol::Cursor cursor = *m.cursor;
  bool live = !section->removed;
  auto st = for_each_revision(
      m.rev + 1, durable_rev_,
      [&](std::uint64_t, const protocol::DocOp& op, const storage::RevisionInfo&) {
        if (live) live = move_cursor(cursor, op);
      });
  if (!st.ok()) return reject(*s, ctx, "storage_failed", "the document's history cannot be read");
  if (!live) return clear_presence(peer.client, peer.connection);
  const protocol::Rope* text = section->text(cursor.field);
  if (!text) {
    return reject(*s, ctx, "unknown_section",
                  "section \"" + m.cursor->section + "\" has no field \"" +
                      std::string(cursor.field.name()) + "\"");
  }
  const std::uint64_t len = text->size();
  cursor.anchor = std::min(cursor.anchor, len);
  cursor.head = std::min(cursor.head, len);

  PresenceState& p = presence_[peer.client];
  p.connection = peer.connection;
  p.entry = protocol::PresenceEntry{peer.client, peer.name, peer.institution, std::move(cursor)};
  broadcast(shared(protocol::encode_presence(id_, durable_rev_, p.entry)), peer.connection);
}

void DocumentAuthority::clear_presence(const std::string& client, std::uint64_t connection) {
  auto it = presence_.find(client);
  if (it == presence_.end() || it->second.connection != connection) return;
  presence_.erase(it);
  broadcast(shared(protocol::encode_presence_cleared(id_, client)), connection);
}

void DocumentAuthority::leave(std::uint64_t connection) {
  auto it = subs_.find(connection);
  if (it == subs_.end()) return;
  const std::string client = it->second.peer.client;
  subs_.erase(it);
  clear_presence(client, connection);
}

std::optional<Role> DocumentAuthority::authorise(const Peer& peer,
                                                 const std::shared_ptr<Subscriber>& s,
                                                 const MessageContext& ctx, Action action,
                                                 std::string_view what) {
  auto role = roles_(id_, peer.user);
  if (!role.ok()) {
    log::error("role lookup failed", {{"doc", id_}, {"error", role.status().to_string()}});
    reject(*s, ctx, "storage_failed", "the document's members cannot be read now");
    return std::nullopt;
  }
  if (!*role) {
    const bool was_subscribed = subscribed(peer.connection);
    reject(*s, ctx, "forbidden",
           "you are not a member of document " + std::to_string(id_) + ", so you may not " +
               std::string(what));
    if (was_subscribed) {
      leave(peer.connection);
      s->unsubscribed(id_);
    }
    return std::nullopt;
  }
  if (!allowed(**role, action)) {
    reject(*s, ctx, "forbidden",
           "a " + std::string(role_name(**role)) + " may not " + std::string(what));
    return std::nullopt;
  }
  return **role;
}

std::optional<std::string> DocumentAuthority::authorise_op(protocol::DocOp& op, Role role,
                                                           const Peer& peer) const {
  const std::int64_t now = now_ms();
  for (std::size_t i = 0; i < op.components.size(); ++i) {
    auto& c = op.components[i];
    Action action = Action::edit;
    std::string_view kind = "edit";
    if (std::holds_alternative<protocol::SectionLock>(c)) {
      action = Action::lock;
      kind = "lock";
    } else if (std::holds_alternative<protocol::SectionUnlock>(c)) {
      action = Action::lock;
      kind = "unlock";
    } else if (auto* a = std::get_if<protocol::SectionApprove>(&c)) {
      action = Action::approve;
      kind = "approve";
      // Who approves, for which institution and when is the server's to say.
      a->institution = peer.institution;
      a->approval.user = peer.name;
      a->approval.time_ms = now;
    } else if (std::holds_alternative<protocol::SectionAdd>(c)) {
      kind = "add";
    } else if (std::holds_alternative<protocol::SectionMove>(c)) {
      kind = "move";
    } else if (std::holds_alternative<protocol::SectionRemove>(c)) {
      kind = "remove";
    } else if (std::holds_alternative<protocol::SectionRestore>(c)) {
      kind = "restore";
    }
    if (!allowed(role, action)) {
      return "component " + std::to_string(i) + " (" + std::string(kind) + " of section \"" +
             protocol::section_of(c) + "\"): a " + std::string(role_name(role)) + " may not " +
             std::string(kind) + " sections";
    }
  }
  return std::nullopt;
}

std::optional<std::string> DocumentAuthority::stale_approval(const protocol::DocOp& op) const {
  for (std::size_t i = 0; i < op.components.size(); ++i) {
    const auto* a = std::get_if<protocol::SectionApprove>(&op.components[i]);
    if (!a) continue;
    // The section as the approve finds it: doc_, unless an earlier component of the same op
    // changed it (then on a copy with those components applied).
    std::optional<protocol::Document> before;
    for (std::size_t j = 0; j < i; ++j) {
      if (protocol::section_of(op.components[j]) == a->section) {
        protocol::DocOp prefix;
        prefix.components.assign(op.components.begin(), op.components.begin() + i);
        before = doc_;
        if (!protocol::apply(*before, prefix)) return std::nullopt;  // apply will say why
        break;
      }
    }
    const protocol::Section* section = (before ? *before : doc_).find(a->section);
    if (!section) continue;  // apply answers unknown_section
    const std::string want = auth::section_hash(*section);
    if (a->approval.text_hash != want) {
      return "component " + std::to_string(i) + " (approve of section \"" + a->section +
             "\"): the approval is of text that is no longer the section's (its hash is " + want +
             "); read the section again and approve what it says now";
    }
  }
  return std::nullopt;
}

void DocumentAuthority::recheck_members() {
  std::vector<std::uint64_t> gone;
  for (const auto& [conn, sub] : subs_) {
    auto role = roles_(id_, sub.peer.user);
    if (role.ok() && !*role) gone.push_back(conn);
  }
  for (const auto conn : gone) {
    auto it = subs_.find(conn);
    auto s = it->second.sub.lock();
    leave(conn);
    if (!s) continue;
    reject(*s, MessageContext{"", id_, std::nullopt}, "forbidden",
           "you are no longer a member of document " + std::to_string(id_));
    s->unsubscribed(id_);
  }
}

}  // namespace jointly::server
