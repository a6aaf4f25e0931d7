#!/usr/bin/env node
// The shm-host command: everything happens in the bundle of dist/cli/main.js
// (or those modules themselves), except `--version`, answered here without
// loading the program (it is what scripts and package managers call most,
// and should cost a bare Node start).
// Built-in modules through process.getBuiltinModule(): each first import()
// of one costs about a millisecond, and this is on the host's path to its child.
const { readFileSync, statSync } = process.getBuiltinModule('node:fs');
const module = process.getBuiltinModule('node:module');
const { fileURLToPath } = process.getBuiltinModule('node:url');

/**
 * The program's entry: the same modules bundled into one CommonJS file
 * (scripts/bundle-cli.js, run by npm run build): loading them one by one
 * took most of the host's time before it spawns its child
 * (docs/BENCHMARKS.md, Start-up). dist/cli-bundle/main.cjs where Node has
 * a compile cache of its own (Node >= 22), main-node20.cjs before (its
 * dynamic imports are require() calls: bin/load-bundle.cjs). A bundle older
 * than dist/cli/main.js (tsc run alone rewrote the modules after it) or
 * none: null, and the modules themselves run.
 */
function bundle() {
  const modules = new URL('../dist/cli/main.js', import.meta.url);
  const name = typeof module.enableCompileCache === 'function' ? 'main.cjs' : 'main-node20.cjs';
  const bundled = new URL(`../dist/cli-bundle/${name}`, import.meta.url);
  try {
    return statSync(bundled).mtimeMs >= statSync(modules).mtimeMs ? fileURLToPath(bundled) : null;
  } catch {
    return null;
  }
}

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const file = bundle();
  if (file === null) {
    const { main } = await import('../dist/cli/main.js');
    process.exitCode = await main(argv);
  } else {
    // With its compiled code cached on disk (bin/load-bundle.cjs), saved once the command is done
    // or, for a host that runs on, once its child has started.
    const { loadBundle } = module.createRequire(import.meta.url)('./load-bundle.cjs');
    // The host (a command line with `--`) and the inspection commands run different code: a cache each.
    const { exports, save } = loadBundle(file, argv.includes('--') ? 'host' : 'tools');
    process.exitCode = await exports.main(argv);
    save();
  }
}
