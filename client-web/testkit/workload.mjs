// A random editing workload with an audit of every typed character, shared by the in-process
// simulation (client-web/test/sync_sim.test.mjs) and the test against a real server
// (tests/server/convergence.test.mjs).
//
// Every piece of text a client types is a unique token such as `<c2.17é😀>` (emoji and an accent
// so that code points, UTF-16 units and UTF-8 bytes all differ). Inserts go only between tokens
// and deletes take whole tokens, so tokens are never split, and at the end each token can be
// traced: typed by a client, then either in the server's log exactly once or reported to that
// client as not saved (never both, never neither), and in the final document exactly once unless
// a logged op deleted it or removed its section.

import { OpError, positionBetween, typedText } from '../src/doc_op.js';

/// Matches one token.
export const TOKEN = /<[a-z0-9]+\.\d+é😀>/gu;

export { makeRandom } from './random.mjs';

/// A starting document: a few sections whose text is tokens of the author `init`.
export function initialSnapshot(rnd, prefix = 's') {
  let n = 0;
  const tok = () => `<init.${n++}é😀>`;
  const sections = [];
  let pos = '';
  const count = rnd.int(2, 4);
  for (let i = 0; i < count; i++) {
    pos = positionBetween(pos, '');
    sections.push({ id: `${prefix}${i}`, pos, title: tok(), body: tok() + tok() });
  }
  return { v: 1, sections };
}

const cp = (s) => [...s].length;

// Token boundaries of a field, in code points: [0, end of token 1, ...].
function boundaries(text) {
  const out = [0];
  let at = 0;
  for (const m of text.matchAll(TOKEN)) {
    at += cp(m[0]);
    out.push(at);
  }
  return out;
}

/// Makes random edits for one client (name: [a-z0-9]+) on its local document.
export class Editor {
  constructor(name, rnd, institution = `inst-${name}`) {
    this.name = name;
    this.rnd = rnd;
    this.institution = institution;
    this.n = 0;
    this.sections = 0;
    /// Every token this client typed in an edit the sync core accepted.
    this.typed = new Set();
    /// Tokens reported back as not saved, with the reason codes seen.
    this.reported = new Map();
    /// Tokens this client deleted (its own among them may never reach the server).
    this.deleted = new Set();
    /// Tokens reported as saved but not found after a reload (saved or not: unknown here).
    this.unconfirmed = new Set();
  }

  token() {
    return `<${this.name}.${this.n++}é😀>`;
  }

  /// Records a rejection report from the sync core (its onRejected).
  onRejected(rejection) {
    for (const t of rejection.texts) {
      for (const m of t.text.matchAll(TOKEN)) {
        if (rejection.code === 'unconfirmed') this.unconfirmed.add(m[0]);
        else this.reported.set(m[0], (this.reported.get(m[0]) || 0) + 1);
      }
    }
  }

  /// A random op for the document `doc` (a Doc), or null when there is nothing to do.
  randomOp(doc) {
    const { rnd } = this;
    const live = doc.ordered();
    const unlocked = live.filter((s) => !s.locked);
    const locked = live.filter((s) => s.locked);
    const removed = [...doc.sections.values()].filter((s) => s.removed);
    const r = rnd.next();
    if (r < 0.5 && unlocked.length) {
      const s = rnd.pick(unlocked);
      const f = rnd.chance(0.25) ? 'title' : 'body';
      const at = rnd.pick(boundaries(s[f]));
      const text = rnd.chance(0.2) ? this.token() + this.token() : this.token();
      return [{ edit: s.id, f, op: at === 0 ? [text] : [at, text] }];
    }
    if (r < 0.64 && unlocked.length) {
      const s = rnd.pick(unlocked);
      const f = rnd.chance(0.25) ? 'title' : 'body';
      const tokens = [...s[f].matchAll(TOKEN)].map((m) => m[0]);
      if (tokens.length === 0) return null;
      const i = rnd.int(0, tokens.length - 1);
      const k = Math.min(tokens.length - i, rnd.chance(0.3) ? 2 : 1);
      const at = tokens.slice(0, i).reduce((n, t) => n + cp(t), 0);
      const gone = tokens.slice(i, i + k).join('');
      // Sometimes a second edit in the same op: a replacement typed over the deleted tokens.
      const op = at === 0 ? [{ d: gone }] : [at, { d: gone }];
      if (rnd.chance(0.3)) op.push(this.token());
      return [{ edit: s.id, f, op }];
    }
    if (r < 0.70) {
      const i = rnd.int(0, live.length);
      const before = i > 0 ? live[i - 1].pos : '';
      const after = i < live.length ? live[i].pos : '';
      const pos = this.between(before, after);
      if (!pos) return null;
      return [{ add: `${this.name}-${this.sections++}`, pos, title: this.token(), body: this.token() }];
    }
    if (r < 0.73 && unlocked.length > 2) return [{ remove: rnd.pick(unlocked).id }];
    if (r < 0.77 && removed.length) {
      return [{ restore: rnd.pick(removed).id, title: this.token(), body: rnd.chance(0.5) ? this.token() : '' }];
    }
    if (r < 0.83 && live.length > 1) {
      const s = rnd.pick(live);
      const i = rnd.int(0, live.length);
      const before = i > 0 ? live[i - 1].pos : '';
      const after = i < live.length ? live[i].pos : '';
      const pos = this.between(before, after);
      return pos ? [{ move: s.id, pos }] : null;
    }
    if (r < 0.89 && unlocked.length) return [{ lock: rnd.pick(unlocked).id }];
    if (r < 0.95 && locked.length) return [{ unlock: rnd.pick(locked).id }];
    if (locked.length) {
      return [{
        approve: rnd.pick(locked).id, inst: this.institution, user: `user-${this.name}`,
        time: 1732900000000 + this.n, hash: `fnv1a:${this.n.toString(16)}`,
      }];
    }
    return null;
  }

  between(before, after) {
    try {
      return positionBetween(before, after);
    } catch (e) {
      if (!(e instanceof OpError)) throw e;
      try {
        return positionBetween(before || after, '');
      } catch {
        return null;
      }
    }
  }

  /// Makes one random edit through sync (a Sync). Returns the op, or null.
  step(sync) {
    const op = this.randomOp(sync.doc);
    if (!op) return null;
    try {
      sync.edit(op); // throws if the generator made an op that does not apply locally: a bug
    } catch (e) {
      // The interface keeps a section read-only while its pending edit waits (see Sync.edit).
      if (e instanceof OpError && e.code === 'section_suspended') return null;
      throw e;
    }
    for (const t of typedText(op)) for (const m of t.text.matchAll(TOKEN)) this.typed.add(m[0]);
    for (const c of op) {
      if ('edit' in c) for (const x of c.op) if (typeof x === 'object') for (const m of x.d.matchAll(TOKEN)) this.deleted.add(m[0]);
    }
    return op;
  }
}

function tokensOf(s) {
  return [...s.matchAll(TOKEN)].map((m) => m[0]);
}

/// Checks the tokens of a finished run. `doc` is the server's final document (a Doc), `log`
/// its revisions ([{op}] with parsed ops, in order), `editors` the clients' Editors. Returns a
/// list of problems (empty when every edit is accounted for).
export function audit(doc, log, editors) {
  const problems = [];
  const finalCount = new Map();
  const where = new Map();
  for (const s of doc.sections.values()) {
    for (const f of ['title', 'body']) {
      if (tokensOf(s[f]).join('') !== s[f]) problems.push(`section ${s.id} ${f} holds broken tokens: ${JSON.stringify(s[f])}`);
      for (const t of tokensOf(s[f])) {
        finalCount.set(t, (finalCount.get(t) || 0) + 1);
        where.set(t, s.id);
      }
    }
  }
  for (const [t, n] of finalCount) if (n > 1) problems.push(`token ${t} is in the document ${n} times`);

  const inserted = new Map(); // token -> times inserted in the log
  const sectionOfToken = new Map();
  const deleted = new Set();
  const removedSections = new Set();
  for (const { op } of log) {
    for (const c of op) {
      const id = c.edit ?? c.add ?? c.restore ?? c.remove ?? c.move ?? c.lock ?? c.unlock ?? c.approve;
      const ins = [];
      if ('edit' in c) {
        for (const x of c.op) {
          if (typeof x === 'string') ins.push(x);
          else if (typeof x === 'object' && typeof x.d === 'string') for (const t of tokensOf(x.d)) deleted.add(t);
          else if (typeof x === 'object') problems.push(`a logged delete lost its text: ${JSON.stringify(c)}`);
        }
      } else if ('add' in c || 'restore' in c) {
        ins.push(c.title, c.body);
      } else if ('remove' in c) {
        removedSections.add(id);
      }
      for (const t of tokensOf(ins.join(''))) {
        inserted.set(t, (inserted.get(t) || 0) + 1);
        sectionOfToken.set(t, id);
      }
    }
  }
  for (const [t, n] of inserted) {
    if (n > 1) problems.push(`token ${t} was inserted ${n} times by the log (an edit applied twice)`);
    const expected = deleted.has(t) || removedSections.has(sectionOfToken.get(t)) ? null : 1;
    if (expected === 1 && finalCount.get(t) !== 1) problems.push(`token ${t} was saved but is not in the document`);
  }
  for (const e of editors) {
    for (const t of e.typed) {
      const saved = inserted.has(t);
      const told = e.reported.has(t);
      // Reported as "saved, but not found after a reload": it may be in the document (typed
      // text joined to a neighbour that others' inserts split), deleted, or dropped.
      if (e.unconfirmed.has(t)) continue;
      if (!saved && !told && !e.deleted.has(t)) problems.push(`${e.name}'s token ${t} was neither saved nor reported: lost silently`);
      if (saved && told) problems.push(`${e.name}'s token ${t} was saved and also reported as not saved`);
      if (told && finalCount.has(t)) problems.push(`${e.name}'s token ${t} was reported as not saved but is in the document`);
    }
  }
  for (const t of finalCount.keys()) {
    if (!t.startsWith('<init.') && !inserted.has(t)) problems.push(`token ${t} is in the document but in no revision`);
  }
  return problems;
}
