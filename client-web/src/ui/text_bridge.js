// Between CodeMirror's positions (UTF-16 units) and Jointly's (code points, as ot-text-unicode
// counts them). An emoji such as 😀 is two UTF-16 units and one code point; every conversion
// here walks the text so that positions after it are right.

import { type } from 'ot-text-unicode';

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

/// Code points in s before UTF-16 offset `to`, counting on from UTF-16 offset `from` (where
/// `cpFrom` code points were already counted).
function countFrom(s, from, to, cpFrom) {
  let n = cpFrom;
  for (let i = from; i < to; i++) {
    if (isHigh(s.charCodeAt(i)) && i + 1 < to && isLow(s.charCodeAt(i + 1))) i++;
    n++;
  }
  return n;
}

/// The code point position of UTF-16 offset pos in s.
export function toCodePoint(s, pos) {
  return countFrom(s, 0, pos, 0);
}

/// The UTF-16 offset of code point position cp in s (clamped to the end).
export function toUtf16(s, cp) {
  let i = 0;
  for (let n = 0; n < cp && i < s.length; n++) {
    i += isHigh(s.charCodeAt(i)) && i + 1 < s.length && isLow(s.charCodeAt(i + 1)) ? 2 : 1;
  }
  return i;
}

/// The text op (code points, canonical) that makes CodeMirror's change set on `before` (the
/// text it applies to). `iterChanges` is ChangeSet.iterChanges bound to the change set.
export function changesToTextOp(before, changes) {
  const op = [];
  let utf16 = 0; // where the walk is in `before`, in UTF-16 units
  let cp = 0; // the same place in code points
  let done = 0; // code points of `before` the op has covered so far
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    const from = countFrom(before, utf16, fromA, cp);
    const to = countFrom(before, fromA, toA, from);
    utf16 = toA;
    cp = to;
    if (from > done) op.push(from - done);
    if (to > from) op.push({ d: to - from });
    const text = inserted.toString();
    if (text !== '') op.push(text);
    done = to;
  });
  return type.normalize(op);
}

/// The CodeMirror changes ({from, to, insert}, UTF-16, on `text`) that apply text op `op`.
export function textOpToChanges(text, op) {
  const changes = [];
  let i = 0; // UTF-16 offset in text
  const advance = (n) => {
    for (let k = 0; k < n && i < text.length; k++) {
      i += isHigh(text.charCodeAt(i)) && i + 1 < text.length && isLow(text.charCodeAt(i + 1)) ? 2 : 1;
    }
  };
  for (const c of op) {
    if (typeof c === 'number') advance(c);
    else if (typeof c === 'string') changes.push({ from: i, insert: c });
    else {
      const from = i;
      advance(typeof c.d === 'number' ? c.d : [...c.d].length);
      changes.push({ from, to: i });
    }
  }
  return changes;
}

/// The smallest single change ({from, to, insert}, UTF-16) from text a to text b, never
/// splitting a surrogate pair; null when they are equal.
export function diffText(a, b) {
  if (a === b) return null;
  let start = 0;
  const max = Math.min(a.length, b.length);
  while (start < max && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  if (start > 0 && isLow(a.charCodeAt(start)) ) start--;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) { endA--; endB--; }
  if (endA < a.length && isLow(a.charCodeAt(endA)) && endA > start) { endA--; endB--; }
  return { from: start, to: endA, insert: b.slice(start, endB) };
}
