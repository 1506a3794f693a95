// The history panel beside the document (issue #7; PROTOCOL.md "History API"): the timeline of
// grouped changes (who, institution, when in local time, revisions, sections, restores) with
// filters by section, author, institution and time and an "Older" button; an entry opens the
// document at that revision and what changed since, with Markdown/HTML/JSON exports and, for
// editors and leaders, restoring the whole document or one section after a confirmation; "Who
// wrote this" colours a section's text by institution with a legend; named versions. Document
// text is only ever put in the page as text (textContent), never as HTML. One panel per document
// page, used from the page's single thread.

import {
  historyAt, historyBlame, historyDiff, historyList, listMembers, listVersions, nameVersion, restoreRevision,
} from './api.js';
import { Doc } from '../document.js';
import { h, replaceChildren } from './dom.js';
import {
  EXPORT_FORMATS, blameFields, blameLegend, blameRuns, describeEntry, exportUrl, fieldLabel, historyErrorText, historyQuery, mergeRuns,
  restoresByGroup, sectionChangeText, timeRange, versionNameProblem, whenText,
} from './history_model.js';
import { can } from './signoff.js';

const PAGE = 20;
const REFRESH_AFTER_MS = 1500;
const RESTORE_SCAN_PAGES = 5; // pages of 200 single revisions read to find a page's restores

export class HistoryPanel {
  /// @param {HTMLDetailsElement} root where the panel goes (a `details` in the document's side
  ///   column); it loads when opened
  /// @param {DocSession} session the open document (its doc, role and 'change' events)
  constructor(root, session) {
    this.session = session;
    this.docId = session.docId;
    this.entries = [];
    this.restores = new Map();
    this.next = null;
    this.filters = {};
    this.paged = false;
    this.refreshTimer = null;
    this.loading = 0; // the last load asked for (older answers are dropped)
    this.loads = 0; // loads drawn, as the list's data-loads (tests wait for it)

    const id = (s) => `hist-${s}`;
    this.sectionSel = h('select', { id: id('section') });
    this.authorSel = h('select', { id: id('author') });
    this.instSel = h('select', { id: id('inst') });
    this.fromIn = h('input', { id: id('from'), type: 'datetime-local' });
    this.toIn = h('input', { id: id('to'), type: 'datetime-local' });
    this.filterError = h('p', { class: 'error', role: 'alert' });
    const filters = h('form', { class: 'hist-filters', 'aria-label': 'Filter the history' },
      h('label', { for: id('section') }, 'Section'), this.sectionSel,
      h('label', { for: id('author') }, 'Person'), this.authorSel,
      h('label', { for: id('inst') }, 'Institution'), this.instSel,
      h('label', { for: id('from') }, 'From'), this.fromIn,
      h('label', { for: id('to') }, 'To'), this.toIn,
      this.filterError,
      h('div', { class: 'hist-buttons' },
        h('button', { type: 'submit', 'data-action': 'hist-filter' }, 'Show'),
        h('button', { type: 'button', 'data-action': 'hist-clear', onclick: () => this.clearFilters() }, 'Clear filters')));
    filters.addEventListener('submit', (e) => { e.preventDefault(); this.applyFilters(); });
    this.list = h('ol', { class: 'hist-list', 'aria-label': 'Changes, newest first' });
    this.status = h('p', { class: 'muted', role: 'status' });
    this.olderButton = h('button', { type: 'button', 'data-action': 'hist-older', hidden: true, onclick: () => this.load(true) }, 'Older changes');
    this.newer = h('button', { type: 'button', class: 'link', 'data-action': 'hist-newest', hidden: true, onclick: () => this.load(false) }, 'There are newer changes: show them');
    this.detail = h('div', { class: 'hist-detail', role: 'region', 'aria-label': 'A revision', tabindex: '-1' });
    this.blameSel = h('select', { id: id('blame-section') });
    this.blameBox = h('div', { class: 'hist-blame' });
    this.versionsList = h('ul', { class: 'hist-versions' });
    this.versionName = h('input', { id: id('version-name'), maxlength: 200, placeholder: 'e.g. Sent to the programme boards' });
    this.versionError = h('p', { class: 'error', role: 'alert' });
    this.versionForm = h('form', { class: 'hist-version-form' },
      h('label', { for: id('version-name') }, 'Name the current revision'), this.versionName,
      this.versionError,
      h('button', { type: 'submit', 'data-action': 'hist-name' }, 'Name this version'));
    this.versionForm.addEventListener('submit', (e) => { e.preventDefault(); this.saveVersion(); });
    this.dialog = h('dialog', { class: 'confirm hist-confirm', 'aria-labelledby': id('confirm-text') });

    replaceChildren(root,
      h('summary', {}, h('h2', {}, 'History')),
      filters, this.newer, this.status, this.list, this.olderButton, this.detail,
      h('section', { 'aria-labelledby': id('blame-h'), class: 'hist-blame-box' },
        h('h3', { id: id('blame-h') }, 'Who wrote this'),
        h('label', { for: id('blame-section') }, 'Section'), this.blameSel,
        h('button', { type: 'button', 'data-action': 'hist-blame', onclick: () => this.showBlame() }, 'Colour by institution'),
        this.blameBox),
      h('section', { 'aria-labelledby': id('versions-h') },
        h('h3', { id: id('versions-h') }, 'Named versions'), this.versionsList, this.versionForm),
      this.dialog);

    // A new revision (others' ops, and acks of this user's own edits, which the sync core does
    // not report as changes) refreshes the timeline and the section menus.
    this.seenRev = session.sync.rev;
    const revisionSeen = () => {
      if (session.sync.rev === this.seenRev) return;
      this.seenRev = session.sync.rev;
      this.documentChanged();
    };
    session.on('change', revisionSeen);
    session.on('status', () => {
      this.versionForm.hidden = !can(session.role, 'edit');
      revisionSeen();
    });
    this.versionForm.hidden = !can(session.role, 'edit');
    // Nothing is fetched while the panel is closed: opening it loads what is stale.
    this.root = root;
    this.stale = true;
    root.addEventListener('toggle', () => {
      if (!root.open || !this.stale) return;
      this.stale = false;
      this.fillSections();
      this.loadPeople();
      this.load(false);
      this.loadVersions();
    });
  }

  // ---- Filters ----------------------------------------------------------------------------

  titles() {
    return new Map(this.session.doc.ordered().map((s) => [s.id, s.title]));
  }

  // The sections of the document now, in both section menus (keeping what is chosen).
  fillSections() {
    const sections = this.session.doc.ordered();
    for (const [sel, all] of [[this.sectionSel, 'All sections'], [this.blameSel, null]]) {
      const chosen = sel.value;
      replaceChildren(sel, all ? h('option', { value: '' }, all) : null,
        sections.map((s, i) => h('option', { value: s.id }, `${i + 1}. ${s.title.trim() || 'Untitled section'}`)));
      if ([...sel.options].some((o) => o.value === chosen)) sel.value = chosen;
    }
  }

  // People and institutions of the team for the filters (and any seen in the timeline).
  async loadPeople(seen = []) {
    let members = [];
    try {
      members = (await listMembers(this.docId)).members;
    } catch { /* the timeline's names still fill the menus */ }
    const authors = new Set(members.map((m) => m.user.name));
    const insts = new Set(members.map((m) => m.user.institution.name));
    for (const e of [...seen, ...this.entries]) {
      if (e.author) authors.add(e.author);
      if (e.institution) insts.add(e.institution);
    }
    const fill = (sel, values, all) => {
      const chosen = sel.value;
      replaceChildren(sel, h('option', { value: '' }, all),
        [...values].sort((a, b) => a.localeCompare(b)).map((v) => h('option', { value: v }, v)));
      sel.value = [...sel.options].some((o) => o.value === chosen) ? chosen : '';
    };
    fill(this.authorSel, authors, 'Everyone');
    fill(this.instSel, insts, 'All institutions');
  }

  applyFilters() {
    let range;
    try {
      range = timeRange(this.fromIn.value, this.toIn.value);
    } catch (e) {
      this.filterError.textContent = e.message;
      return;
    }
    this.filterError.textContent = '';
    this.filters = {
      section: this.sectionSel.value, author: this.authorSel.value, institution: this.instSel.value, ...range,
    };
    this.load(false);
  }

  clearFilters() {
    for (const el of [this.sectionSel, this.authorSel, this.instSel, this.fromIn, this.toIn]) el.value = '';
    this.applyFilters();
  }

  // ---- Timeline ---------------------------------------------------------------------------

  /// Loads the newest page (older = false) or the next older one.
  async load(older) {
    const ticket = ++this.loading;
    this.status.textContent = 'Loading the history…';
    try {
      const page = await historyList(this.docId, historyQuery(this.filters, { cursor: older ? this.next : undefined, limit: PAGE }));
      const restores = await this.findRestores(page.entries);
      if (ticket !== this.loading) return;
      if (!older) {
        this.entries = [];
        this.restores = new Map();
        replaceChildren(this.list);
      }
      this.entries.push(...page.entries);
      for (const [k, v] of restores) this.restores.set(k, v);
      this.next = page.next;
      this.paged = older;
      this.newer.hidden = true;
      const titles = this.titles();
      for (const entry of page.entries) this.list.append(this.entryItem(entry, titles));
      this.olderButton.hidden = !page.next;
      this.status.textContent = this.entries.length === 0 ? 'No changes match these filters.' : '';
      this.list.dataset.loads = String(++this.loads);
      if (page.entries.some((e) => !this.authorSel.querySelector(`option[value="${CSS.escape(e.author)}"]`))) this.loadPeople(page.entries);
    } catch (e) {
      if (ticket !== this.loading) return;
      this.status.textContent = historyErrorText(e);
      this.list.dataset.loads = String(++this.loads);
    }
  }

  // Groups do not say which of their revisions restored an earlier one: read the single
  // revisions of the page's span (at most RESTORE_SCAN_PAGES pages of 200) and sort them in.
  async findRestores(groups) {
    if (groups.length === 0) return new Map();
    const oldest = groups[groups.length - 1].first;
    const revisions = [];
    let cursor;
    const span = { ...this.filters, from: groups[groups.length - 1].from, to: groups[0].to };
    for (let i = 0; i < RESTORE_SCAN_PAGES; i++) {
      const page = await historyList(this.docId, historyQuery(span, { cursor, limit: 200, group: 0 }));
      revisions.push(...page.entries);
      cursor = page.next;
      if (!cursor || page.entries.length === 0 || page.entries[page.entries.length - 1].rev <= oldest) break;
    }
    return restoresByGroup(groups, revisions);
  }

  entryItem(entry, titles) {
    const d = describeEntry(entry, titles, this.restores.get(entry.first) || []);
    return h('li', { class: 'hist-entry', 'data-first': entry.first, 'data-last': entry.last, 'data-inst': entry.institution },
      h('button', {
        type: 'button', class: 'hist-open', 'data-action': 'hist-open',
        'aria-label': [`${d.revisions} by ${d.who}${d.institution ? `, ${d.institution}` : ''}, ${d.when}`,
          d.sections.length ? `sections: ${d.sections.join(', ')}` : '', ...d.restored, 'show the document then'].filter(Boolean).join('; '),
        onclick: () => this.showRevision(entry.last),
      },
      h('span', { class: 'hist-who' }, d.who), d.institution ? h('span', { class: 'inst' }, ` · ${d.institution}`) : null,
      h('span', { class: 'hist-when' }, d.when),
      h('span', { class: 'hist-revs' }, `${d.revisions} · ${d.count}`),
      d.sections.length ? h('span', { class: 'hist-sections' }, d.sections.join(', ')) : null,
      d.restored.map((r) => h('span', { class: 'hist-restored', 'data-restored': 'true' }, r))));
  }

  // The document changed (typing, others' revisions): new revisions come into the newest page
  // after a pause; while older pages are open, a button offers them instead.
  documentChanged() {
    if (!this.root.open) {
      this.stale = true;
      return;
    }
    this.fillSections();
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      if (this.paged) this.newer.hidden = false;
      else this.load(false);
    }, REFRESH_AFTER_MS);
  }

  // ---- A revision: the document then, what changed since, exports, restore ----------------

  /// Shows revision `rev`: exports, restore, what changed since, the document then. `said`: a
  /// message to show at the top ({text, error}), e.g. how a restore went.
  async showRevision(rev, said = null) {
    replaceChildren(this.detail, h('p', { class: 'muted' }, `Loading revision ${rev}…`));
    let at;
    let diff;
    try {
      [at, diff] = await Promise.all([historyAt(this.docId, rev), historyDiff(this.docId, rev)]);
    } catch (e) {
      replaceChildren(this.detail, h('p', { class: 'error' }, historyErrorText(e)));
      return;
    }
    const doc = Doc.fromJSON(at.snapshot);
    const editor = can(this.session.role, 'edit');
    const message = h('p', { class: `hist-message${said && said.error ? ' error' : ''}`, role: 'status' }, said ? said.text : '');
    const changes = diff.sections.filter((s) => s.change !== 'unchanged');
    replaceChildren(this.detail,
      h('h3', {}, `Revision ${rev}`, h('button', { type: 'button', class: 'link', 'data-action': 'hist-close', onclick: () => replaceChildren(this.detail) }, ' Close')),
      exportLinks(this.docId, { rev }),
      editor ? h('button', { type: 'button', 'data-action': 'hist-restore-doc', onclick: () => this.confirmRestore(rev, null, message) }, `Restore the whole document to revision ${rev}`) : null,
      message,
      h('h4', {}, 'What changed since then'),
      changes.length === 0 ? h('p', { class: 'muted' }, 'Nothing: the document is the same now.')
        : h('div', { class: 'hist-diff' }, changes.map((s) => diffSection(s, doc, this.titles()))),
      h('h4', {}, `The document at revision ${rev}`),
      h('div', { class: 'hist-doc' },
        doc.ordered().map((s) => h('article', { class: 'hist-section', 'data-section': s.id },
          h('h5', {}, s.title || 'Untitled section'),
          h('div', { class: 'hist-text' }, s.body),
          editor ? h('button', {
            type: 'button', class: 'link', 'data-action': 'hist-restore-section', 'data-section': s.id,
            onclick: () => this.confirmRestore(rev, s, message),
          }, 'Restore this section') : null))));
    this.detail.focus();
  }

  confirmRestore(rev, section, message) {
    const what = section ? `the section “${section.title.trim() || 'Untitled section'}”` : 'the whole document';
    const yes = h('button', { type: 'button', class: 'danger', 'data-action': 'hist-confirm' }, 'Restore');
    const no = h('button', { type: 'button', 'data-action': 'hist-cancel' }, 'Cancel');
    replaceChildren(this.dialog,
      h('p', { id: 'hist-confirm-text' }, `Restore ${what} to how it was at revision ${rev}? This makes a new revision; nothing in the history is lost, and you can restore back.`),
      h('div', { class: 'hist-buttons' }, yes, no));
    no.addEventListener('click', () => this.dialog.close());
    yes.addEventListener('click', async () => {
      this.dialog.close();
      message.className = 'hist-message';
      message.textContent = 'Restoring…';
      try {
        const out = await restoreRevision(this.docId, rev, section ? section.id : undefined);
        const text = out.changed
          ? `Restored from revision ${rev} as revision ${out.rev}.`
          : `Nothing to restore: ${section ? 'the section is' : 'the document is'} already as it was at revision ${rev}.`;
        message.textContent = text;
        this.load(false);
        await this.showRevision(rev, { text }); // what changed since is now the restore's result
      } catch (e) {
        message.className = 'hist-message error';
        message.textContent = historyErrorText(e);
      }
    });
    this.dialog.showModal();
    no.focus();
  }

  // ---- Blame ------------------------------------------------------------------------------

  async showBlame() {
    const section = this.blameSel.value;
    if (!section) return;
    replaceChildren(this.blameBox, h('p', { class: 'muted' }, 'Loading…'));
    let b;
    try {
      b = await historyBlame(this.docId, section);
    } catch (e) {
      replaceChildren(this.blameBox, h('p', { class: 'error' }, historyErrorText(e)));
      return;
    }
    if (!b.live) {
      replaceChildren(this.blameBox, h('p', { class: 'muted' }, 'This section has been removed.'));
      return;
    }
    const fields = blameFields(b);
    const legend = blameLegend(b.title, b.body, ...fields.map((f) => f.spans));
    const draw = (spans) => blameRuns(spans, legend).map((r) => h('span', {
      class: 'blame-run', 'data-inst': r.institution, title: r.title, style: `--inst: ${r.color}`,
    }, r.text));
    replaceChildren(this.blameBox,
      h('ul', { class: 'blame-legend', 'aria-label': 'Colours' }, legend.map((l) => h('li', { 'data-inst': l.institution },
        h('span', { class: 'swatch', style: `background: ${l.color}`, 'aria-hidden': 'true' }),
        ` ${l.label} (${l.characters} character${l.characters === 1 ? '' : 's'})`))),
      h('h5', { class: 'blame-title' }, draw(b.title)),
      h('div', { class: 'hist-text blame-body', 'data-section': section }, draw(b.body)),
      fields.map((f) => h('div', { class: 'blame-field', 'data-field': f.name },
        h('h6', {}, f.label), h('div', { class: 'hist-text' }, draw(f.spans)))));
  }

  // ---- Named versions ---------------------------------------------------------------------

  async loadVersions() {
    try {
      const versions = await listVersions(this.docId);
      replaceChildren(this.versionsList, versions.length === 0
        ? h('li', { class: 'muted' }, 'No named versions yet.')
        : versions.slice().reverse().map((v) => h('li', { 'data-rev': v.rev },
          h('button', { type: 'button', class: 'link', onclick: () => this.showRevision(v.rev) }, v.name),
          h('span', { class: 'muted' }, ` · revision ${v.rev}, named by ${v.by}, ${whenText(v.time)}`),
          exportLinks(this.docId, { version: v.name }))));
    } catch (e) {
      replaceChildren(this.versionsList, h('li', { class: 'error' }, historyErrorText(e)));
    }
  }

  async saveVersion() {
    const name = this.versionName.value;
    const problem = versionNameProblem(name);
    this.versionError.textContent = problem || '';
    if (problem) return;
    try {
      await nameVersion(this.docId, name.trim());
      this.versionName.value = '';
      this.loadVersions();
    } catch (e) {
      this.versionError.textContent = historyErrorText(e);
    }
  }
}

// Download links of the three export formats for a revision or a named version.
function exportLinks(doc, which) {
  return h('p', { class: 'hist-exports' }, 'Download: ',
    EXPORT_FORMATS.map((f, i) => [i ? ' · ' : '', h('a', { href: exportUrl(doc, f.id, which), download: '', 'data-format': f.id }, f.label)]));
}

// One section of a diff: its title then and what changed, inserted and deleted words marked.
function diffSection(d, then, titles) {
  const old = then.section(d.id);
  const name = titles.get(d.id) ?? (old && old.title) ?? 'a section';
  const runs = (list) => mergeRuns(list).map((r) => (r.kind === 'insert' ? h('ins', {}, r.text)
    : r.kind === 'delete' ? h('del', {}, r.text) : h('span', {}, r.text)));
  return h('article', { class: 'hist-section', 'data-section': d.id, 'data-change': d.change },
    h('h5', {}, name.trim() || 'Untitled section', h('span', { class: 'muted' }, ` — ${sectionChangeText(d)}`)),
    d.title.some((r) => r.kind !== 'equal') ? h('p', { class: 'hist-text' }, 'Title: ', runs(d.title)) : null,
    d.body.some((r) => r.kind !== 'equal') ? h('div', { class: 'hist-text' }, runs(d.body)) : null,
    Object.entries(d.fields || {}).map(([field, list]) => h('div', { class: 'hist-text' }, `${fieldLabel(field)}: `, runs(list))));
}
