// One open document: the sync core (../sync.js) wired to the tab's Connection and to IndexedDB
// (./store.js). No DOM. Its promises to the user:
//   - a submission leaves the tab only after the state that holds it (the op, its seq) is
//     written to IndexedDB, so a reload resubmits it unchanged and the server never applies it
//     twice nor misses it;
//   - edits made offline are written to IndexedDB as they are typed and sent on reconnect;
//   - an edit the server refuses is kept, with its text and the reason, until the user
//     dismisses it; text refused because its section was locked is kept as a suggestion on
//     that section (the sync core's `suggestions`), kept the same way.
// It also knows the caller's role in the document (from the server's `snapshot` and `ops`
// answers, kept for offline use) and makes the sign-off operations (lock, unlock, approve with
// the section hash).

import { Sync, RETRY_CODES } from '../sync.js';
import { sectionHash } from './signoff.js';
import { saveRecord } from './store.js';

const PRESENCE_EVERY_MS = 80;
const SAVE_CONFIRMED_AFTER_MS = 400;
/// A submission with no answer for this long means a connection that died without closing
/// (a laptop's sleep, a dropped route): reconnect and resubmit.
const ANSWER_WITHIN_MS = 20000;

export class DocSession {
  /// @param {object} config
  /// @param {number} config.doc the document id
  /// @param {string} config.client this tab's client id
  /// @param {Connection} config.connection
  /// @param {object|null} config.record what IndexedDB kept of this document for this client
  /// @param {{id: number, name: string, institution: {name: string}}} config.user who is
  ///   logged in (approvals carry their name and institution; the server sets them again)
  constructor({ doc, client, connection, record, user }) {
    this.docId = doc;
    this.client = client;
    this.connection = connection;
    this.user = user;
    this.listeners = { change: [], status: [], presence: [], rejected: [], suggestions: [], notice: [], forbidden: [] };
    this.title = (record && record.title) || '';
    this.rejected = (record && record.rejected) || [];
    /// The caller's role in this document ('leader', 'editor', 'reviewer', 'viewer'), as the
    /// server last said; null until it has.
    this.role = (record && record.role) || null;
    this.loaded = false;
    this.error = null; // a refusal of `open` (unknown_document ...), in plain words
    this.outbox = []; // submissions waiting for their state to be written
    this.saving = false;
    this.saveAgain = false;
    this.saveTimer = null;
    this.myPresence = null;
    this.presenceSource = null;
    this.presenceTimer = null;
    this.presenceSentAt = 0;
    this.sync = new Sync({
      doc,
      client,
      seq: (record && record.seq) || 0,
      send: (m) => this.send(m),
      onChange: (change) => this.emit('change', change),
      onRejected: (r) => this.rejectedEdit(r),
      onSuggestions: () => { this.save(); this.emit('suggestions', this.sync.suggestions); },
      onDesync: () => this.reopen(),
    });
    if (record && record.confirmed) {
      try {
        this.sync.restoreState(record);
        this.loaded = true;
      } catch (e) {
        this.rejected.push({
          time: Date.now(), code: 'restore_failed', message: e.message, texts: typedInRecord(record),
        });
      }
    }
    connection.register(doc, {
      onOpen: () => this.opened(),
      onMessage: (m) => this.message(m),
      onClose: (code) => this.closed(code),
    });
  }

  on(event, fn) {
    this.listeners[event].push(fn);
  }

  emit(event, value) {
    for (const fn of this.listeners[event]) fn(value);
  }

  /// The document as the user sees it (a Doc).
  get doc() {
    return this.sync.doc;
  }

  /// {connection, detail, pending, loaded, error}
  status() {
    return {
      connection: this.connection.state, detail: this.connection.detail,
      pending: this.sync.pending, loaded: this.loaded, error: this.error,
    };
  }

  /// Applies a local edit (a document op); throws OpError when it does not apply.
  edit(op) {
    this.sync.edit(op);
    this.save();
    this.emit('status', this.status());
  }

  /// This user's cursor or selection (code points), sent at most every 80 ms.
  setPresence(section, field, anchor, head) {
    this.myPresence = section === null ? null : { section, field, anchor, head };
    const wait = this.presenceSentAt + PRESENCE_EVERY_MS - Date.now();
    if (this.presenceTimer) return;
    if (wait <= 0) this.sendPresence();
    else this.presenceTimer = setTimeout(() => this.sendPresence(), wait);
  }

  /// Sends this user's cursor again, as the interface has it now (`presenceSource()`, set by the
  /// view: {section, field, anchor, head} or null), after a reconnect or an ack.
  refreshPresence() {
    const p = this.presenceSource ? this.presenceSource() : this.myPresence;
    if (p) this.setPresence(p.section, p.field, p.anchor, p.head);
  }

  sendPresence() {
    this.presenceTimer = null;
    this.presenceSentAt = Date.now();
    const p = this.myPresence;
    if (p) this.sync.setPresence(p.section, p.field, p.anchor, p.head);
  }

  /// Text refused because its section was locked, kept beside that section:
  /// [{id, section, code, time, texts: [{field, text}]}].
  get suggestions() {
    return this.sync.suggestions;
  }

  /// Forgets a suggestion the user has dealt with.
  dismissSuggestion(id) {
    this.sync.dismissSuggestion(id);
  }

  /// Keeps text the user typed that the document did not take ([{section, field, text}]) with
  /// the reason: as a suggestion on its section when the section is locked, else with the
  /// edits that could not be saved.
  keepTyped(texts, code, message) {
    if (code === 'section_locked') this.sync.keepSuggestions(texts);
    else this.rejectedEdit({ code, message, texts });
  }

  /// Sets the caller's role as the server says it now (e.g. from GET /api/documents/:id).
  setRole(role) {
    if (role === this.role) return;
    this.role = role;
    this.save();
    this.emit('change', { doc: this.sync.doc, op: null, origin: 'role', sections: [] });
  }

  /// Locks (true) or unlocks (false) a section; leaders only (the server checks).
  setLocked(section, locked) {
    this.edit([locked ? { lock: section } : { unlock: section }]);
  }

  /// Approves a locked section for the user's institution, with the hash of its text as this
  /// user sees it (the server refuses it as `stale_approval` when its text is not that).
  /// Resolves to the hash sent.
  async approve(section) {
    const s = this.sync.doc.section(section);
    if (!s || !s.locked) return null;
    const hash = await sectionHash(s);
    const now = this.sync.doc.section(section);
    if (!now || !now.locked || now.title !== s.title || now.body !== s.body) return null; // changed meanwhile
    this.edit([{
      approve: section, inst: this.user.institution.name, user: this.user.name, time: Date.now(), hash,
    }]);
    return hash;
  }

  /// Forgets a refused edit the user has dealt with.
  dismissRejected(index) {
    this.rejected.splice(index, 1);
    this.save();
    this.emit('rejected', this.rejected);
  }

  // ---- The connection -----------------------------------------------------------------------

  send(message) {
    if (message.type === 'submit') {
      this.outbox.push(message);
      this.save();
    } else {
      this.connection.send(message);
    }
  }

  opened() {
    this.connection.send(this.loaded ? { type: 'open', doc: this.docId, rev: this.sync.rev } : { type: 'open', doc: this.docId });
  }

  reopen() {
    this.loaded = false;
    this.connection.send({ type: 'open', doc: this.docId });
  }

  closed(code) {
    this.outbox = [];
    this.sync.disconnected();
    // 1009: the server refused a message as too large; the one in flight is the suspect, and
    // sending it again would be refused again: keep its text and say so.
    if (code === 1009 && this.sync.inflight) {
      this.sync.error({
        in: 'submit', seq: this.sync.inflight.seq, code: 'too_large',
        message: 'this change is larger than the server accepts at once',
      });
    }
    this.emit('presence', []);
    this.emit('status', this.status());
  }

  message(m) {
    if (m.type === 'error' && m.in === 'open') {
      this.error = m.code === 'unknown_document' ? 'There is no such document on this server.'
        : m.code === 'forbidden' ? 'You are not a member of this document. Ask its leader for an invite link.'
          : m.message;
      this.emit('status', this.status());
      return;
    }
    if (m.type === 'error' && m.code === 'forbidden' && m.in === undefined) {
      // Removed from the team while the document was open: the server closed it here. What is
      // pending stays in IndexedDB (sent if they are made a member again).
      this.error = 'You are no longer a member of this document, so your changes cannot be saved. Ask its leader to add you again.';
      this.closedByServer = true;
      this.sync.disconnected();
      this.save();
      this.emit('status', this.status());
      return;
    }
    // The role was changed while this page was open: ask for it again.
    if (m.type === 'error' && m.code === 'forbidden') this.emit('forbidden', m);
    if (m.type === 'error' && m.in === 'submit' && RETRY_CODES.has(m.code)) {
      if (m.code === 'not_open') {
        // The document is not open on this connection any more: open it again (its answer
        // resubmits the op), unless the server closed it for good.
        if (!this.closedByServer) this.opened();
        return;
      }
      // A server short of disk space (storage_unavailable) needs longer than a busy queue.
      const delay = { busy: 500, storage_unavailable: 5000 }[m.code] ?? 1000;
      setTimeout(() => this.sync.resend(), delay);
      return;
    }
    if (m.type === 'snapshot' && m.title) this.title = m.title;
    if ((m.type === 'snapshot' || m.type === 'ops') && typeof m.role === 'string') this.setRole(m.role);
    this.sync.handle(m);
    if (m.type === 'snapshot' || m.type === 'ops') {
      this.loaded = true;
      this.error = null;
      this.refreshPresence();
      this.save();
    } else if (m.type === 'op' || m.type === 'ack') {
      this.saveLater();
      // A presence sent while edits were pending sat at the start of the text they insert (the
      // server does not have that text yet): now that it has, say where the cursor really is.
      if (m.type === 'ack') this.refreshPresence();
    }
    this.emit('presence', this.sync.others());
    this.emit('status', this.status());
  }

  // ---- Keeping state in IndexedDB -----------------------------------------------------------

  saveLater() {
    if (!this.saveTimer) this.saveTimer = setTimeout(() => { this.saveTimer = null; this.save(); }, SAVE_CONFIRMED_AFTER_MS);
  }

  /// Writes the current state, then lets waiting submissions go. Writes again when the state
  /// changed meanwhile.
  save() {
    if (this.saving) {
      this.saveAgain = true;
      return;
    }
    this.saving = true;
    // The submissions queued now are in the state written below; later ones wait for the next
    // write (after a reconnect the outbox may hold new ones).
    const batch = new Set(this.outbox);
    saveRecord(this.docId, this.client, this.record())
      .catch((e) => console.error('jointly: could not keep edits in IndexedDB', e))
      .then(() => {
        this.saving = false;
        const rest = [];
        for (const m of this.outbox) {
          if (!batch.has(m)) rest.push(m);
          else if (this.connection.send(m)) this.watchAnswer(m.seq);
        }
        this.outbox = rest;
        if (this.saveAgain || this.outbox.length) {
          this.saveAgain = false;
          this.save();
        }
      });
  }

  record() {
    const state = this.sync.saveState(); // {rev, seq, confirmed, inflight, buffer}
    return {
      ...state,
      confirmed: this.loaded ? state.confirmed : null,
      doc: this.docId,
      client: this.client,
      user: this.user ? this.user.id : null,
      role: this.role,
      title: this.title,
      rejected: this.rejected,
      saved: Date.now(),
    };
  }

  watchAnswer(seq) {
    clearTimeout(this.answerTimer);
    this.answerTimer = setTimeout(() => {
      const f = this.sync.inflight;
      if (f && f.seq === seq && this.sync.connected) this.connection.reset();
    }, ANSWER_WITHIN_MS);
  }

  /// Waits until everything is written to IndexedDB (before the page goes to the login page).
  async flushed() {
    this.save();
    while (this.saving) await new Promise((r) => setTimeout(r, 20));
  }

  rejectedEdit(r) {
    // Kept as suggestions on their sections by the sync core.
    if (r.code === 'section_locked') return;
    if (r.code === 'stale_approval') {
      this.emit('notice', 'The section changed before your approval reached the server, so it was not recorded. The text shown now is the current one: check it, then approve again.');
      return;
    }
    this.rejected.push({
      time: Date.now(), code: r.code, message: r.message, texts: r.texts,
    });
    this.save();
    this.emit('rejected', this.rejected);
  }
}

// The text typed in the pending ops of a record that could not be restored (raw JSON: it did
// not validate), so that it is still shown rather than lost.
function typedInRecord(record) {
  const texts = [];
  for (const part of [record.inflight, record.buffer]) {
    for (const c of (part && Array.isArray(part.op) ? part.op : [])) {
      if (!c || typeof c !== 'object') continue;
      if (typeof c.edit === 'string' && Array.isArray(c.op)) {
        for (const t of c.op) if (typeof t === 'string') texts.push({ section: c.edit, field: c.f, text: t });
      }
      for (const f of ['title', 'body']) {
        if ((c.add || c.restore) && typeof c[f] === 'string' && c[f]) texts.push({ section: c.add || c.restore, field: f, text: c[f] });
      }
    }
  }
  return texts;
}
