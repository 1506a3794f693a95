// End to end in Chromium against a real jointly-server: accounts and the section sign-off.
// A leader (Universität Graz) logs in through the login page, creates a document and invites
// an editor (Masarykova univerzita) and a reviewer (Université de Lille) by link; she locks a
// section; the editor's typing in it is refused by the server and kept as a suggestion; the
// three institutions approve and the sign-off matrix says so with names; the leader unlocks,
// which clears the approvals, and the editor can type again. Also: a wrong password is
// refused on the login page, and logging out returns to it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  PEOPLE, artifactPath, fieldText, launchBrowser, logInThroughPage, person, startServer, until, waitConnected, waitSaved,
} from './harness.mjs';

let server;
let browser;
let ana; let jan; let lea;
let docId;
let section;

// The contract's section hash, computed here with node's crypto: every text field (named ones
// too), in byte order of the names.
function sectionHash({ title, body, fields = {} }) {
  const all = { ...fields, title, body };
  const part = (name) => Buffer.concat([Buffer.from(`${name}\n${Buffer.byteLength(all[name])}\n`), Buffer.from(all[name])]);
  const names = Object.keys(all).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `sha256:${createHash('sha256').update(Buffer.concat(names.map(part))).digest('hex')}`;
}

const sel = (rest = '') => `#s-${section} ${rest}`;
const matrixCell = (inst) => `table.matrix tr[data-section="${section}"] td[data-inst="${inst}"]`;
const matrixRow = () => `table.matrix tr[data-section="${section}"]`;

// Makes an invite link for `role` on Ana's team page and returns it (a new one: the page may
// still show the last link made).
async function invite(role) {
  await ana.page.goto(`${server.url}/#members=${docId}`);
  await ana.page.waitForSelector('#invite-role');
  const shown = ana.page.locator('#invite-link');
  const before = (await shown.count()) ? await shown.inputValue() : '';
  await ana.page.selectOption('#invite-role', role);
  await ana.page.click('button[data-action="invite"]');
  const link = await until(async () => (await shown.count()) && (await shown.inputValue()) !== before && shown.inputValue(), 'a new invite link');
  assert.match(link, new RegExp(`^${server.url}/#/invite/[A-Za-z0-9_-]+$`));
  return link;
}

// p goes offline and types `text` at the end of the section's body (kept on p's device).
async function typeOffline(p, text) {
  await p.page.click(sel('.body-box .cm-line'));
  await p.page.keyboard.press('End');
  await p.context.setOffline(true);
  await p.page.waitForSelector('#status[data-state="offline"]');
  await p.page.keyboard.type(text, { delay: 5 });
}

// p follows an invite link (already logged in) and lands in the document.
async function accept(p, link) {
  await p.page.goto(link);
  await p.page.waitForURL(new RegExp(`#doc=${docId}$`));
  await waitConnected(p);
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  ana = await person(browser, server, 'ana', { loggedIn: false });
  jan = await person(browser, server, 'jan');
  lea = await person(browser, server, 'lea');
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

describe('logging in', () => {
  it('refuses a wrong password on the login page and says so in plain words', async () => {
    await logInThroughPage(ana, server.url, 'not the right password');
    await until(async () => (await ana.page.textContent('#login-error')).includes('do not match'), 'the error');
    assert.equal(await ana.page.locator('form.login').count(), 1);
  });

  it('logs in through the login page and shows who is logged in', async () => {
    await logInThroughPage(ana, server.url);
    await ana.page.waitForSelector('#new-title');
    const me = await ana.page.textContent('#me');
    assert.ok(me.includes('Ana Silva') && me.includes('Universität Graz'), me);
  });
});

describe('the sign-off of a section', () => {
  it('lets the leader create a document and invite an editor and a reviewer by link', async () => {
    await ana.page.fill('#new-title', 'Joint micro-credential: data literacy');
    await ana.page.selectOption('#new-template', 'blank');
    await ana.page.click('form button.primary');
    await ana.page.waitForURL(/#doc=\d+$/);
    docId = Number(/#doc=(\d+)$/.exec(ana.page.url())[1]);
    await waitConnected(ana);
    section = await ana.page.evaluate(() => window.jointly.session.doc.ordered()[0].id);
    await ana.page.click(sel('.body-box'));
    await ana.page.keyboard.type('Learners analyse open data sets — 5 ECTS 🎓');
    await waitSaved(ana);

    await accept(jan, await invite('editor'));
    await accept(lea, await invite('reviewer'));
    await ana.page.goto(`${server.url}/#doc=${docId}`);
    await waitConnected(ana);
    // Each sees the document in their list with their role, and the team has three institutions.
    const team = await server.api('ana', 'GET', `/api/documents/${docId}/members`);
    assert.deepEqual(team.members.map((m) => [m.user.name, m.role]).sort(),
      [['Ana Silva', 'leader'], ['Jan Novák', 'editor'], ['Léa Dubois', 'reviewer']]);
    for (const [p, role] of [[jan, 'Editor'], [lea, 'Reviewer']]) {
      await p.page.goto(`${server.url}/#`);
      const item = p.page.locator(`ul.doc-list li[data-doc="${docId}"]`);
      await item.waitFor();
      assert.match(await item.textContent(), new RegExp(`Joint micro-credential: data literacy ${role}`));
    }
    // The team page: each member with institution and role; only the leader may change them.
    await lea.page.goto(`${server.url}/#members=${docId}`);
    await lea.page.waitForSelector(`tr[data-user="${team.members.find((m) => m.role === 'editor').user.id}"]`);
    const rows = await lea.page.$$eval('tr[data-user]', (trs) => trs.map((tr) => tr.textContent));
    for (const who of [PEOPLE.ana, PEOPLE.jan, PEOPLE.lea]) {
      assert.ok(rows.some((r) => r.includes(who.name) && r.includes(who.institution)), `${who.name} on the team page`);
    }
    assert.equal(await lea.page.locator('tr[data-user] select, #invite-role, #add-role').count(), 0);
    await lea.page.goto(`${server.url}/#doc=${docId}`);
    await jan.page.goto(`${server.url}/#doc=${docId}`);
    await waitConnected(lea);
    await waitConnected(jan);
    await until(async () => (await ana.page.locator('table.matrix thead th').count()) === 4, 'three institutions in the matrix');
    // The reviewer reads but cannot write, and sees no lock control.
    assert.equal(await lea.page.locator(sel('.signoff button[data-action="lock"]')).count(), 0);
    assert.equal(await jan.page.locator(sel('.signoff button[data-action="lock"]')).count(), 0);
    await lea.page.click(sel('.body-box'));
    await lea.page.keyboard.type('not allowed');
    assert.equal((await fieldText(lea, section)).model, 'Learners analyse open data sets — 5 ECTS 🎓');
  });

  it('refuses the editor\'s typing in a section the leader locked, and keeps it as a suggestion', async () => {
    const typed = ' — und Prüfung: Portfolio ✍️';
    await typeOffline(jan, typed);
    await ana.page.click(sel('.signoff button[data-action="lock"]'));
    await waitSaved(ana);
    await ana.page.waitForSelector(sel('.lock-badge:not([hidden])'));
    await jan.context.setOffline(false);
    await jan.page.waitForSelector(sel('.suggestion'));
    const note = await jan.page.textContent(sel('.suggestion'));
    assert.match(note, /not applied because the section is locked/);
    assert.ok(note.includes(typed), note);
    await waitSaved(jan);
    const stored = await server.document(docId);
    assert.ok(!stored.snapshot.sections[0].body.includes('Portfolio'));
    // Read-only for everyone while locked, with the badge: typing changes nothing.
    await jan.page.waitForSelector(`#s-${section}[data-readonly="true"] .lock-badge:not([hidden])`);
    const before = (await fieldText(jan, section)).model;
    await jan.page.click(sel('.body-box .cm-line'));
    await jan.page.keyboard.type('xyz');
    assert.equal((await fieldText(jan, section)).model, before);
    assert.equal(await jan.page.locator(sel('.suggestion')).count(), 1);
  });

  it('records each institution\'s approval with the section hash and shows the matrix', async () => {
    const s = (await server.document(docId)).snapshot.sections.find((x) => x.id === section);
    const hash = sectionHash(s);
    const hex = hash.slice('sha256:'.length);
    // The fingerprint the editor approves is the contract's section hash.
    await until(async () => ((await jan.page.textContent(sel('.signoff .hash'))) || '').includes(hex.slice(0, 4)), 'the fingerprint');
    await jan.page.click(sel('.signoff button[data-action="approve"]'));
    await lea.page.click(sel('.signoff button[data-action="approve"]'));
    await waitSaved(jan);
    await waitSaved(lea);
    await ana.page.waitForSelector(`${matrixCell(PEOPLE.lea.institution)}[data-state="approved"]`);
    await ana.page.waitForSelector(`${matrixCell(PEOPLE.jan.institution)}[data-state="approved"]`);
    assert.match(await ana.page.textContent(matrixRow()), /Locked, 2 of 3/);
    await ana.page.click(sel('.signoff button[data-action="approve"]'));
    await ana.page.waitForSelector(`${matrixRow()}[data-state="approved"]`);
    // Everyone's matrix says who approved.
    for (const p of [ana, jan, lea]) {
      await p.page.waitForSelector(`${matrixRow()}[data-state="approved"]`);
      for (const who of [PEOPLE.ana, PEOPLE.jan, PEOPLE.lea]) {
        assert.ok((await p.page.textContent(matrixCell(who.institution))).includes(who.name), `${p.name} sees ${who.name}`);
      }
    }
    await jan.page.screenshot({ path: artifactPath('signoff.png') });
    const approvals = (await server.document(docId)).snapshot.sections.find((x) => x.id === section).approvals;
    assert.deepEqual(Object.keys(approvals).sort(), [PEOPLE.ana.institution, PEOPLE.lea.institution, PEOPLE.jan.institution].sort());
    for (const a of Object.values(approvals)) assert.equal(a.hash, hash);
  });

  it('clears the approvals when the leader unlocks, and the editor can type again', async () => {
    await ana.page.click(sel('.signoff button[data-action="unlock"]'));
    await waitSaved(ana);
    for (const p of [ana, jan, lea]) {
      await p.page.waitForSelector(`${matrixRow()}[data-state="open"]`);
      assert.equal(await p.page.locator(`${matrixRow()} td[data-state="approved"]`).count(), 0);
    }
    // Every step is a revision in the history, with who and from where: newest first, the
    // unlock, the three approvals, the lock; the document at each shows that step's state.
    const { entries } = await server.api('ana', 'GET', `/api/documents/${docId}/history?group=0&limit=5`);
    const steps = entries.map((e) => [e.author, e.institution, e.sections]);
    assert.deepEqual(steps[0], [PEOPLE.ana.name, PEOPLE.ana.institution, [section]]);
    assert.deepEqual(steps[4], [PEOPLE.ana.name, PEOPLE.ana.institution, [section]]);
    assert.deepEqual(steps.slice(1, 4).map((x) => x[0]).sort(), [PEOPLE.ana.name, PEOPLE.jan.name, PEOPLE.lea.name].sort());
    const at = async (rev) => (await server.api('ana', 'GET', `/api/documents/${docId}/history/at/${rev}`))
      .snapshot.sections.find((x) => x.id === section);
    const states = await Promise.all(entries.map(async (e) => {
      const s = await at(e.rev);
      return [Boolean(s.locked), Object.keys(s.approvals || {}).length];
    }));
    assert.deepEqual(states, [[false, 0], [true, 3], [true, 2], [true, 1], [true, 0]]);
    await jan.page.waitForSelector(`#s-${section}[data-readonly="false"]`);
    await jan.page.click(sel('.body-box .cm-line'));
    await jan.page.keyboard.press('End');
    await jan.page.keyboard.type(' Assessment: a portfolio.');
    await waitSaved(jan);
    await until(async () => (await server.document(docId)).snapshot.sections[0].body.endsWith(' Assessment: a portfolio.'), 'the text on the server');
    // The suggestion is still there until Jan dismisses it.
    await jan.page.click(sel('.suggestion button:text("Dismiss")'));
    await jan.page.waitForSelector(sel('.suggestion'), { state: 'detached' });
  });
});

describe('sections with named fields', () => {
  it('approves them with a hash over every field, as the server computes it', async () => {
    const demo = await server.createDocument('Demo course', 'demo', { leader: 'ana', members: {} });
    await ana.page.goto(`${server.url}/#doc=${demo.id}`);
    await waitConnected(ana);
    for (const id of ['vision', 'unit1']) {
      await ana.page.click(`#s-${id} .signoff button[data-action="lock"]`);
      await ana.page.click(`#s-${id} .signoff button[data-action="approve"]`);
      await ana.page.waitForSelector(`#s-${id} .signoff .approved-mine`);
    }
    await waitSaved(ana);
    await until(async () => {
      const stored = (await server.document(demo.id)).snapshot.sections.filter((x) => x.id === 'vision' || x.id === 'unit1');
      return stored.every((x) => x.approvals && x.approvals[PEOPLE.ana.institution].hash === sectionHash(x));
    }, 'both approvals recorded with the hash of every field');
    assert.equal(await ana.page.locator('.rejected:not([hidden])').count(), 0);
  });
});

describe('the sign-off matrix of a long document', () => {
  it('draws again only the row of a section someone approved', async () => {
    const big = await server.createDocument('Forty sections', 'blank', { leader: 'ana', members: { jan: 'editor', lea: 'reviewer' } });
    await ana.page.goto(`${server.url}/#doc=${big.id}`);
    await waitConnected(ana);
    await ana.page.evaluate(() => {
      const { session, view } = window.jointly;
      const digits = '123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
      const first = session.doc.ordered().map((x) => x.id);
      const add = Array.from({ length: 39 }, (_, i) => ({ add: `big${i}`, pos: `W${digits[i]}`, title: `Unit ${i + 2}`, body: `Outcome ${i + 2}` }));
      view.structural(add); // as the buttons do: the session's edit, then the view drawn
      view.structural([...first, ...add.map((a) => a.add)].map((id) => ({ lock: id })));
    });
    await waitSaved(ana);
    const shape = () => ana.page.evaluate(() => [document.querySelectorAll('table.matrix tbody tr[data-state="locked"]').length,
      document.querySelectorAll('table.matrix thead th').length]);
    await until(async () => { const [rows, columns] = await shape(); return rows === 40 && columns === 4; }, 'forty locked rows of three institutions');
    await ana.page.evaluate(() => {
      window.keptRows = [...document.querySelectorAll('table.matrix tbody tr')];
      window.keptHead = document.querySelector('table.matrix thead');
    });
    await jan.page.goto(`${server.url}/#doc=${big.id}`);
    await waitConnected(jan);
    await jan.page.click('#s-big20 .signoff button[data-action="approve"]');
    await waitSaved(jan);
    await ana.page.waitForSelector(`table.matrix tr[data-section="big20"] td[data-inst="${PEOPLE.jan.institution}"][data-state="approved"]`);
    const drawn = await ana.page.evaluate(() => {
      const rows = [...document.querySelectorAll('table.matrix tbody tr')];
      return {
        head: document.querySelector('table.matrix thead') === window.keptHead,
        order: rows.map((tr) => tr.dataset.section).join(' ') === window.keptRows.map((tr) => tr.dataset.section).join(' '),
        redrawn: rows.filter((tr, i) => tr !== window.keptRows[i]).map((tr) => tr.dataset.section),
      };
    });
    assert.deepEqual(drawn, { head: true, order: true, redrawn: ['big20'] });
    assert.match(await ana.page.textContent('table.matrix tr[data-section="big20"]'), /Locked, 1 of 3/);
  });
});

describe('the team', () => {
  it('tells a member removed while the document is open, who can then save nothing', async () => {
    const { user } = await server.login('kim');
    await server.api('ana', 'PUT', `/api/documents/${docId}/members/${user.id}`, { role: 'editor' });
    const kim = await person(browser, server, 'kim');
    await kim.page.goto(`${server.url}/#doc=${docId}`);
    await waitConnected(kim);
    await server.api('ana', 'DELETE', `/api/documents/${docId}/members/${user.id}`);
    await kim.page.waitForSelector('.notice:text("no longer a member")', { timeout: 5000 });
    await kim.context.close();
    const team = await server.api('ana', 'GET', `/api/documents/${docId}/members`);
    assert.ok(!team.members.some((m) => m.user.id === user.id));
  });
});

describe('when the session ends', () => {
  // Ends p's session from outside the page (as a logout in another tab or an expiry would).
  async function endSession(p) {
    await server.api(p.key, 'POST', '/api/logout');
    server.sessions.delete(p.key);
  }

  it('shows the login page at once when the server closes the connection', async () => {
    await lea.page.goto(`${server.url}/#doc=${docId}`);
    await waitConnected(lea);
    await endSession(lea);
    await lea.page.waitForSelector('form.login', { timeout: 5000 });
    assert.match(await lea.page.textContent('form.login'), /session has ended/);
    await logInThroughPage(lea, server.url);
    await waitConnected(lea);
  });

  it('keeps edits typed meanwhile and sends them after logging in again', async () => {
    await jan.page.goto(`${server.url}/#doc=${docId}`);
    await waitConnected(jan);
    const typed = ' Kept while logged out 🔑';
    await typeOffline(jan, typed);
    await endSession(jan);
    await jan.context.setOffline(false);
    await jan.page.waitForSelector('form.login');
    assert.match(await jan.page.textContent('form.login'), /kept on this device/);
    await logInThroughPage(jan, server.url);
    await waitConnected(jan);
    await waitSaved(jan);
    await until(async () => (await server.document(docId)).snapshot.sections[0].body.endsWith(typed), 'the kept edit on the server');
  });
});

describe('logging out', () => {
  it('returns to the login page, and the session no longer opens documents', async () => {
    await lea.page.click('#me button[data-action="logout"]');
    await lea.page.waitForSelector('form.login');
    await lea.page.goto(`${server.url}/#doc=${docId}`);
    await lea.page.waitForSelector('form.login');
  });
});
