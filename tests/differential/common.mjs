// What the differential tests share: their command line, their randomness, and running the tool.

import { spawn } from 'node:child_process';

export { makeRandom } from '../../client-web/testkit/random.mjs';

/// Reads `--bin PATH [--seed N] [--cases N]`; `script` names the caller in the usage message and
/// `cases` is its default number of cases.
export function parseArgs(argv, { script, cases }) {
  const args = { bin: null, seed: 1, cases };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--bin') { args.bin = value; i++; }
    else if (flag === '--seed') { args.seed = Number(value); i++; }
    else if (flag === '--cases') { args.cases = Number(value); i++; }
    else { throw new Error(`unknown argument ${flag}`); }
  }
  if (!args.bin) throw new Error(`usage: ${script} --bin PATH [--seed N] [--cases N]`);
  if (!Number.isInteger(args.seed) || !Number.isInteger(args.cases) || args.cases < 1) {
    throw new Error('--seed and --cases take whole numbers (cases at least 1)');
  }
  return args;
}

/// Runs the tool at `bin` once, feeding it `lines` (strings or Buffers, one request each) on
/// stdin with back-pressure while reading its answers; resolves to
/// { answers: [line, ...], code, signal } when it has exited.
export async function runTool(bin, lines) {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const spawned = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  // Stop feeding when the tool has gone: waiting for a 'drain' that never comes would let node
  // exit with status 0 and no summary, as if nothing had failed.
  let gone = false;
  spawned.then(() => { gone = true; }, () => { gone = true; });
  const feeding = (async () => {
    for (const line of lines) {
      if (gone) break;
      const chunk = Buffer.isBuffer(line) ? Buffer.concat([line, Buffer.from('\n')]) : line + '\n';
      if (!child.stdin.write(chunk)) {
        await Promise.race([new Promise((resolve) => child.stdin.once('drain', resolve)),
          spawned.catch(() => {})]);
      }
    }
    child.stdin.end();
  })();
  child.stdin.on('error', () => {}); // a tool that died early shows as missing answers

  const answers = [];
  let pending = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (data) => {
    pending += data;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      answers.push(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  const ended = new Promise((resolve) => child.stdout.on('end', resolve));

  await feeding;
  const { code, signal } = await spawned;
  await ended;
  return { answers, code, signal };
}
