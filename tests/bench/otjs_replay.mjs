// otjs_replay.mjs: the reference JavaScript implementation's time on an editing trace, for the
// ratio against jointly-replay / replay_bench. Replays every patch of a sequential trace with
// ot-text-unicode's type.apply on a plain string, as a ShareDB server would, and prints
//   {"trace":..., "patches":N, "final_chars":N, "ok":true|false, "apply_ms":F}
// (apply_ms excludes reading and parsing; ok when the result is endContent).
//
// Run (Node 18 or later):
//   node tests/bench/otjs_replay.mjs [tests/traces/automerge-paper.json.gz]
// ot-text-unicode is taken from tests/differential/node_modules
// (install it there with: cd tests/differential && npm ci).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const differential = join(here, '..', 'differential');
const tracePath = process.argv[2] || join(here, '..', 'traces', 'automerge-paper.json.gz');

let type;
try {
  const require = createRequire(join(differential, 'package.json'));
  ({ type } = require('ot-text-unicode'));
} catch (e) {
  console.error(`ot-text-unicode is not installed in ${differential}/node_modules.\n` +
                `Install it with: (cd ${differential} && npm ci)`);
  process.exit(2);
}

const trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString('utf8'));
if (trace.kind === 'concurrent') {
  console.error(`${tracePath}: a concurrent trace; this script replays sequential ones`);
  process.exit(2);
}

// Build the ops first (as a server receives them already parsed), then time only apply.
const ops = [];
for (const txn of trace.txns) {
  for (const [pos, del, text] of txn.patches) {
    const op = [];
    if (pos > 0) op.push(pos);
    if (del > 0) op.push({ d: del });
    if (text.length > 0) op.push(text);
    ops.push(op);
  }
}

let doc = trace.startContent;
const t0 = performance.now();
for (const op of ops) doc = type.apply(doc, op);
const applyMs = performance.now() - t0;

// Code points, as the C++ side counts them.
let chars = 0;
for (const _ of doc) chars++;
console.log(JSON.stringify({
  trace: basename(tracePath),
  patches: ops.length,
  final_chars: chars,
  ok: doc === trace.endContent,
  apply_ms: applyMs,
}));
process.exit(doc === trace.endContent ? 0 : 1);
