#!/usr/bin/env node
// The shm-host command: everything happens in dist/cli/main.js, except
// `--version`, answered here without loading the program (it is what
// scripts and package managers call most, and should cost a bare Node start).
import { readFileSync } from 'node:fs';
import module from 'node:module';

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  // Node >= 22.8 (module.enableCompileCache) keeps the compiled code of the program's modules on disk
  // (NODE_COMPILE_CACHE or the temporary directory; NODE_DISABLE_COMPILE_CACHE=1
  // turns it off): the host's start is on the path to its child's
  // (docs/BENCHMARKS.md, Start-up). It never throws, and it is not passed on:
  // the child's environment stays the host's. Node 20 has no such cache.
  if (typeof module.enableCompileCache === 'function') module.enableCompileCache();
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(argv);
}
