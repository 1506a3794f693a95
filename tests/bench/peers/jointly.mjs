// bench-peers client adapter for jointly-server (see ../shared/bench-peers/README.md "Adding an
// adapter"; run it as shown in ./README.md). It speaks protocol/PROTOCOL.md "WebSocket protocol"
// directly with the `ws` package and runs the client state machine of "Sync rules" 3 on one
// text field (the body of the blank template's one section, "intro"): one op in flight, later
// edits composed into a buffer, incoming ops transformed with ot-text-unicode (the format the
// protocol's text ops follow).
//
// Packages (`ws`, `ot-text-unicode`) are resolved from the harness folder (the directory of its
// load.mjs), so this file needs no node_modules of its own.
//
// Accounts: when JOINTLY_BENCH_LOGIN=email:password is set, it logs in once per load process
// (POST /api/login) and sends the session cookie with every request; it always sends
// `Origin: http://127.0.0.1:<port>`, as PROTOCOL.md "Accounts and access" asks of tools.
// The bench documents are one per workload doc id: the first client (create: true) makes it
// with POST /api/documents and shares its numeric id with the others of the same process.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve(process.argv[1]));
const WebSocket = require('ws');
const { type: text } = require('ot-text-unicode');

const SECTION = 'intro';
const docIds = new Map(); // bench doc id -> Promise<numeric Jointly document id>
let sessionCookie = null; // Promise<string> once a login was started

const origin = (port) => `http://127.0.0.1:${port}`;

async function request(port, method, target, body) {
  const headers = { Origin: origin(port) };
  const cookie = await session(port);
  if (cookie) headers.Cookie = cookie;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${origin(port)}${target}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await res.text();
  return { status: res.status, body: answer, headers: res.headers };
}

function session(port) {
  const login = process.env.JOINTLY_BENCH_LOGIN;
  if (!login) return Promise.resolve('');
  if (!sessionCookie) {
    const colon = login.indexOf(':');
    sessionCookie = fetch(`${origin(port)}/api/login`, {
      method: 'POST',
      headers: { Origin: origin(port), 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: login.slice(0, colon), password: login.slice(colon + 1) }),
    }).then(async (res) => {
      const cookie = (res.headers.get('set-cookie') || '').split(';')[0];
      if (res.status !== 200 || !cookie.startsWith('jointly_session=')) {
        throw new Error(`POST /api/login answered ${res.status} ${await res.text()}`);
      }
      return cookie;
    });
  }
  return sessionCookie;
}

function documentId(port, benchId, create) {
  if (!docIds.has(benchId)) {
    if (!create) throw new Error(`document ${benchId} was not created by a first client`);
    docIds.set(
      benchId,
      request(port, 'POST', '/api/documents', { title: benchId, template: 'blank' }).then((r) => {
        if (r.status !== 201) throw new Error(`POST /api/documents answered ${r.status} ${r.body}`);
        return JSON.parse(r.body).id;
      }),
    );
  }
  return docIds.get(benchId);
}

// The text op of a DocOp that edits SECTION's body; null for anything else (the bench makes
// nothing else; an empty [] is a no-op revision).
function textOpOf(docOp) {
  let op = null;
  for (const c of docOp) {
    if (c.edit === SECTION && c.f === 'body') op = op ? text.compose(op, c.op) : c.op;
  }
  return op;
}

let clientCounter = 0;

export default {
  name: 'jointly',
  hasAck: true,
  needsCreate: true,

  async connect({ port, docId, create = false }) {
    const doc = await documentId(port, docId, create);
    const cookie = await session(port);
    const clientId = `bench-${process.pid}-${++clientCounter}`;
    const headers = { Origin: origin(port) };
    if (cookie) headers.Cookie = cookie;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers, perMessageDeflate: false });

    let body = '';
    let rev = 0;
    let seq = 0;
    let inflight = null; // { seq, op, resolve: [fn], reject: [fn] }
    let buffer = null; // { op, resolve: [fn], reject: [fn] }
    let failure = null;
    const remoteCbs = [];
    let opened;
    const ready = new Promise((resolve, reject) => { opened = { resolve, reject }; });

    const fail = (err) => {
      if (failure) return;
      failure = err;
      opened.reject(err);
      for (const p of [inflight, buffer]) if (p) for (const r of p.reject) r(err);
    };
    const send = (m) => ws.send(JSON.stringify(m));
    const submit = () => {
      send({ type: 'submit', doc, rev, client: clientId, seq: inflight.seq,
        op: [{ edit: SECTION, f: 'body', op: inflight.op }] });
    };
    const local = (op) => {
      if (failure) return Promise.reject(failure);
      body = text.apply(body, op);
      return new Promise((resolve, reject) => {
        if (!inflight) {
          inflight = { seq: ++seq, op, resolve: [resolve], reject: [reject] };
          submit();
        } else if (!buffer) {
          buffer = { op, resolve: [resolve], reject: [reject] };
        } else {
          buffer.op = text.compose(buffer.op, op);
          buffer.resolve.push(resolve);
          buffer.reject.push(reject);
        }
      });
    };

    ws.on('open', () => {
      // name and institution: required by servers before accounts, ignored by later ones.
      // batch: several messages of the document in one frame, as the browser client asks.
      send({ type: 'hello', client: clientId, name: 'bench', institution: 'bench', batch: true });
      send({ type: 'open', doc });
    });
    ws.on('unexpected-response', (_req, res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => fail(new Error(`WebSocket upgrade refused: ${res.statusCode} ${b}`)));
    });
    ws.on('error', (e) => fail(e));
    ws.on('close', (code) => fail(new Error(`connection closed (${code})`)));
    const handle = (m) => {
      if (m.type === 'batch') {
        for (const inner of m.messages) handle(inner);
      } else if (m.type === 'op') {
        if (m.doc !== doc || m.rev <= rev) return;
        let op = textOpOf(m.op);
        if (op && inflight) {
          const next = text.transform(op, inflight.op, 'right');
          inflight.op = text.transform(inflight.op, op, 'left');
          op = next;
        }
        if (op && buffer) {
          const next = text.transform(op, buffer.op, 'right');
          buffer.op = text.transform(buffer.op, op, 'left');
          op = next;
        }
        if (op) body = text.apply(body, op);
        rev = m.rev;
        for (const cb of remoteCbs) cb();
      } else if (m.type === 'ack') {
        if (!inflight || m.seq !== inflight.seq) return;
        rev = m.rev;
        const done = inflight;
        inflight = null;
        if (buffer) {
          inflight = { seq: ++seq, ...buffer };
          buffer = null;
          submit();
        }
        for (const r of done.resolve) r();
      } else if (m.type === 'snapshot') {
        const s = m.snapshot.sections.find((x) => x.id === SECTION);
        if (!s) return fail(new Error(`document ${doc} has no section ${SECTION}`));
        body = s.body || '';
        rev = m.rev;
        opened.resolve();
      } else if (m.type === 'error') {
        fail(new Error(`server error ${m.code}: ${m.message}`));
      }
    };
    ws.on('message', (data) => handle(JSON.parse(data.toString())));

    await ready;
    return {
      text: () => body,
      length: () => body.length,
      insert: (pos, str) => local(pos === 0 ? [str] : [pos, str]),
      del: (pos, n) => local(pos === 0 ? [{ d: n }] : [pos, { d: n }]),
      // The revision this client was at after its last acknowledged edit.
      mark: () => rev,
      hasSeen: (marks) => {
        let max = 0;
        for (const m of marks) if (m > max) max = m;
        return rev >= max && !inflight && !buffer;
      },
      onRemote: (cb) => remoteCbs.push(cb),
      close: async () => {
        failure = failure || new Error('closed');
        if (ws.readyState === WebSocket.CLOSED) return;
        await new Promise((resolve) => {
          ws.once('close', resolve);
          ws.close(1000);
        });
      },
    };
  },
};
