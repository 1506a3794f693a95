// Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/ (committed; run
// again only to change the seeds): valid ops cut from the real editing trace
// tests/traces/automerge-paper.json.gz, every document-operation kind in conflicting pairs, whole
// WebSocket conversations, request targets, Cookie headers, and the edge cases PROTOCOL.md names.
// Parts of one input are separated by the byte 0xFF (see fuzz_common.hpp). Node 18+:
//   node tests/fuzz/make_corpus.mjs
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEP = Buffer.from([0xff]);

function write(target, seeds) {
  const dir = path.join(here, 'corpus', target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  seeds.forEach((parts, i) => {
    const bytes = Array.isArray(parts)
      ? Buffer.concat(parts.flatMap((p, j) => [j ? SEP : Buffer.alloc(0), Buffer.isBuffer(p) ? p : Buffer.from(typeof p === 'string' ? p : JSON.stringify(p))]))
      : Buffer.from(parts);
    writeFileSync(path.join(dir, `seed-${String(i).padStart(3, '0')}`), bytes);
  });
  console.log(`${target}: ${seeds.length} seeds`);
}

// ---- text ops: a document and two ops ---------------------------------------------------------

// A trace patch [pos, deleteCount, text] as a text op.
function patchOp([pos, del, ins]) {
  const op = [];
  if (pos > 0) op.push(pos);
  if (del > 0) op.push({ d: del });
  if (ins) op.push(ins);
  return op;
}

const trace = JSON.parse(zlib.gunzipSync(readFileSync(path.join(here, '..', 'traces', 'automerge-paper.json.gz'))));
const textSeeds = [];
{
  // Replay the start of the trace; keep a (document, patch, next patch) triple now and then.
  let doc = [...trace.startContent];
  let n = 0;
  const patches = trace.txns.flatMap((t) => t.patches);
  for (let i = 0; i + 1 < patches.length && textSeeds.length < 24; i += 1) {
    const [pos, del, ins] = patches[i];
    if (n % 53 === 5 && doc.length < 2000) textSeeds.push([doc.join(''), patchOp(patches[i]), patchOp(patches[i + 1])]);
    doc.splice(pos, del, ...[...ins]);
    n += 1;
  }
}
const T = 'Joint vision 🎓 for 中文 learners';
textSeeds.push(
  [T, [6, 'shared '], [13, { d: 1 }, '🎯']],
  [T, [19, { d: '中文' }, 'Chinese'], [6, 'shared ']],
  [T, [], []],
  ['', ['x'], ['y']],
  ['abc', [1, 'X'], [1, 'Y']],
  ['abc', [{ d: 3 }], [1, { d: 1 }, 'q']],
  ['e\u0301👩‍💻', [1, { d: 1 }], [2, '!']],
  ['abc', [2, { d: 2 }], [4, 'x']],
  ['abc', '[1,0,2,"","a","b",{"d":"x"},{"d":2},3]', '[]'],
  ['abc', '[3.0,"x"]', '[3e0,"y"]'],
  ['abc', '[9007199254740991,"x"]', '[1,{"d":9007199254740991}]'],
  ['abc', '["\\ud800"]', '[1,true]'],
  ['abc', '[1,{"d":1,"x":2}]', '[1.5,"x"]'],
  ['abc', Buffer.from([0x5b, 0x22, 0xc0, 0x80, 0x22, 0x5d]), '[]'],
);
write('text_op', textSeeds);

// ---- document ops: a snapshot and two ops -----------------------------------------------------

const snap = {
  v: 1,
  sections: [
    { id: 'a', pos: 'V', title: 'Vision 🎓', body: 'hello 中文' },
    { id: 'b', pos: 'k', title: 'Outcomes', body: 'locked', locked: true,
      approvals: { 'Uni Graz': { user: 'ana', time: 1732900000000, hash: 'h:1' } } },
    { id: 'c', pos: 'a', title: '', body: '', removed: true },
  ],
};
const edit = (id, op, f = 'body') => ({ edit: id, f, op });
const docOps = [
  [edit('a', [5, ' world'])], [edit('a', [{ d: 5 }])], [edit('a', ['X'], 'title')],
  [{ add: 'n1', pos: 'VV', title: 'New', body: 'text' }], [{ add: 'n1', pos: 'W' }],
  [{ remove: 'a' }], [{ restore: 'c', title: 'Back', body: 'again' }], [{ move: 'a', pos: 'z' }],
  [{ move: 'c', pos: '1' }], [{ lock: 'a' }], [{ unlock: 'b' }],
  [{ approve: 'b', inst: 'Masaryk University', user: 'jan', time: 1732900000001, hash: 'h:2' }],
  [{ approve: 'b', inst: 'Uni Graz', user: 'eva', time: 5, hash: 'h:3' }],
  [edit('b', [1, 'x'])], [{ remove: 'b' }], [],
  [{ add: 'n2', pos: 'V' }, edit('n2', ['typed']), { move: 'n2', pos: 'b' }],
];
const docSeeds = [];
for (let i = 0; i < docOps.length; i += 1) {
  docSeeds.push([snap, docOps[i], docOps[(i * 7 + 3) % docOps.length]]);
  docSeeds.push([snap, docOps[i], docOps[i]]);
}
// Version 2 snapshots: kinds, named fields, a template section (non-empty prompt, blank body).
const snap2 = {
  v: 2,
  sections: [
    { id: 'course', pos: 'V', title: 'The course', body: '', kind: 'course', fields: { ects: '5', outcomes: 'LO1' } },
    { id: 'vision', pos: 'k', title: 'Joint vision', body: '', fields: { prompt: 'Which needs?' } },
    { id: 'u1', pos: 'W', title: 'Unit 1', body: 'text', kind: 'unit', fields: { assessment: '' } },
    { id: 'gone', pos: 'a', title: '', body: '', kind: 'unit', fields: { ects: '' }, removed: true },
  ],
};
const v2Ops = [
  [edit('course', [1, '.5'], 'ects')], [edit('vision', ['We need'])], [edit('vision', [{ d: 12 }], 'prompt')],
  [{ lock: 'vision' }], [{ lock: 'u1' }], [edit('u1', ['Written exam'], 'assessment')], [edit('u1', ['x'], 'nope')],
  [{ add: 'u2', pos: 'X', title: 'Unit 2', kind: 'unit', fields: { ects: '2,5', prompt: 'Write it' } }],
  [{ restore: 'gone', title: 'Back', fields: { ects: '3' } }], [{ remove: 'course' }],
  [{ add: 'u3', pos: 'Y', fields: { title: 'bad' } }],
];
for (let i = 0; i < v2Ops.length; i += 1) docSeeds.push([snap2, v2Ops[i], v2Ops[(i * 5 + 2) % v2Ops.length]]);
docSeeds.push(
  ['not a snapshot', [edit('a', [1, 'q'])], [{ remove: 'a' }]],
  [{ v: 1, sections: [] }, [{ add: 'x', pos: 'V' }], [{ add: 'x', pos: 'W' }]],
  [snap, '[{"edit":"a","f":"body","op":[1,"x"],"extra":1}]', '[{"move":"a","pos":"0"}]'],
  [snap, `[{"add":"${'i'.repeat(65)}","pos":"V"}]`, `[{"move":"a","pos":"${'z'.repeat(257)}"}]`],
);
write('doc_op', docSeeds);

// ---- WebSocket conversations: frames ----------------------------------------------------------

const hello = { type: 'hello', client: 'c-fuzz', name: 'Ana', institution: 'Uni Graz' };
const open = { type: 'open', doc: 1 };
const submit = (rev, seq, op) => ({ type: 'submit', doc: 1, rev, client: 'c-fuzz', seq, op });
const wsSeeds = [
  [hello, open, submit(0, 1, [edit('a', [5, '!'])]), submit(0, 2, [edit('a', ['?'])])],
  [hello, open, submit(0, 1, [{ add: 'n', pos: 'W', title: 't', body: 'b' }]), submit(1, 2, [{ remove: 'n' }])],
  [hello, open, { type: 'presence', doc: 1, rev: 0, section: 'a', field: 'body', anchor: 1, head: 3 },
    submit(0, 1, [edit('a', [{ d: 1 }])]), { type: 'presence', doc: 1, section: null }, { type: 'leave', doc: 1 }],
  [hello, open, submit(0, 1, [edit('b', ['x'])]), submit(0, 1, [edit('a', ['x'])]), submit(0, 1, [edit('a', ['x'])])],
  [hello, { type: 'open', doc: 1, rev: 0 }, submit(5, 1, []), submit(0, 2, [{ unlock: 'b' }]), submit(1, 3, [edit('b', [1, 'x'])])],
  [hello, hello, open, open, { type: 'leave', doc: 1 }, submit(0, 1, [])],
  [open, '{', '[]', '{"type":"open","doc":1e400}', '{"type":"open","doc":18446744073709551616}',
    `{"type":"open","doc":1,"x":${'['.repeat(40)}${']'.repeat(40)}}`, '{"type":"hello","__proto__":{"x":1}}'],
  [Buffer.from('{"type":"hello","client":"c-\xff"}', 'latin1'), '{"type":"hello","client":"\\ud800"}',
    '{"type":"hello","client":"a","client":"b","name":"n","institution":"i"}'],
];
// The same conversations by a non-member, a viewer, a reviewer and an editor (the client id's
// last character picks the role, see ws_message_fuzz.cpp).
for (const who of ['n', 'v', 'r', 'e']) {
  for (const conversation of wsSeeds.slice(0, 5)) {
    wsSeeds.push(conversation.map((m) => (typeof m === 'object' && !Buffer.isBuffer(m) && m.client === 'c-fuzz'
      ? { ...m, client: `c-fuzz${who}` } : m)));
  }
}
write('ws_message', wsSeeds);

// ---- static paths: request targets ------------------------------------------------------------

write('static_path', [
  '/', '/index.html', '/app.js?v=1#x', '/sub/page.html', '/sub/escape', '/sub/../secret.txt',
  '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2E%2E%2Fsecret.txt', '/sub/%2e/page.html',
  '/sub//page.html', '/..\\secret.txt', '/%5c..%5csecret.txt', '/index.html%00.js', '/%zz',
  '/%', '/%2', 'index.html', '//etc/passwd', '/\x01', '/sub/%252e%252e/secret.txt',
  'http://127.0.0.1/index.html', '/.%2e/secret.txt', '/sub/.', '/%c0%ae%c0%ae/secret.txt',
]);

// ---- Cookie headers ---------------------------------------------------------------------------

const token = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE';  // 43 base64url characters
write('cookie', [
  `jointly_session=${token}`, `theme=dark; jointly_session=${token}`, `jointly_session="${token}"`,
  `jointly_session=${token}; jointly_session=${token}`, `jointly_session=${token};theme=dark`,
  `  jointly_session=${token}  ;  a=b  `, `jointly_session=${token.slice(1)}`, `jointly_session=${token}=`,
  `JOINTLY_SESSION=${token}`, `jointly_session =${token}`, 'jointly_session=', '=;;=;', `a="b;c"; jointly_session=${token}`,
  `jointly_session=${token.replace('A', '+')}`, `jointly_session=${token}\u0000`, '',
]);
