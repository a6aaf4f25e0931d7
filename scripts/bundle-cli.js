#!/usr/bin/env node
// Bundles the command line (dist/cli/main.js and everything it imports from
// dist/) into one CommonJS file, dist/cli-bundle/main.cjs, which
// bin/shm-host.js runs. Node loads ES modules one by one (resolve, an
// asynchronous read, compile, link): the some 110 modules before the host
// spawns its child cost it more than any work it does there, and even the
// dozen chunks of an ES module bundle cost about 8 ms more than one
// CommonJS file, which Node reads and compiles at once (docs/BENCHMARKS.md,
// Start-up). One file still loads lazily: esbuild wraps each module that is
// reached only through a dynamic import() in a function run at that import,
// so the AWS SDK (required inside that wrapper) loads only with --replica,
// and the inspection commands only when they run. Packages (koffi, yargs,
// the AWS SDK...) stay outside, resolved from node_modules; their dynamic
// imports become require() calls (each has a CommonJS entry), so the file
// needs no ES module loader (bin/load-bundle.js compiles it with V8's code cache).
// Run after tsc (npm run build); a build by tsc alone leaves the bundle
// older than dist/cli/main.js, and bin/shm-host.js then runs the modules.
//
//   node scripts/bundle-cli.js
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/cli-bundle');
// Whatever an earlier build left there (chunks of the ES module bundle) goes.
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: join(root, 'dist/cli/main.js') },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  supported: { 'dynamic-import': false },
  // The modules' import.meta.url (package.json, createRequire) is the
  // bundle's own URL: dist/cli-bundle/ is as deep as dist/cli/.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  // Composed with tsc's maps: node --enable-source-maps points at src/.
  sourcemap: true,
  logLevel: 'warning',
});
