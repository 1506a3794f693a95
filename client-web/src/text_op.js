// Text operations: the `text-unicode` OT type of the npm package ot-text-unicode 4.0.0, used as
// it is, behind the stricter edge of the C++ core (protocol/PROTOCOL.md, "Text operations",
// "Deviations"): ops are validated and canonicalised when read, and an op that does not fit its
// text is refused instead of being cut short.
//
// An op is a JSON array: a positive whole number skips that many code points, a non-empty string
// inserts it, {d: N} or {d: "text"} deletes. Every op this module returns is canonical, so equal
// ops are equal as JSON.

import otText from 'ot-text-unicode';
import { OpError } from './errors.js';
import { codePoints, loneSurrogateAt } from './unicode.js';

const { type } = otText;

/// The largest length or position (2^53 - 1): JavaScript counts exactly up to there.
export const MAX_LENGTH = 2 ** 53 - 1;

const invalid = (message) => new OpError('invalid_op', message);
const where = (i) => `op[${i}]`;

function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

function lengthProblem(n) {
  if (n < 0) return `is negative (${n})`;
  if (n > MAX_LENGTH) return `is too large (${n}; lengths must be below 2^53)`;
  if (!Number.isInteger(n)) return `is not a whole number (${n})`;
  return null;
}

function checkText(s, i, what) {
  const at = loneSurrogateAt(s);
  if (at >= 0) {
    throw new OpError('invalid_utf8',
      `${where(i)} (${what}): invalid Unicode: a lone surrogate at UTF-16 unit ${at}`);
  }
}

const cloneOp = (op) => op.map((c) => (typeof c === 'object' ? { d: c.d } : c));

/// Reads a text op from JSON with the C++ core's rules (parse_text_op): an array of components;
/// skips and delete lengths whole numbers from 1 to 2^53 - 1 whose sum stays below 2^53; inserts
/// and delete texts non-empty and valid Unicode; no adjacent skips and no trailing skip. Returns
/// the canonical op (adjacent inserts and adjacent deletes merged, as the package's normalize).
/// Throws OpError `invalid_op` or `invalid_utf8`.
export function parseTextOp(json) {
  if (!Array.isArray(json)) {
    throw invalid(`an op must be a JSON array of components, not ${
      json === null ? 'null' : 'a ' + jsonType(json)}`);
  }
  let base = 0;
  let inserted = 0;
  let lastWasSkip = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    let isSkip = false;
    if (typeof c === 'number') {
      const problem = lengthProblem(c);
      if (problem) throw invalid(`${where(i)} is a skip that ${problem}`);
      if (c === 0) throw invalid(`${where(i)} is a skip of 0; skips must be positive`);
      if (lastWasSkip) {
        throw invalid(`${where(i - 1)} and ${where(i)} are adjacent skips; they must be combined into one`);
      }
      base += c;
      isSkip = true;
    } else if (typeof c === 'string') {
      if (c === '') throw invalid(`${where(i)} is an empty insert; inserts must not be empty`);
      checkText(c, i, 'an insert');
      inserted += codePoints(c);
    } else if (c !== null && typeof c === 'object' && !Array.isArray(c)) {
      const keys = Object.keys(c);
      if (keys.length !== 1 || keys[0] !== 'd') {
        throw invalid(`${where(i)} is an object but not a delete; a delete is {"d": N} or {"d": "text"} with no other keys`);
      }
      const d = c.d;
      if (typeof d === 'number') {
        const problem = lengthProblem(d);
        if (problem) throw invalid(`${where(i)} is a delete whose length ${problem}`);
        if (d === 0) throw invalid(`${where(i)} deletes 0 characters; deletes must not be empty`);
        base += d;
      } else if (typeof d === 'string') {
        if (d === '') throw invalid(`${where(i)} deletes the empty text; deletes must not be empty`);
        checkText(d, i, 'a delete');
        base += codePoints(d);
      } else {
        throw invalid(`${where(i)} is a delete of a ${jsonType(d)}; a delete takes a positive whole number or a non-empty string`);
      }
    } else {
      throw invalid(`${where(i)} is a ${jsonType(c)}, which is no component: a skip is a positive whole number, an insert a string, a delete {"d": N} or {"d": "text"}`);
    }
    if (base > MAX_LENGTH || inserted > MAX_LENGTH) {
      throw invalid(`the op's lengths add up to 2^53 or more at ${where(i)}`);
    }
    lastWasSkip = isSkip;
  }
  if (lastWasSkip) {
    throw invalid(`the op ends with a skip (${where(json.length - 1)}); a trailing skip must be left out`);
  }
  return type.normalize(cloneOp(json));
}

/// The code points op needs in the text it applies to (skips plus deletes).
export function baseLength(op) {
  let n = 0;
  for (const c of op) {
    if (typeof c === 'number') n += c;
    else if (typeof c === 'object') n += typeof c.d === 'number' ? c.d : codePoints(c.d);
  }
  return n;
}

/// Checks that op fits a text of `length` code points. Throws OpError `out_of_range`.
export function checkFits(op, length) {
  const need = baseLength(op);
  if (need > length) {
    throw new OpError('out_of_range', `the op needs ${need} characters but the text has ${length}`);
  }
}

/// The text after op. Throws OpError `out_of_range` when op needs more code points than text
/// has (the package would silently delete less). REQUIRES: op canonical.
export function applyText(text, op) {
  checkFits(op, codePoints(text));
  return type.apply(text, cloneOp(op));
}

/// a rewritten to apply after b (both made on the same text); where both insert at one place,
/// side 'left' puts a's insert first. REQUIRES: a and b canonical.
export function transformText(a, b, side) {
  return type.transform(cloneOp(a), cloneOp(b), side);
}

/// One op with the effect of a then b. REQUIRES: a and b canonical.
export function composeText(a, b) {
  return type.compose(cloneOp(a), cloneOp(b));
}

/// Where a cursor at pos ends up after op (an insert exactly at the cursor leaves it before the
/// inserted text).
export function transformPosition(pos, op) {
  return type.transformPosition(pos, op);
}

/// Where a position in the text after op was in the text before it: the inverse of
/// transformPosition for kept text; a position inside inserted text maps to the insert's place.
export function unmapPosition(pos, op) {
  let before = 0;
  let after = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      if (pos <= after + c) return before + (pos - after);
      before += c;
      after += c;
    } else if (typeof c === 'string') {
      const n = codePoints(c);
      if (pos <= after + n) return before;
      after += n;
    } else {
      before += typeof c.d === 'number' ? c.d : codePoints(c.d);
    }
  }
  return before + (pos - after);
}

/// The strings op inserts, in order (what a user typed; kept to report a refused edit).
export function insertedTexts(op) {
  return op.filter((c) => typeof c === 'string');
}

/// The op that replaces the whole text `from` with `to` (the delete carries its text).
export function replacement(from, to) {
  const op = [];
  if (from !== '') op.push({ d: from });
  if (to !== '') op.push(to);
  return op;
}
