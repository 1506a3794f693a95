// Time to interactive for a 50-section document in Chromium: from the start of navigation to
// the moment the document is loaded from the server, the connection is up, all sections are in
// the page and the editors on screen are ready (the user can type), the next frame painted. Measured in a fresh browser context
// (nothing cached: no HTTP cache, no IndexedDB copy) and again after a reload (both cached).
//
//   node client-web/e2e/tti.mjs [--sections 50] [--runs 5]
import { launchBrowser, openDocument, person, startServer, waitSaved } from './harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECTIONS = arg('sections', 50);
const RUNS = arg('runs', 5);

const server = await startServer();
const browser = await launchBrowser();
try {
  const doc = await server.createDocument('Fifty sections');
  const author = await person(browser, server, 'ana');
  await openDocument(author, server.url, doc.id);
  // 49 more sections with a few paragraphs of Markdown each, in one edit.
  await author.page.evaluate((n) => {
    const body = (i) => `## Step ${i}\n\nLearning outcomes for unit ${i}: learners **analyse** data sets, ` +
      'write a short report and present it to peers. Workload: 1 ECTS (25–30 hours). 🎓\n\n' +
      '- assessment: a portfolio\n- quality assurance: peer review across the partner universities\n';
    const op = [];
    for (let i = 2; i <= n; i++) {
      // Keys after the first section's "V": W0021, W0031, ... (a key may not end in 0).
      op.push({ add: `sec${i}`, pos: `W${String(i).padStart(3, '0')}1`, title: `Microlearning unit ${i}`, body: body(i) });
    }
    window.jointly.session.edit(op);
  }, SECTIONS);
  await waitSaved(author);
  await author.context.close();

  const measure = async (p, reload) => {
    if (reload) await p.page.reload();
    else await p.page.goto(`${server.url}/#doc=${doc.id}`);
    await p.page.waitForFunction((n) => {
      const st = document.getElementById('status');
      return st && st.dataset.loaded === 'true' && st.dataset.state === 'connected' &&
        document.querySelectorAll('.section').length === n &&
        document.querySelector('.section .cm-body .cm-content');
    }, SECTIONS, { polling: 'raf' });
    // The next frame is painted and the main thread is free again.
    return p.page.evaluate(() => new Promise((resolve) => {
      requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0));
    }));
  };
  const cold = [];
  const warm = [];
  for (let r = 0; r < RUNS; r++) {
    const p = await person(browser, server, 'jan');
    cold.push(await measure(p, false));
    warm.push(await measure(p, true));
    await p.context.close();
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`time to interactive, ${SECTIONS}-section document, median of ${RUNS}: ` +
    `fresh context ${median(cold).toFixed(0)} ms, after a reload ${median(warm).toFixed(0)} ms ` +
    `(fresh: ${cold.map((v) => v.toFixed(0)).join(', ')})`);
} finally {
  await browser.close();
  server.stop();
}
