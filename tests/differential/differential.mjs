// Differential test: build/bin/jointly-ot against ot-text-unicode 4.0.0, the package whose
// format and semantics the C++ text OT core ports (protocol/PROTOCOL.md, "## Text operations").
//
//   node tests/differential/differential.mjs --bin build/bin/jointly-ot [--seed N] [--cases N]
//
// It generates random requests (apply, transform, compose, normalize, transform_position,
// invert) over text with emoji and other astral code points, combining marks and CJK, plus
// invalid ones (every kind of op checkOp rejects, apply past the end, malformed lines), runs the
// tool once with all of them streamed through its stdin, computes each expected answer with
// ot-text-unicode itself and compares answer by answer.
//
// Where the C++ core deliberately differs from the package (the deviations documented in
// PROTOCOL.md), the cases are generated on purpose, labelled, counted on a line of their own and
// checked against the documented behaviour, never compared with the package silently.
//
// Prints the first 20 mismatches and ends with `differential: N passed, N failed`; exits 1 on
// any failure. Node 18 or later; no dependency but ot-text-unicode.

import { createRequire } from 'node:module';
import { makeRandom, parseArgs, runTool } from './common.mjs';

const require = createRequire(import.meta.url);
const { type } = require('ot-text-unicode');

// Code points, chosen so that UTF-8 (1-4 bytes), UTF-16 (surrogate pairs) and "characters as a
// person sees them" (grapheme clusters) all disagree about lengths.
const ALPHABET = [
  'a', 'b', 'c', 'x', 'y', ' ', '\n', '"', '\\', '\t',
  'é', 'ß', 'Ω', 'ж',                        // 2-byte
  '\u0301', '\u0308', '\u20dd',              // combining marks (acute, diaeresis, circle)
  '中', '文', '字', '한', 'あ', '\u200d',     // CJK, Hangul, kana, zero-width joiner
  '😀', '🎉', '👍', '\u{1f3fd}', '𝄞', '\u{10ffff}', '\u{1f469}', '\u{1f4bb}', // astral
];

function randomText(rnd, minLen, maxLen) {
  const n = rnd.int(minLen, maxLen);
  let s = '';
  for (let i = 0; i < n; i++) {
    if (rnd.chance(0.05)) s += rnd.pick(['e\u0301', '👩\u200d💻', '👍🏽', '🇫🇷']);
    else s += rnd.pick(ALPHABET);
  }
  return s;
}

// A text to edit: usually short, so that ops reach its end; now and then a few hundred characters.
const randomDoc = (rnd) => randomText(rnd, 0, rnd.chance(0.1) ? 300 : 20);

const cpLength = (s) => [...s].length;
const cpSlice = (s, a, b) => [...s].slice(a, b).join('');
const clone = (x) => JSON.parse(JSON.stringify(x));

// ---------------------------------------------------------------------------------------------
// Ops

// A random op for a text of len code points (len === null: any text), as a raw list of
// components: canonical or not depending on the options.
//   doc:       the text, so that deletes can carry the text they delete
//   noncanon:  allow adjacent inserts and deletes (checkOp accepts them)
//   sloppy:    also zero/empty parts, adjacent and trailing skips (normalize accepts them)
function randomOp(rnd, len, { doc = null, noncanon = false, sloppy = false } = {}) {
  const op = [];
  let pos = 0;
  const avail = () => (len === null ? 1 << 30 : len - pos);
  const parts = rnd.int(0, rnd.chance(0.1) ? 24 : 6);
  for (let i = 0; i < parts; i++) {
    const r = rnd.next();
    if (r < 0.35) {
      if (avail() <= 0) continue;
      const k = len === null && rnd.chance(0.05)
        ? rnd.int(1, 2 ** 40) : rnd.int(1, Math.min(avail(), 12));
      op.push(k);
      pos += k;
      if (sloppy && rnd.chance(0.3)) op.push(rnd.chance(0.5) ? 0 : rnd.int(1, 3));
    } else if (r < 0.7) {
      op.push(randomText(rnd, 1, 6));
      if ((noncanon || sloppy) && rnd.chance(0.3)) op.push(randomText(rnd, 1, 3));
    } else {
      if (avail() <= 0) continue;
      const k = rnd.int(1, Math.min(avail(), 8));
      const withText = doc !== null ? rnd.chance(0.7) : rnd.chance(0.4);
      const text = doc !== null ? cpSlice(doc, pos, pos + k) : randomText(rnd, k, k);
      op.push({ d: withText ? text : k });
      pos += k;
      if ((noncanon || sloppy) && rnd.chance(0.3) && avail() > 0) {
        const k2 = rnd.int(1, Math.min(avail(), 3));
        const text2 = doc !== null ? cpSlice(doc, pos, pos + k2) : randomText(rnd, k2, k2);
        op.push({ d: rnd.chance(0.5) ? text2 : k2 });
        pos += k2;
      }
    }
    if (sloppy && rnd.chance(0.15)) op.push(rnd.pick([0, '', { d: 0 }, { d: '' }]));
  }
  if (sloppy && rnd.chance(0.3)) op.push(rnd.int(0, 5)); // trailing skip
  if (sloppy) return op;
  // checkOp forbids adjacent and trailing skips; normalize() merges them without touching the
  // rest (inserts and deletes stay as they are unless noncanon is off and merging was needed).
  const out = [];
  for (const c of op) {
    if (typeof c === 'number' && typeof out[out.length - 1] === 'number') out[out.length - 1] += c;
    else out.push(c);
  }
  if (typeof out[out.length - 1] === 'number') out.pop();
  return noncanon ? out : type.normalize(clone(out));
}

// ---------------------------------------------------------------------------------------------
// Cases: each is { cls, line (string or Buffer), expect }
//   expect = { result } | { error: code or null (any code) } | { deviation: code }

function reference(fn) {
  try {
    return { result: fn() };
  } catch (e) {
    return { error: null };
  }
}

function caseApply(rnd) {
  const doc = randomDoc(rnd);
  const len = cpLength(doc);
  const noncanon = rnd.chance(0.3);
  const a = randomOp(rnd, len, { doc, noncanon });
  const expect = reference(() => type.apply(doc, clone(a)));
  return { cls: noncanon ? 'apply (adjacent inserts/deletes)' : 'apply', req: { op: 'apply', doc, a }, expect };
}

function caseApplyPastEnd(rnd) {
  // A skip past the end: the package throws 'The op is too long for this document'; so do we.
  const doc = randomText(rnd, 0, 10);
  const len = cpLength(doc);
  const a = [len + rnd.int(1, 5), randomText(rnd, 1, 3)];
  const expect = reference(() => type.apply(doc, clone(a)));
  if (expect.error === undefined) throw new Error('the package applied a skip past the end');
  return { cls: 'apply past the end', req: { op: 'apply', doc, a }, expect: { error: 'out_of_range' } };
}

function caseTransform(rnd) {
  const doc = randomDoc(rnd);
  const len = rnd.chance(0.1) ? null : cpLength(doc);
  const a = randomOp(rnd, len, { doc: len === null ? null : doc });
  const b = randomOp(rnd, len, { doc: len === null ? null : doc });
  const side = rnd.chance(0.5) ? 'left' : 'right';
  const expect = reference(() => type.transform(clone(a), clone(b), side));
  return { cls: 'transform', req: { op: 'transform', a, b, side }, expect };
}

function caseCompose(rnd) {
  const doc = randomDoc(rnd);
  const a = randomOp(rnd, cpLength(doc), { doc });
  const mid = type.apply(doc, clone(a));
  // b usually fits what a leaves; sometimes it reaches past it (the rest reads as skips).
  const b = rnd.chance(0.1) ? randomOp(rnd, null) : randomOp(rnd, cpLength(mid), { doc: mid });
  const expect = reference(() => type.compose(clone(a), clone(b)));
  return { cls: 'compose', req: { op: 'compose', a, b }, expect };
}

// Documented deviation "canonical form at the edge": ops with adjacent inserts or adjacent
// deletes pass checkOp, but the core stores them canonical (merged), so transform and compose
// answer what the package answers for normalize(a) and normalize(b). (The package's own answer
// for unmerged adjacent inserts breaks convergence: see PROTOCOL.md.)
function caseNonCanonical(rnd) {
  const doc = randomDoc(rnd);
  const len = cpLength(doc);
  const a = randomOp(rnd, len, { doc, noncanon: true });
  if (rnd.chance(0.5)) {
    const b = randomOp(rnd, len, { doc, noncanon: true });
    const side = rnd.chance(0.5) ? 'left' : 'right';
    const expect = reference(() =>
      type.transform(type.normalize(clone(a)), type.normalize(clone(b)), side));
    return { cls: 'transform of non-canonical ops (against normalized)', req: { op: 'transform', a, b, side }, expect };
  }
  const mid = type.apply(doc, clone(a));
  const b = randomOp(rnd, cpLength(mid), { doc: mid, noncanon: true });
  const expect = reference(() => type.compose(type.normalize(clone(a)), type.normalize(clone(b))));
  return { cls: 'compose of non-canonical ops (against normalized)', req: { op: 'compose', a, b }, expect };
}

function caseNormalize(rnd) {
  const a = randomOp(rnd, rnd.chance(0.5) ? null : 30, { sloppy: true });
  const expect = reference(() => type.normalize(clone(a)));
  return { cls: 'normalize', req: { op: 'normalize', a }, expect };
}

function caseTransformPosition(rnd) {
  const len = rnd.int(0, 25);
  const a = randomOp(rnd, len, { sloppy: rnd.chance(0.3) });
  const pos = rnd.chance(0.05) ? rnd.int(0, 2 ** 40) : rnd.int(0, len + 3);
  const expect = reference(() => type.transformPosition(pos, clone(a)));
  return { cls: 'transform_position', req: { op: 'transform_position', pos, a }, expect };
}

function caseInvert(rnd) {
  const doc = randomDoc(rnd);
  const a = randomOp(rnd, cpLength(doc), { doc, noncanon: rnd.chance(0.2) });
  const expect = reference(() => type.invert(clone(a)));
  if (expect.error !== undefined) expect.error = 'not_invertible';
  // invert(a) applied after a gives the text back: check the package agrees with itself.
  if (expect.result !== undefined && type.apply(type.apply(doc, clone(a)), clone(expect.result)) !== doc) {
    throw new Error('the package does not undo its own op');
  }
  return { cls: 'invert', req: { op: 'invert', a }, expect };
}

// Ops that checkOp rejects, one kind at a time. The request kind is one that calls checkOp
// (apply, transform, compose); invert and transform_position check nothing in the package.
const BAD_OPS = [
  ['not an array (number)', () => 5],
  ['not an array (string)', () => 'abc'],
  ['not an array (object)', () => ({ d: 1 })],
  ['not an array (null)', () => null],
  ['skip of 0', (r) => [0, 'x']],
  ['negative skip', (r) => [-r.int(1, 9), 'x']],
  ['adjacent skips', (r) => [r.int(1, 3), r.int(1, 3), 'x']],
  ['trailing skip', (r) => ['x', r.int(1, 3)]],
  ['only a skip', (r) => [r.int(1, 3)]],
  ['empty insert', () => ['']],
  ['delete of 0', () => [{ d: 0 }]],
  ['negative delete', (r) => [1, { d: -r.int(1, 9) }]],
  ['delete of empty text', () => [{ d: '' }]],
  ['delete of null', () => [{ d: null }]],
  ['delete of a boolean', () => [{ d: true }]],
  ['delete of an array', () => [{ d: [1] }]],
  ['delete without d', () => [{}]],
  ['null component', () => [1, null]],
  ['array component', () => [[1]]],
];

function caseBadOp(rnd) {
  const [name, make] = rnd.pick(BAD_OPS);
  const bad = make(rnd);
  const good = randomOp(rnd, 10, {});
  const kind = rnd.pick(['apply', 'transform', 'compose']);
  let req;
  let fn;
  const badFirst = rnd.chance(0.5);
  if (kind === 'apply') {
    req = { op: 'apply', doc: 'abcdefghij\u{1f600}', a: bad };
    fn = () => type.apply(req.doc, clone(bad));
  } else {
    const [a, b] = badFirst ? [bad, good] : [good, bad];
    req = kind === 'transform' ? { op: kind, a, b, side: 'left' } : { op: kind, a, b };
    fn = kind === 'transform'
      ? () => type.transform(clone(a), clone(b), 'left')
      : () => type.compose(clone(a), clone(b));
  }
  const expect = reference(fn);
  if (expect.error === undefined) throw new Error(`the package accepted a bad op: ${name}`);
  return { cls: `invalid op: ${name}`, req, expect: { error: 'invalid_op' } };
}

// Requests that are not valid requests. The package has no notion of a request; each of these
// is something it would throw on (or cannot even be given), so an error is expected.
function caseBadRequest(rnd) {
  const r = rnd.int(0, 9);
  switch (r) {
    case 0: { // random bytes, not necessarily UTF-8
      const n = rnd.int(0, 60);
      const bytes = [];
      for (let i = 0; i < n; i++) {
        let b = rnd.int(0, 255);
        if (b === 10) b = 11;
        bytes.push(b);
      }
      return { cls: 'malformed line: random bytes', line: Buffer.from(bytes), expect: { error: null } };
    }
    case 1: { // a request cut short
      const s = JSON.stringify({ op: 'apply', doc: randomText(rnd, 0, 5), a: [1, 'x'] });
      return { cls: 'malformed line: truncated JSON', line: s.slice(0, rnd.int(0, s.length - 1)), expect: { error: 'invalid_json' } };
    }
    case 2:
      return { cls: 'unknown request', req: { op: rnd.pick(['apply2', 'Apply', '', 'merge']), a: [] }, expect: { error: 'invalid_request' } };
    case 3: { // the package throws for a side other than left/right
      const side = rnd.pick(['middle', 'LEFT', 1, null]);
      const expect = reference(() => type.transform(['x'], ['y'], side));
      if (expect.error === undefined) throw new Error('the package accepted a bad side');
      return { cls: 'transform with a bad side', req: { op: 'transform', a: ['x'], b: ['y'], side }, expect: { error: 'invalid_request' } };
    }
    case 4: { // a missing op: checkOp(undefined) throws
      return { cls: 'request without its op', req: { op: rnd.pick(['apply', 'compose', 'transform']), doc: 'ab', b: [], side: 'left' }, expect: { error: 'invalid_request' } };
    }
    case 5: { // deep nesting
      const depth = rnd.int(100, 5000);
      return { cls: 'malformed line: deep nesting', line: '['.repeat(depth) + ']'.repeat(depth), expect: { error: null } };
    }
    case 6:
      return { cls: 'malformed line: not an object', line: JSON.stringify(rnd.pick([[1, 2], 'apply', 42, null])), expect: { error: 'invalid_request' } };
    case 7: { // apply with no text to apply to: the package's builder throws
      const doc = rnd.pick([null, 5, ['a']]);
      return { cls: 'apply to a non-string', req: { op: 'apply', doc, a: ['x'] }, expect: { error: 'invalid_request' } };
    }
    case 8: // an empty line
      return { cls: 'malformed line: empty', line: '', expect: { error: 'invalid_json' } };
    default: { // an invert of an op whose deletes lack their text
      const a = [rnd.int(1, 3), { d: rnd.int(1, 5) }];
      const expect = reference(() => type.invert(clone(a)));
      if (expect.error === undefined) throw new Error('the package inverted a delete without text');
      return { cls: 'invert without delete text', req: { op: 'invert', a }, expect: { error: 'not_invertible' } };
    }
  }
}

// The documented deviations: things the package accepts and the core rejects. Each is labelled
// with its PROTOCOL.md name and checked for the documented error code; the package's answer is
// deliberately not compared.
const DEVIATIONS = [
  ['apply: a delete past the end (package truncates it)', (r) => {
    const doc = randomText(r, 0, 8);
    const len = cpLength(doc);
    const a = len > 0 && r.chance(0.5) ? [len, { d: r.int(1, 4) }] : [{ d: len + r.int(1, 4) }];
    const ok = reference(() => type.apply(doc, clone(a)));
    if (ok.result === undefined) throw new Error('the package rejected a delete past the end');
    return [{ op: 'apply', doc, a }, 'out_of_range'];
  }],
  ['a boolean component', (r) => [{ op: 'apply', doc: 'abc', a: [1, r.chance(0.5)] }, 'invalid_op']],
  ['a fractional skip', () => [{ op: 'compose', a: [1.5, 'x'], b: [] }, 'invalid_op']],
  ['a fractional delete', () => [{ op: 'compose', a: [{ d: 2.5 }], b: [] }, 'invalid_op']],
  ['a number of 2^53 or more', () => [{ op: 'transform', a: [2 ** 53, 'x'], b: [], side: 'left' }, 'invalid_op']],
  ['a delete with more keys than d', () => [{ op: 'apply', doc: 'abc', a: [{ d: 1, x: 2 }] }, 'invalid_op']],
  ['a lone surrogate in an insert', (r) => [{ op: 'apply', doc: 'abc', a: [1, r.pick(['\ud800', 'x\udfff', '\ude00y'])] }, 'invalid_utf8']],
  ['a lone surrogate in the text', () => [{ op: 'apply', doc: 'a\ud83d', a: ['x'] }, 'invalid_utf8']],
  ['normalize of a negative number', () => [{ op: 'normalize', a: [3, -1, 'x'] }, 'invalid_op']],
  ['normalize of a non-array', (r) => [{ op: 'normalize', a: r.pick([5, 'abc', {}]) }, 'invalid_op']],
  ['invert of an op checkOp rejects', () => [{ op: 'invert', a: ['x', 3] }, 'invalid_op']],
  ['transform_position of a negative position', () => [{ op: 'transform_position', pos: -2, a: ['x'] }, 'invalid_request']],
];

function caseDeviation(rnd) {
  const [name, make] = rnd.pick(DEVIATIONS);
  const [req, code] = make(rnd);
  return { cls: `deviation: ${name}`, req, expect: { deviation: code } };
}

function generate(rnd) {
  const r = rnd.next();
  if (r < 0.16) return caseApply(rnd);
  if (r < 0.18) return caseApplyPastEnd(rnd);
  if (r < 0.36) return caseTransform(rnd);
  if (r < 0.50) return caseCompose(rnd);
  if (r < 0.56) return caseNonCanonical(rnd);
  if (r < 0.66) return caseNormalize(rnd);
  if (r < 0.76) return caseTransformPosition(rnd);
  if (r < 0.86) return caseInvert(rnd);
  if (r < 0.93) return caseBadOp(rnd);
  if (r < 0.97) return caseBadRequest(rnd);
  return caseDeviation(rnd);
}

// ---------------------------------------------------------------------------------------------
// Running

function compare(c, answer) {
  let got;
  try {
    got = JSON.parse(answer);
  } catch (e) {
    return `the answer is not JSON: ${answer.slice(0, 200)}`;
  }
  const err = got !== null && typeof got === 'object' ? got.error : undefined;
  if (c.expect.result !== undefined) {
    if (err !== undefined) return `expected ${JSON.stringify(c.expect.result)}, got error ${JSON.stringify(err)}`;
    if (JSON.stringify(got.result) !== JSON.stringify(c.expect.result)) {
      return `expected ${JSON.stringify(c.expect.result)}, got ${JSON.stringify(got.result)}`;
    }
    return null;
  }
  const code = c.expect.error !== undefined ? c.expect.error : c.expect.deviation;
  if (err === undefined || typeof err.code !== 'string' || typeof err.message !== 'string') {
    return `expected an error${code ? ` (${code})` : ''}, got ${answer.slice(0, 200)}`;
  }
  if (code && err.code !== code) return `expected error ${code}, got ${JSON.stringify(err)}`;
  return null;
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { script: 'differential.mjs', cases: 100000 });
  const rnd = makeRandom(args.seed);
  const cases = [];
  for (let i = 0; i < args.cases; i++) {
    const c = generate(rnd);
    if (c.line === undefined) c.line = JSON.stringify(c.req);
    cases.push(c);
  }

  const { answers, code, signal } = await runTool(args.bin, cases.map((c) => c.line));

  let passed = 0;
  let failed = 0;
  const mismatches = [];
  const byClass = new Map();
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    const problem = i < answers.length ? compare(c, answers[i]) : 'no answer';
    const stat = byClass.get(c.cls) || { passed: 0, failed: 0 };
    if (problem === null) { passed++; stat.passed++; }
    else {
      failed++; stat.failed++;
      if (mismatches.length < 20) {
        const line = Buffer.isBuffer(c.line) ? `<bytes ${c.line.toString('hex')}>` : c.line;
        mismatches.push(`case ${i} [${c.cls}]: ${problem}\n  request: ${line.slice(0, 300)}`);
      }
    }
    byClass.set(c.cls, stat);
  }
  if (answers.length > cases.length) {
    failed++;
    mismatches.push(`${answers.length - cases.length} answers more than requests`);
  }
  if (code !== 0) {
    failed++;
    mismatches.push(`jointly-ot exited with ${signal ? `signal ${signal}` : `code ${code}`}`);
  }

  for (const m of mismatches) console.log(m);
  const classes = [...byClass.keys()].sort();
  const dev = classes.filter((k) => k.startsWith('deviation: '));
  const other = classes.filter((k) => !k.startsWith('deviation: '));
  console.log('cases by class (passed/failed):');
  for (const k of other) console.log(`  ${k}: ${byClass.get(k).passed}/${byClass.get(k).failed}`);
  console.log('documented deviations, checked against PROTOCOL.md rather than the package:');
  for (const k of dev) console.log(`  ${k}: ${byClass.get(k).passed}/${byClass.get(k).failed}`);
  console.log(`differential: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(`differential: ${e.stack || e}`);
  console.log('differential: 0 passed, 1 failed');
  process.exitCode = 1;
});
