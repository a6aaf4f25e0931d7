// Issue 10: library errors and log lines name no command-line flag; the
// CLI (src/cli) adds flag names (cli/hints.ts). This reads every string
// and template literal in src/ outside src/cli, by the TypeScript parser (so
// comments, which may cite the flags a piece of code serves, do not count),
// and fails on one that names a flag (`--max-restarts`).
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const SRC = new URL('../../src/', import.meta.url).pathname;

/** Literals that hold a flag but no words for a person, with why. */
const ALLOWED: ReadonlyArray<readonly [file: string, text: string, why: string]> = [
  ['host/child-process.ts', '--pdeathsig', 'an argument to setpriv(1), not a message'],
];

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** The text of every string literal and template part in `file`. */
function literals(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) found.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const FLAG = /(?:^|[\s('"`])--[a-z][a-z-]*/;

t.test('no string outside src/cli names a command-line flag', async (t) => {
  let files = 0;
  const offenders: string[] = [];
  for (const path of sourceFiles(SRC)) {
    const file = relative(SRC, path);
    if (file.startsWith('cli/')) continue;
    files += 1;
    for (const text of literals(path)) {
      if (!FLAG.test(text)) continue;
      if (ALLOWED.some(([f, allowed]) => f === file && text.includes(allowed))) continue;
      offenders.push(`src/${file}: ${JSON.stringify(text)}`);
    }
  }
  t.ok(files > 50, `read ${files} files`);
  t.same(offenders, [], 'say what to do in words and name the option in a field (ShmHostError.option) or through optionName');
});

t.test('the scan sees a flag where there is one', async (t) => {
  t.ok(FLAG.test('giving up (raise --max-restarts)'));
  t.ok(FLAG.test('--replica-takeover'));
  t.notOk(FLAG.test('shm-host -- <command>'), 'the end of the options is no flag');
  t.notOk(FLAG.test('a--b'), 'nor a double dash inside a word');
});
