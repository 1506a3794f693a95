// The end-to-end harness: a real jointly-server on 127.0.0.1 (a free port, a temp data dir,
// --static client-web/dist) and Debian's Chromium driven by playwright-core, headless, one
// browser context per person. Node 18+.
//
// Environment: JOINTLY_SERVER_BIN (default build/bin/jointly-server from the repository root),
// CHROMIUM (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
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

/// Starts jointly-server serving client-web/dist; resolves once it listens. `opts.dir` and
/// `opts.port` start it again on the data and port of an earlier one (a restart).
export async function startServer(extraArgs = [], opts = {}) {
  const dir = opts.dir || mkdtempSync(path.join(os.tmpdir(), 'jointly-e2e-'));
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
  return {
    url,
    port,
    dir,
    logs,
    async createDocument(title, template = 'blank') {
      const res = await fetch(`${url}/api/documents`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title, template }),
      });
      if (res.status !== 201) throw new Error(`creating a document: HTTP ${res.status} ${await res.text()}`);
      const doc = await res.json();
      const full = await (await fetch(`${url}/api/documents/${doc.id}`)).json();
      return { id: doc.id, sections: full.snapshot.sections };
    },
    async document(id) {
      return (await fetch(`${url}/api/documents/${id}`)).json();
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

/// A person: a browser context (its own storage) whose identity is already given.
export async function person(browser, name, institution, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  await context.addInitScript(([n, i]) => {
    if (!localStorage.getItem('jointly.identity')) localStorage.setItem('jointly.identity', JSON.stringify({ name: n, institution: i }));
  }, [name, institution]);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[${name}] page error:`, e.message));
  return { name, context, page };
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
