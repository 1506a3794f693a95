// End to end in Chromium against a real jointly-server: a course-design document. Ana (the
// leader) creates one from the course template on the start page; the checklist shows the
// Annex I elements still missing. She fills in the title and the credits of the course and of
// two units that do not add up: the ECTS finding appears, for her and live for Jan (an editor
// with the document open). Jan corrects his unit's credits in the unit's form field: the
// finding passes for both. A checklist link puts the cursor in the field it names. The two
// Annex I elements that differ per learner are marked and explained. An empty design step
// cannot be locked. Once the course is complete, locked and approved by both institutions, the
// checklist's button downloads the course description (before that, it says what is missing).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  launchBrowser, openDocument, person, startServer, until, waitConnected, waitSaved,
} from './harness.mjs';

let server;
let browser;
let ana; let jan;
let docId;
let unit2; // the id of the unit Ana adds

const finding = (code, section = null) => `.checklist li[data-code="${code}"]${section ? `[data-section="${section}"]` : ''}`;
const levelOf = async (p, code, section) => {
  const el = p.page.locator(finding(code, section));
  return (await el.count()) ? el.first().getAttribute('data-level') : null;
};
const summary = (p) => p.page.textContent('.checklist .check-summary');

// p types `text` into a named field's editor (at its end; replacing `erase` characters first),
// `delay` ms between keys.
async function typeInto(p, section, field, text, erase = 0, delay = 5) {
  const box = p.page.locator(`#f-${section}-${field}`);
  await box.scrollIntoViewIfNeeded();
  await box.locator(':scope > *').first().click();
  await p.page.waitForSelector(`#f-${section}-${field} .cm-focused`);
  await p.page.keyboard.press('End');
  for (let i = 0; i < erase; i++) await p.page.keyboard.press('Backspace');
  await p.page.keyboard.type(text, { delay });
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
    unit2 = await until(() => ana.page.evaluate(() => {
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

  it('follows a team that never pauses: the checklist catches up while another member keeps typing', async () => {
    // Jan types on, a key every 100 ms (each key a revision for Ana, never 400 ms apart); in the
    // meantime Ana makes the credits 2 + 4: her checklist shows the failing sum before he stops.
    let stopped = 0;
    const typing = typeInto(jan, 'course', 'prerequisites',
      'A bachelor degree, or three years of work in a public service with data in daily use', 0, 100)
      .then(() => { stopped = Date.now(); });
    await new Promise((r) => setTimeout(r, 1500));
    await typeInto(ana, unit2, 'ects', '4', 1);
    const t0 = Date.now();
    await until(async () => (await levelOf(ana, 'ects.sum')) === 'error', 'the sum to fail for Ana while Jan types', 6000);
    const seen = Date.now();
    assert.equal(stopped, 0, 'Ana saw it while Jan was still typing');
    console.log(`# the checklist followed Ana's edit in ${seen - t0} ms while Jan typed on`);
    await typing;
    await typeInto(ana, unit2, 'ects', '3', 1);
    await waitSaved(ana);
    await until(async () => (await levelOf(jan, 'ects.sum')) === 'ok', 'the sum to pass again');
  });

  it('marks the two Annex I elements that differ for each learner, and says why', async () => {
    const note = await ana.page.textContent('.checklist .check-group[data-group="annex1"] .group-note');
    assert.match(note, /Nine are the same for every learner; learner identification and the date of issuing differ for each learner/);
    for (const p of [ana, jan]) {
      for (const code of ['annex1.learner_identification', 'annex1.issue_date']) {
        assert.equal(await p.page.locator(`${finding(code)} .per-learner`).count(), 1, code);
      }
      assert.equal(await p.page.locator('.checklist .per-learner').count(), 2, 'no other finding is per learner');
      assert.deepEqual(await p.page.$$eval('#s-course .course-field', (fs) => fs.filter((f) => f.querySelector('.per-learner')).map((f) => f.dataset.field)),
        ['issue_date', 'learner_id']);
    }
    assert.match(await ana.page.getAttribute(`${finding('annex1.issue_date')} .per-learner`, 'title'), /Differs for each learner/);
    assert.match(await ana.page.textContent(finding('annex1.issue_date')), /it differs for each learner/);
  });

  it('offers no lock of a design step that is still empty, and says why', async () => {
    const lock = '#s-policy .signoff button[data-action="lock"]';
    assert.equal(await ana.page.isDisabled(lock), true, 'the lock button of an unwritten step is disabled');
    assert.match(await ana.page.getAttribute(lock, 'title'), /cannot be locked for sign-off while its text is still empty/);
    assert.match(await ana.page.textContent('#s-policy .signoff .lock-hint'), /Write this step before locking it/);
    // A section with no prompt to replace (the course details) offers it.
    assert.equal(await ana.page.isDisabled('#s-course .signoff button[data-action="lock"]'), false);
    // Typing the step's first words offers the lock at once; taking them out again withdraws it.
    await ana.page.click('#s-support .body-box .cm-line');
    await ana.page.keyboard.type('Drafted', { delay: 5 });
    await until(async () => !(await ana.page.isDisabled('#s-support .signoff button[data-action="lock"]')), 'the lock offered');
    for (let i = 0; i < 'Drafted'.length; i += 1) await ana.page.keyboard.press('Backspace');
    await until(async () => ana.page.isDisabled('#s-support .signoff button[data-action="lock"]'), 'the lock withdrawn');
    assert.equal(await ana.page.evaluate(() => Boolean(window.jointly.session.doc.section('policy').locked)), false);
    const now = await server.api('ana', 'GET', `/api/documents/${docId}`);
    assert.ok(!now.snapshot.sections.find((s) => s.id === 'policy').locked, 'the server has it unlocked');
  });

  it('downloads the course description once every section is locked and approved by both institutions', async () => {
    const button = '.checklist button[data-action="course-description"]';
    const note = '.checklist .description-note';
    // Not yet: the button says what is missing.
    await ana.page.click(button);
    await until(async () => (await ana.page.getAttribute(note, 'data-state')) === 'not-approved', 'the refusal');
    assert.match(await ana.page.textContent(note), /approved version.*Still missing: "Joint vision" is not locked/);
    // The rest of the course, through Ana's session (the document operations typing makes).
    await ana.page.evaluate(() => {
      const { session } = window.jointly;
      const units = session.doc.ordered().filter((s) => s.kind === 'unit').map((s) => s.id);
      const op = ['vision', 'policy', 'support', 'team', 'outcomes'].map((id) => ({ edit: id, f: 'body', op: [`Agreed for ${id}.`] }));
      const fields = {
        awarding_bodies: 'Universität Graz\nMasarykova univerzita', countries: 'Austria\nCzechia', participation: 'Online',
        quality_assurance: 'Review by both programme boards', outcomes: 'LO1: Read data\nLO2: Judge data quality',
        issue_date: 'On passing the final assessment', learner_id: 'Full name and date of birth',
      };
      for (const [f, text] of Object.entries(fields)) op.push({ edit: 'course', f, op: [text] });
      units.forEach((id, i) => op.push({ edit: id, f: 'outcomes', op: [`LO${i + 1}`] }, { edit: id, f: 'assessment', op: [i ? 'Case study' : 'Quiz'] }));
      session.edit(op);
      window.jointly.view.render(); // the view draws what its own editors type; this came from outside them
    });
    await waitSaved(ana);
    for (const p of [ana, jan]) {
      await until(async () => (await summary(p)) === '11 of 11 required elements defined · every check passes', `${p.name}: every check passing`);
    }
    const ids = await ana.page.evaluate(() => window.jointly.session.doc.ordered().map((s) => s.id));
    assert.equal(ids.length, 8);
    for (const id of ids) {
      await ana.page.click(`#s-${id} .signoff button[data-action="lock"]`);
      await ana.page.click(`#s-${id} .signoff button[data-action="approve"]`);
      await ana.page.waitForSelector(`#s-${id} .signoff .approved-mine`);
    }
    await waitSaved(ana);
    // One institution of two: still not.
    await ana.page.click(button);
    await until(async () => /is not approved by Masarykova univerzita/.test(await ana.page.textContent(note)), 'the missing approval');
    for (const id of ids) {
      await jan.page.click(`#s-${id} .signoff button[data-action="approve"]`);
      await jan.page.waitForSelector(`#s-${id} .signoff .approved-mine`);
    }
    await waitSaved(jan);
    await until(() => ana.page.evaluate((n) => window.jointly.session.doc.ordered().every((s) => s.approvals && s.approvals.size === n), 2),
      'Ana to see both approvals');
    const [download] = await Promise.all([ana.page.waitForEvent('download'), ana.page.click(button)]);
    const description = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(download.suggestedFilename(), `data-literacy-for-public-services-course-description-rev${description.document.rev}.json`);
    assert.deepEqual(description, await server.api('jan', 'GET', `/api/documents/${docId}/course-description`),
      'the file is the server\'s course description of the last revision');
    assert.equal(await ana.page.textContent(note), `Downloaded the course description of revision ${description.document.rev}.`);
    // Every Annex I element, the units and both approvals of every section.
    assert.equal(description.format, 'jointly-course-description');
    assert.equal(description.title, 'Data literacy for public services');
    assert.deepEqual(description.awarding_bodies, ['Universität Graz', 'Masarykova univerzita']);
    assert.deepEqual(description.countries, ['Austria', 'Czechia']);
    assert.deepEqual(description.per_learner,
      { learner_identification: 'Full name and date of birth', date_of_issuing: 'On passing the final assessment' });
    assert.deepEqual(description.learning_outcomes, [{ id: 'LO1', text: 'Read data' }, { id: 'LO2', text: 'Judge data quality' }]);
    assert.deepEqual(description.workload, { ects: 5, text: '5' });
    assert.equal(description.level, 'EQF level 6');
    assert.equal(description.participation, 'Online');
    assert.equal(description.quality_assurance, 'Review by both programme boards');
    assert.deepEqual(description.units.map((u) => [u.title, u.ects, u.learning_outcomes, u.assessment]),
      [['Unit 1', 2, ['LO1'], 'Quiz'], ['Unit 2', 3, ['LO2'], 'Case study']]);
    assert.deepEqual(description.assessment.map((a) => a.type), ['Quiz', 'Case study']);
    assert.deepEqual(description.sections.map((s) => s.id), ['vision', 'policy', 'support', 'team', 'outcomes']);
    for (const id of ids) {
      assert.deepEqual(Object.entries(description.approvals[id]).map(([inst, a]) => [inst, a.user]).sort(),
        [['Masarykova univerzita', 'Jan Novák'], ['Universität Graz', 'Ana Silva']], id);
    }
  });
});
