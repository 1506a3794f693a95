// The history panel's pure parts (protocol/PROTOCOL.md, "History API"): the list's query
// string from the filters, the words a timeline entry is shown with, the runs of a word diff
// and the spans of a blame made ready for drawing, the legend of institutions, the export
// addresses, and the server's refusals of a restore or a version name in plain words. No DOM;
// every function is pure (times are formatted with the locale and time zone passed in).

import { colorsFor } from './colors.js';
import { COURSE_FIELDS, UNIT_FIELDS } from './course_model.js';

/// The grey of text the document was created with (revision 0: no author, no institution).
export const ORIGINAL_COLOR = '#5e5e5e';

/// The export formats as the server names them, with their labels.
export const EXPORT_FORMATS = Object.freeze([
  { id: 'md', label: 'Markdown' },
  { id: 'html', label: 'HTML' },
  { id: 'json', label: 'JSON' },
]);

/// The query string (with its leading '?', or '' when empty) of GET /api/documents/:id/history
/// for filters {section, author, institution, from, to} (empty strings and null left out;
/// `from`/`to` in ms), a `cursor` and a `limit`. Values are percent-encoded; `group` is 0 for
/// single revisions, left out (the server's default, groups) otherwise.
export function historyQuery({ section, author, institution, from, to } = {}, { cursor, limit, group } = {}) {
  const params = [];
  const add = (name, value) => {
    if (value === undefined || value === null || value === '') return;
    params.push(`${name}=${encodeURIComponent(String(value))}`);
  };
  add('section', section);
  add('author', author);
  add('institution', institution);
  if (Number.isFinite(from)) add('from', Math.floor(from));
  if (Number.isFinite(to)) add('to', Math.floor(to));
  add('limit', limit);
  add('cursor', cursor);
  if (group === 0 || group === false) add('group', 0);
  return params.length ? `?${params.join('&')}` : '';
}

/// A time range filter from the values of two `datetime-local` inputs ("2026-11-29T14:05", local
/// time; '' for open): {from, to} in ms, `to` taking the whole last minute. Throws an Error with
/// code `invalid_range` when `from` is after `to`.
export function timeRange(fromValue, toValue, parse = (v) => new Date(v).getTime()) {
  const from = fromValue ? parse(fromValue) : null;
  const to = toValue ? parse(toValue) + 59999 : null;
  if (from !== null && !Number.isFinite(from)) throw rangeError('The start of the time range is not a date.');
  if (to !== null && !Number.isFinite(to)) throw rangeError('The end of the time range is not a date.');
  if (from !== null && to !== null && from > to) throw rangeError('The time range starts after it ends.');
  return { from, to };
}

function rangeError(message) {
  const e = new Error(message);
  e.code = 'invalid_range';
  return e;
}

/// "Revision 7" or "Revisions 4–9" for a group {first, last} or a revision {rev}.
export function revisionRange(entry) {
  const first = entry.first ?? entry.rev;
  const last = entry.last ?? entry.rev;
  return first === last ? `Revision ${first}` : `Revisions ${first}–${last}`;
}

/// When an entry was made, in local time: "29 Nov 2026, 14:05" or "29 Nov 2026, 14:05–14:12" or
/// across days "28 Nov 2026, 23:58 – 29 Nov 2026, 00:03". `locale`/`timeZone` as Intl takes them.
export function whenText(from, to = from, { locale, timeZone } = {}) {
  const day = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', year: 'numeric', timeZone });
  const time = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone });
  const start = `${day.format(from)}, ${time.format(from)}`;
  if (time.format(to) === time.format(from) && day.format(to) === day.format(from)) return start;
  if (day.format(to) === day.format(from)) return `${start}–${time.format(to)}`;
  return `${start} – ${day.format(to)}, ${time.format(to)}`;
}

/// What a timeline entry (a GROUP, or a REVISION with `group=0`) says, given the section titles
/// (a Map id -> title; ids not in it, e.g. removed sections, are shown as "a removed section")
/// and `restored` (the revisions of this entry that restored an earlier one: [{rev,
/// restored_from}], for groups, which do not carry it themselves):
///   {who, institution, when, revisions, count, sections: [text], restored: [text]}
export function describeEntry(entry, titles = new Map(), restored = [], fmt = {}) {
  const grouped = entry.first !== undefined;
  const ids = grouped ? entry.sections.map((s) => s.id) : entry.sections;
  const sections = ids.map((id) => {
    const title = titles.get(id);
    return title === undefined ? 'a removed section' : (title.trim() || 'Untitled section');
  });
  const own = entry.restored_from !== undefined ? [{ rev: entry.rev, restored_from: entry.restored_from }] : [];
  const all = [...own, ...restored].sort((a, b) => a.rev - b.rev);
  const count = grouped ? entry.revisions : 1;
  return {
    who: entry.author || 'Created with the document',
    institution: entry.institution || '',
    when: whenText(grouped ? entry.from : entry.time, grouped ? entry.to : entry.time, fmt),
    revisions: revisionRange(entry),
    count: `${count} change${count === 1 ? '' : 's'}`,
    sections,
    restored: all.map((r) => (grouped && count > 1
      ? `Revision ${r.rev} restored from revision ${r.restored_from}`
      : `Restored from revision ${r.restored_from}`)),
  };
}

/// The revisions of a page of single revisions (REVISION entries) that restored an earlier one,
/// sorted into the groups they belong to: Map group.first -> [{rev, restored_from}].
export function restoresByGroup(groups, revisions) {
  const out = new Map();
  for (const r of revisions) {
    if (r.restored_from === undefined) continue;
    const g = groups.find((e) => e.first <= r.rev && r.rev <= e.last);
    if (!g) continue;
    if (!out.has(g.first)) out.set(g.first, []);
    out.get(g.first).push({ rev: r.rev, restored_from: r.restored_from });
  }
  return out;
}

/// Word-diff runs ([{kind, text}]) joined where neighbours are of the same kind, without empty
/// runs: what is drawn as plain, inserted and deleted text.
export function mergeRuns(runs = []) {
  const out = [];
  for (const r of runs) {
    if (!r.text) continue;
    const last = out[out.length - 1];
    if (last && last.kind === r.kind) last.text += r.text;
    else out.push({ kind: r.kind, text: r.text });
  }
  return out;
}

/// How much a diff of one field changed: {inserted, deleted} in words (runs of non-space).
export function runStats(runs = []) {
  const words = (t) => (t.match(/\S+/gu) || []).length;
  let inserted = 0;
  let deleted = 0;
  for (const r of runs) {
    if (r.kind === 'insert') inserted += words(r.text);
    else if (r.kind === 'delete') deleted += words(r.text);
  }
  return { inserted, deleted };
}

/// One section's diff (a SECTIONDIFF) in words: "Added", "Removed", "Moved", "Changed: 3 words
/// added, 1 removed", "Moved; changed: …", "No change".
export function sectionChangeText(d) {
  const fields = [d.title, d.body, ...Object.values(d.fields || {})];
  let inserted = 0;
  let deleted = 0;
  for (const runs of fields) {
    const s = runStats(runs);
    inserted += s.inserted;
    deleted += s.deleted;
  }
  const words = (n) => `${n} word${n === 1 ? '' : 's'}`;
  if (d.change === 'added') return 'Added since then';
  if (d.change === 'removed') return 'Removed since then';
  const parts = [];
  if (inserted) parts.push(`${words(inserted)} added`);
  if (deleted) parts.push(`${words(deleted)} removed`);
  const changed = parts.length ? `changed: ${parts.join(', ')}` : '';
  if (d.moved) return changed ? `Moved; ${changed}` : 'Moved';
  return changed ? changed[0].toUpperCase() + changed.slice(1) : 'No change';
}

/// The legend of a blame: one entry per institution in the spans (by name; the document's
/// original text as "Original text"), each with its colour (colors.js, so every screen gives an
/// institution the same colour) and how many characters it wrote:
///   [{institution, label, color, characters}], most characters first.
export function blameLegend(...spanLists) {
  const counts = new Map();
  for (const spans of spanLists) {
    for (const s of spans || []) {
      counts.set(s.institution, (counts.get(s.institution) || 0) + [...s.text].length);
    }
  }
  const named = [...counts.keys()].filter((i) => i);
  const colors = colorsFor(named.map((i) => `inst:${i}`));
  return [...counts.entries()]
    .map(([institution, characters]) => ({
      institution,
      label: institution || 'Original text',
      color: institution ? colors.get(`inst:${institution}`) : ORIGINAL_COLOR,
      characters,
    }))
    .sort((a, b) => b.characters - a.characters || a.label.localeCompare(b.label));
}

/// Blame spans made ready to draw: neighbours from the same institution joined, each with its
/// colour from `legend` and a tooltip ("Ana Silva, Universität Graz, revision 4, 29 Nov 2026,
/// 14:05"): [{text, institution, color, title}].
export function blameRuns(spans = [], legend = blameLegend(spans), fmt = {}) {
  const color = new Map(legend.map((l) => [l.institution, l.color]));
  const out = [];
  for (const s of spans) {
    if (!s.text) continue;
    const title = s.rev === 0
      ? 'Text the document was created with'
      : `${s.author}, ${s.institution}, revision ${s.rev}, ${whenText(s.time, s.time, fmt)}`;
    const last = out[out.length - 1];
    if (last && last.institution === s.institution) {
      last.text += s.text;
      if (!last.title.includes(title)) last.title += `\n${title}`;
    } else {
      out.push({ text: s.text, institution: s.institution, color: color.get(s.institution) || ORIGINAL_COLOR, title });
    }
  }
  return out;
}

const FIELD_ORDER = [...COURSE_FIELDS, ...UNIT_FIELDS].filter((f, i, all) => all.findIndex((g) => g.name === f.name) === i);

/// A named field's label as the course panels show it ("ects" -> "Workload (ECTS)"); a
/// template's `prompt` is its "Guidance"; any other field keeps its name.
export function fieldLabel(name) {
  if (name === 'prompt') return 'Guidance';
  const known = FIELD_ORDER.find((f) => f.name === name);
  return known ? known.label : name;
}

/// The named fields of a blame answer ({fields: {name: [SPAN]}}) that hold text, in the course
/// panels' order (others after, by name): [{name, label, spans}].
export function blameFields(blame) {
  const rank = (name) => {
    const i = FIELD_ORDER.findIndex((f) => f.name === name);
    return i < 0 ? FIELD_ORDER.length : i;
  };
  return Object.entries(blame.fields || {})
    .filter(([, spans]) => spans.some((sp) => sp.text))
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, spans]) => ({ name, label: fieldLabel(name), spans }));
}

/// The address of an export of document `doc` in `format` ('md', 'html', 'json') at a revision
/// ({rev}) or a named version ({version}); neither: the last revision.
export function exportUrl(doc, format, { rev, version } = {}) {
  let q = `format=${encodeURIComponent(format)}`;
  if (version !== undefined && version !== null) q += `&version=${encodeURIComponent(version)}`;
  else if (rev !== undefined && rev !== null) q += `&rev=${encodeURIComponent(rev)}`;
  return `/api/documents/${encodeURIComponent(doc)}/history/export?${q}`;
}

/// A version name as the server takes it (PROTOCOL "History API": not empty, at most 200 bytes
/// of UTF-8, no control character): null when fine, else what is wrong in plain words.
export function versionNameProblem(name) {
  if (!name || !name.trim()) return 'Please give the version a name.';
  if (new TextEncoder().encode(name).length > 200) return 'The name is too long (at most 200 bytes; about 200 letters).';
  if (/[\u0000-\u001f\u007f]/u.test(name)) return 'The name cannot contain line breaks or tabs.';
  return null;
}

/// The words a refused restore or version name is shown with: the server's message for a
/// locked section (it names the section), plain words for the rest.
export function historyErrorText(error) {
  switch (error && error.code) {
    case 'section_locked':
      return `Not restored: ${error.message || 'a section that would change is locked for sign-off.'} Ask the leader to unlock it first.`;
    case 'forbidden':
      return 'Only editors and leaders can do this.';
    case 'version_exists':
      return 'This revision already has a name.';
    case 'not_found':
      return 'That revision or section is not in the history (it may have been removed).';
    case 'document_too_large':
      return 'Not restored: the document would become larger than the server allows.';
    case 'busy':
      return 'The server is busy. Please try again in a moment.';
    case 'storage_failed':
      return 'The server could not save this. Please try again.';
    default:
      return (error && error.message) || 'Something went wrong.';
  }
}
