// Position keys: where a section sits in the document. A key is 1..256 base-62 digits
// "0-9A-Za-z" (ASCII order, so string order is numeric order), the last digit not '0', read as
// the fraction 0.d1d2d3... in base 62: between any two different keys there is another one.
// Sections are ordered by key, ties broken by id (protocol/document.hpp).

import { OpError, prefixed } from './errors.js';

/// The base-62 digits in order.
export const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/// The longest key, in digits.
export const MAX_POSITION_LENGTH = 256;
const BASE = 62;

/// The value of a base-62 digit, or -1.
export function digitValue(ch) {
  const c = ch.charCodeAt(0);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 90) return c - 65 + 10;
  if (c >= 97 && c <= 122) return c - 97 + 36;
  return -1;
}

/// Throws OpError `invalid_op` unless `position` is a valid key.
export function checkPosition(position) {
  if (position === '') throw new OpError('invalid_op', 'position key is empty');
  if (position.length > MAX_POSITION_LENGTH) {
    throw new OpError('invalid_op',
      `position key of ${position.length} digits is longer than ${MAX_POSITION_LENGTH}`);
  }
  for (let i = 0; i < position.length; i++) {
    if (digitValue(position[i]) < 0) {
      throw new OpError('invalid_op',
        `position key has a character outside the base-62 digits [0-9A-Za-z] at ${i}`);
    }
  }
  if (position[position.length - 1] === '0') {
    throw new OpError('invalid_op', `position key "${position}" ends in '0'`);
  }
}

// A key strictly between a and b (b null = 1). REQUIRES: a < b, neither ends in '0'.
function midpoint(a, b) {
  if (b !== null) {
    let n = 0;
    while ((n < a.length ? a[n] : '0') === b[n]) ++n;
    if (n > 0) return b.slice(0, n) + midpoint(a.slice(Math.min(n, a.length)), b.slice(n));
  }
  const da = a === '' ? 0 : digitValue(a[0]);
  const db = b !== null ? digitValue(b[0]) : BASE;
  if (db - da > 1) return DIGITS[Math.floor((da + db + 1) / 2)];
  if (b !== null && b.length > 1) return b.slice(0, 1);
  return DIGITS[da] + midpoint(a === '' ? a : a.slice(1), null);
}

/// A key strictly between `before` and `after`; '' for `before` means the start, '' for `after`
/// the end (positionBetween('', '') is a first key, positionBetween(last, '') appends).
/// The same keys as the C++ core's position_between. Throws OpError `invalid_op` (a key is
/// invalid, or before >= after) or `out_of_range` (the key would pass 256 digits).
export function positionBetween(before, after) {
  if (before !== '') {
    try { checkPosition(before); } catch (e) { throw prefixed(e, 'before'); }
  }
  if (after !== '') {
    try { checkPosition(after); } catch (e) { throw prefixed(e, 'after'); }
  }
  if (before !== '' && after !== '' && before >= after) {
    throw new OpError('invalid_op',
      `no key lies between "${before}" and "${after}": the first must sort before the second`);
  }
  let key;
  if (before === '' && after === '') {
    key = DIGITS[BASE / 2];
  } else if (after === '') {
    // Append: bump the first digit that can be bumped.
    let i = 0;
    while (i < before.length && before[i] === 'z') i++;
    key = i === before.length ? before + '1'
      : before.slice(0, i) + DIGITS[digitValue(before[i]) + 1];
  } else if (before === '') {
    // Prepend: lower the first digit that stays non-zero when lowered.
    let i = 0;
    while (i < after.length && (after[i] === '0' || after[i] === '1')) i++;
    key = i === after.length ? midpoint('', after)
      : after.slice(0, i) + DIGITS[digitValue(after[i]) - 1];
  } else {
    key = midpoint(before, after);
  }
  if (key.length > MAX_POSITION_LENGTH) {
    throw new OpError('out_of_range', `no room between ${before === '' ? 'the start' : `"${before}"`} and ${
      after === '' ? 'the end' : `"${after}"`} within ${MAX_POSITION_LENGTH} digits; move sections to spread their keys`);
  }
  return key;
}

/// Compares two sections in document order: by position key, then by id.
export function compareSections(a, b) {
  if (a.pos !== b.pos) return a.pos < b.pos ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
