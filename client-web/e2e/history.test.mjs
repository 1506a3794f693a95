// End to end in Chromium against a real jointly-server: the history panel (issue #7). Two
// institutions edit one section (Ana Silva, Universität Graz, leader; Jan Novák, Masarykova
// univerzita, editor); Ana's history panel lists both, and its filters by institution, person,
// section and time keep to what they say; "Who wrote this" colours the section's text by
// institution with a legend; Ana rewrites the paragraph, opens Jan's revision (the diff to now
// shows his words deleted and hers inserted), restoring is refused while the section is locked
// (with the server's message), and once unlocked brings the old paragraph back as a new
// revision that Jan's editor shows and both timelines list as restored. In a course document,
// "Who wrote this" colours a unit's named fields (its credits, its assessment) too. The HTML
// export, opened from disk, keeps its style and its own Content-Security-Policy stops a script
// and a remote image put into it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  artifactPath, fieldText, launchBrowser, openDocument, person, startServer, until, waitSaved,
} from './harness.mjs';

const GRAZ = 'Universität Graz';
const BRNO = 'Masarykova univerzita';

let server;
let browser;
let ana; let jan;
let docId;
let section;

const sel = (rest = '') => `#s-${section} ${rest}`;
const panel = (rest = '') => `details.history-box ${rest}`;

// p types `text` at the end of a named field's editor.
async function typeInto(p, sectionId, field, text) {
  const box = p.page.locator(`#f-${sectionId}-${field}`);
  await box.scrollIntoViewIfNeeded();
  await box.locator(':scope > *').first().click();
  await p.page.waitForSelector(`#f-${sectionId}-${field} .cm-focused`);
  await p.page.keyboard.press('End');
  await p.page.keyboard.type(text, { delay: 5 });
}

async function typeAtEnd(p, text) {
  await p.page.click(sel('.body-box .cm-line'));
  await p.page.keyboard.press('Control+End');
  await p.page.keyboard.type(text, { delay: 5 });
  await waitSaved(p);
}

// The timeline's entries as shown: [{first, last, inst, text}].
function timeline(p) {
  return p.page.$$eval(panel('.hist-list li.hist-entry'), (items) => items.map((li) => ({
    first: Number(li.dataset.first), last: Number(li.dataset.last), inst: li.dataset.inst, text: li.textContent,
  })));
}

// Runs the filters as they are set and waits for the timeline to be drawn again.
async function showFiltered(p) {
  const loads = Number(await p.page.getAttribute(panel('.hist-list'), 'data-loads'));
  await p.page.click(panel('button[data-action="hist-filter"]'));
  await p.page.waitForFunction((n) => Number(document.querySelector('.hist-list').dataset.loads) > n, loads);
}

describe('history panel', { timeout: 120000 }, () => {
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    const doc = await server.createDocument('Joint course history', 'blank', { leader: 'ana', members: { jan: 'editor' } });
    docId = doc.id;
    section = doc.sections[0].id;
    ana = await person(browser, server, 'ana');
    jan = await person(browser, server, 'jan');
    await Promise.all([openDocument(ana, server.url, docId), openDocument(jan, server.url, docId)]);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) server.stop();
  });

  it('lists both institutions, and the filters keep to what they say', async () => {
    await typeAtEnd(ana, 'Learners read public data critically.');
    await typeAtEnd(jan, ' They judge its quality.');
    await until(async () => (await fieldText(ana, section)).editor === 'Learners read public data critically. They judge its quality.', 'both texts at Ana');

    await ana.page.click(panel('summary'));
    const both = await until(async () => {
      const t = await timeline(ana);
      return t.some((e) => e.inst === GRAZ) && t.some((e) => e.inst === BRNO) && t;
    }, 'entries of both institutions');
    const jans = both.find((e) => e.inst === BRNO);
    assert.match(jans.text, /Jan Novák/);
    assert.match(jans.text, /Revisions? \d+/);
    assert.match(jans.text, /\d{2}:\d{2}/); // local time

    await ana.page.selectOption('#hist-inst', BRNO);
    await showFiltered(ana);
    const brno = await timeline(ana);
    assert.ok(brno.length >= 1);
    assert.ok(brno.every((e) => e.inst === BRNO), JSON.stringify(brno));

    await ana.page.selectOption('#hist-inst', '');
    await ana.page.selectOption('#hist-author', 'Ana Silva');
    await showFiltered(ana);
    const anas = await timeline(ana);
    assert.ok(anas.length >= 1 && anas.every((e) => e.inst === GRAZ && /Ana Silva/.test(e.text)), JSON.stringify(anas));

    await ana.page.selectOption('#hist-author', '');
    await ana.page.selectOption('#hist-section', section);
    await showFiltered(ana);
    assert.ok((await timeline(ana)).length >= 2);

    await ana.page.fill('#hist-from', '2099-01-01T00:00');
    await showFiltered(ana);
    assert.equal((await timeline(ana)).length, 0);
    assert.match(await ana.page.textContent(panel('[role="status"]')), /No changes match/);

    await ana.page.click(panel('button[data-action="hist-clear"]'));
    await until(async () => (await timeline(ana)).length >= 2, 'the whole timeline again');
  });

  it('colours the section by institution with a legend', async () => {
    await ana.page.selectOption('#hist-blame-section', section);
    await ana.page.click(panel('button[data-action="hist-blame"]'));
    await ana.page.waitForSelector(panel(`.blame-body .blame-run[data-inst="${BRNO}"]`));
    const runs = await ana.page.$$eval(panel('.blame-body .blame-run'), (els) => els.map((e) => ({
      inst: e.dataset.inst, text: e.textContent, color: getComputedStyle(e).borderBottomColor,
    })));
    assert.deepEqual(runs.map((r) => [r.inst, r.text]), [[GRAZ, 'Learners read public data critically.'], [BRNO, ' They judge its quality.']]);
    assert.notEqual(runs[0].color, runs[1].color);
    const legend = await ana.page.$$eval(panel('.blame-legend li'), (els) => els.map((e) => e.textContent.trim()));
    assert.ok(legend.some((l) => l.startsWith(GRAZ)) && legend.some((l) => l.startsWith(BRNO)), legend.join(' | '));
  });

  it('restores the old paragraph as a new revision, refused while the section is locked', async () => {
    const before = (await timeline(ana)).find((e) => e.inst === BRNO).last;
    // Ana rewrites the paragraph.
    await ana.page.click(sel('.body-box .cm-line'));
    await ana.page.keyboard.press('Control+a');
    await ana.page.keyboard.type('A new paragraph.', { delay: 5 });
    await waitSaved(ana);
    await until(async () => (await fieldText(jan, section)).editor === 'A new paragraph.', 'the rewrite at Jan');

    // Jan's revision: the diff to now shows his words deleted and Ana's inserted.
    await until(async () => (await timeline(ana)).some((e) => e.last > before && e.inst === GRAZ), 'the rewrite in the timeline');
    await ana.page.click(panel(`li.hist-entry[data-last="${before}"] button.hist-open`));
    await ana.page.waitForSelector(panel('.hist-diff del'));
    assert.match(await ana.page.textContent(panel('.hist-diff')), /They judge its quality/);
    assert.match((await ana.page.$$eval(panel('.hist-diff del'), (e) => e.map((x) => x.textContent))).join(''), /judge/);
    assert.match((await ana.page.$$eval(panel('.hist-diff ins'), (e) => e.map((x) => x.textContent))).join(''), /new paragraph/);
    assert.equal(await ana.page.textContent(panel(`.hist-doc [data-section="${section}"] .hist-text`)),
      'Learners read public data critically. They judge its quality.');
    const exports = await ana.page.$$eval(panel('.hist-detail .hist-exports a'), (e) => e.map((a) => a.getAttribute('href')));
    assert.deepEqual(exports, ['md', 'html', 'json'].map((f) => `/api/documents/${docId}/history/export?format=${f}&rev=${before}`));
    const md = await ana.page.evaluate(async (href) => (await fetch(href)).text(), exports[0]);
    assert.match(md, /They judge its quality\./);

    // Locked: refused with the server's message, nothing changes.
    await ana.page.click(sel('.signoff button[data-action="lock"]'));
    await ana.page.waitForSelector(sel('.signoff button[data-action="unlock"]'));
    await ana.page.click(panel(`.hist-doc button[data-action="hist-restore-section"][data-section="${section}"]`));
    await ana.page.click('dialog.hist-confirm button[data-action="hist-confirm"]');
    await ana.page.waitForSelector(panel('.hist-message.error'));
    assert.match(await ana.page.textContent(panel('.hist-message')), /^Not restored: .*lock/i);
    assert.equal((await fieldText(ana, section)).editor, 'A new paragraph.');

    // Unlocked: restored as a new revision, at Jan's too, and listed as restored.
    await ana.page.click(sel('.signoff button[data-action="unlock"]'));
    await ana.page.waitForSelector(sel('.signoff button[data-action="lock"]'));
    await ana.page.click(panel(`.hist-doc button[data-action="hist-restore-section"][data-section="${section}"]`));
    await ana.page.click('dialog.hist-confirm button[data-action="hist-confirm"]');
    await until(async () => /^Restored from revision \d+ as revision \d+\.$/.test(await ana.page.textContent(panel('.hist-message'))), 'the restore');
    const [, from, made] = /revision (\d+) as revision (\d+)/.exec(await ana.page.textContent(panel('.hist-message')));
    assert.equal(Number(from), before);
    assert.ok(Number(made) > before);
    await ana.page.waitForSelector(panel('.hist-detail .hist-message:not(.error)'));
    await until(async () => /Nothing: the document is the same now/.test(await ana.page.textContent(panel('.hist-detail'))), 'the revision shown again, with no change since');
    const old = 'Learners read public data critically. They judge its quality.';
    await until(async () => (await fieldText(jan, section)).editor === old, 'the old paragraph in Jan\'s editor');
    await until(async () => (await fieldText(ana, section)).editor === old, 'the old paragraph in Ana\'s editor');

    await until(async () => (await timeline(ana)).some((e) => e.text.includes(`restored from revision ${before}`) || e.text.includes(`Restored from revision ${before}`)), 'the restore in Ana\'s timeline');
    await jan.page.click(panel('summary'));
    await until(async () => (await timeline(jan)).some((e) => /[Rr]estored from revision/.test(e.text) && e.inst === GRAZ), 'the restore in Jan\'s timeline');
    // The side column scrolls within the window: a tall window shows the whole panel.
    await ana.page.setViewportSize({ width: 1280, height: 2600 });
    await ana.page.screenshot({ path: artifactPath('history.png') });
    await ana.page.setViewportSize({ width: 1280, height: 800 });
  });

  it('names the current revision and lists it with its exports', async () => {
    await ana.page.fill('#hist-version-name', 'Sent to the programme boards');
    await ana.page.click(panel('button[data-action="hist-name"]'));
    await ana.page.waitForSelector(panel('.hist-versions li[data-rev]'));
    const text = await ana.page.textContent(panel('.hist-versions'));
    assert.match(text, /Sent to the programme boards/);
    assert.match(text, /named by Ana Silva/);
    const href = await ana.page.getAttribute(panel('.hist-versions a[data-format="json"]'), 'href');
    const json = await ana.page.evaluate(async (h) => (await fetch(h)).json(), href);
    assert.equal(json.version.name, 'Sent to the programme boards');
    assert.equal(json.sections[0].body, 'Learners read public data critically. They judge its quality.');
  });

  it('exports HTML that, opened from disk, shows its own style and runs and loads nothing', async () => {
    const href = await ana.page.getAttribute(panel('.hist-versions a[data-format="html"]'), 'href');
    const html = await ana.page.evaluate(async (h) => (await fetch(h)).text(), href);
    assert.match(html, /They judge its quality\./);
    // What a body could never carry (cmark-gfm's safe mode drops it), put in by hand: the
    // page's own policy must still stop it.
    const file = artifactPath('history-export.html');
    writeFileSync(file, html.replace('</body>', '<script>document.title = "ran"</script><img src="https://example.com/x.png"></body>'));
    const page = await ana.page.context().newPage();
    const violations = [];
    page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) violations.push(m.text()); });
    await page.goto(pathToFileURL(file).href);
    const seen = await page.evaluate(() => ({ title: document.title, width: getComputedStyle(document.body).maxWidth }));
    await page.close();
    assert.equal(seen.title, 'Joint course history', 'the script did not run');
    assert.equal(seen.width, '736px', 'the inline style is allowed by its hash (46em)');
    assert.equal(violations.length, 2, violations.join('\n'));
    assert.ok(violations.some((v) => /inline script/.test(v)) && violations.some((v) => /Loading the image/.test(v)), violations.join('\n'));
  });

  it('colours a course unit\'s named fields by institution too', async () => {
    const course = await server.createDocument('Course history', 'course', { leader: 'ana', members: { jan: 'editor' } });
    await Promise.all([openDocument(ana, server.url, course.id), openDocument(jan, server.url, course.id)]);
    await typeInto(ana, 'unit1', 'ects', '2.5');
    await waitSaved(ana);
    await typeInto(jan, 'unit1', 'assessment', 'Case study');
    await waitSaved(jan);
    await until(async () => (await ana.page.evaluate(() => window.jointly.session.doc.section('unit1').fields.get('assessment'))) === 'Case study', 'Jan\'s field at Ana');

    if ((await ana.page.getAttribute(panel(), 'open')) === null) await ana.page.click(panel('summary'));
    await ana.page.waitForSelector('#hist-blame-section option[value="unit1"]', { state: 'attached' });
    await ana.page.selectOption('#hist-blame-section', 'unit1');
    await ana.page.click(panel('button[data-action="hist-blame"]'));
    await ana.page.waitForSelector(panel('.blame-field[data-field="assessment"] .blame-run'));
    const fields = await ana.page.$$eval(panel('.blame-field'), (els) => els.map((e) => ({
      name: e.dataset.field,
      label: e.querySelector('h6').textContent,
      runs: [...e.querySelectorAll('.blame-run')].map((r) => [r.dataset.inst, r.textContent]),
    })));
    assert.deepEqual(fields.filter((f) => f.name === 'ects' || f.name === 'assessment'), [
      { name: 'ects', label: 'Workload (ECTS)', runs: [[GRAZ, '2.5']] },
      { name: 'assessment', label: 'Type of assessment', runs: [[BRNO, 'Case study']] },
    ]);
    const legend = await ana.page.$$eval(panel('.blame-legend li'), (els) => els.map((e) => e.textContent.trim()));
    assert.ok(legend.some((l) => l.startsWith(`${GRAZ} (`)) && legend.some((l) => l.startsWith(`${BRNO} (10 characters)`)), legend.join(' | '));
  });
});
