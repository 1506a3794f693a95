// Typing latency in Chromium: from a keystroke in one browser context (its keydown event) to
// the typed character's appearance in another context's editor (the DOM mutation that shows
// it), over 500 keystrokes against a real jointly-server. Both pages stamp times with
// performance.timeOrigin + performance.now(), the same clock on one machine.
//
//   node client-web/e2e/latency.mjs [--keys 500] [--delay 40] [--durability sync|flush|none]
//
// Prints the median, p90, p99 and max in milliseconds. Not a test: a measurement to report.
import { launchBrowser, openDocument, person, startServer, waitSaved } from './harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const KEYS = arg('keys', 500);
const DELAY = arg('delay', 40);
const d = process.argv.indexOf('--durability');
const DURABILITY = d > 0 ? process.argv[d + 1] : 'sync'; // the server's default

const server = await startServer(['--durability', DURABILITY]);
const browser = await launchBrowser();
try {
  const doc = await server.createDocument('Typing latency');
  const section = doc.sections[0].id;
  const writer = await person(browser, server, 'ana');
  const reader = await person(browser, server, 'jan');
  await openDocument(writer, server.url, doc.id);
  await openDocument(reader, server.url, doc.id);
  const content = `#s-${section} .body-box .cm-content`;

  await writer.page.evaluate((sel) => {
    window.keyTimes = [];
    document.querySelector(sel).addEventListener('keydown', () => {
      window.keyTimes.push(performance.timeOrigin + performance.now());
    }, true);
  }, content);
  await reader.page.evaluate(([sel, id]) => {
    window.seen = []; // [time, length of the text shown]
    const editor = window.jointly.view.sections.get(id).body.view;
    new MutationObserver(() => {
      window.seen.push([performance.timeOrigin + performance.now(), editor.state.doc.length]);
    }).observe(document.querySelector(sel), { subtree: true, childList: true, characterData: true });
  }, [content, section]);

  // Keys of a US keyboard only: other characters are typed without a keydown event.
  const alphabet = 'abcdefghijklmnopqrstuvwxyz ,.';
  let text = '';
  for (let i = 0; i < KEYS; i++) text += alphabet[(i * 7 + 3) % alphabet.length];
  await writer.page.click(content);
  const t0 = Date.now();
  await writer.page.keyboard.type(text, { delay: DELAY });
  await waitSaved(writer);
  await reader.page.waitForFunction((n) => window.seen.length && window.seen[window.seen.length - 1][1] >= n, KEYS);
  const typingSeconds = (Date.now() - t0) / 1000;

  const keyTimes = await writer.page.evaluate(() => window.keyTimes);
  const seen = await reader.page.evaluate(() => window.seen);
  const latencies = [];
  let j = 0;
  for (let i = 0; i < keyTimes.length; i++) {
    while (j < seen.length && seen[j][1] < i + 1) j++;
    if (j < seen.length) latencies.push(seen[j][0] - keyTimes[i]);
  }
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  const ms = (v) => `${v.toFixed(1)} ms`;
  console.log(`typing latency over ${latencies.length} keystrokes (one every ${DELAY} ms, ${typingSeconds.toFixed(1)} s, ` +
    `server --durability ${DURABILITY}): ` +
    `median ${ms(q(0.5))}, p90 ${ms(q(0.9))}, p99 ${ms(q(0.99))}, max ${ms(latencies[latencies.length - 1])}`);
} finally {
  await browser.close();
  server.stop();
}
