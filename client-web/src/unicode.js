// Unicode helpers: code points, UTF-8 byte lengths and well-formedness of JavaScript strings.
// Positions in Jointly count code points (never UTF-16 units); text is valid Unicode, so a
// string holding a lone surrogate (possible in JavaScript, impossible in UTF-8) is refused.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/// True when s holds no lone surrogate (so it has a UTF-8 form).
export function isWellFormed(s) {
  return !LONE_SURROGATE.test(s);
}

/// The index (in UTF-16 units) of the first lone surrogate in s, or -1.
export function loneSurrogateAt(s) {
  const m = LONE_SURROGATE.exec(s);
  return m ? m.index : -1;
}

/// The number of code points in s.
export function codePoints(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/// The length of s in UTF-8 bytes. REQUIRES: s is well formed.
export function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

/// Compares two strings by code points, which is the bytewise order of their UTF-8 forms (the
/// order of the C++ core's std::map keys). Returns -1, 0 or 1.
export function compareCodePoints(a, b) {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (an astral code point) sorts after every BMP unit above it in UTF-16 order.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/// Throws when any string (or object key) inside the JSON value v holds a lone surrogate: such
/// text is not valid Unicode, and the server's JSON reader refuses the whole message for it.
/// @param {*} v a JSON value
/// @param {(where: string) => never} onBad called with a description of where
export function checkWellFormedJSON(v, onBad, where = 'the value') {
  if (typeof v === 'string') {
    const at = loneSurrogateAt(v);
    if (at >= 0) onBad(`${where} holds a lone UTF-16 surrogate at unit ${at}`);
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) checkWellFormedJSON(v[i], onBad, `${where}[${i}]`);
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      if (!isWellFormed(k)) onBad(`${where} has a key with a lone UTF-16 surrogate`);
      checkWellFormedJSON(v[k], onBad, `${where}.${k}`);
    }
  }
}
