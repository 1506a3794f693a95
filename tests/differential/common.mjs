// What the differential tests share: their command line and their randomness.

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
