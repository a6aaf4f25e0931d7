#!/usr/bin/env node
// The shm-host command: everything happens in dist/cli/main.js, except
// `--version`, answered here without loading the program (it is what
// scripts and package managers call most, and should cost a bare Node start).
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(argv);
}
