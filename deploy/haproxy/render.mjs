// Renders deploy/haproxy/jointly.cfg for a given set of nodes: the production file with its
// `server` lines replaced by one line per node in the two all-node backends and the primary's
// line in accounts_primary; with `--plain BIND` also made runnable without root, certificate or
// syslog (the cluster test's form: plain HTTP on a loopback port, in the foreground, at most
// 4000 connections). Every
// change asserts that the line it rewrites is there, so an edit of jointly.cfg that the renderer
// no longer understands fails loudly instead of producing a different proxy.
//
// Usage: node deploy/haproxy/render.mjs --node NAME=HOST:PORT[@ID] ... --primary NAME
//          [--plain 127.0.0.1:8080] [--check-inter 2s] [--out FILE]
// (a node's ID defaults to its position, 1-based; keep a node's ID when nodes are added).
//
// As a module: renderConfig(text, options) returns the rendered text; throws RenderError.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const templatePath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'jointly.cfg');

export class RenderError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RenderError';
    this.code = 'render_failed';
  }
}

const kName = /^[A-Za-z0-9_.-]{1,64}$/;
const kAddress = /^[A-Za-z0-9_.:[\]-]+:[0-9]{1,5}$/;
const kInterval = /^[0-9]+(ms|s)$/;

/// Checks and normalises the node list: names and ids unique, addresses HOST:PORT.
function checkNodes(nodes, primary) {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new RenderError('at least one node is needed');
  const names = new Set();
  const ids = new Set();
  const out = nodes.map((n, i) => {
    const id = n.id === undefined ? i + 1 : n.id;
    if (!kName.test(n.name || '')) throw new RenderError(`node name ${JSON.stringify(n.name)} is not 1..64 of [A-Za-z0-9_.-]`);
    if (!kAddress.test(n.address || '')) throw new RenderError(`node ${n.name}: address ${JSON.stringify(n.address)} is not HOST:PORT`);
    if (!Number.isInteger(id) || id < 1 || id > 2147483647) throw new RenderError(`node ${n.name}: id ${id} is not a whole number from 1`);
    if (names.has(n.name)) throw new RenderError(`node name ${n.name} is given twice`);
    if (ids.has(id)) throw new RenderError(`node id ${id} is given twice`);
    names.add(n.name);
    ids.add(id);
    return { name: n.name, address: n.address, id };
  });
  if (!names.has(primary)) throw new RenderError(`the primary ${JSON.stringify(primary)} is not one of the nodes`);
  return out;
}

/// Replaces the run of `server` lines of backend `name` with `lines`.
function replaceServers(text, backend, lines) {
  const re = new RegExp(`(^backend ${backend}\\n(?:(?!backend |frontend ).*\\n)*?)((?:    server .*\\n)+)`, 'm');
  if (!re.test(text)) throw new RenderError(`backend ${backend} with server lines not found in the template`);
  return text.replace(re, (_, head) => head + lines.map((l) => `    ${l}\n`).join(''));
}

/// Replaces every line equal to `from` (after trimming) by `to` (null: deletes it); at least one.
function replaceLine(text, from, to) {
  let found = 0;
  const out = [];
  for (const line of text.split('\n')) {
    if (line.trim() === from) {
      found++;
      if (to !== null) out.push(line.slice(0, line.length - line.trimStart().length) + to);
    } else {
      out.push(line);
    }
  }
  if (found === 0) throw new RenderError(`the line "${from}" is not in the template`);
  return out.join('\n');
}

/// The config for `nodes` ([{name, address, id?}]) with `primary` (a node's name) as the
/// accounts primary. options.plain: a HOST:PORT to listen on with plain HTTP in the foreground,
/// without chroot, user, stats socket, logging or TLS. options.checkInter: the health-check
/// interval (HAProxy time, e.g. "250ms"; default the template's).
export function renderConfig(text, { nodes, primary, plain, checkInter } = {}) {
  const list = checkNodes(nodes, primary);
  const line = (n) => `server ${n.name} ${n.address} id ${n.id}`;
  let out = replaceServers(text, 'documents', list.map(line));
  out = replaceServers(out, 'accounts_primary', list.filter((n) => n.name === primary).map(line));
  out = replaceServers(out, 'any_node', list.map(line));
  if (checkInter !== undefined) {
    if (!kInterval.test(checkInter)) throw new RenderError(`check interval ${JSON.stringify(checkInter)} is not like 250ms or 2s`);
    out = out.replace(/default-server check inter \S+/g, `default-server check inter ${checkInter}`);
  }
  if (plain !== undefined) {
    if (!kAddress.test(plain)) throw new RenderError(`listen address ${JSON.stringify(plain)} is not HOST:PORT`);
    for (const l of ['log /dev/log local0', 'chroot /var/lib/haproxy',
      'stats socket /run/haproxy/admin.sock mode 660 level admin', 'user haproxy', 'group haproxy',
      'daemon', 'log global', 'option httplog', 'bind :80', 'http-request redirect scheme https code 301 unless { ssl_fc }']) {
      out = replaceLine(out, l, null);
    }
    out = replaceLine(out, 'bind :443 ssl crt /etc/haproxy/certs/jointly.pem alpn h2,http/1.1', `bind ${plain}`);
    // An unprivileged HAProxy cannot raise its file limit to what 40000 connections need.
    out = replaceLine(out, 'maxconn 40000', 'maxconn 4000');
  }
  return out;
}

function parseArgs(argv) {
  const o = { nodes: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new RenderError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--node') {
      const m = /^([^=]+)=([^@]+)(?:@([0-9]+))?$/.exec(value());
      if (!m) throw new RenderError(`--node ${argv[i]} is not NAME=HOST:PORT[@ID]`);
      o.nodes.push({ name: m[1], address: m[2], ...(m[3] ? { id: Number(m[3]) } : {}) });
    } else if (a === '--primary') o.primary = value();
    else if (a === '--plain') o.plain = value();
    else if (a === '--check-inter') o.checkInter = value();
    else if (a === '--out') o.out = value();
    else if (a === '--template') o.template = value();
    else throw new RenderError(`unknown argument ${a}`);
  }
  return o;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const o = parseArgs(process.argv.slice(2));
    const text = renderConfig(readFileSync(o.template || templatePath, 'utf8'), o);
    if (o.out) writeFileSync(o.out, text);
    else process.stdout.write(text);
  } catch (e) {
    console.error(`render.mjs: ${e.message}`);
    process.exit(2);
  }
}
