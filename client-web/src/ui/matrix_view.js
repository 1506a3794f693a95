// The sign-off matrix on the page: a table of the document's sections × the team's
// institutions, each cell pending or approved with who and when (signoff.js makes the rows).
// It redraws only the rows that changed (MatrixChanges): one approval replaces one row, not the
// whole table, which at 259 sections × 260 institutions holds 67,340 cells. Not thread-safe
// (the page's one thread).

import { h, replaceChildren } from './dom.js';
import { MatrixChanges } from './signoff.js';

const when = (t) => new Date(t).toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

// The <tr> of one row of the matrix (signoffRow) with `columns` institutions.
function rowElement(r, columns) {
  return h('tr', {
    'data-section': r.id, 'data-state': r.approved ? 'approved' : r.locked ? 'locked' : 'open',
  },
  h('th', { scope: 'row' }, h('a', { href: `#s-${r.id}` }, r.title || 'Untitled section'),
    h('span', { class: 'row-state' }, r.approved ? 'Approved' : r.locked ? `Locked, ${r.count} of ${columns}` : 'Open for editing')),
  r.cells.map((c) => h('td', { 'data-inst': c.institution, 'data-state': c.approval ? 'approved' : r.locked ? 'pending' : 'open' },
    c.approval
      ? [h('span', { class: 'ok' }, '✓ Approved'), h('span', { class: 'by' }, c.approval.user),
        h('time', { class: 'by', datetime: new Date(c.approval.time).toISOString() }, when(c.approval.time))]
      : r.locked ? h('span', { class: 'pending' }, 'Pending') : h('span', { class: 'muted' }, '—'))));
}

export class SignoffMatrixView {
  /// @param {HTMLElement} box where the matrix is drawn
  /// @param {(institutions: string[]) => void} onUnknown called with institutions that approved
  ///   a section but are not in the team given (someone joined: load the team again)
  constructor(box, onUnknown = () => {}) {
    this.box = box;
    this.onUnknown = onUnknown;
    this.changes = new MatrixChanges();
    this.tbody = null;
    this.trs = new Map(); // section id -> its <tr>
  }

  /// Brings the table up to date with `doc` (a Doc) and `team` (institution names).
  update(doc, team) {
    if (team.length === 0) {
      this.changes = new MatrixChanges();
      this.tbody = null;
      this.trs.clear();
      replaceChildren(this.box, h('p', { class: 'muted' }, 'The team is loading…'));
      return;
    }
    const c = this.changes.update(doc, team);
    if (c.unknown.length > 0) this.onUnknown(c.unknown);
    if (c.columnsChanged || !this.tbody) {
      this.tbody = h('tbody');
      this.trs.clear();
      replaceChildren(this.box, h('table', { class: 'matrix' },
        h('caption', { class: 'muted' }, 'Each locked section needs an approval from every institution of the team.'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Section'),
          c.institutions.map((i) => h('th', { scope: 'col' }, i)))),
        this.tbody));
    }
    for (const id of c.removed) {
      const tr = this.trs.get(id);
      if (tr) tr.remove();
      this.trs.delete(id);
    }
    for (const r of c.changed) {
      const tr = rowElement(r, c.institutions.length);
      const old = this.trs.get(r.id);
      if (old) old.replaceWith(tr);
      this.trs.set(r.id, tr);
    }
    // Rows in document order, moving only those out of place (new rows are not placed yet).
    let at = this.tbody.firstChild;
    for (const id of c.order) {
      const tr = this.trs.get(id);
      if (tr === at) at = at.nextSibling;
      else this.tbody.insertBefore(tr, at);
    }
  }
}
