// Positions between CodeMirror (UTF-16 units) and Jointly (code points). node --test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeSet, Text } from '@codemirror/state';
import { type } from 'ot-text-unicode';
import { changesToTextOp, diffText, textOpToChanges, toCodePoint, toUtf16 } from '../text_bridge.js';

const text = 'Ziel 🎓: café 👩‍💻 und 中文 🇫🇷!';

describe('text_bridge', () => {
  it('counts an emoji as one code point and two UTF-16 units', () => {
    assert.equal(toCodePoint('a😀b', 3), 2);
    assert.equal(toUtf16('a😀b', 2), 3);
  });

  it('round-trips every code point boundary', () => {
    const cps = [...text].length;
    for (let cp = 0; cp <= cps; cp++) assert.equal(toCodePoint(text, toUtf16(text, cp)), cp);
  });

  it('turns CodeMirror changes around emoji into the code point op that does the same', () => {
    const doc = Text.of([text]);
    const from = text.indexOf('café');
    const changes = ChangeSet.of([{ from: 5, to: 7, insert: '🎯' }, { from, to: from + 4, insert: 'Kaffee' }], doc.length);
    const op = changesToTextOp(text, changes);
    assert.deepEqual(op, [5, { d: 1 }, '🎯', 2, { d: 4 }, 'Kaffee']);
    assert.equal(type.apply(text, op), changes.apply(doc).toString());
  });

  it('turns a code point op into CodeMirror changes that do the same', () => {
    const op = [7, 'très ', 5, { d: 1 }, '👨‍🔬', 5, { d: 2 }];
    const doc = Text.of([text]);
    const changes = ChangeSet.of(textOpToChanges(text, op), doc.length);
    assert.equal(changes.apply(doc).toString(), type.apply(text, op));
  });

  it('agrees with ot-text-unicode on random edits of text with emoji', () => {
    const alphabet = ['a', 'é', '😀', '中', '\n', '👩‍💻', ' '];
    let seed = 7;
    const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let round = 0; round < 500; round++) {
      let s = '';
      for (let i = rnd(12); i > 0; i--) s += alphabet[rnd(alphabet.length)];
      const doc = Text.of(s.split('\n'));
      // A random change at code point boundaries.
      const cps = [...s];
      const a = rnd(cps.length + 1);
      const b = a + rnd(cps.length - a + 1);
      const from = cps.slice(0, a).join('').length;
      const to = cps.slice(0, b).join('').length;
      const insert = rnd(2) ? alphabet[rnd(alphabet.length)] : '';
      const changes = ChangeSet.of([{ from, to, insert }], doc.length);
      const op = changesToTextOp(s, changes);
      const after = changes.apply(doc).toString();
      assert.equal(type.apply(s, op), after);
      assert.equal(ChangeSet.of(textOpToChanges(s, op), doc.length).apply(doc).toString(), after);
    }
  });

  it('finds the smallest change without splitting a surrogate pair', () => {
    assert.deepEqual(diffText('a😀b', 'a😁b'), { from: 1, to: 3, insert: '😁' });
    assert.deepEqual(diffText('abc', 'abXc'), { from: 2, to: 2, insert: 'X' });
    assert.equal(diffText('same', 'same'), null);
  });
});
