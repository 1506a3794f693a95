// The rendered preview of a document: each section's title as a heading and its body as
// Markdown (markdown-it, raw HTML off, a newline is a line break), sanitised with DOMPurify before it reaches the page.

import MarkdownIt from 'markdown-it';
import DOMPurify from 'dompurify';
import { h, replaceChildren } from './dom.js';

const md = new MarkdownIt({ html: false, linkify: true, breaks: true });

/// The body's HTML, sanitised.
export function renderMarkdown(text) {
  return DOMPurify.sanitize(md.render(text), { USE_PROFILES: { html: true } });
}

/// Renders the live sections of a Doc into `el`, a section at a time.
export function renderPreview(el, doc) {
  const parts = doc.ordered().map((s, i) => {
    const body = h('div', { class: 'preview-body' });
    body.innerHTML = renderMarkdown(s.body);
    return h('section', { class: 'preview-section' },
      h('h3', {}, `${i + 1}. ${s.title || 'Untitled section'}`), body);
  });
  replaceChildren(el, parts.length ? parts : h('p', { class: 'muted' }, 'The document has no sections yet.'));
}
