// The history panel's pure parts (history_model.js): the list's query, the timeline's words,
// restores sorted into groups, diff runs and their counts, the blame's legend and runs, export
// addresses and version names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ORIGINAL_COLOR, blameFields, blameLegend, blameRuns, describeEntry, exportUrl, fieldLabel, historyErrorText, historyQuery, mergeRuns,
  restoresByGroup, revisionRange, runStats, sectionChangeText, timeRange, versionNameProblem, whenText,
} from '../history_model.js';
import { colorsFor } from '../colors.js';

const UTC = { locale: 'en-GB', timeZone: 'UTC' };
const T = Date.UTC(2026, 10, 29, 14, 5); // 29 Nov 2026, 14:05 UTC

describe('historyQuery', () => {
  it('leaves out empty filters and the default grouping', () => {
    assert.equal(historyQuery({}, {}), '');
    assert.equal(historyQuery({ section: '', author: null }, { limit: 20 }), '?limit=20');
  });
  it('percent-encodes names and keeps the order of the contract', () => {
    assert.equal(
      historyQuery({ section: 's1', author: 'Léa Dubois', institution: 'Université de Lille', from: 10.7, to: 99 }, { cursor: 'a&b', limit: 5, group: 0 }),
      '?section=s1&author=L%C3%A9a%20Dubois&institution=Universit%C3%A9%20de%20Lille&from=10&to=99&limit=5&cursor=a%26b&group=0');
  });
});

describe('timeRange', () => {
  const parse = (v) => Date.parse(`${v}:00Z`);
  it('takes the whole last minute and leaves open ends null', () => {
    assert.deepEqual(timeRange('2026-11-29T14:05', '2026-11-29T14:05', parse), { from: T, to: T + 59999 });
    assert.deepEqual(timeRange('', '', parse), { from: null, to: null });
  });
  it('refuses a range that ends before it starts, or no date', () => {
    assert.throws(() => timeRange('2026-11-29T14:06', '2026-11-29T14:05', parse), { code: 'invalid_range' });
    assert.throws(() => timeRange('not a date', '', () => NaN), { code: 'invalid_range' });
  });
});

describe('timeline entries', () => {
  const group = {
    first: 4, last: 9, author: 'Ana Silva', institution: 'Universität Graz', from: T, to: T + 7 * 60000,
    revisions: 6, matching: 6, sections: [{ id: 's1', revisions: 5 }, { id: 'gone', revisions: 1 }],
  };
  it('says who, from where, when in local time, which revisions and sections', () => {
    const d = describeEntry(group, new Map([['s1', 'Learning outcomes']]), [], UTC);
    assert.equal(d.who, 'Ana Silva');
    assert.equal(d.institution, 'Universität Graz');
    assert.equal(d.when, '29 Nov 2026, 14:05–14:12');
    assert.equal(d.revisions, 'Revisions 4–9');
    assert.equal(d.count, '6 changes');
    assert.deepEqual(d.sections, ['Learning outcomes', 'a removed section']);
    assert.deepEqual(d.restored, []);
  });
  it('says which revisions restored an earlier one', () => {
    const d = describeEntry(group, new Map(), [{ rev: 7, restored_from: 2 }], UTC);
    assert.deepEqual(d.restored, ['Revision 7 restored from revision 2']);
    const single = describeEntry({ rev: 12, author: 'Jan Novák', institution: 'Masarykova univerzita', time: T, sections: ['s1'], restored_from: 3 }, new Map([['s1', '']]), [], UTC);
    assert.deepEqual(single.restored, ['Restored from revision 3']);
    assert.equal(single.revisions, 'Revision 12');
    assert.equal(single.count, '1 change');
    assert.deepEqual(single.sections, ['Untitled section']);
  });
  it('sorts restores into the groups that hold them', () => {
    const groups = [{ first: 10, last: 12 }, { first: 4, last: 9 }];
    const revisions = [{ rev: 12, restored_from: 5 }, { rev: 11 }, { rev: 8, restored_from: 1 }, { rev: 2, restored_from: 1 }];
    const out = restoresByGroup(groups, revisions);
    assert.deepEqual([...out.entries()], [[10, [{ rev: 12, restored_from: 5 }]], [4, [{ rev: 8, restored_from: 1 }]]]);
  });
  it('writes times across days in full', () => {
    assert.equal(whenText(T, T + 86400000, UTC), '29 Nov 2026, 14:05 – 30 Nov 2026, 14:05');
    assert.equal(revisionRange({ first: 3, last: 3 }), 'Revision 3');
  });
});

describe('diffs', () => {
  const runs = [
    { kind: 'equal', text: 'The ' }, { kind: 'delete', text: 'old ' }, { kind: 'delete', text: 'plain ' },
    { kind: 'insert', text: 'new' }, { kind: 'insert', text: '' }, { kind: 'equal', text: ' text' },
  ];
  it('joins neighbouring runs of one kind and drops empty ones', () => {
    assert.deepEqual(mergeRuns(runs), [
      { kind: 'equal', text: 'The ' }, { kind: 'delete', text: 'old plain ' }, { kind: 'insert', text: 'new' }, { kind: 'equal', text: ' text' },
    ]);
    assert.deepEqual(runs[1], { kind: 'delete', text: 'old ' }); // the input is left alone
  });
  it('counts words added and removed', () => {
    assert.deepEqual(runStats(runs), { inserted: 1, deleted: 2 });
    assert.equal(sectionChangeText({ change: 'changed', moved: false, title: [], body: runs }), 'Changed: 1 word added, 2 words removed');
    assert.equal(sectionChangeText({ change: 'moved', moved: true, title: [], body: [{ kind: 'equal', text: 'x' }] }), 'Moved');
    assert.equal(sectionChangeText({ change: 'changed', moved: true, title: [], body: [], fields: { prompt: [{ kind: 'insert', text: 'a b' }] } }), 'Moved; changed: 2 words added');
    assert.equal(sectionChangeText({ change: 'added', title: [], body: [] }), 'Added since then');
    assert.equal(sectionChangeText({ change: 'removed', title: [], body: [] }), 'Removed since then');
  });
});

describe('blame', () => {
  const span = (text, rev, author, institution) => ({ text, rev, author, institution, time: T });
  const title = [span('Goals', 0, '', '')];
  const body = [span('We ', 3, 'Ana Silva', 'Universität Graz'), span('teach ', 4, 'Ana Silva', 'Universität Graz'),
    span('data 😀', 5, 'Jan Novák', 'Masarykova univerzita')];
  it('gives each institution the colour colors.js gives it, most characters first', () => {
    const legend = blameLegend(title, body);
    const colors = colorsFor(['inst:Universität Graz', 'inst:Masarykova univerzita']);
    assert.deepEqual(legend, [
      { institution: 'Universität Graz', label: 'Universität Graz', color: colors.get('inst:Universität Graz'), characters: 9 },
      { institution: 'Masarykova univerzita', label: 'Masarykova univerzita', color: colors.get('inst:Masarykova univerzita'), characters: 6 },
      { institution: '', label: 'Original text', color: ORIGINAL_COLOR, characters: 5 },
    ]);
    assert.notEqual(legend[0].color, legend[1].color);
  });
  it('joins spans of one institution and still spells the text', () => {
    const legend = blameLegend(title, body);
    const out = blameRuns(body, legend, UTC);
    assert.equal(out.map((r) => r.text).join(''), 'We teach data 😀');
    assert.deepEqual(out.map((r) => r.institution), ['Universität Graz', 'Masarykova univerzita']);
    assert.equal(out[0].title, 'Ana Silva, Universität Graz, revision 3, 29 Nov 2026, 14:05\nAna Silva, Universität Graz, revision 4, 29 Nov 2026, 14:05');
    assert.equal(blameRuns(title, legend, UTC)[0].title, 'Text the document was created with');
    assert.equal(blameRuns(title, legend, UTC)[0].color, ORIGINAL_COLOR);
  });
  it('lists the named fields with text, labelled and in the course panels\' order', () => {
    const fields = blameFields({
      title, body,
      fields: {
        zeta: [span('z', 6, 'Jan Novák', 'Masarykova univerzita')],
        outcomes: [span('LO1', 5, 'Jan Novák', 'Masarykova univerzita')],
        ects: [span('5', 4, 'Ana Silva', 'Universität Graz')],
        prompt: [span('Say why', 0, '', '')],
        assessment: [],
      },
    });
    assert.deepEqual(fields.map((f) => [f.name, f.label]),
      [['ects', 'Workload (ECTS)'], ['outcomes', 'Learning outcomes'], ['prompt', 'Guidance'], ['zeta', 'zeta']]);
    const legend = blameLegend(title, body, ...fields.map((f) => f.spans));
    assert.deepEqual(legend.map((l) => [l.label, l.characters]),
      [['Original text', 12], ['Masarykova univerzita', 10], ['Universität Graz', 10]]);
    assert.deepEqual(blameFields({ title, body }), []);
    assert.equal(fieldLabel('assessment'), 'Type of assessment');
  });
});

describe('exports, version names, errors', () => {
  it('addresses a revision or a named version', () => {
    assert.equal(exportUrl(7, 'md', { rev: 12 }), '/api/documents/7/history/export?format=md&rev=12');
    assert.equal(exportUrl(7, 'html', { version: 'Sent to boards & co' }), '/api/documents/7/history/export?format=html&version=Sent%20to%20boards%20%26%20co');
    assert.equal(exportUrl(7, 'json'), '/api/documents/7/history/export?format=json');
  });
  it('checks a version name as the server does', () => {
    assert.equal(versionNameProblem('Draft 1'), null);
    assert.match(versionNameProblem('  '), /name/);
    assert.match(versionNameProblem('a\nb'), /line breaks/);
    assert.equal(versionNameProblem('é'.repeat(100)), null); // 200 bytes
    assert.match(versionNameProblem('é'.repeat(101)), /too long/);
  });
  it('keeps the server message of a locked section', () => {
    const text = historyErrorText({ code: 'section_locked', message: 'section "s1" is locked' });
    assert.match(text, /section "s1" is locked/);
    assert.match(historyErrorText({ code: 'forbidden', message: 'x' }), /editors and leaders/);
    assert.equal(historyErrorText({ code: 'other', message: 'Plain' }), 'Plain');
  });
});
