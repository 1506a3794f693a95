// The pure side of the course panels (protocol/PROTOCOL.md, "Course template and checks"): the
// labelled named fields of a `course` and a `unit` section, in the order a client shows them;
// the document op that adds a unit after the last one; and the server's check findings grouped
// for the checklist, with its summary line. No DOM here: course_panel.js draws what this
// computes, and test/course_model.test.mjs checks it in node. Plain functions on values, so
// safe to call from anywhere (the browser has one thread).

import { positionBetween } from '../doc_op.js';

/// The course section's fields, in the contract's order, with its labels; `lines`: one item a
/// line (a multi-line editor), `hint`: what the team writes (the empty field's placeholder),
/// `perLearner`: an Annex I element that differs for each learner (see PER_LEARNER_NOTE).
export const COURSE_FIELDS = Object.freeze([
  { name: 'course_title', label: 'Title', hint: 'The title of the micro-credential' },
  { name: 'awarding_bodies', label: 'Awarding institutions', hint: 'One institution per line', lines: true },
  { name: 'countries', label: 'Countries or regions', hint: 'The country or region of each awarding institution, one per line', lines: true },
  { name: 'ects', label: 'Workload (ECTS)', hint: 'Total notional workload, e.g. 5 or 2.5' },
  { name: 'eqf_level', label: 'Level', hint: 'e.g. EQF level 6' },
  { name: 'participation', label: 'Form of participation', hint: 'Online, on site, blended, …' },
  { name: 'quality_assurance', label: 'Quality assurance', hint: 'How the course’s quality is assured', lines: true },
  { name: 'prerequisites', label: 'Prerequisites', hint: 'What learners need before they start (optional)', lines: true },
  { name: 'stackability', label: 'Stackability', hint: 'How the credential stacks with or counts towards others (optional)', lines: true },
  { name: 'outcomes', label: 'Learning outcomes', hint: 'One per line, each with an id: LO1: Read and question data tables', lines: true },
  { name: 'issue_date', label: 'Date of issuing', hint: 'When a learner’s credential is issued, e.g. on passing the final assessment', perLearner: true },
  { name: 'learner_id', label: 'Learner identification', hint: 'Which details identify the learner on each credential, e.g. full name and date of birth', perLearner: true },
]);

/// A unit section's fields (its title is the unit's title).
export const UNIT_FIELDS = Object.freeze([
  { name: 'ects', label: 'Workload (ECTS)', hint: 'The unit’s credits, e.g. 2.5' },
  { name: 'outcomes', label: 'Learning outcomes assessed', hint: 'The course’s outcome ids, e.g. LO1, LO3' },
  { name: 'assessment', label: 'Type of assessment', hint: 'e.g. quiz, case study, portfolio' },
]);

const FIELDS_OF = { course: COURSE_FIELDS, unit: UNIT_FIELDS };

/// The named fields a section of this kind shows as a form, in order: the known ones its add
/// gave it, then any others it has (by name, labelled with the name). [] for prose (its named
/// fields, such as the prompt, are not edited in the normal view).
export function formFields(section) {
  const known = FIELDS_OF[section.kind];
  if (!known) return [];
  const out = known.filter((f) => section.fields.has(f.name));
  const names = new Set(out.map((f) => f.name));
  for (const name of section.fields.keys()) {
    if (!names.has(name)) out.push({ name, label: name, hint: '', lines: true });
  }
  return out;
}

/// The `add` component of a new unit with id `id`, placed after the document's last unit (or
/// at the end when there is none), titled "Unit N" (N: one more than the live units).
export function addUnitOp(doc, id) {
  const ordered = doc.ordered();
  const units = ordered.filter((s) => s.kind === 'unit');
  const last = units.length ? units[units.length - 1] : ordered[ordered.length - 1];
  const i = last ? ordered.indexOf(last) : -1;
  const before = last ? last.pos : '';
  let next = i + 1 < ordered.length ? ordered[i + 1].pos : '';
  if (next !== '' && next <= before) next = ''; // equal keys (added at once elsewhere): go past them
  return {
    add: id,
    pos: positionBetween(before, next),
    title: `Unit ${units.length + 1}`,
    kind: 'unit',
    fields: Object.fromEntries(UNIT_FIELDS.map((f) => [f.name, ''])),
  };
}

/// The Annex I elements that differ for each learner, by finding code: the course says how each
/// credential states them (its own value is the learner's), the other nine are the course's.
export const PER_LEARNER = Object.freeze(['annex1.learner_identification', 'annex1.issue_date']);

/// What "per learner" means, beside such a field and finding.
export const PER_LEARNER_NOTE = 'Differs for each learner: write here how each credential states it; '
  + 'the credential itself carries the learner’s own value.';

/// The checklist's groups, in the order they are shown, which finding codes go in each and,
/// for some, a line that explains the group.
export const GROUPS = Object.freeze([
  {
    id: 'annex1',
    label: 'Mandatory elements (Council Recommendation, Annex I)',
    note: 'The elements every micro-credential states (EU Council Recommendation of 16 June 2022). '
      + 'Nine are the same for every learner; learner identification and the date of issuing '
      + 'differ for each learner, so the course says how each credential states them.',
    match: (c) => c.startsWith('annex1.'),
  },
  { id: 'ects', label: 'ECTS credits', match: (c) => c === 'ects.sum' || c === 'unit.ects' },
  { id: 'outcomes', label: 'Learning outcomes', match: (c) => c.startsWith('outcome.') || c === 'unit.outcomes' || c === 'unit.unknown_outcome' },
  { id: 'structure', label: 'Course and units', match: (c) => c === 'course.present' || c === 'units.present' },
  { id: 'sections', label: 'Design steps written', match: (c) => c.startsWith('section.') },
]);

const OTHER = { id: 'other', label: 'Other checks' };

/// The stable key of a finding across runs (code, section, field, item).
export const findingKey = (f) => [f.code, f.section, f.field, f.item].join('\u0000');

/// Groups the findings of GET /api/documents/:id/checks for the checklist: [{id, label, note,
/// findings, errors, warnings}] (note: '' when the group has none), groups without findings
/// left out, the findings in the server's order. A code no group knows goes to "Other checks"
/// (codes may be added).
export function groupFindings(findings) {
  const groups = [...GROUPS, OTHER].map((g) => ({
    id: g.id, label: g.label, note: g.note || '', findings: [], errors: 0, warnings: 0,
  }));
  for (const f of findings) {
    const i = GROUPS.findIndex((g) => g.match(f.code));
    const g = groups[i < 0 ? groups.length - 1 : i];
    g.findings.push(f);
    if (f.level === 'error') g.errors++;
    else if (f.level === 'warning') g.warnings++;
  }
  return groups.filter((g) => g.findings.length > 0);
}

/// The checklist's summary line: how many of the Annex I elements the course defines, then
/// what is left to fix (errors) and to look at (warnings).
export function summaryLine(findings) {
  const annex = findings.filter((f) => f.code.startsWith('annex1.'));
  const defined = annex.filter((f) => f.level === 'ok').length;
  const errors = findings.filter((f) => f.level === 'error').length;
  const warnings = findings.filter((f) => f.level === 'warning').length;
  const parts = [];
  if (annex.length) parts.push(`${defined} of ${annex.length} required elements defined`);
  if (errors === 0 && warnings === 0) parts.push('every check passes');
  else {
    if (errors) parts.push(`${errors} problem${errors === 1 ? '' : 's'} to fix`);
    if (warnings) parts.push(`${warnings} point${warnings === 1 ? '' : 's'} to look at`);
  }
  return parts.join(' · ');
}

// ---- The course description (GET /api/documents/:id/course-description) -----------------------

/// The file name of a downloaded course description:
/// `<course title or document title>-course-description-rev<rev>.json`, the title reduced to
/// lower-case letters, digits and dashes (any script's letters are kept), at most 60 of them.
export function descriptionFileName(description) {
  const title = description.title || (description.document && description.document.title) || 'course';
  const slug = title.normalize('NFKC').toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60).replace(/-+$/, '');
  return `${slug || 'course'}-course-description-rev${description.document.rev}.json`;
}

/// What the checklist says after asking for the course description: `error` is the Error of
/// the request (api.js: code, message), or null when it was downloaded (then `description`).
export function descriptionText(error, description = null) {
  if (!error) {
    return `Downloaded the course description of revision ${description.document.rev}.`;
  }
  if (error.code === 'not_approved') {
    const why = error.message.replace(/^this version is not approved:\s*/, '');
    return 'The course description is made of an approved version: every section locked and '
      + `approved by every institution of the team, and no problem left to fix. Still missing: ${why}`;
  }
  return `The course description could not be loaded: ${error.message}`;
}
