// End to end in Chromium against a real jointly-server: a course-design document. Ana (the
// leader) creates one from the course template on the start page; the checklist shows the
// Annex I elements still missing. She fills in the title and the credits of the course and of
// two units that do not add up: the ECTS finding appears, for her and live for Jan (an editor
// with the document open). Jan corrects his unit's credits in the unit's form field: the
// finding passes for both. A checklist link puts the cursor in the field it names.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  launchBrowser, openDocument, person, startServer, until, waitConnected, waitSaved,
} from './harness.mjs';

let server;
let browser;
let ana; let jan;
let docId;

const finding = (code, section = null) => `.checklist li[data-code="${code}"]${section ? `[data-section="${section}"]` : ''}`;
const levelOf = async (p, code, section) => {
  const el = p.page.locator(finding(code, section));
  return (await el.count()) ? el.first().getAttribute('data-level') : null;
};
const summary = (p) => p.page.textContent('.checklist .check-summary');

// p types `text` into a named field's editor (at its end; replacing `erase` characters first).
async function typeInto(p, section, field, text, erase = 0) {
  const box = p.page.locator(`#f-${section}-${field}`);
  await box.scrollIntoViewIfNeeded();
  await box.locator(':scope > *').first().click();
  await p.page.waitForSelector(`#f-${section}-${field} .cm-focused`);
  await p.page.keyboard.press('End');
  for (let i = 0; i < erase; i++) await p.page.keyboard.press('Backspace');
  await p.page.keyboard.type(text, { delay: 5 });
}

// The text of a named field in p's document and in its editor.
const named = (p, section, field) => p.page.evaluate(([s, f]) => {
  const { session, view } = window.jointly;
  return { model: session.doc.section(s).fields.get(f), editor: view.sections.get(s).form.get(f).text };
}, [section, field]);

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  ana = await person(browser, server, 'ana');
  jan = await person(browser, server, 'jan');
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
});

describe('a course-design document', () => {
  it('is created from the course template on the start page, and the checklist shows what is missing', async () => {
    await ana.page.goto(`${server.url}/`);
    await ana.page.waitForSelector('#new-template');
    await ana.page.fill('#new-title', 'Data literacy for public services');
    await ana.page.selectOption('#new-template', 'course');
    await ana.page.click('form button[type="submit"]');
    await ana.page.waitForURL(/#doc=\d+$/);
    docId = Number(ana.page.url().match(/#doc=(\d+)$/)[1]);
    await waitConnected(ana);
    // The template's steps, the course details and a unit; a step's prompt is the body's placeholder.
    const ids = await ana.page.$$eval('article.section', (a) => a.map((x) => x.dataset.section));
    assert.deepEqual(ids, ['vision', 'policy', 'support', 'team', 'outcomes', 'course', 'unit1']);
    const vision = await ana.page.textContent('#s-vision .body-box');
    assert.ok(vision.length > 10, `the vision step shows its prompt: ${vision}`);
    assert.equal(await ana.page.evaluate(() => window.jointly.session.doc.section('vision').body), '');
    assert.equal(await ana.page.locator('#s-course .course-field').count(), 12);
    assert.equal(await ana.page.textContent('#s-course .course-field[data-field="ects"] .field-label'), 'Workload (ECTS)');
    await until(async () => (await summary(ana)).startsWith('0 of 11 required elements defined'), 'the summary');
    assert.equal(await levelOf(ana, 'annex1.title'), 'error');
    assert.equal(await levelOf(ana, 'section.written', 'vision'), 'error');
    // Jan joins as an editor and opens it.
    const { user } = await server.login('jan');
    await server.api('ana', 'PUT', `/api/documents/${docId}/members/${user.id}`, { role: 'editor' });
    await openDocument(jan, server.url, docId);
    await until(async () => (await levelOf(jan, 'annex1.title')) === 'error', 'Jan\'s checklist');
  });

  it('updates the checklist live as the title is filled in', async () => {
    await typeInto(ana, 'course', 'course_title', 'Data literacy for public services');
    await waitSaved(ana);
    await until(async () => (await levelOf(ana, 'annex1.title')) === 'ok', 'the title to count');
    await until(async () => (await summary(ana)).startsWith('1 of 11'), 'the summary to say so');
    await until(async () => (await levelOf(jan, 'annex1.title')) === 'ok', 'Jan\'s checklist to follow');
    assert.deepEqual(await named(jan, 'course', 'course_title'),
      { model: 'Data literacy for public services', editor: 'Data literacy for public services' });
    // Ana's cursor is in the course title field, and Jan sees it there.
    await jan.page.waitForSelector('#f-course-course_title .cm-remote-cursor', { timeout: 10000 });
  });

  it('shows the ECTS finding when the units\' credits do not add up, live for both', async () => {
    await typeInto(ana, 'course', 'ects', '5');
    await typeInto(ana, 'unit1', 'ects', '2');
    await ana.page.click('#s-unit1 button[data-action="add-unit"]');
    const unit2 = await until(() => ana.page.evaluate(() => {
      const u = window.jointly.session.doc.ordered().filter((s) => s.kind === 'unit');
      return u.length === 2 && u[1].id;
    }), 'the second unit');
    assert.equal(await ana.page.evaluate((id) => window.jointly.session.doc.section(id).title, unit2), 'Unit 2');
    await typeInto(ana, unit2, 'ects', '2');
    await waitSaved(ana);
    for (const p of [ana, jan]) {
      // Before the course's total was in, the same finding said it could not add up yet.
      await until(async () => /4 ECTS.*5 ECTS/.test(await p.page.textContent(finding('ects.sum'))), `${p.name}: the ECTS finding`);
      assert.equal(await levelOf(p, 'ects.sum'), 'error');
    }
    // Jan puts 3 credits in unit 2 (the field goes from "2" to "3"): it adds up, for both.
    await jan.page.waitForSelector(`#f-${unit2}-ects`);
    await typeInto(jan, unit2, 'ects', '3', 1);
    await waitSaved(jan);
    for (const p of [ana, jan]) {
      await until(async () => (await levelOf(p, 'ects.sum')) === 'ok', `${p.name}: the ECTS finding to pass`);
      assert.deepEqual(await named(p, unit2, 'ects'), { model: '3', editor: '3' });
    }
  });

  it('links a finding to its field: the cursor goes there', async () => {
    await ana.page.click(`${finding('annex1.level')} a`);
    await until(() => ana.page.evaluate(() => Boolean(document.activeElement && document.activeElement.closest('#f-course-eqf_level'))),
      'the focus in the level field');
    await ana.page.keyboard.type('EQF level 6', { delay: 5 });
    await waitSaved(ana);
    await until(async () => (await levelOf(jan, 'annex1.level')) === 'ok', 'the level to count for Jan');
  });
});
