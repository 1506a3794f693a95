// End to end in real Chromium against a real jointly-server: people typing into one section at
// once converge, a newcomer sees the same text, offline typing is kept and sent, a reload keeps
// what was shown as saved, and others' cursors come and go.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  artifactPath, clientOf, fieldText, launchBrowser, openDocument, person, startServer, until,
  waitConnected, waitSaved,
} from './harness.mjs';

let server;
let browser;
let doc; // {id, section}
let ana; let jan; let lea;

const lines = (p) => p.page.locator(`#s-${doc.section} .body-box .cm-line`);

// Puts p's cursor at the end of line n (0-based) of the section body. A long line wraps, and
// End goes to the end of the visual row first; a second End goes on to the end of the line.
async function toEndOfLine(p, n) {
  await lines(p).nth(n).click();
  await p.page.keyboard.press('End');
  await p.page.keyboard.press('End');
}

async function texts(people) {
  return Promise.all(people.map(async (p) => fieldText(p, doc.section)));
}

// Waits until every person's model and editor show the same body, with nothing pending.
async function converged(people) {
  for (const p of people) await waitSaved(p);
  return until(async () => {
    const all = await texts(people);
    const first = all[0].model;
    return all.every((t) => t.model === first && t.editor === first) ? first : null;
  }, 'the same text everywhere');
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const created = await server.createDocument('Joint course: data literacy');
  doc = { id: created.id, section: created.sections[0].id };
  ana = await person(browser, server, 'ana'); // the document's leader
  jan = await person(browser, server, 'jan');
  lea = await person(browser, server, 'lea');
  await Promise.all([ana, jan, lea].map((p) => openDocument(p, server.url, doc.id)));
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

describe('co-editing in Chromium', () => {
  it('converges when three people type into one section at once, with emoji and accents', async () => {
    await lines(ana).first().click();
    await ana.page.keyboard.type('Ana:');
    await ana.page.keyboard.press('Enter');
    await ana.page.keyboard.type('Jan:');
    await ana.page.keyboard.press('Enter');
    await ana.page.keyboard.type('Léa:');
    await converged([ana, jan, lea]);

    const typed = {
      ana: ' Grüße aus Graz 🎓 — Lernziele für 5 ECTS 👩‍💻',
      jan: ' Příliš žluťoučký kůň 🐎 úpěl ďábelské ódy',
      lea: ' café crème 😀 naïve façade, à bientôt 🇫🇷',
    };
    await toEndOfLine(ana, 0);
    await toEndOfLine(jan, 1);
    await toEndOfLine(lea, 2);
    await Promise.all([
      ana.page.keyboard.type(typed.ana, { delay: 15 }),
      jan.page.keyboard.type(typed.jan, { delay: 15 }),
      lea.page.keyboard.type(typed.lea, { delay: 15 }),
    ]);
    const text = await converged([ana, jan, lea]);
    assert.equal(text, `Ana:${typed.ana}\nJan:${typed.jan}\nLéa:${typed.lea}`);
    const stored = await server.document(doc.id);
    assert.equal(stored.snapshot.sections.find((s) => s.id === doc.section).body, text);

    // Each sees the other two's cursors, then the session is kept as a picture.
    await until(async () => (await ana.page.locator('.cm-remote-cursor').count()) === 2, 'two cursors on Ana\'s screen');
    // The preview shows everyone's text, Ana's own last keystrokes too.
    await until(async () => (await ana.page.textContent('.preview')).includes(typed.ana.trim()), 'Ana\'s text in her preview');
    await ana.page.screenshot({ path: artifactPath('three-people.png') });
  });

  it('shows a newcomer the same text', async () => {
    const kim = await person(browser, server, 'kim');
    await openDocument(kim, server.url, doc.id);
    const [mine, theirs] = await texts([kim, ana]);
    assert.equal(mine.model, theirs.model);
    assert.equal(mine.editor, theirs.model);
    await kim.context.close();
  });

  it('keeps what is typed offline and sends it when the connection returns', async () => {
    await toEndOfLine(jan, 1);
    await jan.context.setOffline(true);
    await jan.page.waitForSelector('#status[data-state="offline"]');
    const offline = ' (offline ✈️ návrh)';
    await jan.page.keyboard.type(offline, { delay: 10 });
    await jan.page.waitForSelector('#status[data-state="offline"]:not([data-pending="0"])');
    assert.match(await jan.page.textContent('#status'), /kept on this device/);
    // Meanwhile the others go on.
    await toEndOfLine(lea, 2);
    await lea.page.keyboard.type(' — ensemble ✓', { delay: 10 });
    await toEndOfLine(ana, 0);
    await ana.page.keyboard.type(' (Qualität)', { delay: 10 });
    await waitSaved(lea);
    await waitSaved(ana);

    await jan.context.setOffline(false);
    await waitConnected(jan);
    const text = await converged([ana, jan, lea]);
    const body = text.split('\n');
    assert.ok(body[0].endsWith(' (Qualität)'), body[0]);
    assert.ok(body[1].endsWith(offline), body[1]);
    assert.ok(body[2].endsWith(' — ensemble ✓'), body[2]);
  });

  it('sends edits typed offline in a tab that was closed when the document is opened again', async () => {
    await toEndOfLine(jan, 1);
    await jan.context.setOffline(true);
    await jan.page.waitForSelector('#status[data-state="offline"]');
    const typed = ' (geschlossen 🚪)';
    await jan.page.keyboard.type(typed, { delay: 5 });
    await jan.page.waitForTimeout(200); // the last keystroke's write to IndexedDB
    await jan.page.close();
    await jan.context.setOffline(false);
    jan.page = await jan.context.newPage();
    await openDocument(jan, server.url, doc.id);
    const text = await converged([ana, jan, lea]);
    assert.ok(text.split('\n')[1].endsWith(typed), text);
  });

  it('loses nothing that was shown as saved when the page reloads mid-typing', async () => {
    await toEndOfLine(lea, 2);
    await lea.page.keyboard.type(' saved-part', { delay: 5 });
    await waitSaved(lea);
    const saved = (await fieldText(lea, doc.section)).model;
    const more = ' then more words typed while the page reloads';
    const typing = lea.page.keyboard.type(more, { delay: 25 }).catch(() => { /* the page went away */ });
    await new Promise((r) => setTimeout(r, 400));
    await lea.page.reload();
    await typing;
    await waitConnected(lea);
    const text = await converged([ana, jan, lea]);
    // Everything saved is there, followed by a part of what was typed, never doubled.
    assert.ok(text.startsWith(saved), 'the saved text is kept');
    const rest = text.slice(saved.length);
    assert.ok(more.startsWith(rest), `after the saved text comes a part of what was typed: ${JSON.stringify(rest)}`);
  });

  it('shows others\' cursors while they are here and takes them away when they leave', async () => {
    const kim = await person(browser, server, 'kim');
    await openDocument(kim, server.url, doc.id);
    const kimId = await clientOf(kim);
    await toEndOfLine(kim, 1);
    const cursor = `.cm-remote-cursor[data-client="${kimId}"]`;
    await ana.page.waitForSelector(cursor);
    await ana.page.waitForSelector(`.people li[data-client="${kimId}"]`);
    // The cursor follows Kim's selection.
    await kim.page.keyboard.press('Shift+Home');
    await ana.page.waitForSelector('.cm-remote-selection');
    await kim.context.close();
    await ana.page.waitForSelector(cursor, { state: 'detached' });
    await ana.page.waitForSelector(`.people li[data-client="${kimId}"]`, { state: 'detached' });
  });

  it('adds, renames, moves and removes sections, and the others see it', async () => {
    const order = (p) => p.page.evaluate(() => window.jointly.session.doc.ordered().map((s) => s.title));
    await ana.page.click(`#s-${doc.section} .section-foot button`);
    await ana.page.keyboard.type('Learning outcomes 🎯');
    await ana.page.keyboard.press('Enter');
    await ana.page.keyboard.type('Learners can *analyse* data.');
    await ana.page.click('nav.outline button.add');
    await ana.page.keyboard.type('Assessment');
    await waitSaved(ana);
    await ana.page.waitForSelector('nav.outline a:text("Assessment")');
    await until(async () => (await order(jan)).join('|') === '|Learning outcomes 🎯|Assessment', 'Jan to see the new sections');
    // The outline: "Assessment" moves up, by keyboard.
    await ana.page.focus('nav.outline li:nth-child(3) button[aria-label^="Move"][title="Move up"]');
    await ana.page.keyboard.press('Enter');
    await until(async () => (await order(lea)).join('|') === '|Assessment|Learning outcomes 🎯', 'Léa to see the move');
    // Or by dragging it in the outline, below the other one.
    const target = ana.page.locator('nav.outline li:nth-child(3)');
    const { height } = await target.boundingBox();
    await ana.page.locator('nav.outline li:nth-child(2)').dragTo(target, { targetPosition: { x: 20, y: height - 4 } });
    await until(async () => (await order(jan)).join('|') === '|Learning outcomes 🎯|Assessment', 'Jan to see the drag');
    await ana.page.focus('nav.outline li:nth-child(3) button[title="Move up"]');
    await ana.page.keyboard.press('Enter');
    await until(async () => (await order(lea)).join('|') === '|Assessment|Learning outcomes 🎯', 'Léa to see it moved back');
    // Removing asks first; "Keep it" keeps it.
    await ana.page.click('nav.outline li:nth-child(2) button[title="Remove"]');
    await ana.page.click('dialog.confirm button[value="keep"]');
    assert.equal((await order(ana)).length, 3);
    await ana.page.click('nav.outline li:nth-child(2) button[title="Remove"]');
    await ana.page.click('dialog.confirm button[value="remove"]');
    await until(async () => (await order(jan)).join('|') === '|Learning outcomes 🎯', 'Jan to see the removal');
    // The preview shows the Markdown, rendered.
    await until(() => ana.page.locator('.preview em', { hasText: 'analyse' }).count(), 'the rendered preview');
  });

  it('reconnects after the server restarts and sends what was typed meanwhile', async () => {
    await toEndOfLine(lea, 1);
    await toEndOfLine(ana, 1);
    const old = server;
    await old.kill();
    await lea.page.waitForSelector('#status[data-state="reconnecting"]');
    const typed = ' — während der Server neu startet ⏳';
    await lea.page.keyboard.type(typed, { delay: 5 });
    await lea.page.waitForSelector('#status[data-state="reconnecting"]:not([data-pending="0"])');
    server = await startServer([], { dir: old.dir, port: old.port, sessions: old.sessions });
    const text = await converged([ana, jan, lea]);
    assert.ok(text.split('\n')[1].endsWith(typed), text);
  });

  it('keeps the text of an edit refused because the section was locked, beside the section', async () => {
    await toEndOfLine(jan, 0);
    await jan.context.setOffline(true);
    await jan.page.waitForSelector('#status[data-state="offline"]');
    const lost = ' text typed while the section got locked';
    await jan.page.keyboard.type(lost, { delay: 5 });
    // Meanwhile Ana, the leader, locks the section.
    await ana.page.click(`#s-${doc.section} .signoff button[data-action="lock"]`);
    await waitSaved(ana);
    await jan.context.setOffline(false);
    const suggestion = `#s-${doc.section} .suggestion`;
    await jan.page.waitForSelector(suggestion);
    const note = await jan.page.textContent(suggestion);
    assert.match(note, /not applied because the section is locked/);
    assert.ok(note.includes(lost), note);
    await waitSaved(jan);
    // The document is the server's, everywhere, and the section shows as locked.
    const text = await converged([ana, jan, lea]);
    assert.ok(!text.includes(lost));
    await jan.page.waitForSelector(`#s-${doc.section} .badge:not([hidden])`);
    // It survives a reload until dismissed.
    await jan.page.reload();
    await waitConnected(jan);
    await jan.page.waitForSelector(suggestion);
    assert.ok((await jan.page.textContent(suggestion)).includes(lost));
    await jan.page.click(`${suggestion} button:text("Dismiss")`);
    await jan.page.waitForSelector(suggestion, { state: 'detached' });
  });
});
