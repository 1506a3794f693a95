// Stored XSS, end to end in Chromium against a real jointly-server (issue #9, "Hostile
// input"): the payloads of xss_payloads.mjs are stored through the real paths and every view
// that shows them is opened; none may execute, and each must still be shown as text.
//
// Where the payloads go:
// - document titles: POST /api/documents (several per title in CI, packed into 200 bytes), one
//   typed into the start page's form;
// - section titles and bodies of one document: the browser client's own sync path
//   (window.jointly.session.edit, over its WebSocket), the first section typed in its editors;
// - a course document's named fields (every course field, unit titles and unit fields);
// - people's names and institutions: POST /api/institutions and POST /api/users as an
//   administrator; some of them log in, edit and approve over a WebSocket of their own and
//   put their cursor in a title (presence);
// - named versions: POST .../history/versions, one named in the history panel.
// Views: the start page's document list; the document view (editors, outline, heading, who is
// here, others' cursors, sign-off matrix, Markdown preview) for the leader and, as remote edits,
// for a second member; the history panel (timeline, filter menus, a revision's diff and text,
// blame and its legend, named versions and their exports); the team page; the course form
// and its checklist; the HTML exports, opened as a page as a user would open the download; a
// refused edit's text kept beside its locked section.
//
// Detection: each payload calls the sentinel __xss(N) (a Playwright binding in every frame),
// or alert/confirm/prompt (a dialog); any request to a host other than 127.0.0.1 is refused
// and counted; every view's DOM is scanned for script-capable markup (event-handler
// attributes, javascript:/vbscript:/data:text/html URLs, srcdoc, script/iframe/object/embed/
// base/meta/svg/math elements, CSS url()/expression()). The pages run with the
// Content-Security-Policy bypassed, so that a payload the client let through is seen here and
// not hidden by the policy; the last test checks on its own that the policy blocks inline
// script.
//
// JOINTLY_LONG=1: every payload on its own: its own section, course field or unit, document,
// person (name) and institution, and named version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import MarkdownIt from 'markdown-it';
import { positionBetween } from '../src/position.js';
import { COURSE_FIELDS, UNIT_FIELDS } from '../src/ui/course_model.js';
import {
  PASSWORD, createUsers, launchBrowser, logInByCookie, repoRoot, startServer, until, waitConnected, waitSaved,
} from './harness.mjs';
import { KEY_NAMES, PAYLOADS, batches, pack } from './xss_payloads.mjs';

const LONG = process.env.JOINTLY_LONG === '1';
const BATCH = LONG ? 1 : 8; // payloads per section, field or unit
const PEOPLE_CI = 40; // people with payload names in CI (each costs a password hash): 80 packed lines, > 200 payloads
const ACTORS_CI = 3; // of them, how many log in and edit, approve and show a cursor
const ACTORS_LONG = 20; // the same with JOINTLY_LONG (each approval redraws a 258 x 260 matrix)
const SLOW_MS = LONG ? 600000 : 60000; // how long the leader's page may take to catch up
const SETTLE_MS = 400; // time for late handlers (image errors, timers, imports) to run

const serverBin = process.env.JOINTLY_SERVER_BIN || path.join(repoRoot, 'build', 'bin', 'jointly-server');
const adminBin = process.env.JOINTLY_ADMIN_BIN || path.join(path.dirname(serverBin), 'jointly-admin');
const ADMIN = { email: 'site.admin@jointly.test', name: 'Site admin', institution: 'Jointly operations', country: 'AT' };

// ---- What was seen ----------------------------------------------------------------------------

const hits = []; // {id, page}: a sentinel call
const dialogs = []; // {type, message, page}
const leaks = []; // {url, page}: a request to a host other than 127.0.0.1

function describeId(id) {
  const p = PAYLOADS.find((x) => x.id === Number(id));
  return p ? `#${p.id} (${p.group}) ${JSON.stringify(p.text)}` : `#${id}`;
}

/// Fails when anything executed, opened a dialog or left 127.0.0.1 so far.
function assertNothingRan(where) {
  assert.deepEqual(hits.map((x) => `${describeId(x.id)} in ${x.page}`), [], `payloads executed (${where})`);
  assert.deepEqual(dialogs.map((d) => `${d.type}(${describeId(d.message)}) in ${d.page}`), [], `dialogs opened (${where})`);
  assert.deepEqual(leaks.map((l) => `${l.url} from ${l.page}`), [], `requests left 127.0.0.1 (${where})`);
}

// ---- Text as shown ----------------------------------------------------------------------------

// What a comparison of shown text ignores: white space (line breaks become block boundaries),
// and the invisible and control characters CodeMirror shows as a placeholder (with the
// placeholder's bullet).
const IGNORED = /[\s\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffc\u2022]/gu;
const norm = (s) => String(s).replace(IGNORED, '');
// A window's title as the browser gives it: ASCII white space collapsed and trimmed.
const asTitle = (s) => s.replace(/[\t\n\f\r ]+/g, ' ').replace(/^ | $/g, '');

const md = new MarkdownIt({ html: false, linkify: true, breaks: true }); // as src/ui/preview.js
/// The text the preview shows for a body: markdown-it's HTML without its tags. DOMPurify may
/// take attributes away, never text.
function previewText(body) {
  return md.render(body).replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/// The section hash of the contract (PROTOCOL "Accounts and access").
function sectionHash(s) {
  const fields = [['title', s.title], ['body', s.body], ...Object.entries(s.fields || {})]
    .sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  const h = createHash('sha256');
  for (const [name, text] of fields) {
    const bytes = Buffer.from(text, 'utf8');
    h.update(`${name}\n${bytes.length}\n`);
    h.update(bytes);
  }
  return `sha256:${h.digest('hex')}`;
}

/// In the page: what is script-capable in the document (and its same-origin frames).
function scanDom() {
  const bad = [];
  const SCHEME = /^(javascript|vbscript|livescript|data:(text\/html|image\/svg|application|text\/xml))/i;
  const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'background',
    'lowsrc', 'dynsrc', 'codebase', 'ping', 'srcset', 'to', 'from', 'values', 'cite']);
  const TAGS = new Set(['script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'meta', 'link',
    'svg', 'math', 'style', 'template', 'portal', 'isindex', 'xmp', 'plaintext', 'noembed', 'noframes']);
  const visit = (doc) => {
    for (const el of doc.body ? doc.body.querySelectorAll('*') : []) {
      const tag = el.localName;
      if (TAGS.has(tag)) bad.push(`<${tag}> element: ${el.outerHTML.slice(0, 160)}`);
      for (const a of el.attributes) {
        const name = a.name.toLowerCase();
        const value = a.value.replace(/[\s\u0000-\u001f]/g, '');
        if (name.startsWith('on')) bad.push(`${name} attribute on <${tag}>: ${a.value.slice(0, 120)}`);
        else if (name === 'srcdoc') bad.push(`srcdoc on <${tag}>`);
        else if (URL_ATTRS.has(name) && SCHEME.test(value)) bad.push(`${name}=${a.value.slice(0, 120)} on <${tag}>`);
        else if (name === 'style' && /url\(|expression|javascript:|binding|behavior|@import/i.test(a.value)) {
          bad.push(`style="${a.value.slice(0, 120)}" on <${tag}>`);
        }
      }
    }
    for (const f of doc.querySelectorAll('iframe')) {
      try { if (f.contentDocument) visit(f.contentDocument); } catch { /* cross-origin: flagged as an iframe */ }
    }
  };
  visit(document);
  return bad;
}

async function assertCleanDom(p, where) {
  assert.deepEqual(await p.page.evaluate(scanDom), [], `script-capable markup in ${where}`);
}

// ---- People, pages and requests ---------------------------------------------------------------

let server;
let browser;

/// A browser context logged in with `token`, the CSP bypassed, the sentinel bound, dialogs,
/// and requests leaving 127.0.0.1, recorded.
async function openContext(label, token, { bypassCSP = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP });
  await context.exposeBinding('__xss', (source, id) => { hits.push({ id, page: label }); });
  await context.route((url) => /^(https?|wss?|ftp):$/.test(url.protocol) && url.hostname !== '127.0.0.1', (route) => {
    leaks.push({ url: route.request().url(), page: label });
    return route.abort('blockedbyclient');
  });
  if (token) {
    await context.addCookies([{ name: 'jointly_session', value: token, url: server.url, httpOnly: true, sameSite: 'Lax' }]);
  }
  const page = await context.newPage();
  page.on('dialog', (d) => { dialogs.push({ type: d.type(), message: d.message(), page: label }); d.dismiss().catch(() => {}); });
  page.on('websocket', (ws) => { if (!ws.url().startsWith(server.url.replace('http', 'ws'))) leaks.push({ url: ws.url(), page: label }); });
  page.on('pageerror', (e) => console.error(`[${label}] page error:`, e.message));
  return { label, context, page };
}

/// Logs in over HTTP: the session token.
async function loginToken(email) {
  const res = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: server.url },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const m = /jointly_session=([A-Za-z0-9_-]+)/.exec(res.headers.get('set-cookie') || '');
  if (res.status !== 200 || !m) throw new Error(`logging in ${email}: HTTP ${res.status} ${await res.text()}`);
  return m[1];
}

/// An API request with a session token: the parsed answer, or throws.
async function apiAs(token, method, target, body) {
  const headers = { Cookie: `jointly_session=${token}`, Origin: server.url };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${server.url}${target}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${target}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// Runs fn over items, `width` at a time.
async function inParallel(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

// A WebSocket client in a page (the robot's), speaking the protocol like the browser client.
function robotScript() {
  window.robots = {};
  window.robotConnect = (doc, client) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    const r = { ws, doc, client, rev: -1, seq: 0, waits: new Map(), errors: [] };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', client }));
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'open', doc }));
      else if (m.type === 'snapshot') { r.rev = m.rev; window.robots[client] = r; resolve(m.rev); }
      else if (m.type === 'op') r.rev = Math.max(r.rev, m.rev);
      else if (m.type === 'ack') {
        r.rev = Math.max(r.rev, m.rev);
        const w = r.waits.get(m.seq);
        if (w) w.resolve(m.rev);
      } else if (m.type === 'error') {
        r.errors.push(m);
        const w = m.seq !== undefined && r.waits.get(m.seq);
        if (w) w.reject(new Error(`${m.code}: ${m.message}`));
        else if (r.rev < 0) reject(new Error(`${m.code}: ${m.message}`));
      }
    };
    ws.onclose = (e) => { if (r.rev < 0) reject(new Error(`closed ${e.code} before the snapshot`)); };
  });
  window.robotSubmit = (client, op) => {
    const r = window.robots[client];
    const seq = ++r.seq;
    return new Promise((resolve, reject) => {
      r.waits.set(seq, { resolve, reject });
      r.ws.send(JSON.stringify({ type: 'submit', doc: r.doc, rev: r.rev, client, seq, op }));
    });
  };
  window.robotPresence = (client, section, field, anchor, head) => {
    const r = window.robots[client];
    r.ws.send(JSON.stringify({ type: 'presence', doc: r.doc, rev: r.rev, section, field, anchor, head }));
  };
}

// ---- The stored world -------------------------------------------------------------------------

const oneLines = PAYLOADS.map((p) => p.oneLine);
const world = {
  people: [], // {email, name, institution, id, token?}: payload-named people in the main document
  actors: [], // of people: those who edit, approve and show a cursor
  docTitles: [], // {id, title}
  main: null, // {id, title, sections: [{id, title, body}]}
  signSection: null, // the section the actors approve
  cursorSection: null, // the section whose title holds the actors' cursors
  course: null, // {id, fields: {name: text}, units: [{id, title, fields}]}
  versions: [], // {rev, name}
};
let ana; let jan; let robot;
let anaToken;

/// Loads the page at `hash` afresh (a hash change alone makes the app reload itself, which a
/// wait could see half-way).
async function visit(p, hash) {
  await p.page.goto('about:blank');
  await p.page.goto(`${server.url}/${hash}`);
}

/// Hands `op` to the browser client's session of p and waits until the server acknowledged it.
async function clientEdit(p, op) {
  await p.page.evaluate((o) => window.jointly.session.edit(o), op);
  await waitSaved(p, 30000);
}

/// The section of p's document, as plain values.
const sectionOf = (p, id) => p.page.evaluate((s) => {
  const x = window.jointly.session.doc.section(s);
  return x && { id: x.id, title: x.title, body: x.body, fields: Object.fromEntries(x.fields) };
}, id);

async function storePeople(adminToken) {
  // Names and institutions: CI packs the payloads into 128 bytes and spreads them over
  // PEOPLE_CI people, names first, then institutions; JOINTLY_LONG gives each payload (that
  // fits) a person and an institution of its own.
  let specs;
  if (LONG) {
    specs = oneLines.filter((t) => Buffer.byteLength(t) <= 128).map((t) => ({ name: t, institution: t }));
  } else {
    const lines = pack(oneLines, 128).map((l) => l.text);
    specs = Array.from({ length: PEOPLE_CI }, (_, i) => ({
      name: lines[i % lines.length], institution: lines[(i + PEOPLE_CI) % lines.length],
    }));
  }
  // Institution names are unique without case: repeats get a number.
  const seen = new Set();
  for (const s of specs) {
    let inst = s.institution;
    for (let k = 2; seen.has(inst.toLowerCase()); k++) inst = `${s.institution} ${k}`;
    seen.add(inst.toLowerCase());
    s.institution = inst;
  }
  // People with the names hostile code likes as keys, first (they are actors).
  specs.unshift({ name: KEY_NAMES[0], institution: KEY_NAMES[0] }, { name: KEY_NAMES[1], institution: KEY_NAMES[3] },
    { name: KEY_NAMES[3], institution: KEY_NAMES[2] });
  world.people = await inParallel(specs, 2, async (s, i) => {
    const inst = await apiAs(adminToken, 'POST', '/api/institutions', { name: s.institution, country: 'EU' });
    const email = `person${i}@xss.jointly.test`;
    const user = await apiAs(adminToken, 'POST', '/api/users', { email, name: s.name, password: PASSWORD, institution: inst.id });
    assert.equal(user.name, s.name);
    assert.equal(user.institution.name, s.institution);
    return { email, name: s.name, institution: s.institution, id: user.id };
  });
  world.actors = world.people.slice(0, 3 + (LONG ? ACTORS_LONG : ACTORS_CI));
  await inParallel(world.actors, 2, async (a) => { a.token = await loginToken(a.email); });
}

async function storeDocuments() {
  // Every title through POST /api/documents (packed into 200 bytes in CI), one typed into the
  // start page's form.
  const titles = LONG ? oneLines.slice() : pack(oneLines, 200).map((l) => l.text);
  const typed = titles.pop();
  for (const title of titles) {
    const d = await apiAs(anaToken, 'POST', '/api/documents', { title, template: 'blank' });
    world.docTitles.push({ id: d.id, title });
  }
  await ana.page.goto(`${server.url}/`);
  await ana.page.waitForSelector('#new-title');
  await ana.page.fill('#new-title', typed);
  await ana.page.selectOption('#new-template', 'blank');
  await ana.page.click('form button[type="submit"]');
  await ana.page.waitForURL(/#doc=\d+$/);
  const id = Number(ana.page.url().match(/#doc=(\d+)$/)[1]);
  world.docTitles.push({ id, title: typed });
  world.main = { id, title: typed, sections: [] };
  await waitConnected(ana);
}

async function storeMainDocument() {
  const doc = world.main.id;
  // The team: Jan, and every payload-named person, as editors.
  const { id: janId } = (await apiAs(await loginToken('jan.novak@muni.cz'), 'GET', '/api/me')).user;
  await apiAs(anaToken, 'PUT', `/api/documents/${doc}/members/${janId}`, { role: 'editor' });
  await inParallel(world.people, 4, (p) => apiAs(anaToken, 'PUT', `/api/documents/${doc}/members/${p.id}`, { role: 'editor' }));
  jan = await openContext('Jan', await loginToken('jan.novak@muni.cz'));
  await visit(jan, `#doc=${doc}`);
  await waitConnected(jan);

  // The template's section, typed into its editors (one input event per payload).
  const first = await ana.page.evaluate(() => window.jointly.session.doc.ordered()[0].id);
  const typedTitle = PAYLOADS[0].oneLine;
  const typedBody = [PAYLOADS[1].text, PAYLOADS[2].text].join('\n\n');
  await ana.page.click(`#s-${first} .title-box .cm-line`);
  await ana.page.keyboard.insertText(typedTitle);
  await ana.page.click(`#s-${first} .body-box .cm-line`);
  await ana.page.keyboard.insertText(typedBody);
  await waitSaved(ana);
  assert.deepEqual(await sectionOf(ana, first), { id: first, title: typedTitle, body: typedBody, fields: {} });
  world.signSection = first;

  // The rest, one revision per batch: title the batch on one line, body a paragraph each.
  let pos = await ana.page.evaluate(() => window.jointly.session.doc.ordered().at(-1).pos);
  const runs = batches(PAYLOADS, BATCH);
  for (const [i, run] of runs.entries()) {
    pos = positionBetween(pos, '');
    const id = `xss${i + 1}`;
    await clientEdit(ana, [{ add: id, pos, title: run.map((p) => p.oneLine).join(' '), body: run.map((p) => p.text).join('\n\n') }]);
  }
  world.cursorSection = 'xss1';

  // The actors: each writes in the first section, over a WebSocket of their own.
  robot = await openContext('robot', null);
  await robot.page.goto(`${server.url}/healthz`);
  await robot.page.evaluate(robotScript);
  for (const [i, a] of world.actors.entries()) {
    a.client = `robot-${i}`;
    await robot.context.clearCookies();
    await robot.context.addCookies([{ name: 'jointly_session', value: a.token, url: server.url, httpOnly: true, sameSite: 'Lax' }]);
    await robot.page.evaluate(([d, c]) => window.robotConnect(d, c), [doc, a.client]);
    await robot.page.evaluate(([c, s, t]) => window.robotSubmit(c, [{ edit: s, f: 'body', op: [t] }]), [a.client, first, `${a.name} `]);
  }
  await until(async () => {
    const body = (await sectionOf(ana, first)).body;
    return world.actors.every((a) => body.includes(`${a.name} `));
  }, 'the actors\' edits at Ana');

  // Ana locks it in her view; every actor approves it with its section hash.
  await ana.page.click(`#s-${first} .signoff button[data-action="lock"]`);
  await ana.page.waitForSelector(`#s-${first} .signoff button[data-action="unlock"]`);
  await waitSaved(ana);
  const locked = await sectionOf(ana, first);
  const hash = sectionHash(locked);
  const lockRev = await ana.page.evaluate(() => window.jointly.session.sync.rev);
  let last = lockRev;
  for (const a of world.actors) {
    await until(() => robot.page.evaluate(([c, r]) => window.robots[c].rev >= r, [a.client, lockRev]), `the lock at ${a.name}`);
    last = Math.max(last, await robot.page.evaluate(([c, s, h]) => window.robotSubmit(c, [{ approve: s, inst: 'x', user: 'x', time: 0, hash: h }]),
      [a.client, first, hash]));
  }
  await until(() => ana.page.evaluate((r) => window.jointly.session.sync.rev >= r, last), `every approval at Ana (revision ${last})`, SLOW_MS);
  // Their cursors, in the title of the next section.
  for (const a of world.actors) {
    await robot.page.evaluate(([c, s]) => window.robotPresence(c, s, 'title', 0, 3), [a.client, world.cursorSection]);
  }

  // Named versions: every revision but the last through the API, the last in the panel.
  const head = await ana.page.evaluate(() => window.jointly.session.sync.rev);
  const names = LONG ? oneLines.slice() : oneLines.slice(0, head); // one each, ≤ 200 bytes
  for (let rev = 1; rev < head && names.length > 1; rev++) {
    const name = names.shift();
    await apiAs(anaToken, 'POST', `/api/documents/${doc}/history/versions`, { name, rev });
    world.versions.push({ rev, name });
  }
  world.versions.push({ rev: head, name: names.shift(), typed: true });
  world.main.sections = await ana.page.evaluate(() => window.jointly.session.doc.ordered()
    .map((s) => ({ id: s.id, title: s.title, body: s.body })));
}

async function storeCourseDocument() {
  const d = await apiAs(anaToken, 'POST', '/api/documents', { title: PAYLOADS[3].oneLine, template: 'course' });
  const { user: janUser } = await apiAs(await loginToken('jan.novak@muni.cz'), 'GET', '/api/me');
  await apiAs(anaToken, 'PUT', `/api/documents/${d.id}/members/${janUser.id}`, { role: 'editor' });
  await visit(ana, `#doc=${d.id}`);
  await waitConnected(ana);
  const single = new Set(COURSE_FIELDS.filter((f) => !f.lines).map((f) => f.name));
  const runs = batches(PAYLOADS, BATCH);
  const text = (run, oneLine) => (oneLine ? run.map((p) => p.oneLine).join(' ') : run.map((p) => p.text).join('\n'));
  // The course title typed into its field; the other fields a batch each, through the session.
  const titleRun = runs.shift();
  const box = ana.page.locator('#f-course-course_title');
  await box.scrollIntoViewIfNeeded();
  await box.locator(':scope > *').first().click();
  await ana.page.waitForSelector('#f-course-course_title .cm-focused');
  await ana.page.keyboard.insertText(text(titleRun, true));
  await waitSaved(ana);
  for (const { name } of COURSE_FIELDS.slice(1)) {
    if (!runs.length) break;
    await clientEdit(ana, [{ edit: 'course', f: name, op: [text(runs.shift(), single.has(name))] }]);
  }
  // Units: title, credits, outcomes and assessment a batch each (the first unit is the template's).
  const units = [];
  let pos = await ana.page.evaluate(() => window.jointly.session.doc.section('unit1').pos);
  const after = await ana.page.evaluate(() => {
    const o = window.jointly.session.doc.ordered();
    const i = o.findIndex((s) => s.id === 'unit1');
    return i + 1 < o.length ? o[i + 1].pos : '';
  });
  while (runs.length) {
    const u = {
      title: text(runs.shift(), true),
      fields: Object.fromEntries(UNIT_FIELDS.map((f) => [f.name, runs.length ? text(runs.shift(), !f.lines) : ''])),
    };
    pos = positionBetween(pos, after);
    u.id = `xssunit${units.length + 1}`;
    await clientEdit(ana, [{ add: u.id, pos, title: u.title, kind: 'unit', fields: u.fields }]);
    units.push(u);
  }
  // What the fields hold now (a template field's own text, if any, follows what was typed).
  const { fields } = await sectionOf(ana, 'course');
  delete fields.prompt;
  world.course = { id: d.id, title: PAYLOADS[3].oneLine, fields, units };
}

before(async () => {
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jointly-e2e-xss-'));
  createUsers(path.join(dir, 'data'));
  const made = spawnSync(adminBin, ['create-user', '--data', path.join(dir, 'data'), '--email', ADMIN.email, '--name', ADMIN.name,
    '--institution', ADMIN.institution, '--country', ADMIN.country, '--admin'], { input: `${PASSWORD}\n`, encoding: 'utf8' });
  assert.equal(made.status, 0, `jointly-admin create-user --admin: ${made.stderr}`);
  server = await startServer([], { dir });
  browser = await launchBrowser();
  anaToken = await loginToken('ana.silva@uni-graz.at');
  ana = await openContext('Ana', anaToken);
  await storePeople(await loginToken(ADMIN.email));
  console.log(`# xss: people stored in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await storeDocuments();
  await storeMainDocument();
  await storeCourseDocument();
  console.log(`# xss: ${PAYLOADS.length} payloads stored (${LONG ? 'one per place' : `batches of ${BATCH}`}): ` +
    `${world.docTitles.length} document titles, ${world.main.sections.length} sections, ` +
    `${Object.keys(world.course.fields).length} course fields and ${world.course.units.length} units, ` +
    `${world.people.length} people and institutions (${world.actors.length} editing and approving), ` +
    `${world.versions.length} named versions, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

// ---- The views --------------------------------------------------------------------------------

/// Opens the named version at revision `rev` in p's history panel (its button in the list):
/// the revision's detail, with what changed since and the document then.
async function openVersion(p, rev) {
  await p.page.click(`details.history-box .hist-versions li[data-rev="${rev}"] button`);
  await until(async () => (await p.page.textContent('details.history-box .hist-detail h3') || '').startsWith(`Revision ${rev}`) &&
    await p.page.$('details.history-box .hist-doc'), `revision ${rev} shown`);
}

/// Waits for late handlers, then checks that nothing ran and the DOM is clean.
async function settle(p, where) {
  await p.page.waitForTimeout(SETTLE_MS);
  await assertCleanDom(p, where);
  assertNothingRan(where);
}

/// The text a CodeMirror editor under `selector` shows, line by line: its lines' text without
/// the placeholder and without others' cursors (whose labels are widgets in the line).
const editorText = (p, selector) => p.page.evaluate((sel) => [...document.querySelectorAll(`${sel} .cm-content .cm-line`)].map((line) => {
  let text = '';
  const walk = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.parentElement.closest('.cm-placeholder, .cm-remote-cursor, .cm-widgetBuffer')) text += n.data;
  }
  return text;
}).join('\n'), selector);

/// The document view of the main document at p: every editor (mounted as CodeMirror), the
/// outline, the heading, who is here, the cursors, the matrix and the preview.
async function checkDocumentView(p) {
  const { sections, title } = world.main;
  await until(async () => (await p.page.$$eval('article.section', (a) => a.length)) === sections.length, 'every section');
  // Who is here: the viewer, the other of Ana and Jan, and the actors.
  await until(() => p.page.evaluate((n) => document.querySelectorAll('.people li').length === n + 2, world.actors.length),
    'every actor in "Who is here"');
  for (const s of sections) {
    const article = p.page.locator(`#s-${s.id}`);
    await article.scrollIntoViewIfNeeded();
    await p.page.waitForSelector(`#s-${s.id} .title-box .cm-editor`);
    await p.page.waitForSelector(`#s-${s.id} .body-box .cm-editor`);
    const shown = { title: await editorText(p, `#s-${s.id} .title-box`), body: await editorText(p, `#s-${s.id} .body-box`) };
    assert.equal(norm(shown.title), norm(s.title), `the title editor of ${s.id}`);
    assert.equal(norm(shown.body), norm(s.body), `the body editor of ${s.id}`);
  }
  // Others' cursors carry their names.
  const labels = await p.page.$$eval(`#s-${world.cursorSection} .title-box .cm-remote-label`, (l) => l.map((x) => x.textContent));
  assert.deepEqual(labels.slice().sort(), world.actors.map((a) => a.name).sort(), 'the cursor labels');
  // The outline.
  const outline = await p.page.$$eval('ol.outline-list li a', (a) => a.map((x) => x.textContent));
  assert.deepEqual(outline, sections.map((s) => s.title || 'Untitled section'));
  // The heading and the tab's title.
  assert.equal(await p.page.textContent('#doc-heading h1'), title);
  assert.equal(await p.page.title(), `${asTitle(title)} — Jointly`);
  // Who is here: each actor's name, institution, and where they are.
  const people = await p.page.$$eval('.people li', (li) => li.map((x) => ({
    who: x.querySelector('strong').textContent, inst: x.querySelector('.inst').textContent, where: (x.querySelector('.where') || {}).textContent,
  })));
  const cursorTitle = sections.find((s) => s.id === world.cursorSection).title;
  for (const a of world.actors) {
    assert.ok(people.some((x) => x.who === a.name && x.inst === a.institution && x.where === `in “${cursorTitle}”`),
      `${JSON.stringify(a.name)} in "Who is here"`);
  }
  // The matrix: the team's institutions as columns, every section as a row, the approvers.
  await until(() => p.page.evaluate((n) => document.querySelectorAll('table.matrix thead th').length === n + 1,
    world.people.length + 2), 'the whole team in the matrix');
  await until(() => p.page.evaluate((n) => document.querySelectorAll('table.matrix td[data-state="approved"]').length === n,
    world.actors.length), 'every approval in the matrix');
  const matrix = await p.page.evaluate(() => ({
    cols: [...document.querySelectorAll('table.matrix thead th')].slice(1).map((x) => x.textContent),
    rows: [...document.querySelectorAll('table.matrix tbody th a')].map((x) => x.textContent),
    by: [...document.querySelectorAll('table.matrix tbody td[data-state="approved"] .by:not(time)')].map((x) => x.textContent),
  }));
  for (const person of world.people) assert.ok(matrix.cols.includes(person.institution), `column ${JSON.stringify(person.institution)}`);
  assert.deepEqual(matrix.rows, sections.map((s) => s.title || 'Untitled section'));
  assert.deepEqual(matrix.by.slice().sort(), world.actors.map((a) => a.name).sort(), 'the approvers in the matrix');
  // The preview: each section's heading, and its body's text as markdown-it renders it.
  await p.page.waitForSelector('.preview .preview-section');
  const preview = await p.page.$$eval('.preview .preview-section', (ss) => ss.map((s) => ({
    heading: s.querySelector('h3').textContent, body: s.querySelector('.preview-body').textContent,
  })));
  assert.equal(preview.length, sections.length);
  sections.forEach((s, i) => {
    assert.equal(preview[i].heading, `${i + 1}. ${s.title || 'Untitled section'}`);
    assert.equal(norm(preview[i].body), norm(previewText(s.body)), `the preview of ${s.id}`);
  });
}

describe('stored XSS: none of the payloads runs, in any view', { timeout: LONG ? 3600000 : 600000 }, () => {
  it('the detectors see a payload that runs (in the page and in a frame), a dialog, a leak and bad markup', async () => {
    const p = await openContext('self-check', anaToken);
    await p.page.goto(`${server.url}/`);
    await p.page.waitForSelector('.doc-list');
    await p.page.evaluate(() => {
      const box = document.createElement('div');
      box.id = 'self-check';
      box.innerHTML = '<img src="/nothing-here.png" onerror="__xss(-1)"><iframe srcdoc="<script>__xss(-2)</script>"></iframe>'
        + '<img src="http://detector.invalid/x.png"><a href="javascript:void 0">x</a>';
      document.body.append(box);
      setTimeout(() => alert(-3), 0);
    });
    try {
      await until(() => hits.length >= 2 && dialogs.length >= 1 && leaks.length >= 1, 'the detectors', 5000);
      assert.deepEqual(hits.map((x) => Number(x.id)).sort((x, y) => x - y), [-2, -1]);
      assert.equal(dialogs[0].message, '-3');
      assert.match(leaks[0].url, /^http:\/\/detector\.invalid\//);
      const bad = await p.page.evaluate(scanDom);
      for (const what of [/^onerror attribute on <img>/, /^<iframe> element/, /^srcdoc on <iframe>/, /^href=javascript:void 0 on <a>/]) {
        assert.ok(bad.some((x) => what.test(x)), `${what} in ${JSON.stringify(bad)}`);
      }
    } finally {
      await p.context.close();
      hits.length = 0;
      dialogs.length = 0;
      leaks.length = 0;
    }
  });

  it('the start page lists every document title as text', async () => {
    await ana.page.goto(`${server.url}/`);
    await until(async () => (await ana.page.$$eval('.doc-list li[data-doc]', (l) => l.length)) >= world.docTitles.length + 1, 'the list');
    const shown = await ana.page.$$eval('.doc-list li[data-doc]', (l) => l.map((x) => [Number(x.dataset.doc), x.querySelector('a').textContent]));
    const byId = new Map(shown);
    for (const d of world.docTitles) assert.equal(byId.get(d.id), d.title, `document ${d.id}`);
    await settle(ana, 'the start page');
  });

  it('the document view shows every title, body, name and institution as text (the leader)', async () => {
    await visit(ana, `#doc=${world.main.id}`);
    await waitConnected(ana);
    await checkDocumentView(ana);
    await settle(ana, 'the document view');
  });

  it('a second member, who saw it all arrive as remote edits, shows the same', async () => {
    await checkDocumentView(jan);
    await settle(jan, 'the document view (remote edits)');
  });

  it('the history panel: timeline, filters, diff, the document then, blame and named versions', async () => {
    const panel = (rest = '') => `details.history-box ${rest}`;
    await ana.page.click(panel('summary'));
    await until(() => ana.page.evaluate(() => document.querySelectorAll('.hist-list li.hist-entry').length > 0), 'the timeline');
    // Timeline: each actor's name and institution (on the older pages too, in a long run).
    const shownEntries = () => ana.page.$$eval(panel('.hist-list li.hist-entry'), (li) => li.map((x) => ({
      who: x.querySelector('.hist-who').textContent, inst: x.dataset.inst, text: x.textContent, last: Number(x.dataset.last),
    })));
    let entries = await shownEntries();
    while (!world.actors.every((a) => entries.some((e) => e.who === a.name)) && await ana.page.isVisible(panel('button[data-action="hist-older"]'))) {
      const loads = Number(await ana.page.getAttribute(panel('.hist-list'), 'data-loads'));
      await ana.page.click(panel('button[data-action="hist-older"]'));
      await ana.page.waitForFunction((n) => Number(document.querySelector('.hist-list').dataset.loads) > n, loads);
      entries = await shownEntries();
    }
    for (const a of world.actors) {
      assert.ok(entries.some((e) => e.who === a.name && e.inst === a.institution && e.text.includes(` · ${a.institution}`)),
        `${JSON.stringify(a.name)} in the timeline`);
    }
    // The filter menus hold every member's name and institution, and a filter by a hostile
    // name finds exactly that person's changes.
    await until(async () => (await ana.page.$$eval('#hist-author option', (o) => o.length)) >= world.people.length + 1, 'the menus');
    const authors = await ana.page.$$eval('#hist-author option', (o) => o.map((x) => x.value));
    const insts = await ana.page.$$eval('#hist-inst option', (o) => o.map((x) => x.value));
    for (const person of world.people) {
      assert.ok(authors.includes(person.name), `author ${JSON.stringify(person.name)}`);
      assert.ok(insts.includes(person.institution), `institution ${JSON.stringify(person.institution)}`);
    }
    for (const a of world.actors.slice(0, LONG ? world.actors.length : 4)) {
      const loads = Number(await ana.page.getAttribute(panel('.hist-list'), 'data-loads'));
      await ana.page.selectOption('#hist-author', a.name);
      await ana.page.click(panel('button[data-action="hist-filter"]'));
      await ana.page.waitForFunction((n) => Number(document.querySelector('.hist-list').dataset.loads) > n, loads);
      const who = await ana.page.$$eval(panel('.hist-list li.hist-entry .hist-who'), (w) => w.map((x) => x.textContent));
      assert.ok(who.length >= 1 && who.every((w) => w === a.name), `the timeline filtered by ${JSON.stringify(a.name)}: ${JSON.stringify(who)}`);
    }
    await ana.page.click(panel('button[data-action="hist-clear"]'));
    await until(async () => (await ana.page.$$eval(panel('.hist-list li.hist-entry'), (l) => l.length)) >= 2, 'the whole timeline');
    await settle(ana, 'the timeline');

    // Named versions: one more named here, in the panel; all listed, and each one's export
    // link finds it by its name.
    const typed = world.versions.at(-1);
    await ana.page.fill('#hist-version-name', typed.name);
    await ana.page.click(panel('button[data-action="hist-name"]'));
    await until(async () => (await ana.page.$$eval(panel('.hist-versions li[data-rev]'), (l) => l.length)) === world.versions.length, 'every version');
    const listed = await ana.page.$$eval(panel('.hist-versions li[data-rev]'), (li) => li.map((x) => ({
      rev: Number(x.dataset.rev), name: x.querySelector('button').textContent, json: x.querySelector('a[data-format="json"]').getAttribute('href'),
    })));
    const exported = await ana.page.evaluate(async (items) => Promise.all(items.map(async (v) => {
      const res = await fetch(v.json);
      return res.ok ? (await res.json()).version : { status: res.status };
    })), listed);
    for (const v of world.versions) {
      const i = listed.findIndex((x) => x.rev === v.rev);
      assert.ok(i >= 0, `version at revision ${v.rev}`);
      assert.equal(listed[i].name, v.name);
      assert.deepEqual(exported[i] && { rev: exported[i].rev, name: exported[i].name }, { rev: v.rev, name: v.name },
        `the export of version ${JSON.stringify(v.name)}`);
    }
    await settle(ana, 'named versions');

    // The version at revision 1: what changed since then holds every section added later.
    const { sections } = world.main;
    await openVersion(ana, 1);
    const diff = norm(await ana.page.textContent(panel('.hist-diff')));
    for (const s of sections.slice(1)) {
      assert.ok(diff.includes(norm(s.title)) && diff.includes(norm(s.body)), `section ${s.id} in the diff`);
    }
    await settle(ana, 'the diff view');
    // The version at the last revision: the document then, titles and texts as they are.
    await openVersion(ana, typed.rev);
    const then = await ana.page.$$eval(panel('.hist-doc article.hist-section'), (a) => a.map((x) => ({
      id: x.dataset.section, title: x.querySelector('h5').textContent, body: x.querySelector('.hist-text').textContent,
    })));
    assert.deepEqual(then, sections.map((s) => ({ id: s.id, title: s.title || 'Untitled section', body: s.body })));
    await settle(ana, 'a revision\'s document');

    // Blame: the approved section's text, each actor's run, the legend of institutions.
    await ana.page.selectOption('#hist-blame-section', world.signSection);
    await ana.page.click(panel('button[data-action="hist-blame"]'));
    await ana.page.waitForSelector(panel('.blame-body .blame-run'));
    const blame = await ana.page.evaluate(() => ({
      body: [...document.querySelectorAll('.blame-body .blame-run')].map((r) => r.textContent).join(''),
      title: [...document.querySelectorAll('.blame-title .blame-run')].map((r) => r.textContent).join(''),
      legend: [...document.querySelectorAll('.blame-legend li')].map((l) => l.dataset.inst),
      legendText: document.querySelector('.blame-legend').textContent,
    }));
    const sign = sections.find((s) => s.id === world.signSection);
    assert.equal(blame.body, sign.body);
    assert.equal(blame.title, sign.title);
    for (const a of world.actors) {
      assert.ok(blame.legend.includes(a.institution) && blame.legendText.includes(a.institution), `${JSON.stringify(a.institution)} in the legend`);
    }
    await settle(ana, 'blame');
  });

  it('the team page shows every name, email and institution as text', async () => {
    await visit(ana, `#members=${world.main.id}`);
    await ana.page.waitForSelector('tr[data-user]');
    await until(() => ana.page.evaluate((n) => document.querySelectorAll('tr[data-user]').length === n, world.people.length + 2), 'the members');
    const rows = await ana.page.$$eval('tr[data-user]', (tr) => tr.map((x) => [Number(x.dataset.user), x.textContent]));
    const byId = new Map(rows);
    for (const person of world.people) {
      const text = byId.get(person.id) || '';
      assert.ok(text.includes(person.name) && text.includes(person.institution) && text.includes(person.email), `member ${person.id}`);
    }
    assert.equal(await ana.page.textContent('#members-h'), `Team of “${world.main.title}”`);
    await settle(ana, 'the team page');
  });

  it('the course form, its checklist and its history show every field as text', async () => {
    const { id, fields, units } = world.course;
    await visit(ana, `#doc=${id}`);
    await waitConnected(ana);
    const fieldText = (section, field) => editorText(ana, `#f-${section}-${field}`);
    for (const [name, text] of Object.entries(fields)) {
      await ana.page.locator(`#f-course-${name}`).scrollIntoViewIfNeeded();
      await ana.page.waitForSelector(`#f-course-${name} .cm-editor`);
      assert.equal(norm(await fieldText('course', name)), norm(text), `course field ${name}`);
    }
    for (const u of units) {
      await ana.page.locator(`#s-${u.id}`).scrollIntoViewIfNeeded();
      await ana.page.waitForSelector(`#s-${u.id} .title-box .cm-editor`);
      assert.equal(norm(await editorText(ana, `#s-${u.id} .title-box`)), norm(u.title));
      for (const [name, text] of Object.entries(u.fields)) {
        await ana.page.waitForSelector(`#f-${u.id}-${name} .cm-editor`);
        assert.equal(norm(await fieldText(u.id, name)), norm(text), `${u.id} field ${name}`);
      }
    }
    // The checklist quotes unit titles and credits: as text.
    await ana.page.waitForSelector('.checklist li[data-code="unit.ects"]');
    const checklist = await ana.page.textContent('.checklist');
    for (const u of units) {
      assert.ok(checklist.includes(u.title.trim()), `unit ${u.id}'s title in the checklist`);
      if (u.fields.ects.trim()) assert.ok(checklist.includes(u.fields.ects), `unit ${u.id}'s credits in the checklist`);
    }
    await settle(ana, 'the course form and checklist');
    // History: the first revision's diff holds every field written since.
    await apiAs(anaToken, 'POST', `/api/documents/${id}/history/versions`, { name: PAYLOADS[4].oneLine, rev: 1 });
    await ana.page.click('details.history-box summary');
    await ana.page.waitForSelector('details.history-box .hist-versions li[data-rev="1"] button');
    await openVersion(ana, 1);
    const diff = norm(await ana.page.textContent('details.history-box .hist-diff'));
    const since = Object.entries(fields).filter(([name]) => name !== 'course_title').map(([, text]) => text);
    for (const text of [...since, ...units.flatMap((u) => [u.title, ...Object.values(u.fields)])]) {
      assert.ok(diff.includes(norm(text)), `${JSON.stringify(text.slice(0, 60))} in the course's diff`);
    }
    await settle(ana, 'the course history');
  });

  it('the HTML exports, opened as a page, run nothing and show the titles', async () => {
    for (const [id, title, withFields] of [[world.main.id, world.main.title, false], [world.course.id, world.course.title, true]]) {
      const exp = await ana.page.evaluate(async (d) => {
        const res = await fetch(`/api/documents/${d}/history/export?format=html`);
        return { status: res.status, csp: res.headers.get('content-security-policy'), type: res.headers.get('content-type'), body: await res.text() };
      }, id);
      assert.equal(exp.status, 200);
      assert.match(exp.type, /^text\/html/);
      assert.match(exp.csp, /default-src 'none'/, 'the export forbids script even if it were served inline');
      // As a user opens the downloaded file: no Content-Security-Policy at all.
      const viewer = await openContext(`export of ${id}`, null);
      const url = `${server.url}/export-view/${id}.html`;
      await viewer.page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: exp.body }));
      await viewer.page.goto(url);
      assert.equal(await viewer.page.textContent('h1'), title);
      assert.equal(await viewer.page.title(), asTitle(title));
      const h2 = await viewer.page.$$eval('h2', (x) => x.map((e) => e.textContent));
      const sections = withFields ? null : world.main.sections;
      if (sections) assert.deepEqual(h2, sections.map((s) => s.title));
      if (withFields) {
        const h3 = await viewer.page.$$eval('h3', (x) => x.map((e) => e.textContent));
        // The course form's labels (the export shows fields under them, not their names).
        const label = (name) => COURSE_FIELDS.find((f) => f.name === name).label;
        assert.ok(h3.includes(label('course_title')) && h3.includes(label('ects')), h3.join(', '));
        assert.ok(!h3.includes('prompt') && !h3.includes('course_title'), h3.join(', '));
        assert.ok(h2.includes(world.course.units[0].title));
      }
      await settle(viewer, `the HTML export of document ${id}`);
      await viewer.context.close();
    }
  });

  it('text refused because its section was locked is kept beside it, as text', async () => {
    // Jan types a batch of payloads offline into a section that Ana then locks; back online,
    // his edit is refused and its text is kept under the section, with Copy and Dismiss.
    // (After the history test: this lock is a new revision.)
    const section = world.main.sections[2].id;
    const text = batches(PAYLOADS, BATCH).at(-1).map((p) => p.text).join('\n\n');
    await jan.context.setOffline(true);
    await jan.page.waitForSelector('#status[data-state="offline"]');
    await jan.page.evaluate(([s, t]) => window.jointly.session.edit([{ edit: s, f: 'body', op: [t] }]), [section, text]);
    await visit(ana, `#doc=${world.main.id}`);
    await waitConnected(ana);
    await ana.page.click(`#s-${section} .signoff button[data-action="lock"]`);
    await ana.page.waitForSelector(`#s-${section} .lock-badge:not([hidden])`);
    await waitSaved(ana);
    await jan.context.setOffline(false);
    await jan.page.waitForSelector(`#s-${section} .suggestion .kept-text`);
    assert.equal(await jan.page.textContent(`#s-${section} .suggestion .kept-text`), text);
    await settle(jan, 'a suggestion');
  });

  it('the Content-Security-Policy blocks inline script as a second line of defence', async () => {
    const csp = (await fetch(`${server.url}/`)).headers.get('content-security-policy');
    const scripts = (/(?:^|;)\s*script-src ([^;]*)/.exec(csp) || /(?:^|;)\s*default-src ([^;]*)/.exec(csp) || [])[1];
    assert.ok(scripts, `a script policy in ${csp}`);
    assert.doesNotMatch(scripts, /unsafe-inline|unsafe-eval|unsafe-hashes|\*|data:|http/, `script sources: ${scripts}`);
    const p = await openContext('Ana, with the policy', anaToken, { bypassCSP: false });
    await visit(p, `#doc=${world.main.id}`);
    await waitConnected(p);
    const violations = await p.page.evaluate(async () => {
      const seen = [];
      document.addEventListener('securitypolicyviolation', (e) => seen.push(e.violatedDirective));
      const box = document.createElement('div');
      box.innerHTML = '<img src="/nothing-here.png" onerror="__xss(90001)">';
      document.body.append(box);
      const s = document.createElement('script');
      s.textContent = '__xss(90002)';
      document.body.append(s);
      const a = document.createElement('a');
      a.href = 'javascript:__xss(90003)';
      document.body.append(a);
      a.click();
      await new Promise((r) => setTimeout(r, 500));
      box.remove(); s.remove(); a.remove();
      return seen;
    });
    await p.page.waitForTimeout(SETTLE_MS);
    assert.ok(violations.length >= 3, `violations reported: ${violations.join(', ')}`);
    assertNothingRan('the page with its Content-Security-Policy');
    console.log(`# xss: the Content-Security-Policy (${csp}) blocked ${violations.length} inline scripts: ${violations.join(', ')}`);
    await p.context.close();
  });
});
