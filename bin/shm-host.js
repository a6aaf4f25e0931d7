#!/usr/bin/env node
// The shm-host command: everything happens in dist/cli/main.js, except
// `--version`, answered here without loading the program (it is what
// scripts and package managers call most, and should cost a bare Node start).
import { readFileSync, statSync } from 'node:fs';
import module from 'node:module';

/**
 * The program's entry: dist/cli-bundle/main.js, the same modules bundled
 * into a few files (scripts/bundle-cli.js, run by npm run build): loading
 * them one by one took most of the host's time before it spawns its child
 * (docs/BENCHMARKS.md, Start-up). A bundle older than dist/cli/main.js (tsc
 * run alone rewrote the modules after it) or none: the modules themselves.
 */
function entry() {
  const modules = new URL('../dist/cli/main.js', import.meta.url);
  const bundle = new URL('../dist/cli-bundle/main.js', import.meta.url);
  try {
    return statSync(bundle).mtimeMs >= statSync(modules).mtimeMs ? bundle : modules;
  } catch {
    return modules;
  }
}

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
  const { main } = await import(entry().href);
  process.exitCode = await main(argv);
}
