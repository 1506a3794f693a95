// Unit tests of src/ui/course_model.js: the course and unit forms' fields, the op that adds a
// unit, and the checklist's groups and summary line (PROTOCOL.md "Course template and checks").

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Doc, apply, parseDocOp } from '../../doc_op.js';
import {
  COURSE_FIELDS, PER_LEARNER, UNIT_FIELDS, addUnitOp, descriptionFileName, descriptionText, findingKey, formFields,
  groupFindings, summaryLine,
} from '../course_model.js';

const empty = (fields) => Object.fromEntries(fields.map((f) => [f.name, '']));

// The course template's shape (server/templates.cpp), with `extra` sections.
function courseDoc(extra = []) {
  return Doc.fromJSON({
    v: 2,
    sections: [
      { id: 'vision', pos: 'V', title: 'Joint vision', body: '', fields: { prompt: 'Which needs?' } },
      { id: 'course', pos: 'k', title: 'Course details', body: '', kind: 'course', fields: empty(COURSE_FIELDS) },
      { id: 'unit1', pos: 'm', title: 'Unit 1', body: '', kind: 'unit', fields: empty(UNIT_FIELDS) },
      ...extra,
    ],
  });
}

const finding = (code, level, extra = {}) => ({
  code, level, message: `${code} ${level}`, section: 'course', field: '', item: '', ...extra,
});

describe('formFields', () => {
  it('lists the course fields in the contract order with its labels', () => {
    const fields = formFields(courseDoc().section('course'));
    assert.deepEqual(fields.map((f) => f.name), ['course_title', 'awarding_bodies', 'countries', 'ects', 'eqf_level',
      'participation', 'quality_assurance', 'prerequisites', 'stackability', 'outcomes', 'issue_date', 'learner_id']);
    assert.equal(fields.find((f) => f.name === 'ects').label, 'Workload (ECTS)');
    assert.equal(fields.find((f) => f.name === 'outcomes').lines, true);
  });

  it('marks the two Annex I elements that differ per learner, and only those', () => {
    assert.deepEqual(COURSE_FIELDS.filter((f) => f.perLearner).map((f) => f.name), ['issue_date', 'learner_id']);
    assert.deepEqual(PER_LEARNER, ['annex1.learner_identification', 'annex1.issue_date']);
    for (const f of COURSE_FIELDS.filter((x) => x.perLearner)) assert.match(f.hint, /e\.g\./, f.name);
  });

  it('lists a unit\'s fields, and nothing for prose (its prompt is not a form field)', () => {
    const doc = courseDoc();
    assert.deepEqual(formFields(doc.section('unit1')).map((f) => [f.name, f.label]),
      [['ects', 'Workload (ECTS)'], ['outcomes', 'Learning outcomes assessed'], ['assessment', 'Type of assessment']]);
    assert.deepEqual(formFields(doc.section('vision')), []);
  });

  it('shows only the fields a section has, then unknown ones by name', () => {
    const doc = Doc.fromJSON({ v: 2, sections: [
      { id: 'u', pos: 'V', title: 'U', body: '', kind: 'unit', fields: { assessment: '', zz_notes: '', ects: '' } }] });
    assert.deepEqual(formFields(doc.section('u')).map((f) => [f.name, f.label]),
      [['ects', 'Workload (ECTS)'], ['assessment', 'Type of assessment'], ['zz_notes', 'zz_notes']]);
  });
});

describe('addUnitOp', () => {
  it('adds "Unit 2" of kind unit with the empty unit fields right after the last unit', () => {
    const doc = courseDoc([{ id: 'notes', pos: 'z', title: 'Notes', body: '' }]);
    const c = addUnitOp(doc, 'u2');
    assert.deepEqual({ ...c, pos: undefined }, {
      add: 'u2', pos: undefined, title: 'Unit 2', kind: 'unit', fields: { ects: '', outcomes: '', assessment: '' },
    });
    const after = apply(doc, parseDocOp([c]));
    assert.deepEqual(after.ordered().map((s) => s.id), ['vision', 'course', 'unit1', 'u2', 'notes']);
    assert.equal(after.section('u2').kind, 'unit');
    assert.equal(addUnitOp(after, 'u3').title, 'Unit 3');
  });

  it('adds at the end of a document without units', () => {
    const doc = Doc.fromJSON({ v: 1, sections: [{ id: 'a', pos: 'V', title: 'A', body: '' }] });
    const after = apply(doc, parseDocOp([addUnitOp(doc, 'u1')]));
    assert.deepEqual(after.ordered().map((s) => [s.id, s.title]), [['a', 'A'], ['u1', 'Unit 1']]);
  });
});

describe('the checklist', () => {
  const findings = [
    finding('annex1.learner_identification', 'ok', { field: 'learner_id' }),
    finding('annex1.title', 'error', { field: 'course_title' }),
    finding('annex1.workload', 'ok', { field: 'ects' }),
    finding('units.present', 'ok'),
    finding('unit.ects', 'error', { section: 'unit1', field: 'ects' }),
    finding('unit.unknown_outcome', 'warning', { section: 'unit1', field: 'outcomes', item: 'LO9' }),
    finding('ects.sum', 'error', { field: 'ects' }),
    finding('outcome.assessed', 'ok', { field: 'outcomes', item: 'LO1' }),
    finding('section.written', 'error', { section: 'vision', field: 'body' }),
    finding('future.check', 'warning'),
  ];

  it('groups the findings (Annex I, ECTS, outcomes, course and units, sections, other), keeping their order', () => {
    const groups = groupFindings(findings);
    assert.deepEqual(groups.map((g) => [g.id, g.findings.map((f) => f.code), g.errors, g.warnings]), [
      ['annex1', ['annex1.learner_identification', 'annex1.title', 'annex1.workload'], 1, 0],
      ['ects', ['unit.ects', 'ects.sum'], 2, 0],
      ['outcomes', ['unit.unknown_outcome', 'outcome.assessed'], 0, 1],
      ['structure', ['units.present'], 0, 0],
      ['sections', ['section.written'], 1, 0],
      ['other', ['future.check'], 0, 1],
    ]);
    assert.deepEqual(groupFindings([]), []);
  });

  it('explains the Annex I group: which elements are the course\'s and which differ per learner', () => {
    const [annex, ects] = groupFindings(findings);
    assert.match(annex.note, /Nine are the same for every learner/);
    assert.match(annex.note, /learner identification and the date of issuing differ for each learner/);
    assert.equal(ects.note, '');
  });

  it('says how many required elements are defined and what is left', () => {
    assert.equal(summaryLine(findings), '2 of 3 required elements defined · 4 problems to fix · 2 points to look at');
    assert.equal(summaryLine([finding('annex1.title', 'ok'), finding('ects.sum', 'ok')]),
      '1 of 1 required elements defined · every check passes');
    assert.equal(summaryLine([finding('course.present', 'error', { section: '' })]), '1 problem to fix');
  });

  it('keys a finding on code, section, field and item', () => {
    const a = finding('outcome.assessed', 'ok', { field: 'outcomes', item: 'LO1' });
    assert.equal(findingKey(a), findingKey({ ...a, level: 'error', message: 'other words' }));
    assert.notEqual(findingKey(a), findingKey({ ...a, item: 'LO2' }));
  });
});

describe('the course description download', () => {
  const description = { title: 'Data literacy: für Öffentliche Dienste!', document: { id: 7, title: 'Joint course', rev: 42 } };

  it('names the file after the course title and the revision', () => {
    assert.equal(descriptionFileName(description), 'data-literacy-für-öffentliche-dienste-course-description-rev42.json');
    assert.equal(descriptionFileName({ ...description, title: '' }), 'joint-course-course-description-rev42.json');
    assert.equal(descriptionFileName({ title: '!!!', document: { id: 7, title: '', rev: 3 } }), 'course-course-description-rev3.json');
    const long = descriptionFileName({ ...description, title: 'a '.repeat(100) });
    assert.ok(long.startsWith('a-a-') && !long.includes('--'), long);
    assert.ok(long.length <= 60 + '-course-description-rev42.json'.length, long);
  });

  it('says what a version lacks to be exported, and what was downloaded', () => {
    const notApproved = Object.assign(new Error('this version is not approved: "Joint vision" is not locked; Learner identification is missing: it differs'), { code: 'not_approved' });
    assert.equal(descriptionText(notApproved),
      'The course description is made of an approved version: every section locked and approved by every institution '
      + 'of the team, and no problem left to fix. Still missing: "Joint vision" is not locked; Learner identification is missing: it differs');
    assert.equal(descriptionText(Object.assign(new Error('The server cannot be reached.'), { code: 'offline' })),
      'The course description could not be loaded: The server cannot be reached.');
    assert.equal(descriptionText(null, description), 'Downloaded the course description of revision 42.');
  });
});
