// Builds the browser client into dist/: index.html, app.js (one minified ES module bundle of
// src/ui/main.js and everything it imports) and app.css. Node 18+.
//
//   node build.mjs            a release build (minified, with a source map)
//   node build.mjs --dev      unminified, for reading in the browser's debugger
//
// Prints the sizes of app.js, raw and gzipped.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
const dev = process.argv.includes('--dev');
// Built beside dist/ and put in its place at the end, so a running server never serves half a
// build.
const out = path.join(here, `.dist-${process.pid}`);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(here, 'src/ui/main.js')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: !dev,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'index.html'), path.join(out, 'index.html'));
copyFileSync(path.join(here, 'src/ui/app.css'), path.join(out, 'app.css'));
rmSync(dist, { recursive: true, force: true });
renameSync(out, dist);

const js = readFileSync(path.join(dist, 'app.js'));
const css = readFileSync(path.join(dist, 'app.css'));
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`client-web/dist: app.js ${kib(js.length)} (${kib(gzipSync(js, { level: 9 }).length)} gzip), ` +
  `app.css ${kib(statSync(path.join(dist, 'app.css')).size)} (${kib(gzipSync(css, { level: 9 }).length)} gzip)`);
