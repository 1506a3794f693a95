// The document view: the outline of sections (add, move up/down or by dragging, remove with
// confirmation), each section's title and body in a FieldEditor with its sign-off controls
// (lock, unlock, approve for one's institution) and the suggestions kept for it, who is here,
// the sign-off matrix, edits that could not be saved, and the rendered preview. It renders a
// DocSession and turns the user's actions into document operations. What a member may do
// follows their role (signoff.js); the server checks it again. A course document's `course` and
// `unit` sections also show their named fields as a form, and the checklist sits beside
// (course_panel.js).

import { positionBetween } from '../doc_op.js';
import { PROMPT_FIELD, isIncomplete } from '../document.js';
import { colorsFor } from './colors.js';
import { addUnitOp } from './course_model.js';
import { Checklist, CourseForm } from './course_panel.js';
import { h, replaceChildren } from './dom.js';
import { FieldEditor } from './field_editor.js';
import { randomId } from './identity.js';
import { SignoffMatrixView } from './matrix_view.js';
import { renderPreview } from './preview.js';
import {
  ROLE_LABELS, can, sectionControls, sectionHash, shortHash,
} from './signoff.js';

const PREVIEW_AFTER_MS = 250;
const DRAG_TYPE = 'application/x-jointly-section';

export class DocView {
  /// @param {HTMLElement} root where the view goes
  /// @param {DocSession} session
  /// @param {{name: string, institution: string, client: string}} me
  /// @param {object} [options]
  /// @param {() => Promise<string[]>} [options.loadTeam] the team's institution names (for the
  ///   sign-off matrix)
  /// @param {() => Promise<object>} [options.loadChecks] the course checks (no checklist without)
  constructor(root, session, me, { loadTeam = async () => [], loadChecks = null } = {}) {
    this.session = session;
    this.me = me;
    this.loadTeam = loadTeam;
    this.team = [];
    this.teamAsked = new Set(); // institutions seen in approvals that the team was reloaded for
    this.hashes = new Map(); // section id -> {title, body, fields, hash} of its text when last hashed
    this.sections = new Map(); // id -> {article, heading, title: FieldEditor, body: FieldEditor, locked}
    this.previewTimer = null;
    this.others = [];
    this.active = null; // {section, field} of the editor the user was last in
    // Where this user is, for presence: the editor they were last in, else the start of the
    // document (so that the others see them in "Who is here" as soon as they open it).
    session.presenceSource = () => {
      const view = this.active && this.sections.get(this.active.section);
      const editor = view && editorOf(view, this.active.field);
      if (editor) return { ...this.active, ...editor.selection() };
      const first = this.doc.ordered()[0];
      return first ? { section: first.id, field: 'title', anchor: 0, head: 0 } : null;
    };

    this.outline = h('ol', { class: 'outline-list' });
    this.people = h('ul', { class: 'people' });
    this.rejectedBox = h('div', { class: 'rejected', role: 'alert' });
    this.matrixBox = h('div', { class: 'matrix-box' });
    // An approval from an institution the team list does not have: someone joined; ask once.
    this.matrix = new SignoffMatrixView(this.matrixBox, (institutions) => {
      const fresh = institutions.filter((i) => !this.teamAsked.has(i));
      for (const i of fresh) this.teamAsked.add(i);
      if (fresh.length > 0) setTimeout(() => this.refreshTeam(), 0);
    });
    this.roleLine = h('p', { class: 'role-line' });
    this.addButton = h('button', { type: 'button', class: 'add', onclick: () => this.addSection(null) }, '+ Add a section');
    this.signoffNotice = h('p', { class: 'notice', role: 'status', hidden: true });
    this.previewBody = h('div', { class: 'preview' });
    this.editors = h('div', { class: 'sections' });
    this.dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' });
    this.notice = h('p', { class: 'notice', role: 'alert' });
    this.checklist = loadChecks
      ? new Checklist({ session, load: loadChecks, goTo: (section, field) => this.focusField(section, field) })
      : null;

    replaceChildren(root,
      h('div', { class: 'doc-layout' },
        h('nav', { class: 'outline', 'aria-label': 'Sections' },
          h('h2', {}, 'Sections'), this.outline, this.addButton),
        h('div', { class: 'editors', role: 'region', 'aria-label': 'The document' },
          this.roleLine, this.notice, this.signoffNotice, this.editors),
        h('aside', { class: 'side' },
          h('section', { 'aria-labelledby': 'people-h' }, h('h2', { id: 'people-h' }, 'Who is here'), this.people),
          this.checklist && this.checklist.root,
          h('section', { 'aria-labelledby': 'signoff-h', class: 'signoff-panel' },
            h('h2', { id: 'signoff-h' }, 'Sign-off'), this.matrixBox),
          this.rejectedBox,
          h('details', { class: 'preview-box', open: window.innerWidth > 1100 },
            h('summary', {}, h('h2', {}, 'Preview')), this.previewBody))),
      this.dialog);

    // Sections become CodeMirror editors when they come near the screen.
    this.nearScreen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const view = this.sections.get(e.target.dataset.section);
        this.nearScreen.unobserve(e.target);
        if (view) { view.title.mount(); view.body.mount(); if (view.form) view.form.mount(); }
      }
    }, { rootMargin: '800px 0px' });
    session.on('change', (change) => this.changed(change));
    session.on('presence', (others) => { this.others = others; this.showPresence(); });
    session.on('rejected', () => this.showRejected());
    session.on('suggestions', () => this.showSuggestions());
    session.on('notice', (text) => this.showSignoffNotice(text));
    this.render();
    this.showRejected();
    this.refreshTeam();
    if (this.checklist) this.checklist.schedule();
  }

  /// The member's role, as the server last said (null: not known yet, read-only).
  get role() {
    return this.session.role;
  }

  /// Loads the team's institutions again (when a member joined or an approval names an
  /// institution the matrix does not have).
  async refreshTeam() {
    try {
      this.team = await this.loadTeam();
    } catch { /* shown with what is known; tried again on the next unknown institution */ }
    this.renderMatrix();
  }

  get doc() {
    return this.session.doc;
  }

  // ---- Rendering ----------------------------------------------------------------------------

  changed(change) {
    if (change.origin === 'remote' && change.op) {
      let structural = false;
      for (const c of change.op) {
        const editor = 'edit' in c && this.sections.has(c.edit) && editorOf(this.sections.get(c.edit), c.f);
        if (editor) editor.applyRemote(c.op);
        else structural = true;
      }
      this.render(!structural);
    } else {
      this.render();
    }
  }

  /// Brings every part of the view up to date with the session's document. `textOnly`: only
  /// text changed (no section added, removed, moved, locked).
  render(textOnly = false) {
    const doc = this.doc;
    const ordered = doc.ordered();
    if (!textOnly) {
      const live = new Set(ordered.map((s) => s.id));
      for (const [id, view] of this.sections) {
        if (!live.has(id)) {
          this.nearScreen.unobserve(view.article);
          view.title.destroy();
          view.body.destroy();
          if (view.form) view.form.destroy();
          view.article.remove();
          this.sections.delete(id);
        }
      }
      let before = this.editors.firstChild;
      ordered.forEach((s, i) => {
        let view = this.sections.get(s.id);
        if (!view) {
          view = this.makeSection(s);
          this.sections.set(s.id, view);
          this.nearScreen.observe(view.article);
        }
        view.number.textContent = `${i + 1}.`;
        // Locked, or waiting for the server's answer about an earlier edit (sync.js's
        // `suspended`: the editor shows the server's text, and edits would not apply).
        const controls = sectionControls(s, this.role, this.me.institution);
        const readOnly = !controls.editable || this.session.sync.suspended.has(s.id);
        view.article.dataset.readonly = String(readOnly);
        if (view.locked !== readOnly) {
          view.locked = readOnly;
          view.title.setReadOnly(readOnly);
          view.body.setReadOnly(readOnly);
          if (view.form) view.form.setReadOnly(readOnly);
        }
        view.lockBadge.hidden = !s.locked;
        view.article.classList.toggle('locked', Boolean(s.locked));
        view.addBelow.hidden = !can(this.role, 'edit');
        if (view.addUnit) view.addUnit.hidden = !can(this.role, 'edit');
        this.renderSignoff(view, s, controls);
        if (view.article !== before) this.editors.insertBefore(view.article, before);
        else before = before.nextSibling;
      });
    }
    // Every editor shows the document's text (a no-op unless something was rebuilt).
    for (const s of ordered) {
      const view = this.sections.get(s.id);
      if (view.title.text !== s.title) view.title.setText(s.title);
      if (view.body.text !== s.body) view.body.setText(s.body);
      if (view.form) view.form.setTexts(s);
    }
    this.renderOutline(ordered);
    this.showPresence();
    this.schedulePreview();
    this.showNotice();
    this.showSuggestions();
    this.renderMatrix();
    this.addButton.hidden = !can(this.role, 'edit');
    this.roleLine.textContent = this.role
      ? `Your role: ${ROLE_LABELS[this.role] || this.role}${can(this.role, 'edit') ? '' : ' (you can read' + (can(this.role, 'approve') ? ' and approve' : '') + ', not edit)'}`
      : '';
  }

  // The sign-off bar of one section: Lock / Unlock for leaders; for a locked section the
  // approval of the member's institution (or Approve) and how many of the team approved.
  // Drawn again only when something it shows changed: the section (an immutable value), the
  // role, the team's size or the fingerprint (a document of 259 sections redraws none of the
  // others' bars on an approval).
  renderSignoff(view, s, controls) {
    const hash = s.locked && controls.approve && !controls.approved ? this.knownHash(s) : null;
    const drawn = [s, this.role, this.team.length, hash];
    if (view.signoffDrawn && drawn.every((x, i) => x === view.signoffDrawn[i])) return;
    view.signoffDrawn = drawn;
    const bar = view.signoff;
    const parts = [];
    if (controls.lock) {
      // A design step still showing its prompt cannot be locked (the server refuses it with
      // section_incomplete): the button says so instead of offering a lock that will fail.
      const unwritten = isIncomplete(s);
      parts.push(h('button', {
        type: 'button',
        'data-action': 'lock',
        disabled: unwritten,
        title: unwritten ? REASONS.section_incomplete : 'Freeze this section so the partner institutions can approve it',
        onclick: () => this.setLocked(s.id, true),
      }, 'Lock for sign-off'));
      if (unwritten) parts.push(h('span', { class: 'lock-hint' }, 'Write this step before locking it for sign-off.'));
    }
    if (s.locked) {
      const approvals = s.approvals ? s.approvals.size : 0;
      const of = this.team.length ? ` of ${this.team.length}` : '';
      parts.push(h('span', { class: 'approvals' }, `${approvals}${of} institution${(this.team.length || approvals) === 1 ? '' : 's'} approved`));
      if (controls.approved) {
        parts.push(h('span', { class: 'approved-mine' }, `✓ Approved for ${this.me.institution} by ${controls.approved.user}`));
      } else if (controls.approve) {
        parts.push(h('button', {
          type: 'button', class: 'primary', 'data-action': 'approve', onclick: () => this.approve(s.id),
        }, `Approve for ${this.me.institution}`));
        parts.push(h('span', { class: 'hash', title: 'A fingerprint of the text you approve. The server records your approval only if the locked text has exactly this fingerprint.' },
          hash ? `Text fingerprint ${shortHash(hash)}` : 'Text fingerprint …'));
      }
      if (controls.unlock) {
        parts.push(h('button', { type: 'button', 'data-action': 'unlock', onclick: () => this.setLocked(s.id, false) }, 'Unlock (clears approvals)'));
      }
    }
    replaceChildren(bar, parts);
    bar.hidden = parts.length === 0;
  }

  // The section hash of s's text (title, body and named fields) when it is known, else null
  // (and it is computed, and the section drawn again).
  knownHash(s) {
    const known = this.hashes.get(s.id);
    if (known && known.title === s.title && known.body === s.body && known.fields === s.fields) return known.hash;
    const entry = { title: s.title, body: s.body, fields: s.fields, hash: null };
    this.hashes.set(s.id, entry);
    sectionHash(s).then((hash) => {
      entry.hash = hash;
      const view = this.sections.get(s.id);
      const now = this.doc.section(s.id);
      if (view && now && this.hashes.get(s.id) === entry) {
        this.renderSignoff(view, now, sectionControls(now, this.role, this.me.institution));
      }
    }).catch(() => { /* shown as unknown */ });
    return null;
  }

  // The sign-off matrix: sections × the team's institutions (only the rows that changed are
  // drawn again).
  renderMatrix() {
    this.matrix.update(this.doc, this.team);
  }

  // The suggestions kept on each section (text refused because the section was locked).
  showSuggestions() {
    for (const [id, view] of this.sections) {
      const list = this.session.suggestions.filter((x) => x.section === id);
      if (list.length === 0 && view.suggestions.childElementCount === 0) continue;
      replaceChildren(view.suggestions, list.map((sug) => {
        const text = sug.texts.map((t) => (t.field === 'title' ? `Title: ${t.text}` : t.text)).join('\n');
        return h('div', { class: 'suggestion', 'data-id': sug.id, role: 'note' },
          h('p', {}, 'Your change was not applied because the section is locked:'),
          h('pre', { class: 'kept-text' }, text),
          h('div', { class: 'row' },
            h('button', { type: 'button', onclick: () => navigator.clipboard && navigator.clipboard.writeText(text).catch(() => {}) }, 'Copy'),
            h('button', { type: 'button', onclick: () => this.session.dismissSuggestion(sug.id) }, 'Dismiss')));
      }));
    }
  }

  showSignoffNotice(text) {
    this.signoffNotice.textContent = text;
    this.signoffNotice.hidden = !text;
  }

  setLocked(id, locked) {
    this.showSignoffNotice('');
    this.structural([locked ? { lock: id } : { unlock: id }]);
  }

  async approve(id) {
    this.showSignoffNotice('');
    try {
      const hash = await this.session.approve(id);
      if (!hash) this.showSignoffNotice('The section changed while your approval was being prepared. Check the text, then approve again.');
    } catch (e) {
      this.session.rejectedEdit({ code: e.code || 'error', message: e.message, texts: [] });
    }
    this.render();
  }

  /// Says when the document is still loading or cannot be opened.
  showNotice() {
    const status = this.session.status();
    this.notice.textContent = !status.loaded && !status.error ? 'Loading the document…' : (status.error || '');
    this.notice.hidden = this.notice.textContent === '';
  }

  makeSection(s) {
    const number = h('span', { class: 'number', 'aria-hidden': 'true' });
    const titleBox = h('div', { class: 'title-box' });
    const bodyBox = h('div', { class: 'body-box' });
    const lockBadge = h('span', { class: 'badge lock-badge', hidden: !s.locked }, '🔒 Locked');
    const signoff = h('div', { class: 'signoff', role: 'group', 'aria-label': 'Sign-off' });
    const suggestions = h('div', { class: 'suggestions' });
    const addBelow = h('button', { type: 'button', class: 'link', onclick: () => this.addSection(s.id) }, '+ Add a section below');
    const course = s.kind === 'course' || s.kind === 'unit';
    const formBox = course ? h('div', { class: 'form-box' }) : null;
    const addUnit = course
      ? h('button', { type: 'button', class: 'link', 'data-action': 'add-unit', onclick: () => this.addUnit() }, '+ Add a microlearning unit')
      : null;
    const article = h('article', { class: 'section', id: `s-${s.id}`, 'data-section': s.id, 'data-kind': s.kind || null },
      h('div', { class: 'section-head' }, number, titleBox, lockBadge),
      signoff,
      formBox,
      bodyBox,
      suggestions,
      h('div', { class: 'section-foot' }, addBelow, addUnit));
    const common = (field) => ({
      field,
      readOnly: !sectionControls(s, this.role, this.me.institution).editable,
      onChange: (op) => this.localEdit(s.id, field, op),
      onSelection: (anchor, head) => {
        this.active = { section: s.id, field };
        this.session.setPresence(s.id, field, anchor, head);
      },
    });
    const view = { article, number, lockBadge, signoff, suggestions, addBelow, addUnit, locked: null, form: null };
    view.title = new FieldEditor({
      ...common('title'), parent: titleBox, text: s.title, label: 'Section title',
      placeholder: 'Section title', onEnter: () => view.body.focus(),
    });
    view.body = new FieldEditor({
      ...common('body'), parent: bodyBox, text: s.body, label: 'Section text (Markdown)',
      // A template section's prompt is the empty body's placeholder, never its text.
      placeholder: s.fields.get(PROMPT_FIELD) || (course ? 'Notes (optional, Markdown)…' : 'Write this section here (Markdown)…'),
    });
    if (course) view.form = new CourseForm({ parent: formBox, section: s, common });
    return view;
  }

  renderOutline(ordered) {
    const editor = can(this.role, 'edit');
    // Drawn again only when what it shows changed (an approval or typing in a body does not).
    const drawn = JSON.stringify([editor, ordered.map((s) => [s.id, s.title, Boolean(s.locked)])]);
    if (drawn === this.outlineDrawn) return;
    this.outlineDrawn = drawn;
    const focused = document.activeElement && this.outline.contains(document.activeElement)
      ? document.activeElement.dataset.key : null;
    const items = ordered.map((s, i) => {
      const name = s.title || 'Untitled section';
      return h('li', {
        draggable: editor ? 'true' : false,
        'data-id': s.id,
        ondragstart: (e) => {
          e.dataTransfer.setData(DRAG_TYPE, s.id);
          e.dataTransfer.effectAllowed = 'move';
        },
        ondragover: (e) => {
          if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
          e.preventDefault();
          const li = e.currentTarget;
          const after = e.clientY > li.getBoundingClientRect().top + li.offsetHeight / 2;
          li.classList.toggle('drop-after', after);
          li.classList.toggle('drop-before', !after);
        },
        ondragleave: (e) => e.currentTarget.classList.remove('drop-before', 'drop-after'),
        ondrop: (e) => {
          const li = e.currentTarget;
          const after = li.classList.contains('drop-after');
          li.classList.remove('drop-before', 'drop-after');
          const id = e.dataTransfer.getData(DRAG_TYPE);
          if (!id) return;
          e.preventDefault();
          this.moveTo(id, s.id, after);
        },
      }, h('div', {},
        h('a', { href: `#s-${s.id}`, 'data-key': `go-${s.id}`, onclick: (e) => { e.preventDefault(); this.sections.get(s.id).title.focus(); } }, name),
        s.locked ? h('span', { class: 'lock-mark', title: 'Locked', 'aria-label': 'Locked' }, '🔒') : null,
        !editor ? null : h('span', { class: 'tools' },
          h('button', { type: 'button', 'data-key': `up-${s.id}`, 'aria-label': `Move “${name}” up`, title: 'Move up', disabled: i === 0, onclick: () => this.move(s.id, -1) }, '↑'),
          h('button', { type: 'button', 'data-key': `down-${s.id}`, 'aria-label': `Move “${name}” down`, title: 'Move down', disabled: i === ordered.length - 1, onclick: () => this.move(s.id, 1) }, '↓'),
          h('button', { type: 'button', 'data-key': `rm-${s.id}`, 'aria-label': `Remove “${name}”`, title: 'Remove', disabled: s.locked, onclick: () => this.confirmRemove(s.id) }, '✕'))));
    });
    replaceChildren(this.outline, items);
    if (focused) {
      const el = this.outline.querySelector(`[data-key="${focused}"]`);
      if (el && !el.disabled) el.focus();
    }
  }

  showPresence() {
    const colors = colorsFor([this.me.client, ...this.others.map((p) => p.client)]);
    const colorOf = (client) => colors.get(client);
    const bySection = new Map();
    for (const p of this.others) {
      const key = `${p.section}\u0000${p.field}`;
      if (!bySection.has(key)) bySection.set(key, []);
      bySection.get(key).push({ client: p.client, name: p.name, color: colorOf(p.client), anchor: p.anchor, head: p.head });
    }
    for (const [id, view] of this.sections) {
      view.title.setCursors(bySection.get(`${id}\u0000title`) || []);
      view.body.setCursors(bySection.get(`${id}\u0000body`) || []);
      if (view.form) view.form.setCursors((f) => bySection.get(`${id}\u0000${f}`) || []);
    }
    const where = (p) => {
      const s = this.doc.section(p.section);
      return s ? `in “${s.title || 'Untitled section'}”` : '';
    };
    const person = (name, institution, client, detail) => h('li', { 'data-client': client },
      h('span', { class: 'swatch', style: `background-color: ${colorOf(client)}`, 'aria-hidden': 'true' }),
      h('span', { class: 'who' }, h('strong', {}, name), h('span', { class: 'inst' }, institution), detail ? h('span', { class: 'where' }, detail) : null));
    replaceChildren(this.people,
      person(`${this.me.name} (you)`, this.me.institution, this.me.client, ''),
      this.others.map((p) => person(p.name, p.institution, p.client, where(p))));
  }

  showRejected() {
    const list = this.session.rejected;
    if (list.length === 0) {
      replaceChildren(this.rejectedBox);
      this.rejectedBox.hidden = true;
      return;
    }
    this.rejectedBox.hidden = false;
    replaceChildren(this.rejectedBox,
      h('h2', {}, 'Edits that could not be saved'),
      h('p', {}, 'Your text is kept here. Copy it back where it belongs, then dismiss the note.'),
      h('ul', {}, list.map((r, i) => {
        const text = r.texts.map((t) => t.text).join('\n');
        return h('li', {},
          h('p', { class: 'reason' }, reasonOf(r)),
          text ? h('pre', { class: 'kept-text' }, text) : h('p', { class: 'muted' }, '(no typed text in this change)'),
          h('div', { class: 'row' },
            text ? h('button', { type: 'button', onclick: () => navigator.clipboard && navigator.clipboard.writeText(text) }, 'Copy the text') : null,
            h('button', { type: 'button', onclick: () => this.session.dismissRejected(i) }, 'Dismiss')));
      })));
  }

  schedulePreview() {
    if (this.previewTimer) return;
    this.previewTimer = setTimeout(() => {
      this.previewTimer = null;
      renderPreview(this.previewBody, this.doc);
    }, PREVIEW_AFTER_MS);
  }

  // ---- The user's actions -------------------------------------------------------------------

  localEdit(section, field, textOp) {
    try {
      const before = this.doc.section(section);
      this.session.edit([{ edit: section, f: field, op: textOp }]);
      // The sync core reports only others' changes: what this user typed reaches the preview,
      // (for a title) the outline and (when a design step's first or last text was typed) the
      // lock button from here.
      this.schedulePreview();
      if (field === 'title') this.renderOutline(this.doc.ordered());
      const after = this.doc.section(section);
      const view = this.sections.get(section);
      if (view && before && after && isIncomplete(before) !== isIncomplete(after)) {
        this.renderSignoff(view, after, sectionControls(after, this.role, this.me.institution));
      }
    } catch (e) {
      // The editor allowed an edit the document does not (the section was locked or removed a
      // moment ago): keep the text where the user can see it and show the document's text.
      const texts = textOp.filter((c) => typeof c === 'string').map((text) => ({ section, field, text }));
      this.session.keepTyped(texts, e.code || 'error', e.message);
      this.render();
    }
  }

  // A local edit of the outline (add, move, remove), then the view follows it.
  structural(op) {
    try {
      this.session.edit(op);
    } catch (e) {
      this.session.rejectedEdit({ code: e.code || 'error', message: e.message, texts: [] });
    }
    this.render();
  }

  addSection(afterId) {
    const ordered = this.doc.ordered();
    const i = afterId === null ? ordered.length - 1 : ordered.findIndex((s) => s.id === afterId);
    const before = i >= 0 ? ordered[i].pos : '';
    let next = i + 1 < ordered.length ? ordered[i + 1].pos : '';
    if (next !== '' && next <= before) next = ''; // equal keys (added at once elsewhere): go past them
    const id = randomId(12);
    this.structural([{ add: id, pos: positionBetween(before, next), title: '', body: '' }]);
    const view = this.sections.get(id);
    if (view) view.title.focus();
  }

  /// Adds a microlearning unit after the last one and puts the cursor in its title.
  addUnit() {
    const id = randomId(12);
    try {
      this.structural([addUnitOp(this.doc, id)]);
    } catch (e) {
      this.session.rejectedEdit({ code: e.code || 'error', message: `the unit could not be added: ${e.message}`, texts: [] });
      return;
    }
    const view = this.sections.get(id);
    if (view) view.title.focus();
  }

  /// Scrolls to a section and puts the cursor in one of its fields (a checklist link); the
  /// title when the field is not shown.
  focusField(section, field) {
    const view = this.sections.get(section);
    if (!view) return;
    view.article.scrollIntoView({ block: 'center' });
    (editorOf(view, field) || view.title).focus();
  }

  move(id, delta) {
    const ordered = this.doc.ordered();
    const i = ordered.findIndex((s) => s.id === id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= ordered.length) return;
    // Between the neighbours on the far side of the section it passes.
    const lo = delta < 0 ? (ordered[j - 1] ? ordered[j - 1].pos : '') : ordered[j].pos;
    const hi = delta < 0 ? ordered[j].pos : (ordered[j + 1] ? ordered[j + 1].pos : '');
    let pos;
    try {
      pos = positionBetween(lo, hi !== '' && hi <= lo ? '' : hi);
    } catch (e) {
      this.session.rejectedEdit({ code: e.code || 'error', message: `the section could not be moved: ${e.message}`, texts: [] });
      return;
    }
    this.structural([{ move: id, pos }]);
  }

  /// Moves section `id` just before (or after) section `target` (dragged in the outline).
  moveTo(id, target, after) {
    if (id === target) return;
    const rest = this.doc.ordered().filter((s) => s.id !== id);
    const t = rest.findIndex((s) => s.id === target);
    if (t < 0 || !this.doc.section(id)) return;
    const at = t + (after ? 1 : 0);
    const lo = at > 0 ? rest[at - 1].pos : '';
    const hi = at < rest.length ? rest[at].pos : '';
    let pos;
    try {
      pos = positionBetween(lo, hi !== '' && hi <= lo ? '' : hi);
    } catch (e) {
      this.session.rejectedEdit({ code: e.code || 'error', message: `the section could not be moved: ${e.message}`, texts: [] });
      return;
    }
    this.structural([{ move: id, pos }]);
  }

  confirmRemove(id) {
    const s = this.doc.section(id);
    if (!s) return;
    const name = s.title || 'Untitled section';
    const remove = h('button', { type: 'button', class: 'danger', value: 'remove' }, 'Remove the section');
    const keep = h('button', { type: 'button', value: 'keep' }, 'Keep it');
    replaceChildren(this.dialog,
      h('p', { id: 'confirm-text' }, `Remove the section “${name}” and its text for everyone?`),
      h('div', { class: 'row' }, keep, remove));
    keep.addEventListener('click', () => this.dialog.close());
    remove.addEventListener('click', () => {
      this.dialog.close();
      const now = this.doc.section(id);
      if (now && !now.removed && !now.locked) this.structural([{ remove: id }]);
    });
    this.dialog.showModal();
    keep.focus();
  }
}

// The editor of a section's field: title, body or a named field of its form (undefined when the
// view does not show that field).
function editorOf(view, field) {
  if (field === 'title' || field === 'body') return view[field];
  return view.form ? view.form.get(field) : undefined;
}

const REASONS = {
  section_locked: 'The section was locked before your edit reached the server.',
  section_removed: 'Someone removed the section before your edit reached the server.',
  edit_dropped: 'Someone else’s change replaced yours before it reached the server.',
  resync: 'The document had to be reloaded from the server before your edit was confirmed.',
  depends_on_rejected: 'This edit was made on top of another edit that could not be saved.',
  document_too_large: 'The document has reached the largest size the server accepts.',
  too_large: 'This change is larger than the server accepts at once.',
  rev_too_old: 'This edit was made on a version of the document that is too old to merge.',
  unconfirmed: 'This edit was sent before the connection was lost, and the document does not have it now.',
  section_suspended: 'The section was waiting for the server’s answer about an earlier edit.',
  restore_failed: 'The edits kept in this browser could not be read back.',
  forbidden: 'Your role in this document does not allow this change.',
  section_incomplete: 'A section cannot be locked for sign-off while its text is still empty.',
  section_not_locked: 'The section was unlocked before your approval reached the server.',
  other_account: 'These edits were made on this device while someone else was logged in; they were not sent under your name.',
};

function reasonOf(r) {
  const plain = REASONS[r.code] || 'This change could not be saved.';
  return `${plain} (${r.message})`;
}
