// An in-process model of jointly-server's document authority (protocol/PROTOCOL.md, "Sync
// rules"), for simulating clients without sockets, as ot.js's server.js: a submission made on
// revision `rev` is transformed against every later revision with the submitted op as the left
// side, checked by applying it, appended as revision head + 1, acknowledged to the sender and
// broadcast to every other open connection. A resubmitted (client, seq) gets its original ack
// with `duplicate: true`.

import { Doc, OpError, apply, parseDocOp, transform } from '../src/doc_op.js';

/// The server side of one document.
export class SimServer {
  /// @param {object} snapshot the document at revision 0 (snapshot JSON)
  /// @param {number} [docId] the document id in messages
  /// @param {number} [maxLag] the oldest `rev` accepted is head - maxLag (--max-rev-lag): an
  ///   older `open` gets a snapshot, an older `submit` the error rev_too_old
  constructor(snapshot, docId = 1, maxLag = Infinity) {
    this.id = docId;
    this.maxLag = maxLag;
    this.doc = Doc.fromJSON(snapshot);
    this.log = []; // revision r is log[r - 1]: {rev, op, client, seq}
    this.applied = new Map(); // "client seq" -> rev
    this.connections = new Set(); // {send(message)}
  }

  get head() {
    return this.log.length;
  }

  /// `open` with `rev`: subscribes conn and answers with the revisions after rev.
  open(conn, rev) {
    this.connections.add(conn);
    if (rev === undefined || rev < this.head - this.maxLag) {
      conn.send({ type: 'snapshot', doc: this.id, rev: this.head, snapshot: this.doc.toJSON(), presence: [] });
      return;
    }
    if (rev > this.head) {
      conn.send({ type: 'error', code: 'rev_in_future', message: `rev ${rev} > ${this.head}`, in: 'open', doc: this.id });
      return;
    }
    conn.send({ type: 'ops', doc: this.id, from: rev, rev: this.head, ops: this.log.slice(rev), presence: [] });
  }

  /// The connection is gone.
  close(conn) {
    this.connections.delete(conn);
  }

  /// A `submit` message from conn.
  submit(conn, { rev, client, seq, op: opJSON }) {
    const key = `${client} ${seq}`;
    if (this.applied.has(key)) {
      conn.send({ type: 'ack', doc: this.id, seq, rev: this.applied.get(key), duplicate: true });
      return;
    }
    const refuse = (code, message) =>
      conn.send({ type: 'error', code, message, in: 'submit', doc: this.id, seq });
    if (rev > this.head) return refuse('rev_in_future', `rev ${rev} is newer than ${this.head}`);
    if (rev < this.head - this.maxLag) return refuse('rev_too_old', `rev ${rev} is older than ${this.head} - ${this.maxLag}`);
    let op;
    let doc;
    try {
      op = parseDocOp(opJSON);
      for (let r = rev; r < this.head; r++) op = transform(op, this.log[r].op, 'left');
      doc = apply(this.doc, op);
    } catch (e) {
      if (e instanceof OpError) return refuse(e.code, e.message);
      throw e;
    }
    this.doc = doc;
    const entry = { rev: this.head + 1, op, client, seq };
    this.log.push(entry);
    this.applied.set(key, entry.rev);
    conn.send({ type: 'ack', doc: this.id, seq, rev: entry.rev });
    for (const other of this.connections) {
      if (other !== conn) other.send({ type: 'op', doc: this.id, ...entry });
    }
  }
}
