#!/usr/bin/env node
// Bundles the command line (dist/cli/main.js and everything it imports from
// dist/) into a few files in dist/cli-bundle/, which bin/shm-host.js runs:
// Node loads ES modules one by one (resolve, read, compile, link), and the
// some 110 modules before the host spawns its child cost it more than any
// work it does there (docs/BENCHMARKS.md, Start-up). Each dynamic import()
// stays a chunk of its own (code splitting): the AWS SDK still loads only
// with --replica, the inspection commands only when they run. Packages
// (koffi, yargs, the AWS SDK...) stay outside, resolved from node_modules.
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
// Chunk names carry a content hash: old ones would pile up.
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: join(root, 'dist/cli/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // dist/cli-bundle/ is as deep as dist/cli/: main.js finds ../../package.json from either.
  chunkNames: 'chunk-[hash]',
  // Composed with tsc's maps: node --enable-source-maps points at src/.
  sourcemap: true,
  logLevel: 'warning',
});
