// A small helper for building DOM nodes: h('button', {type: 'button', onclick}, 'Add').

/// Makes an element. Attributes starting with `on` become event listeners; `class`, `for`,
/// `aria-*`, `data-*` and the rest are set as attributes (false, null and undefined are left
/// out, true sets an empty attribute). Children are nodes or strings (text, never HTML).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/// Replaces all children of el.
export function replaceChildren(el, ...children) {
  el.textContent = '';
  append(el, children);
}
