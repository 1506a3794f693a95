// Names that are also Object.prototype's keys (an institution called "__proto__", "constructor"
// ...) as keys of a snapshot: approvals from such institutions survive Doc.toJSON, JSON text and
// Doc.fromJSON, whether they came from an approve op or from a snapshot. Found by the stored-XSS
// end-to-end test (e2e/xss.test.mjs): an approval of the institution "__proto__" vanished from
// the sign-off matrix after a reload, because toJSON assigned it as obj["__proto__"] = ...,
// which sets the object's prototype instead of a key, and the state kept in IndexedDB lost it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Doc, apply, parseDocOp } from '../src/doc_op.js';

const KEYS = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', 'Masarykova univerzita'];
const approval = (i) => ({ user: `user ${i}`, time: 1732900000000 + i, hash: `sha256:${String(i).repeat(8)}` });

describe('snapshot keys that Object.prototype also has', () => {
  it('keeps the approvals of every institution through toJSON, JSON and fromJSON', () => {
    let d = Doc.fromJSON({ v: 1, sections: [{ id: 's1', pos: 'V', title: 'Outcomes', body: 'Read data.', locked: true }] });
    d = apply(d, parseDocOp(KEYS.map((inst, i) => ({ approve: 's1', inst, ...approval(i) }))));
    assert.deepEqual([...d.section('s1').approvals.keys()].sort(), [...KEYS].sort());

    const j = d.toJSON();
    assert.deepEqual(Object.keys(j.sections[0].approvals).sort(), [...KEYS].sort());
    assert.equal(Object.getPrototypeOf(j.sections[0].approvals), Object.prototype, 'the prototype is left alone');
    const text = JSON.stringify(j);
    assert.match(text, /"__proto__":\{"user":"user 0"/);

    const back = Doc.fromJSON(JSON.parse(text));
    KEYS.forEach((inst, i) => assert.deepEqual({ ...back.section('s1').approvals.get(inst) }, approval(i), inst));
    assert.deepEqual(back.toJSON(), j);
  });

  it('reads such keys from a snapshot as JSON.parse gives them', () => {
    const text = '{"v":1,"sections":[{"id":"s1","pos":"V","title":"t","body":"b","locked":true,'
      + '"approvals":{"__proto__":{"user":"u","time":1,"hash":"h1"},"constructor":{"user":"v","time":2,"hash":"h2"}}}]}';
    const d = Doc.fromJSON(JSON.parse(text));
    assert.deepEqual([...d.section('s1').approvals.keys()], ['__proto__', 'constructor']);
    assert.equal(JSON.stringify(d.toJSON()), text);
  });
});
