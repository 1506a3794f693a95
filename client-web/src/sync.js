// The client sync core for one document: the classic client state machine of server-ordered OT
// (protocol/PROTOCOL.md, "WebSocket protocol", "Sync rules"), in the manner of
// @codemirror/collab: no DOM, no socket. The caller hands it the server's messages and a `send`
// function for the client's; it keeps three things consistent:
//
//   confirmed   the document at revision `rev`, exactly as the server has it
//   inflight    at most one submitted op the server has not answered yet
//   buffer      later local edits, composed into one op, sent when the in-flight one is done
//
// and the local document (what the user sees) is always confirmed + inflight + buffer. An op
// from the server is transformed against the in-flight op and the buffer with the server's op as
// the right side (`op' = transform(op, inflight, 'right')`, `inflight' = transform(inflight, op,
// 'left')`), as the server transforms submissions with the submitted op on the left; so every
// replica ends on the server's document.
//
// Nothing typed is lost silently: after a reconnect the in-flight op is resubmitted unchanged
// (same rev, seq and op; the server answers a duplicate with the original ack, or the client
// finds its own op among the missed revisions); an op the server refuses is taken out of the
// local document and handed to `onRejected` with the reason and the text it carried, together
// with the buffered edits of the same sections (they were made on top of it); and text that
// transform drops (an edit of a section someone removed meanwhile) is reported the same way.
//
// Whether a pending op still applies is only known when the server answers: an edit of a
// section someone locked meanwhile is refused if the section is still locked when the server
// reaches it, and accepted if someone unlocked it first. While such an op cannot apply to the
// confirmed document, its sections are shown as the server has them (`suspended`) and the rest
// of the pending work is shown as usual.
//
// An edit refused because its section is locked (`section_locked`) is kept as a **suggestion**
// attached to that section (`suggestions`): the text the user typed, shown beside the section
// until dismissed and kept across reloads with the rest of the state. The parts of the refused
// op on other sections are not lost with it: they are sent again as a new submission.

import {
  Doc, OpError, apply, compose, parseDocOp, sectionOf, sectionsTouched, transform,
  transformPresence, typedText,
} from './doc_op.js';
import { fieldText } from './document.js';
import { unmapPosition } from './text_op.js';
import { codePoints } from './unicode.js';

/// Refusals that keep the in-flight op: it was not applied, and is not wrong. After
/// `rate_limited`, `busy` and `storage_unavailable` (the server's disk is short of space) the
/// caller sends it again a little later with `resend()`; after
/// `not_open` and `storage_failed` (the server closes the connection) it opens the document
/// again, and `catchUp` resubmits it.
export const RETRY_CODES = new Set(['rate_limited', 'busy', 'storage_unavailable', 'not_open', 'storage_failed']);

/// How many applied revisions are kept to bring an older presence up to date.
const HISTORY = 256;

/// The client side of one document's sync.
export class Sync {
  /// @param {object} config
  /// @param {number} config.doc the document id (copied into every message)
  /// @param {string} config.client this tab's client id (the `hello`'s)
  /// @param {(message: object) => void} config.send sends a protocol message (`submit`,
  ///   `presence`); called only while connected
  /// @param {Doc|object} [config.snapshot] the document at `rev` (a Doc or a snapshot JSON
  ///   value); or call `load` later
  /// @param {number} [config.rev] its revision
  /// @param {number} [config.seq] the last seq this client used for this document (0: none)
  /// @param {(change: {doc: Doc, op: Array|null, origin: string, sections: string[]}) => void}
  ///   [config.onChange] the local document changed because of others (origin 'remote', with
  ///   the op as applied locally) or was rebuilt after an op was taken out (origin 'rebuild',
  ///   op null, `sections` the ids whose content may differ) or reloaded ('load')
  /// @param {(rejection: {op: Array, code: string, message: string, edits: number,
  ///   texts: Array<{section: string, field: string, text: string}>}) => void}
  ///   [config.onRejected] local edits that could not be saved, with the reason
  /// @param {(suggestions: Array) => void} [config.onSuggestions] `suggestions` changed
  /// @param {boolean} [config.paranoid] check on every op that the transformed server op and
  ///   the rebased pending ops agree (the transform law; for tests)
  /// @param {(error: OpError) => void} [config.onDesync] the server's stream does not fit this
  ///   replica (a gap in revisions, an op that does not apply): re-open the document without
  ///   `rev` and `load` the snapshot
  constructor(config) {
    this.docId = config.doc;
    this.client = config.client;
    this.sendMessage = config.send;
    this.onChange = config.onChange || (() => {});
    this.onRejected = config.onRejected || (() => {});
    this.onDesync = config.onDesync || (() => {});
    this.paranoid = Boolean(config.paranoid); // tests: check the transform law on every op
    this.seq = config.seq || 0;
    this.connected = false;
    this.rev = 0;
    this.confirmed = new Doc();
    this.local = this.confirmed;
    this.inflight = null; // {rev, seq, op (as sent), current (transformed), edits}
    this.buffer = null; // {op, edits}
    this.suspended = new Set(); // sections whose pending ops do not apply now (shown as confirmed)
    this.presences = new Map(); // client -> presence in local coordinates
    this.mine = null; // this user's presence in local coordinates, sent again after a reconnect
    this.history = []; // [{rev, op}] the last applied revisions, oldest first
    /// Text refused because its section was locked: [{id, section, code, time, texts:
    /// [{field, text}]}], oldest first, until `dismissSuggestion`.
    this.suggestions = [];
    this.onSuggestions = config.onSuggestions || (() => {});
    if (config.snapshot !== undefined) this.load(config.snapshot, config.rev || 0);
  }

  /// The document as the user sees it: the server's plus this client's unconfirmed edits.
  get doc() {
    return this.local;
  }

  /// Local edits not yet acknowledged by the server (in flight or buffered).
  get pending() {
    return (this.inflight ? this.inflight.edits : 0) + (this.buffer ? this.buffer.edits : 0);
  }

  // The in-flight op as part of the local document: not when it waits over a snapshot (it
  // cannot follow the revisions in between; the server's answer says whether it is in).
  get shown() {
    return this.inflight && !this.inflight.overSnapshot ? this.inflight : null;
  }

  /// Whether an op is waiting for the server's answer.
  get waiting() {
    return this.inflight !== null;
  }

  /// Starts over from a snapshot at `rev` (the first `snapshot`, or after `onDesync`). Local
  /// edits not yet sent cannot be carried over a snapshot (the revisions in between are
  /// unknown): they are handed to `onRejected` with the code `resync`. With `keepInflight`, the
  /// op in flight stays, unseen, to be resubmitted unchanged: the server either has it already
  /// (a duplicate ack: the snapshot holds it) or refuses it (reported then).
  load(snapshot, rev, { keepInflight = false } = {}) {
    const doc = snapshot instanceof Doc ? snapshot : Doc.fromJSON(snapshot);
    const lost = [];
    if (this.inflight && !keepInflight) lost.push(this.inflight);
    if (this.buffer) lost.push(this.buffer);
    if (this.inflight && keepInflight) this.inflight.overSnapshot = true;
    else this.inflight = null;
    this.buffer = null;
    this.confirmed = doc;
    this.local = doc;
    this.suspended = new Set();
    this.rev = rev;
    this.history = [];
    this.presences.clear();
    for (const p of lost) {
      this.reportRejected(p.op, p.edits, new OpError('resync',
        `the document was reloaded at revision ${rev}; this edit had not been confirmed`));
    }
    this.onChange({ doc, op: null, origin: 'load', sections: [...doc.sections.keys()] });
  }

  /// What to keep across a reload of the page (a JSON value; IndexedDB can hold it): the
  /// confirmed document and its revision, the last seq used, the op in flight and the buffer.
  saveState() {
    const f = this.inflight;
    return {
      rev: this.rev,
      seq: this.seq,
      confirmed: this.confirmed.toJSON(),
      inflight: f && {
        rev: f.rev, seq: f.seq, op: f.op, current: f.current, edits: f.edits, overSnapshot: Boolean(f.overSnapshot),
      },
      buffer: this.buffer && { op: this.buffer.op, edits: this.buffer.edits },
      suggestions: this.suggestions,
    };
  }

  /// Puts back a state from `saveState` (in a new Sync, before connecting): the document as
  /// the user left it, with the op in flight resubmitted unchanged on `catchUp` (or over a
  /// snapshot), so nothing typed before the reload is lost or applied twice. Throws OpError
  /// when the state does not validate.
  restoreState(state) {
    this.load(Doc.fromJSON(state.confirmed), state.rev);
    this.seq = Math.max(this.seq, state.seq || 0);
    const f = state.inflight;
    this.inflight = f ? {
      rev: f.rev, seq: f.seq, op: parseDocOp(f.op), current: parseDocOp(f.current), edits: f.edits,
      overSnapshot: Boolean(f.overSnapshot),
    } : null;
    this.buffer = state.buffer ? { op: parseDocOp(state.buffer.op), edits: state.buffer.edits } : null;
    this.suggestions = readSuggestions(state.suggestions);
    if (this.inflight || this.buffer) this.refresh(null, [...this.confirmed.sections.keys()]);
  }

  // ---- Local edits --------------------------------------------------------------------------

  /// Applies a local edit (a document op, wire form or parsed) to the local document and queues
  /// it for the server. Throws OpError, changing nothing, when it does not apply to the local
  /// document (the interface should not have allowed it), and `section_suspended` for a section
  /// in `suspended`: there the local document shows the server's text, not the pending edits an
  /// edit would be made on top of; the interface keeps such a section read-only until the
  /// server has answered (an `onChange` names it).
  edit(opJSON) {
    const op = parseDocOp(opJSON);
    if (op.length === 0) return this.local;
    for (const c of op) {
      const id = sectionOf(c);
      if (this.suspended.has(id)) {
        throw new OpError('section_suspended',
          `section "${id}" waits for the server's answer about an earlier edit; it cannot be edited until then`);
      }
    }
    this.local = apply(this.local, op);
    this.buffer = this.buffer
      ? { op: compose(this.buffer.op, op), edits: this.buffer.edits + 1 }
      : { op, edits: 1 };
    this.movePresences(op);
    this.flush();
    return this.local;
  }

  // Sends the buffer when nothing is in flight and the connection is up.
  flush() {
    if (!this.connected || this.inflight || !this.buffer) return;
    this.inflight = {
      rev: this.rev, seq: ++this.seq, op: this.buffer.op, current: this.buffer.op,
      edits: this.buffer.edits,
    };
    this.buffer = null;
    this.sendSubmit();
  }

  sendSubmit() {
    const f = this.inflight;
    this.sendMessage({ type: 'submit', doc: this.docId, rev: f.rev, client: this.client, seq: f.seq, op: f.op });
  }

  /// Sends the in-flight op again, unchanged (after a `rate_limited` or `busy` refusal; the
  /// caller waits a little first).
  resend() {
    if (this.connected && this.inflight) this.sendSubmit();
  }

  // ---- The connection -----------------------------------------------------------------------

  /// The connection is gone: nothing is sent until `catchUp`. Others' presence is forgotten.
  disconnected() {
    this.connected = false;
    this.presences.clear();
  }

  /// After (re)connecting and `open` with `rev`: the server's `ops` answer ({from, rev, ops,
  /// presence}). Applies the missed revisions (recognising this client's own in-flight op among
  /// them), then resubmits the in-flight op unchanged, or sends the buffer.
  catchUp(message) {
    if (message.from !== undefined && message.from !== this.rev) {
      this.desync(`the server sent revisions after ${message.from}, but this replica is at ${this.rev}`);
      return;
    }
    for (const entry of message.ops || []) {
      if (!this.receive(entry)) return;
    }
    this.connected = true;
    for (const p of message.presence || []) this.receivePresence(p);
    if (this.inflight) this.sendSubmit();
    else this.flush();
    this.announce();
  }

  // The server forgets a presence when its connection closes: say it again.
  announce() {
    const m = this.mine;
    if (m) this.setPresence(m.section, m.field, m.anchor, m.head);
  }

  /// After (re)connecting with a snapshot (`open` without `rev`, or with a `rev` older than
  /// the server keeps): `load`s it, then resubmits the in-flight op unchanged, or sends.
  loaded(message) {
    this.load(message.snapshot, message.rev, { keepInflight: true });
    this.connected = true;
    for (const p of message.presence || []) this.receivePresence(p);
    if (this.inflight) this.sendSubmit();
    else this.flush();
    this.announce();
  }

  // ---- Messages from the server -------------------------------------------------------------

  /// Dispatches a server message for this document ('op', 'ack', 'error', 'presence', 'ops',
  /// 'snapshot'); others are ignored.
  handle(message) {
    switch (message.type) {
      case 'op': return this.receive(message);
      case 'ack': return this.ack(message, message.op ?? null); // op: as the server rewrote it
      case 'error': return this.error(message);
      case 'presence': return this.receivePresence(message);
      case 'ops': return this.catchUp(message);
      case 'snapshot': return this.loaded(message);
      default: return undefined;
    }
  }

  /// Another client's op at revision `rev` ({rev, op, client, seq}); or this client's own
  /// in-flight op, found among missed revisions, which counts as its ack. Returns false when
  /// the replica lost sync (see onDesync).
  receive({ rev, op: opJSON, client, seq }) {
    if (rev <= this.rev) return true; // already have it
    if (rev !== this.rev + 1) {
      this.desync(`revision ${rev} arrived, but this replica is at ${this.rev}`);
      return false;
    }
    if (this.inflight && client === this.client && seq === this.inflight.seq) {
      return this.ack({ seq, rev }, opJSON); // the op as the server applied it
    }
    let op;
    try {
      op = parseDocOp(opJSON);
      this.confirmed = apply(this.confirmed, op);
    } catch (e) {
      this.desync(`revision ${rev} does not apply: ${e.message}`);
      return false;
    }
    this.rev = rev;
    this.remember(rev, op);
    let mine = op; // the op as it applies to the local document
    const f = this.shown;
    if (f) {
      const inflight = transform(f.current, op, 'left');
      mine = transform(op, f.current, 'right');
      this.reportDropped(f.current, inflight, op);
      f.current = inflight;
    }
    if (this.buffer) {
      const buffer = transform(this.buffer.op, mine, 'left');
      this.reportDropped(this.buffer.op, buffer, mine);
      mine = transform(mine, this.buffer.op, 'right');
      this.buffer = { op: buffer, edits: this.buffer.edits };
    }
    this.refresh(mine, sectionsTouched(op));
    return true;
  }

  /// The server's `ack` ({seq, rev}) of the in-flight op (`applied`: the op as the server
  /// applied it, when known: the ack's `op` when the server rewrote an approve with its own
  /// clock and the approver's institution and name). Returns false on lost sync.
  ack({ seq, rev }, applied = null) {
    const f = this.inflight;
    if (!f || seq !== f.seq) return true; // a late duplicate answer
    if (f.overSnapshot && rev <= this.rev) {
      // Applied before the snapshot, which holds it as the server applied it; but what the
      // revisions before it did to it (text dropped from a section removed meanwhile) was not
      // seen here: text of it that the document does not show now is reported, as unconfirmed.
      this.inflight = null;
      const missing = typedText(f.op).filter((t) => {
        const s = this.confirmed.section(t.section);
        return !s || !(fieldText(s, t.field) ?? '').includes(t.text);
      });
      if (missing.length > 0) {
        this.onRejected({
          op: f.op.filter((c) => missing.some((t) => t.section === sectionOf(c))),
          code: 'unconfirmed',
          message: `this edit was saved as revision ${rev}, but this text is not in the document now: someone may have deleted it, or removed its section, before or after`,
          edits: 0,
          texts: missing,
        });
      }
      this.flush();
      return true;
    }
    if (f.overSnapshot && !applied) {
      // Applied after the snapshot, but its op could not follow the revisions in between.
      this.desync(`seq ${seq} was applied as revision ${rev}, after the snapshot at ${this.rev}`);
      return false;
    }
    if (rev !== this.rev + 1) {
      this.desync(`the ack names revision ${rev}, but this replica is at ${this.rev}`);
      return false;
    }
    let op = f.current;
    try {
      if (applied) op = parseDocOp(applied);
      this.confirmed = apply(this.confirmed, op);
    } catch (e) {
      this.desync(`the acknowledged op does not apply to revision ${this.rev}: ${e.message}`);
      return false;
    }
    this.rev = rev;
    this.remember(rev, op);
    this.inflight = null;
    // The server's op differs from the one shown (an approve with the server's time): show it.
    const rewritten = applied !== null && JSON.stringify(applied) !== JSON.stringify(f.current);
    if (this.suspended.size > 0 || f.overSnapshot || rewritten) this.refresh(null, sectionsTouched(op));
    this.flush();
    return true;
  }

  /// The server's `error` answer. A refused submission of the in-flight op is taken out of the
  /// local document and reported (the RETRY_CODES keep it; after `rev_too_old` it is sent again
  /// as a new submission on the current revision, unless it waited over a snapshot).
  error({ in: kind, seq, code, message }) {
    const f = this.inflight;
    if (kind !== 'submit' || !f || seq !== f.seq) return true;
    if (RETRY_CODES.has(code)) return true;
    this.inflight = null;
    if (code === 'rev_too_old' && !f.overSnapshot) {
      // Not applied, and its rev fell out of the server's window while it travelled; but it
      // has followed every revision since: send it again as a new submission on this one.
      this.buffer = this.buffer
        ? { op: compose(f.current, this.buffer.op), edits: f.edits + this.buffer.edits }
        : { op: f.current, edits: f.edits };
      this.flush();
      return true;
    }
    if (code === 'section_locked' && this.keepUnlockedPart(f, message)) return true;
    if (code === 'section_locked') this.keepSuggestions(typedText(f.op));
    this.reportRejected(f.op, f.edits, new OpError(code, message));
    // Buffered edits of the same sections were made on top of the refused op: they go too.
    const gone = new Set([...sectionsTouched(f.op), ...sectionsTouched(f.current)]);
    if (this.buffer) {
      const keep = this.buffer.op.filter((c) => !gone.has(sectionOf(c)));
      const drop = this.buffer.op.filter((c) => gone.has(sectionOf(c)));
      if (drop.length > 0) {
        this.reportRejected(drop, keep.length ? 0 : this.buffer.edits, new OpError('depends_on_rejected',
          `these edits were made on top of an edit that could not be saved (${code})`));
        this.buffer = keep.length ? { op: keep, edits: this.buffer.edits } : null;
      }
    }
    this.refresh(null, [...gone]);
    this.flush();
    return true;
  }

  // The in-flight op `f` was refused with `section_locked`. Its components on sections that are
  // locked now (the server's answer comes after every revision it checked the op against, so
  // `confirmed` shows the lock) become suggestions, with the buffered edits of those sections
  // (made on top of them); the rest of it has followed every revision since it was sent, so it
  // is sent again, before the buffer, as a new submission. Returns false, changing nothing,
  // when no section it touches is locked or the rest does not apply (then the whole op is
  // reported as refused).
  keepUnlockedPart(f, message) {
    if (f.overSnapshot) return false; // its op has not followed the revisions before the snapshot
    const locked = new Set(sectionsTouched(f.current).filter((id) => {
      const s = this.confirmed.section(id);
      return s && s.locked;
    }));
    if (locked.size === 0) return false;
    const rest = f.current.filter((c) => !locked.has(sectionOf(c)));
    const buffered = this.buffer ? this.buffer.op.filter((c) => !locked.has(sectionOf(c))) : [];
    let resend;
    try {
      resend = compose(rest, buffered);
      apply(this.confirmed, resend);
    } catch (e) {
      if (e instanceof OpError) return false;
      throw e;
    }
    // The buffered edits were made on top of the in-flight op: composed, text typed in one go
    // (a first keystroke in flight, the rest buffered) reads as one piece.
    const lockedNow = f.current.filter((c) => locked.has(sectionOf(c)));
    const lockedBuffered = this.buffer ? this.buffer.op.filter((c) => locked.has(sectionOf(c))) : [];
    let refused;
    try {
      refused = compose(lockedNow, lockedBuffered);
    } catch (e) {
      if (!(e instanceof OpError)) throw e;
      refused = [...f.op.filter((c) => locked.has(sectionOf(c))), ...lockedBuffered];
    }
    this.inflight = null;
    this.buffer = resend.length > 0 ? { op: resend, edits: f.edits + (this.buffer ? this.buffer.edits : 0) } : null;
    const rejection = { op: refused, code: 'section_locked', message, edits: this.buffer ? 0 : f.edits, texts: typedText(refused) };
    this.keepSuggestions(rejection.texts, 'section_locked');
    this.onRejected(rejection);
    this.refresh(null, [...locked]);
    this.flush();
    return true;
  }

  /// Keeps typed text ([{section, field, text}]) as suggestions on its sections (one per
  /// section), e.g. text typed into a section that was locked a moment before. Empty texts are
  /// left out.
  keepSuggestions(texts, code = 'section_locked') {
    const bySection = new Map();
    for (const t of texts) {
      if (!t.text) continue;
      if (!bySection.has(t.section)) bySection.set(t.section, []);
      bySection.get(t.section).push({ field: t.field, text: t.text });
    }
    if (bySection.size === 0) return;
    const time = Date.now();
    for (const [section, list] of bySection) {
      this.suggestions.push({ id: `${time.toString(36)}-${this.suggestions.length}-${section}`, section, code, time, texts: list });
    }
    this.onSuggestions(this.suggestions);
  }

  /// The suggestions kept on one section, oldest first.
  suggestionsFor(section) {
    return this.suggestions.filter((s) => s.section === section);
  }

  /// Forgets a suggestion the user has dealt with (copied or not wanted).
  dismissSuggestion(id) {
    const before = this.suggestions.length;
    this.suggestions = this.suggestions.filter((s) => s.id !== id);
    if (this.suggestions.length !== before) this.onSuggestions(this.suggestions);
  }

  // ---- Presence -----------------------------------------------------------------------------

  /// Another client's presence ({client, rev, section, field, anchor, head, ...}, positions at
  /// revision `rev`); `section: null` clears it.
  receivePresence(p) {
    if (p.client === this.client) return;
    if (p.section === null || p.section === undefined) {
      this.presences.delete(p.client);
      return;
    }
    let at = { ...p };
    if (p.rev < this.rev) {
      const later = this.history.filter((h) => h.rev > p.rev);
      if (later.length === 0 || later[0].rev !== p.rev + 1) return; // too old to place
      for (const h of later) at = at && transformPresence(at, h.op);
    } else if (p.rev > this.rev) {
      return; // from the future: the server never sends these
    }
    if (at && this.shown) at = transformPresence(at, this.shown.current);
    if (at && this.buffer) at = transformPresence(at, this.buffer.op);
    if (at) this.presences.set(p.client, at);
    else this.presences.delete(p.client);
  }

  /// Others' cursors and selections in the local document, clamped to their fields:
  /// [{client, section, field, anchor, head, name, institution}].
  others() {
    const out = [];
    for (const p of this.presences.values()) {
      const s = this.local.section(p.section);
      if (!s || s.removed) continue;
      const len = codePoints(fieldText(s, p.field) ?? '');
      out.push({ ...p, anchor: Math.min(p.anchor, len), head: Math.min(p.head, len) });
    }
    return out;
  }

  /// Sends this user's cursor or selection in the local document (code points), translated to
  /// the server's revision; `section` null clears it. Returns the message, or null when not
  /// connected. It is remembered, moved with the document, and sent again after a reconnect.
  setPresence(section, field, anchor, head = anchor) {
    this.mine = section === null ? null : { section, field, anchor, head };
    if (!this.connected) return null;
    let message = { type: 'presence', doc: this.docId, section: null };
    if (section !== null) {
      const back = this.toConfirmed(section, field, anchor, head);
      if (back) message = { type: 'presence', doc: this.docId, rev: this.rev, section, field, ...back };
    }
    this.sendMessage(message);
    return message;
  }

  // Local positions to positions at `rev`: through the buffer, then the in-flight op,
  // backwards. Null when the section does not exist (live) at `rev`.
  toConfirmed(section, field, anchor, head) {
    const s = this.confirmed.section(section);
    if (!s || s.removed) return null;
    let pos = { anchor, head };
    const ops = [];
    if (this.shown) ops.push(this.shown.current);
    if (this.buffer) ops.push(this.buffer.op);
    for (const op of ops.reverse()) {
      for (let i = op.length - 1; i >= 0 && pos; i--) {
        const c = op[i];
        if (sectionOf(c) !== section) continue;
        if ('restore' in c || 'add' in c) pos = null;
        else if ('edit' in c && c.f === field) {
          pos = { anchor: unmapPosition(pos.anchor, c.op), head: unmapPosition(pos.head, c.op) };
        }
      }
    }
    if (!pos) return null;
    const len = codePoints(fieldText(s, field) ?? '');
    return { anchor: Math.min(pos.anchor, len), head: Math.min(pos.head, len) };
  }

  movePresences(op) {
    if (this.mine) this.mine = transformPresence(this.mine, op);
    for (const [client, p] of this.presences) {
      const q = transformPresence(p, op);
      if (q) this.presences.set(client, q);
      else this.presences.delete(client);
    }
  }

  // ---- Internals ----------------------------------------------------------------------------

  remember(rev, op) {
    this.history.push({ rev, op });
    if (this.history.length > HISTORY) this.history.shift();
  }

  // Brings the local document up to date after the confirmed document or the pending ops
  // changed. `mine` is the server's op transformed for the local document (null: none); when
  // nothing was or is suspended it is applied to the local document as it is (the common case,
  // and an op the interface can map its editors through); else the local document is rebuilt.
  refresh(mine, sections) {
    if (mine && this.suspended.size === 0) {
      try {
        const view = this.buildView();
        if (view.suspended.size === 0) {
          const local = view.doc;
          if (this.paranoid && JSON.stringify(apply(this.local, mine).toJSON()) !== JSON.stringify(local.toJSON())) {
            this.desync('the transformed op does not lead where the pending ops do (transform law broken)');
          }
          this.local = local;
          this.movePresences(mine);
          this.onChange({ doc: local, op: mine, origin: 'remote', sections: sectionsTouched(mine) });
          return;
        }
      } catch { /* rebuild below */ }
    }
    const before = this.suspended;
    const view = this.buildView();
    const touched = new Set([...sections, ...before, ...view.suspended]);
    if (this.shown) for (const id of sectionsTouched(this.shown.current)) touched.add(id);
    if (this.buffer) for (const id of sectionsTouched(this.buffer.op)) touched.add(id);
    this.local = view.doc;
    this.suspended = view.suspended;
    this.onChange({ doc: view.doc, op: null, origin: 'rebuild', sections: [...touched].sort() });
  }

  // confirmed + inflight + buffer, component by component, leaving out the sections where a
  // component does not apply now (and everything later in those sections).
  buildView() {
    let doc = this.confirmed;
    const suspended = new Set();
    const ops = [];
    if (this.shown) ops.push(this.shown.current);
    if (this.buffer) ops.push(this.buffer.op);
    for (const op of ops) {
      for (const c of op) {
        const id = sectionOf(c);
        if (suspended.has(id)) continue;
        try {
          doc = apply(doc, [c]);
        } catch (e) {
          if (!(e instanceof OpError)) throw e;
          suspended.add(id);
        }
      }
    }
    return { doc, suspended };
  }

  // Reports the text of pending edits that transform dropped (an edit of a section someone
  // removed meanwhile): the rest of the op goes on, but that text will not reach the server.
  // Transform keeps every insert whole (it may join neighbours), so a typed text survived when
  // it is still found, once, in what the op inserts into the same field afterwards.
  reportDropped(before, after, by) {
    const key = (t) => `${t.section}\u0000${t.field}`;
    const left = new Map(); // field -> what the transformed op inserts there, not yet matched
    for (const t of typedText(after)) left.set(key(t), (left.get(key(t)) || '') + '\u0000' + t.text);
    // Restore against restore keeps the left text as edits, and none where both are equal.
    for (const t of typedText(by.filter((c) => 'restore' in c))) {
      left.set(key(t), (left.get(key(t)) || '') + '\u0000' + t.text);
    }
    const lost = [];
    for (const t of typedText(before)) {
      const rest = left.get(key(t)) || '';
      const at = rest.indexOf(t.text);
      if (at < 0) lost.push(t);
      else left.set(key(t), rest.slice(0, at) + '\u0000' + rest.slice(at + t.text.length));
    }
    if (lost.length === 0) return;
    const ids = new Set(lost.map((t) => t.section));
    const removed = by.some((c) => 'remove' in c && ids.has(c.remove));
    this.onRejected({
      op: before.filter((c) => ids.has(sectionOf(c))),
      code: removed ? 'section_removed' : 'edit_dropped',
      message: removed
        ? `section ${[...ids].map((id) => `"${id}"`).join(', ')} was removed by someone else before these edits reached the server`
        : 'these edits were overridden by someone else\'s before they reached the server',
      edits: 0,
      texts: lost,
    });
  }

  reportRejected(op, edits, error) {
    this.onRejected({ op, code: error.code, message: error.message, edits, texts: typedText(op) });
  }

  desync(message) {
    this.connected = false;
    this.onDesync(new OpError('desync', message));
  }
}

// Suggestions as kept by saveState (through JSON and IndexedDB): what does not have the right
// shape is left out rather than failing the whole restore.
function readSuggestions(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((s) => s && typeof s.id === 'string' && typeof s.section === 'string'
    && Array.isArray(s.texts) && s.texts.every((t) => t && typeof t.field === 'string' && typeof t.text === 'string'))
    .map((s) => ({
      id: s.id, section: s.section, code: String(s.code || 'section_locked'), time: Number(s.time) || 0,
      texts: s.texts.map((t) => ({ field: t.field, text: t.text })),
    }));
}
