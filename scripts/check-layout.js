#!/usr/bin/env node
// Checks the walls of src/ (docs/ARCHITECTURE.md): prints the folder-level
// import graph, and fails on
//   - an import against the one-way flow
//     cli -> host -> live -> store -> format; replica beside live;
//     client -> format; sys under all (format takes only the digest from it),
//   - a deep import across folders (anything but a folder's index.ts, or a
//     sub-folder's, such as host/control/index.ts),
//   - a file in src/ longer than 250 lines,
//   - an import in fixtures/ or scripts/ of dist/ (a stale build would test
//     old code) or deep into a folder of src/ (only the folders' index.ts,
//     as the package entries expose them, and the shared leaves).
// The files directly in src/ (errors.ts, human-bytes.ts) are shared leaves:
// every folder may import them, and they import no folder.
//
//   node scripts/check-layout.js [ROOT]   (npm run check:layout; ROOT: another
//                                          checkout, default this one)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = process.argv[2] === undefined ? resolve(dirname(fileURLToPath(import.meta.url)), '..') : resolve(process.argv[2]);
const SRC = join(ROOT, 'src');
const MAX_LINES = 250;

/** What each folder may import (besides itself and the shared leaves). Skipping a layer downwards is fine. */
const ALLOWED = {
  sys: [],
  format: ['sys'],
  client: ['format', 'sys'],
  store: ['format', 'sys'],
  live: ['store', 'format', 'sys'],
  replica: ['store', 'format', 'sys'],
  host: ['live', 'replica', 'store', 'format', 'sys'],
  cli: ['host', 'live', 'replica', 'store', 'format', 'sys'],
};
const SHARED = '(shared)';
/** Arrows allowed for some names only: format is pure functions over bytes, and takes from sys the digest's C function alone. */
const ONLY_NAMES = { 'format -> sys': ['XXH3_LONG_INPUT', 'xxh3', 'xxh3Blocks', 'xxh3Wide'] };

/** The names an import statement takes (`import { a, type B } from`), or null for a namespace, default or re-export of everything. */
function importedNames(statement) {
  const braces = /\{([^}]*)\}/.exec(statement);
  if (braces === null) return null;
  return braces[1].split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]).filter((n) => n !== '');
}

function* sourceFiles(dir, pattern = /\.ts$/) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path, pattern);
    else if (pattern.test(name)) yield path;
  }
}

/** The folder of a file in src/ (`store`), or SHARED for a file directly in src/. */
const folderOf = (path) => {
  const parts = relative(SRC, path).split(sep);
  return parts.length === 1 ? SHARED : parts[0];
};

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

const problems = [];
const edges = new Map(); // "a -> b" -> count

for (const file of sourceFiles(SRC)) {
  const text = readFileSync(file, 'utf8');
  const name = relative(ROOT, file);
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_LINES) problems.push(`${name}: ${lines} lines, more than ${MAX_LINES}: split it by concern`);
  const from = folderOf(file);
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith('.')) continue; // a package or node: builtin
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    if (!target.startsWith(SRC + sep)) {
      problems.push(`${name}: imports ${spec}, outside src/`);
      continue;
    }
    const to = folderOf(target);
    if (to === from) continue;
    edges.set(`${from} -> ${to}`, (edges.get(`${from} -> ${to}`) ?? 0) + 1);
    if (to === SHARED) continue;
    if (from === SHARED) {
      problems.push(`${name}: a shared file imports ${spec}; the files directly in src/ import no folder`);
      continue;
    }
    if (!(ALLOWED[from] ?? []).includes(to)) {
      problems.push(`${name}: imports ${spec}: ${from} -> ${to} goes against the flow (${from} may import ${ALLOWED[from]?.join(', ') || 'no other folder'})`);
    }
    const only = ONLY_NAMES[`${from} -> ${to}`];
    if (only !== undefined) {
      const names = importedNames(m[0]);
      const beyond = names === null ? ['*'] : names.filter((n) => !only.includes(n));
      if (beyond.length > 0) problems.push(`${name}: imports ${beyond.join(', ')} from ${spec}: ${from} may take only ${only.join(', ')} from ${to}`);
    }
    const inside = relative(join(SRC, to), target).split(sep);
    const isIndex = inside[inside.length - 1] === 'index.ts' && inside.length <= 2;
    if (!isIndex) problems.push(`${name}: imports ${spec}: a deep import into ${to}/ (import its index.ts instead)`);
  }
}

// fixtures/ and scripts/: through src/'s entries, never dist/.
const DIST = join(ROOT, 'dist');
for (const top of ['fixtures', 'scripts']) {
  let files;
  try {
    files = [...sourceFiles(join(ROOT, top), /\.(js|ts|mjs)$/)];
  } catch {
    continue; // no such folder
  }
  for (const file of files) {
    const name = relative(ROOT, file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      if (target === DIST || target.startsWith(DIST + sep)) {
        problems.push(`${name}: imports ${spec}, inside dist/: import the package entry (shm-host, shm-host/store...) or src/`);
        continue;
      }
      if (!target.startsWith(SRC + sep)) continue;
      const parts = relative(SRC, target).split(sep);
      const isEntry = parts.length === 1 || (parts[parts.length - 1] === 'index.ts' && parts.length <= 3);
      if (!isEntry) problems.push(`${name}: imports ${spec}: a deep import into src/${parts[0]}/ (import its index.ts instead)`);
    }
  }
}

process.stdout.write('folder-level imports (number of import statements):\n');
for (const [edge, count] of [...edges].sort()) process.stdout.write(`  ${edge}  (${count})\n`);
if (problems.length > 0) {
  process.stdout.write(`\n${problems.length} layout problem${problems.length === 1 ? '' : 's'}:\n`);
  for (const p of problems) process.stdout.write(`  ${p}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write('\nlayout ok: one-way flow, imports through index.ts (fixtures/ and scripts/ too, none of dist/), no file over 250 lines\n');
}
