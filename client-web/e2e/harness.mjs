// The end-to-end harness: a real jointly-server on 127.0.0.1 (a free port, a temp data dir,
// --static client-web/dist) and Debian's Chromium driven by playwright-core, headless, one
// browser context per person. Node 18+.
//
// Accounts: before the server first starts, `jointly-admin create-user` puts the people of
// PEOPLE (each at their own institution) into the fresh data dir, the password on stdin. A
// person's browser context is then logged in with POST /api/login and the session cookie (or
// through the login page, `logInThroughPage`).
//
// Environment: JOINTLY_SERVER_BIN (default build/bin/jointly-server from the repository root),
// JOINTLY_ADMIN_BIN (default jointly-admin beside the server), CHROMIUM (default
// /usr/bin/chromium).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const clientRoot = path.resolve(here, '..');
export const repoRoot = path.resolve(clientRoot, '..');
export const artifacts = path.join(repoRoot, 'build', 'artifacts', 'e2e');
const serverBin = process.env.JOINTLY_SERVER_BIN || path.join(repoRoot, 'build', 'bin', 'jointly-server');
const adminBin = process.env.JOINTLY_ADMIN_BIN || path.join(path.dirname(serverBin), 'jointly-admin');

/// Everyone's password in the tests (10 bytes at least, as the contract wants).
export const PASSWORD = 'correct horse battery staple';

/// The people of the tests, by key, each at their own institution.
export const PEOPLE = Object.freeze({
  ana: { email: 'ana.silva@uni-graz.at', name: 'Ana Silva', institution: 'Universität Graz', country: 'AT' },
  jan: { email: 'jan.novak@muni.cz', name: 'Jan Novák', institution: 'Masarykova univerzita', country: 'CZ' },
  lea: { email: 'lea.dubois@univ-lille.fr', name: 'Léa Dubois', institution: 'Université de Lille', country: 'FR' },
  kim: { email: 'kim.berg@ou.nl', name: 'Kim Berg', institution: 'Open Universiteit', country: 'NL' },
});

/// Creates the accounts of PEOPLE in a data dir with jointly-admin (the server stopped).
export function createUsers(dataDir, people = PEOPLE) {
  for (const p of Object.values(people)) {
    const args = ['create-user', '--data', dataDir, '--email', p.email, '--name', p.name,
      '--institution', p.institution, '--country', p.country];
    const run = spawnSync(adminBin, args, { input: `${PASSWORD}\n`, encoding: 'utf8' });
    if (run.status !== 0) {
      throw new Error(`jointly-admin create-user ${p.email} failed (${run.status ?? run.error}): ${run.stderr}`);
    }
  }
}

/// The session token in a Set-Cookie header, or null.
const sessionToken = (setCookie) => {
  const m = /(?:^|[\s,])jointly_session=([A-Za-z0-9_-]+)/.exec(setCookie || '');
  return m ? m[1] : null;
};

/// Starts jointly-server serving client-web/dist; resolves once it listens. `opts.dir` and
/// `opts.port` start it again on the data and port of an earlier one (a restart); a fresh one
/// gets the accounts of PEOPLE first.
export async function startServer(extraArgs = [], opts = {}) {
  const dir = opts.dir || mkdtempSync(path.join(os.tmpdir(), 'jointly-e2e-'));
  if (!opts.dir) createUsers(path.join(dir, 'data'));
  const args = ['--listen', `127.0.0.1:${opts.port || 0}`, '--data', path.join(dir, 'data'), '--threads', '2',
    '--static', path.join(clientRoot, 'dist'), ...extraArgs];
  const proc = spawn(serverBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const logs = [];
  let buffered = '';
  const port = await new Promise((resolve, reject) => {
    proc.on('exit', (code) => reject(new Error(`jointly-server exited (${code}) before listening:\n${logs.join('\n')}`)));
    proc.on('error', reject);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        try {
          const j = JSON.parse(line);
          if (j.msg === 'listening') resolve(j.port);
        } catch { /* not JSON */ }
      }
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const sessions = opts.sessions || new Map(); // person key -> {token, user}
  const server = {
    url,
    port,
    dir,
    logs,
    sessions,
    /// Logs a person in over HTTP (once per server data): {token, user}.
    async login(who) {
      if (sessions.has(who)) return sessions.get(who);
      const res = await fetch(`${url}/api/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: url },
        body: JSON.stringify({ email: PEOPLE[who].email, password: PASSWORD }),
      });
      const token = sessionToken(res.headers.get('set-cookie'));
      if (res.status !== 200 || !token) throw new Error(`logging in ${who}: HTTP ${res.status} ${await res.text()}`);
      const session = { token, user: (await res.json()).user };
      sessions.set(who, session);
      return session;
    },
    /// An API request as a person: the parsed answer, or throws with the status and body.
    async api(who, method, target, body) {
      const { token } = await server.login(who);
      const headers = { Cookie: `jointly_session=${token}`, Origin: url };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(`${url}${target}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${target} as ${who}: HTTP ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    /// Creates a document as `leader` and makes the others of `members` ({key: role}) members:
    /// by default everyone else of PEOPLE, as editors.
    async createDocument(title, template = 'blank', { leader = 'ana', members } = {}) {
      const doc = await server.api(leader, 'POST', '/api/documents', { title, template });
      const team = members || Object.fromEntries(Object.keys(PEOPLE).filter((k) => k !== leader).map((k) => [k, 'editor']));
      for (const [who, role] of Object.entries(team)) {
        const { user } = await server.login(who);
        await server.api(leader, 'PUT', `/api/documents/${doc.id}/members/${user.id}`, { role });
      }
      const full = await server.document(doc.id, leader);
      return { id: doc.id, sections: full.snapshot.sections };
    },
    /// GET /api/documents/:id as a member.
    async document(id, who = 'ana') {
      return server.api(who, 'GET', `/api/documents/${id}`);
    },
    /// Stops the process (SIGTERM: a graceful shutdown) and keeps its data.
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.on('exit', resolve));
      proc.kill(signal);
      await exited;
    },
    stop() {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/// Debian's Chromium, headless. playwright-core makes a fresh temporary user-data dir for it
/// and removes it on close.
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-gpu'],
  });
}

/// A person of PEOPLE (by key) in a browser context of their own. Logged in with the session
/// cookie of POST /api/login unless `loggedIn` is false (then `logInThroughPage`).
export async function person(browser, server, who, { viewport = { width: 1280, height: 800 }, loggedIn = true } = {}) {
  const context = await browser.newContext({ viewport });
  const p = { key: who, ...PEOPLE[who], context, page: null };
  if (loggedIn) await logInByCookie(p, server);
  p.page = await context.newPage();
  p.page.on('pageerror', (e) => console.error(`[${p.name}] page error:`, e.message));
  return p;
}

/// Gives p's browser context the session cookie of a login over HTTP.
export async function logInByCookie(p, server) {
  const { token } = await server.login(p.key);
  await p.context.addCookies([{
    name: 'jointly_session', value: token, url: server.url, httpOnly: true, sameSite: 'Lax',
  }]);
}

/// Logs p in through the login page at `url` (the page shows it when there is no session) and
/// waits for the page that follows.
export async function logInThroughPage(p, url, password = PASSWORD) {
  if (!p.page.url().startsWith(url)) await p.page.goto(`${url}/`);
  await p.page.waitForSelector('form.login');
  await p.page.fill('#login-email', p.email);
  await p.page.fill('#login-password', password);
  await p.page.click('form.login button[type="submit"]');
}

/// Opens document `id` and waits until it is loaded and connected.
export async function openDocument(p, url, id) {
  await p.page.goto(`${url}/#doc=${id}`);
  await waitConnected(p);
}

export async function waitConnected(p, timeout = 15000) {
  await p.page.waitForSelector('#status[data-state="connected"][data-loaded="true"]', { timeout });
}

/// Waits until every edit of p is acknowledged by the server.
export async function waitSaved(p, timeout = 20000) {
  await p.page.waitForSelector('#status[data-state="connected"][data-pending="0"]', { timeout });
}

/// The text of a section's field as p's session has it, and as its editor shows it.
export async function fieldText(p, section, field = 'body') {
  return p.page.evaluate(([s, f]) => {
    const { session, view } = window.jointly;
    const sec = session.doc.section(s);
    const ed = view.sections.get(s);
    return { model: sec ? sec[f] : null, editor: ed ? ed[f].text : null };
  }, [section, field]);
}

/// This tab's client id.
export function clientOf(p) {
  return p.page.evaluate(() => window.jointly.session.client);
}

/// Polls fn until it returns a truthy value.
export async function until(fn, what, timeout = 20000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export function artifactPath(name) {
  mkdirSync(artifacts, { recursive: true });
  return path.join(artifacts, name);
}
