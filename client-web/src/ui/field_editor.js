// A CodeMirror 6 editor for one field (title, body or a named field) of one section, speaking code points to
// the outside: local changes come out as text ops (ot-text-unicode, code points), remote text
// ops go in and keep the local cursor and selection where they were, and other people's
// cursors and selections are drawn as decorations.

import { Annotation, Compartment, EditorState, StateEffect, StateField, Transaction } from '@codemirror/state';
import { Decoration, EditorView, WidgetType, keymap, placeholder as placeholderText } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { markdownLanguage } from '@codemirror/lang-markdown';
import { LanguageSupport, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { type } from 'ot-text-unicode';
import { changesToTextOp, diffText, textOpToChanges, toCodePoint, toUtf16 } from './text_bridge.js';

// Markdown without the languages of embedded code blocks (they would triple the bundle).
const markdownSupport = new LanguageSupport(markdownLanguage);

/// Marks transactions that bring others' changes in (they are not sent back out).
const remote = Annotation.define();
const setCursors = StateEffect.define();

class CursorWidget extends WidgetType {
  constructor(client, name, color) {
    super();
    this.client = client;
    this.name = name;
    this.color = color;
  }

  eq(other) {
    return other.client === this.client && other.name === this.name && other.color === this.color;
  }

  toDOM() {
    const caret = document.createElement('span');
    caret.className = 'cm-remote-cursor';
    caret.dataset.client = this.client;
    caret.style.borderLeftColor = this.color;
    caret.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.className = 'cm-remote-label';
    label.style.backgroundColor = this.color;
    label.textContent = this.name;
    caret.append(label);
    return caret;
  }

  ignoreEvent() {
    return true;
  }
}

const cursorField = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    let next = deco.map(tr.changes);
    for (const e of tr.effects) if (e.is(setCursors)) next = e.value;
    return next;
  },
  provide: (f) => EditorView.decorations.from(f),
});

// A title is one line: a newline typed or pasted into it becomes a space.
const oneLine = EditorState.transactionFilter.of((tr) => {
  if (!tr.docChanged || tr.annotation(remote) || tr.newDoc.lines === 1) return tr;
  const changes = [];
  tr.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    changes.push({ from: fromA, to: toA, insert: inserted.toString().replace(/\r?\n/g, ' ') });
  });
  return { changes, selection: tr.selection, scrollIntoView: tr.scrollIntoView, userEvent: tr.annotation(Transaction.userEvent) };
});

/// The editor of one field. It starts as a light placeholder showing the text, and becomes a
/// CodeMirror editor on `mount()` (the document view mounts the sections near the screen, so a
/// long document opens quickly) or when it gets the focus.
export class FieldEditor {
  /// @param {object} config
  /// @param {HTMLElement} config.parent
  /// @param {string} config.field 'title', 'body' or a named field
  /// @param {string} config.text
  /// @param {string} config.label the accessible name of the editor
  /// @param {string} [config.placeholder]
  /// @param {boolean} [config.readOnly]
  /// @param {(op: Array) => void} config.onChange a local change, as a text op (code points)
  /// @param {(anchor: number, head: number) => void} config.onSelection the local cursor moved
  ///   (code points), while the editor has focus
  /// @param {() => void} [config.onEnter] Enter in a title
  /// @param {boolean} [config.singleLine] one line (a newline becomes a space); default: the title
  constructor(config) {
    this.config = config;
    this.field = config.field;
    this.onChange = config.onChange;
    this.onSelection = config.onSelection;
    this.readOnly = new Compartment();
    this.readOnlyValue = Boolean(config.readOnly);
    this.textValue = config.text;
    this.cursors = [];
    this.view = null;
    this.singleLine = config.singleLine ?? config.field === 'title';
    this.lite = document.createElement('div');
    this.lite.className = `cm-lite ${this.singleLine ? 'cm-title' : 'cm-body'}`;
    this.lite.tabIndex = 0;
    this.lite.setAttribute('role', 'textbox');
    this.lite.setAttribute('aria-label', config.label);
    this.lite.addEventListener('focus', () => this.focus());
    this.showLite();
    config.parent.append(this.lite);
  }

  showLite() {
    this.lite.textContent = this.textValue || this.config.placeholder || '';
    this.lite.classList.toggle('empty', !this.textValue);
  }

  /// Makes the placeholder a CodeMirror editor (once).
  mount() {
    if (this.view) return;
    const config = this.config;
    const title = this.singleLine;
    const extensions = [
      history(),
      keymap.of([
        ...(title && config.onEnter ? [{ key: 'Enter', run: () => { config.onEnter(); return true; } }] : []),
        ...defaultKeymap, ...historyKeymap,
      ]),
      cursorField,
      this.readOnly.of(EditorState.readOnly.of(this.readOnlyValue)),
      EditorView.contentAttributes.of({ 'aria-label': config.label, ...(title ? {} : { 'aria-multiline': 'true' }) }),
      EditorView.updateListener.of((update) => this.updated(update)),
      config.placeholder ? placeholderText(config.placeholder) : [],
    ];
    if (title) extensions.push(oneLine);
    else extensions.push(EditorView.lineWrapping, markdownSupport, syntaxHighlighting(defaultHighlightStyle));
    this.view = new EditorView({ state: EditorState.create({ doc: this.textValue, extensions }) });
    this.view.dom.classList.add(title ? 'cm-title' : 'cm-body');
    this.lite.replaceWith(this.view.dom);
    if (this.cursors.length) this.setCursors(this.cursors);
  }

  get text() {
    return this.view ? this.view.state.doc.toString() : this.textValue;
  }

  updated(update) {
    for (const tr of update.transactions) {
      if (!tr.docChanged || tr.annotation(remote)) continue;
      const op = changesToTextOp(tr.startState.doc.toString(), tr.changes);
      if (op.length) this.onChange(op);
    }
    const local = update.transactions.some((tr) => !tr.annotation(remote));
    if (this.view.hasFocus && (update.focusChanged || (local && (update.selectionSet || update.docChanged)))) {
      this.reportSelection();
    }
  }

  reportSelection() {
    const { anchor, head } = this.selection();
    this.onSelection(anchor, head);
  }

  /// The main selection in code points: {anchor, head}.
  selection() {
    if (!this.view) return { anchor: 0, head: 0 };
    const { anchor, head } = this.view.state.selection.main;
    const text = this.text;
    return { anchor: toCodePoint(text, anchor), head: toCodePoint(text, head) };
  }

  /// Applies someone else's change (a text op on the current text, code points); the local
  /// cursor and selection stay on the same characters, and undo history skips the change.
  applyRemote(op) {
    if (!this.view) {
      this.textValue = type.apply(this.textValue, op);
      this.showLite();
      return;
    }
    const changes = textOpToChanges(this.text, op);
    this.view.dispatch({ changes, annotations: [remote.of(true), Transaction.addToHistory.of(false)] });
  }

  /// Makes the editor show `text` by the smallest change (after a rebuild or a reload).
  setText(text) {
    if (!this.view) {
      this.textValue = text;
      this.showLite();
      return;
    }
    const change = diffText(this.text, text);
    if (change) this.view.dispatch({ changes: change, annotations: [remote.of(true), Transaction.addToHistory.of(false)] });
  }

  setReadOnly(readOnly) {
    this.readOnlyValue = readOnly;
    if (this.view) this.view.dispatch({ effects: this.readOnly.reconfigure(EditorState.readOnly.of(readOnly)) });
  }

  /// Draws others' cursors and selections: [{client, name, color, anchor, head}] in code points.
  setCursors(list) {
    if (list.length === 0 && this.cursors.length === 0) return;
    this.cursors = list;
    if (!this.view) return;
    const text = this.text;
    const ranges = [];
    for (const c of list) {
      const anchor = toUtf16(text, c.anchor);
      const head = toUtf16(text, c.head);
      const from = Math.min(anchor, head);
      const to = Math.max(anchor, head);
      if (to > from) {
        ranges.push(Decoration.mark({
          class: 'cm-remote-selection', attributes: { style: `background-color: ${c.color}33` },
        }).range(from, to));
      }
      ranges.push(Decoration.widget({ widget: new CursorWidget(c.client, c.name, c.color), side: 1 }).range(head));
    }
    this.view.dispatch({ effects: setCursors.of(Decoration.set(ranges, true)) });
  }

  focus() {
    this.mount();
    this.view.focus();
  }

  destroy() {
    if (this.view) this.view.destroy();
    this.lite.remove();
  }
}
