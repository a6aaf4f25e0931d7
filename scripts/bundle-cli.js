#!/usr/bin/env node
// Bundles the command line (dist/cli/main.js and everything it imports from
// dist/) into one CommonJS file, dist/cli-bundle/main.cjs (and its twin
// main-node20.cjs, below), which bin/shm-host.js runs. Node loads ES
// modules one by one (resolve, an asynchronous read, compile, link): the
// some 110 modules before the host spawns its child cost it more than any
// work it does there, and even the
// dozen chunks of an ES module bundle cost about 8 ms more than one
// CommonJS file, which Node reads and compiles at once (docs/BENCHMARKS.md,
// Start-up). One file still loads lazily: esbuild wraps each module that is
// reached only through a dynamic import() in a function run at that import,
// so the AWS SDK (required inside that wrapper) loads only with --replica,
// and the inspection commands only when they run. Packages (koffi, yargs,
// the AWS SDK...) stay outside, resolved from node_modules: those imported
// statically are required (each has a CommonJS entry). Two files differ in
// the packages imported dynamically (yargs, an ES module only): main.cjs
// keeps them import()s, for Node >= 22, where require() of an ES module
// warns (22.12) and bin/load-bundle.cjs requires the bundle; main-node20.cjs
// requires them (Node 20.19+ does so without a word), because on Node 20
// bin/load-bundle.cjs compiles the bundle with vm.Script, whose import()
// needs --experimental-vm-modules.
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
const common = {
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // The modules' import.meta.url (package.json, createRequire) is the
  // bundle's own URL: dist/cli-bundle/ is as deep as dist/cli/.
  define: { 'import.meta.url': '__bundleUrl' },
  // "use strict" first: the modules are ES modules, strict, and a banner before esbuild's own directive would void it.
  banner: { js: '"use strict";\nconst __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  // Composed with tsc's maps: node --enable-source-maps points at src/.
  sourcemap: true,
  logLevel: 'warning',
};
const entry = join(root, 'dist/cli/main.js');
await build({ ...common, entryPoints: { main: entry } });
await build({ ...common, entryPoints: { 'main-node20': entry }, supported: { 'dynamic-import': false } });
