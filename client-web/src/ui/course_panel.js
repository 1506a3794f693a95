// The course panels of the document view (protocol/PROTOCOL.md, "Course template and checks"):
// - CourseForm: the named fields of a `course` or `unit` section as labelled form fields, each
//   a FieldEditor (CodeMirror, code-point text ops, others' cursors) bound to its named field,
//   so concurrent edits merge, presence works and locks apply as for title and body;
// - Checklist: the server's check findings (GET /api/documents/:id/checks), fetched again a
//   moment after each revision the session confirms (its own or others'), grouped, with a
//   summary line; each finding links to its section and field; the two Annex I elements that
//   differ per learner are marked so. Below it, a button downloads the course description
//   (GET …/course-description) or says what the version still lacks to have one.
// DOM objects of the page's one thread; course_model.js holds the pure parts.

import { getCourseDescription } from './api.js';
import { h, replaceChildren } from './dom.js';
import { FieldEditor } from './field_editor.js';
import {
  PER_LEARNER, PER_LEARNER_NOTE, descriptionFileName, descriptionText, findingKey, formFields, groupFindings, summaryLine,
} from './course_model.js';

/// Waits this long after the last revision before asking the server for the checks again.
export const CHECKS_AFTER_MS = 400;
/// ... but no later than this after the first revision not shown yet, so that the checklist
/// follows a team that never pauses (several people typing at once).
export const CHECKS_MAX_WAIT_MS = 2000;

/// The labelled editors of one course or unit section's named fields.
export class CourseForm {
  /// @param {object} config
  /// @param {HTMLElement} config.parent where the form goes
  /// @param {object} config.section the section (document.js) whose fields it shows
  /// @param {(field: string) => object} config.common the FieldEditor settings of a field
  ///   (readOnly, onChange, onSelection), as the document view gives them to title and body
  constructor({ parent, section, common }) {
    this.editors = new Map(); // field name -> FieldEditor
    this.root = h('div', { class: 'course-form', 'data-kind': section.kind });
    for (const f of formFields(section)) {
      const id = `f-${section.id}-${f.name}`;
      const box = h('div', { class: 'field-box', id });
      const label = section.kind === 'unit' ? `${f.label} (${section.title || 'unit'})` : f.label;
      this.root.append(h('div', { class: 'course-field', 'data-field': f.name },
        h('span', { class: 'field-label' }, f.label, f.perLearner ? perLearnerTag() : null), box));
      this.editors.set(f.name, new FieldEditor({
        ...common(f.name), parent: box, text: section.fields.get(f.name), label,
        placeholder: f.hint, singleLine: !f.lines,
      }));
    }
    parent.append(this.root);
  }

  /// The editor of a named field, or undefined.
  get(field) {
    return this.editors.get(field);
  }

  /// Turns every placeholder into a CodeMirror editor (the section came near the screen).
  mount() {
    for (const e of this.editors.values()) e.mount();
  }

  /// Shows the section's current texts (a no-op for the fields that already show them).
  setTexts(section) {
    for (const [name, e] of this.editors) {
      const text = section.fields.get(name);
      if (text !== undefined && e.text !== text) e.setText(text);
    }
  }

  setReadOnly(readOnly) {
    for (const e of this.editors.values()) e.setReadOnly(readOnly);
  }

  /// Draws others' cursors: `cursorsOf(field)` is the list for a field.
  setCursors(cursorsOf) {
    for (const [name, e] of this.editors) e.setCursors(cursorsOf(name));
  }

  destroy() {
    for (const e of this.editors.values()) e.destroy();
    this.root.remove();
  }
}

/// The live checklist of a course document.
export class Checklist {
  /// @param {object} config
  /// @param {DocSession} config.session whose confirmed revisions trigger a new fetch
  /// @param {() => Promise<object>} config.load the checks (GET …/checks: {rev, summary, findings})
  /// @param {(section: string, field: string) => void} config.goTo shows and focuses a field
  constructor({ session, load, goTo }) {
    this.session = session;
    this.load = load;
    this.goTo = goTo;
    this.timer = null;
    this.waitingSince = 0; // when the pending timer was first set (Date.now())
    this.loading = false;
    this.again = false;
    this.shownRev = null; // the revision of the findings shown
    this.summary = h('p', { class: 'check-summary', role: 'status' }, 'Checking the course…');
    this.list = h('div', { class: 'check-groups' });
    this.descriptionButton = h('button', { type: 'button', 'data-action': 'course-description', onclick: () => this.download() },
      'Download the course description (JSON)');
    this.descriptionNote = h('p', { class: 'description-note', role: 'status', hidden: true });
    this.root = h('section', { class: 'checklist', 'aria-labelledby': 'checks-h', hidden: true },
      h('h2', { id: 'checks-h' }, 'Course checklist'), this.summary, this.list,
      h('div', { class: 'course-description' }, this.descriptionButton, this.descriptionNote));
    const revision = () => this.schedule();
    session.on('change', revision);
    session.on('status', revision);
  }

  /// Whether the document is a course (has a course or unit section): only then is the
  /// checklist shown and fetched.
  get relevant() {
    return this.session.doc.ordered().some((s) => s.kind === 'course' || s.kind === 'unit');
  }

  /// Fetches the checks again CHECKS_AFTER_MS after the last call (at most CHECKS_MAX_WAIT_MS
  /// after the first of a run of calls), when the session has confirmed a revision later than
  /// the one shown.
  schedule() {
    if (!this.relevant) {
      this.root.hidden = true;
      return;
    }
    this.root.hidden = false;
    if (this.shownRev !== null && this.session.sync.rev <= this.shownRev) return;
    const now = Date.now();
    if (this.timer === null) this.waitingSince = now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(CHECKS_AFTER_MS, this.waitingSince + CHECKS_MAX_WAIT_MS - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, wait);
  }

  /// Fetches and draws the checks now (one fetch at a time; a call during one fetches again
  /// after it).
  async refresh() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    this.root.setAttribute('aria-busy', 'true');
    let loaded = false;
    try {
      const checks = await this.load();
      this.shownRev = checks.rev;
      this.draw(checks);
      loaded = true;
    } catch (e) {
      // Shown until the next revision asks again (no retry loop while offline).
      this.summary.textContent = `The checks could not be loaded: ${e.message}`;
      this.summary.classList.add('error');
    } finally {
      this.loading = false;
      this.root.removeAttribute('aria-busy');
    }
    const again = this.again;
    this.again = false;
    if (loaded && (again || this.session.sync.rev > this.shownRev)) this.schedule();
  }

  /// Downloads the machine-readable course description of the last revision, or says what the
  /// version still lacks (not every section locked and approved, a problem left to fix).
  async download() {
    this.descriptionButton.disabled = true;
    let error = null;
    let description = null;
    try {
      description = await getCourseDescription(this.session.docId);
      const url = URL.createObjectURL(new Blob([`${JSON.stringify(description, null, 2)}\n`], { type: 'application/json' }));
      const a = h('a', { href: url, download: descriptionFileName(description), hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) {
      error = e;
    } finally {
      this.descriptionButton.disabled = false;
    }
    this.descriptionNote.textContent = descriptionText(error, description);
    this.descriptionNote.dataset.state = error ? (error.code === 'not_approved' ? 'not-approved' : 'error') : 'downloaded';
    this.descriptionNote.hidden = false;
  }

  draw(checks) {
    this.root.dataset.rev = String(checks.rev);
    this.summary.classList.remove('error');
    this.summary.textContent = summaryLine(checks.findings);
    replaceChildren(this.list, groupFindings(checks.findings).map((g) => h('div', { class: 'check-group', 'data-group': g.id },
      h('h3', {}, g.label, g.errors + g.warnings ? h('span', { class: 'count' }, ` ${g.errors + g.warnings} open`) : h('span', { class: 'count ok' }, ' ✓')),
      g.note ? h('p', { class: 'group-note' }, g.note) : null,
      h('ul', {}, g.findings.map((f) => h('li', {
        class: `finding ${f.level}`, 'data-code': f.code, 'data-level': f.level, 'data-key': findingKey(f),
        'data-section': f.section, 'data-field': f.field, 'data-item': f.item,
      },
      h('span', { class: 'mark', 'aria-hidden': 'true' }, f.level === 'ok' ? '✓' : f.level === 'warning' ? '!' : '✗'),
      f.section
        ? h('a', { href: `#s-${f.section}`, onclick: (e) => { e.preventDefault(); this.goTo(f.section, f.field); } },
          h('span', { class: 'visually-hidden' }, `${LEVELS[f.level] || f.level}: `), f.message)
        : h('span', {}, f.message),
      PER_LEARNER.includes(f.code) ? perLearnerTag() : null))))));
  }
}

// The "per learner" mark of an Annex I element that differs for each learner, explained on
// hover and to screen readers.
function perLearnerTag() {
  return h('span', { class: 'per-learner', title: PER_LEARNER_NOTE },
    ' per learner', h('span', { class: 'visually-hidden' }, `: ${PER_LEARNER_NOTE}`));
}

const LEVELS = { ok: 'Done', warning: 'To look at', error: 'To fix' };
