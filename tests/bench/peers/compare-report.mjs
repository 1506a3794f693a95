// Prints the comparison table of compare.sh from one results folder: bench-peers' raw run files
// (one per repetition, from run.mjs --out) and jointly-load's (written by compare.sh).
//   node tests/bench/peers/compare-report.mjs <results folder>
// Per cell: the median over repetitions of each peer, the best peer, Jointly measured through
// the harness (same node clients as the peers) and through jointly-load (C++ clients), the
// ratio Jointly / best peer, and whether issue #4's target is met. "other" is the median CPU
// seconds other processes took from the run's two cores in the measured window (run.mjs).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node compare-report.mjs <results folder>');
  process.exit(2);
}
const runs = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')));

const median = (v) => {
  const s = v.filter((x) => x != null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v) => (v == null ? '–' : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

const PEERS = ['sharedb/memory', 'hocuspocus/memory', 'ywebsocket/memory', 'hocuspocus/sqlite', 'ywebsocket/leveldb', 'sharedb/postgres'];
const STORAGE = ['hocuspocus/sqlite', 'ywebsocket/leveldb', 'sharedb/postgres'];
const MEMORY = ['sharedb/memory', 'hocuspocus/memory', 'ywebsocket/memory'];

const isLoad = (r) => r.tool === 'jointly-load';
const clientsOf = (r) => r.params?.clients;
const unloadOf = (r) => !!(r.params?.unload);

// Metric readers: harness run (h) and jointly-load run (l) keep figures in different fields.
const M = {
  editsPerS: { h: (r) => r.figure?.value, l: (r) => r.edits_per_s },
  cpuPerEdit: {
    h: (r) => (r.server?.cpuSecondsWindow != null && r.totalEdits ? (r.server.cpuSecondsWindow * 1e6) / r.totalEdits : null),
    l: (r) => r.server?.cpu_us_per_edit,
  },
  p99: { h: (r) => r.latencyMs?.p99, l: (r) => r.latency_ms?.p99 },
  rss: { h: (r) => r.server?.peakRssMiB, l: (r) => r.server?.hwm_mib },
  cpu: { h: (r) => r.server?.cpuSecondsWindow, l: (r) => r.server?.cpu_s },
  join: { h: (r) => r.figure?.value, l: (r) => r.join_ms },
};

// cell: which runs, which metric, better direction, the peers it compares with, the target.
const cells = [
  { name: 'W1 8 clients edits/s (durable)', w: 'w1', sel: (r) => clientsOf(r) === 8, m: 'editsPerS', max: true, peers: PEERS, jp: 'sync',
    target: (j, best) => j >= 20000, targetText: '≥ 20,000/s' },
  { name: 'W1 8 clients edits/s (--durability none)', w: 'w1', sel: (r) => clientsOf(r) === 8, m: 'editsPerS', max: true, peers: PEERS, jp: 'none',
    target: (j, best) => j >= 10 * best, targetText: '≥ 10× best' },
  { name: 'W1 8 clients server CPU µs/edit (durable)', w: 'w1', sel: (r) => clientsOf(r) === 8, m: 'cpuPerEdit', max: false, peers: PEERS, jp: 'sync',
    target: (j, best) => j <= best / 10, targetText: '≤ 1/10 best' },
  { name: 'W1 1 client edits/s', w: 'w1', sel: (r) => clientsOf(r) === 1, m: 'editsPerS', max: true, peers: PEERS, jp: 'sync' },
  { name: 'W1 32 clients edits/s', w: 'w1', sel: (r) => clientsOf(r) === 32, m: 'editsPerS', max: true, peers: PEERS, jp: 'sync' },
  { name: 'W2 p99 ms', w: 'w2', sel: () => true, m: 'p99', max: false, peers: PEERS, jp: 'sync',
    target: (j, best) => j <= best / 3, targetText: '≤ 1/3 best' },
  { name: 'W3 server peak RSS MiB', w: 'w3', sel: () => true, m: 'rss', max: false, peers: PEERS, jp: 'sync',
    target: (j, best) => j <= best / 4, targetText: '≤ 1/4 best' },
  { name: 'W3 server CPU s', w: 'w3', sel: () => true, m: 'cpu', max: false, peers: PEERS, jp: 'sync',
    target: (j, best) => j <= best / 5, targetText: '≤ 1/5 best' },
  { name: 'W3 p99 ms', w: 'w3', sel: () => true, m: 'p99', max: false, peers: PEERS, jp: 'sync',
    target: (j, best) => j <= best / 3, targetText: '≤ 1/3 best' },
  { name: 'W4 join ms, held in memory', w: 'w4', sel: (r) => !unloadOf(r), m: 'join', max: false, peers: MEMORY, jp: 'sync',
    target: (j, best) => j <= best / 5, targetText: '≤ 1/5 best' },
  { name: 'W4 join ms, loaded from storage', w: 'w4', sel: (r) => unloadOf(r), m: 'join', max: false, peers: STORAGE, jp: 'sync',
    target: (j, best) => j <= best / 5, targetText: '≤ 1/5 best' },
];

const other = (rs) => median(rs.map((r) => r.machine?.otherCpuSecondsWindow));
const lines = [];
lines.push('| cell | ' + PEERS.join(' | ') + ' | best peer | Jointly (harness) | Jointly (jointly-load) | ratio harness / load | target | met harness / load |');
lines.push('|' + ' --- |'.repeat(PEERS.length + 7));
const notes = [];
for (const c of cells) {
  const of = (pred) => runs.filter((r) => r.workload === c.w && c.sel(r) && pred(r));
  const peerVals = PEERS.map((pv) => {
    const rs = of((r) => !isLoad(r) && `${r.peer}/${r.persist}` === pv && r.ok);
    return { pv, v: median(rs.map(M[c.m].h)), other: other(rs), n: rs.length };
  });
  const candidates = peerVals.filter((p) => c.peers.includes(p.pv) && p.v != null);
  if (!candidates.length && !of(() => true).length) continue;
  const best = candidates.length ? candidates.reduce((a, b) => ((c.max ? b.v > a.v : b.v < a.v) ? b : a)) : null;
  const jh = of((r) => !isLoad(r) && r.peer === 'jointly' && r.persist === c.jp);
  const jl = of((r) => isLoad(r) && r.persist === c.jp);
  const jhv = median(jh.filter((r) => r.ok).map(M[c.m].h));
  const jlv = median(jl.filter((r) => r.ok).map(M[c.m].l));
  const failed = [...jh, ...jl].filter((r) => !r.ok).length;
  if (failed) notes.push(`${c.name}: ${failed} Jointly run(s) failed (${[...jh, ...jl].filter((r) => !r.ok).map((r) => r.error?.message || r.error || 'not converged').join('; ').slice(0, 300)})`);
  const ratio = (j) => (j != null && best ? j / best.v : null);
  const met = (j) => (c.target && j != null && best ? (c.target(j, best.v) ? 'yes' : 'NO') : '–');
  lines.push(`| ${c.name} | ` + peerVals.map((p) => (p.v == null ? '–' : `${fmt(p.v)}${p.other != null && p.other > 1 ? ` (other ${fmt(p.other)}s)` : ''}`)).join(' | ') +
    ` | ${best ? `${fmt(best.v)} ${best.pv}` : '–'} | ${fmt(jhv)}${other(jh) > 1 ? ` (other ${fmt(other(jh))}s)` : ''} | ${fmt(jlv)}` +
    ` | ${fmt(ratio(jhv))} / ${fmt(ratio(jlv))} | ${c.targetText || '–'} | ${met(jhv)} / ${met(jlv)} |`);
}
console.log(lines.join('\n'));
for (const n of notes) console.log(`\nnote: ${n}`);
const reps = new Set(runs.map((r) => r.rep)).size;
console.log(`\n${runs.length} runs, up to ${reps} repetition(s) per cell; medians shown. Folder: ${dir}`);
