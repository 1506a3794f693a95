// How fast a leader's page keeps up with approvals arriving at a 259 sections x 260
// institutions sign-off matrix, in Chromium against a real jointly-server (a measurement, not a
// test: it prints one JSON line). Ana (the leader) has the document open with the matrix; the
// team's other 258 institutions are given to her page directly (the cost of drawing a cell does
// not depend on who the institution is, and 258 more accounts would take minutes of argon2id);
// Jan approves `approvals` sections one after another, and the line says when his last approval
// was acknowledged, when Ana's page showed them all, and how long her page's render() and the
// matrix's update took (median, max).
//
//   node client-web/e2e/signoff_bench.mjs [static dir, default client-web/dist] [approvals, default 20]
//
// JOINTLY_SERVER_BIN, JOINTLY_ADMIN_BIN and CHROMIUM as for the e2e tests; PROFILE=1 adds the
// page's CPU profile (self and inclusive time per function).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const dist = process.argv[2] || path.join(repo, 'client-web', 'dist');
const APPROVALS = Number(process.argv[3] || 40);
const SECTIONS = 259; const INSTITUTIONS = 260;
const bin = process.env.JOINTLY_SERVER_BIN || path.join(repo, 'build', 'bin', 'jointly-server');
const admin = process.env.JOINTLY_ADMIN_BIN || path.join(path.dirname(bin), 'jointly-admin');
const PW = 'correct horse battery staple';
const people = { ana: ['ana@a.at', 'Ana', 'Uni A', 'AT'], jan: ['jan@b.cz', 'Jan', 'Uni B', 'CZ'] };
const dir = mkdtempSync(path.join(os.tmpdir(), 'h6-bench-'));
for (const [email, name, inst, cc] of Object.values(people)) {
  const r = spawnSync(admin, ['create-user', '--data', `${dir}/data`, '--email', email, '--name', name, '--institution', inst, '--country', cc], { input: `${PW}\n` });
  if (r.status !== 0) throw new Error(String(r.stderr));
}
const proc = spawn(bin, ['--listen', '127.0.0.1:0', '--data', `${dir}/data`, '--threads', '2', '--static', dist], { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((resolve) => {
  let buf = '';
  proc.stderr.on('data', (c) => {
    buf += c;
    const m = /"msg":"listening".*?"port":(\d+)/.exec(buf);
    if (m) resolve(Number(m[1]));
  });
});
const url = `http://127.0.0.1:${port}`;
async function login(email) {
  const r = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: url }, body: JSON.stringify({ email, password: PW }) });
  return { token: /jointly_session=([^;]+)/.exec(r.headers.get('set-cookie'))[1], user: (await r.json()).user };
}
const ana = await login(people.ana[0]); const jan = await login(people.jan[0]);
const api = (s, method, target, body) => fetch(`${url}${target}`, { method, headers: { Cookie: `jointly_session=${s.token}`, Origin: url, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) }).then((r) => r.json());
const doc = await api(ana, 'POST', '/api/documents', { title: 'Big', template: 'blank' });
await api(ana, 'PUT', `/api/documents/${doc.id}/members/${jan.user.id}`, { role: 'editor' });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
async function page(s) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await ctx.addCookies([{ name: 'jointly_session', value: s.token, url, httpOnly: true, sameSite: 'Lax' }]);
  const p = await ctx.newPage();
  await p.goto(`${url}/#doc=${doc.id}`);
  await p.waitForSelector('#status[data-state="connected"][data-loaded="true"]');
  return p;
}
const pa = await page(ana);
// 258 more sections, all locked, in one op.
await pa.evaluate((n) => {
  const D = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const { session } = window.jointly;
  const op = [];
  for (let i = 0; i < n - 1; i++) op.push({ add: `b${i}`, pos: `W${D[Math.floor(i / 61)]}${D[1 + (i % 61)]}`, title: `Section ${i + 2}`, body: `text ${i}` });
  session.edit(op);
}, SECTIONS);
await pa.waitForSelector('#status[data-state="connected"][data-pending="0"]', { timeout: 60000 });
await pa.evaluate(() => { const { session } = window.jointly; session.edit(session.doc.ordered().map((s) => ({ lock: s.id }))); });
await pa.waitForSelector('#status[data-state="connected"][data-pending="0"]', { timeout: 60000 });
// The team: Uni A, Uni B and 258 more institutions (the render cost is the cells'; who they
// are does not matter to it).
await pa.evaluate((n) => {
  const { view } = window.jointly;
  view.team = ['Uni A', 'Uni B', ...Array.from({ length: n - 2 }, (_, i) => `Institution ${String(i).padStart(3, '0')}`)];
  view.render();
  window.renders = [];
  window.matrixRenders = [];
  const origMatrix = view.renderMatrix;
  view.renderMatrix = function (...a) { const t0 = performance.now(); origMatrix.apply(this, a); window.matrixRenders.push(performance.now() - t0); };
  const orig = view.render;
  view.render = function (...a) { const t0 = performance.now(); orig.apply(this, a); window.renders.push(performance.now() - t0); };
}, INSTITUTIONS);
await pa.waitForFunction((n) => document.querySelectorAll('table.matrix td').length === n, SECTIONS * INSTITUTIONS, { timeout: 60000 });
const pj = await page(jan);
const ids = await pj.evaluate(() => window.jointly.session.doc.ordered().map((s) => s.id));
const cdp = await pa.context().newCDPSession(pa);
if (process.env.PROFILE) { await cdp.send('Profiler.enable'); await cdp.send('Profiler.start'); }
const t0 = Date.now();
// Jan approves APPROVALS sections one after the other, as fast as his page can.
await pj.evaluate(async (list) => { for (const id of list) await window.jointly.session.approve(id); }, ids.slice(0, APPROVALS));
await pj.waitForSelector('#status[data-state="connected"][data-pending="0"]', { timeout: 600000 });
const sent = Date.now() - t0;
await pa.waitForFunction((n) => document.querySelectorAll('table.matrix td[data-state="approved"]').length === n, APPROVALS, { timeout: 900000, polling: 200 });
const shown = Date.now() - t0;
if (process.env.PROFILE) {
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  const dt = profile.timeDeltas; const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  profile.samples.forEach((id, i) => { const n = byId.get(id); const k = `${n.callFrame.functionName}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) || 0) + (dt[i] || 0)); });
  console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${(v / 1000).toFixed(0)}ms ${k}`).join('\n'));
  // Inclusive time per function name.
  const incl = new Map(); const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
  profile.samples.forEach((id, i) => { const seen = new Set(); for (let x = id; x; x = parent.get(x)) { const n = byId.get(x); const k = `${n.callFrame.functionName}:${n.callFrame.lineNumber}`; if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) || 0) + (dt[i] || 0)); } } });
  console.log('--- inclusive'); console.log([...incl].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, v]) => `${(v / 1000).toFixed(0)}ms ${k}`).join('\n'));
}
const renders = (await pa.evaluate(() => window.renders)).sort((a, b) => a - b);
const med = renders[Math.floor(renders.length / 2)];
const mr = (await pa.evaluate(() => window.matrixRenders)).sort((a, b) => a - b);
console.log(JSON.stringify({ dist, sections: SECTIONS, institutions: INSTITUTIONS, approvals: APPROVALS, jan_all_acked_ms: sent, ana_all_shown_ms: shown, renders: renders.length, render_median_ms: +med.toFixed(1), render_max_ms: +renders[renders.length - 1].toFixed(1), matrix_updates: mr.length, matrix_update_median_ms: +mr[Math.floor(mr.length / 2)].toFixed(1), matrix_update_max_ms: +mr[mr.length - 1].toFixed(1) }));
await browser.close();
proc.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
