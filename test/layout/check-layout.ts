// scripts/check-layout.js (npm run check:layout, run by CI) on small trees
// made here: it passes a tree that keeps the walls and fails, naming the
// file, on each kind of breach issue 10 lists (an arrow against the flow, a
// deep import across folders, a file over 250 lines) and on fixtures or
// scripts importing dist/ or deep into src/.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const SCRIPT = new URL('../../scripts/check-layout.js', import.meta.url).pathname;

/** A tree of `files` (path -> text) in a new directory; the check's exit code and output on it. */
function check(t: Test, files: Record<string, string>): { code: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'shm-host-layout-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

const GOOD: Record<string, string> = {
  'src/errors.ts': 'export class E extends Error {}\n',
  'src/format/index.ts': "export * from './layout.js';\n",
  'src/format/layout.ts': "import { E } from '../errors.js';\nexport const x = E;\n",
  'src/store/index.ts': "export { y } from './store.js';\n",
  'src/store/store.ts': "import { x } from '../format/index.js';\nexport const y = x;\n",
  'src/cli/main.ts': "import { y } from '../store/index.js';\nexport const z = y;\n",
  'src/host/control/index.ts': 'export const c = 1;\n',
  'src/cli/status.ts': "import { c } from '../host/control/index.js';\nexport const s = c;\n",
  'fixtures/child.js': "import { y } from '../src/store/index.js';\nimport { c } from '../src/host/control/index.js';\nimport { E } from '../src/errors.js';\nimport x from 'shm-host';\n",
  'scripts/bench.ts': "import { y } from '../src/store/index.js';\nimport { m } from './lib/median.js';\n",
  'scripts/lib/median.ts': 'export const m = 1;\n',
};

t.test('a tree that keeps the walls passes, and the graph is printed', async (t) => {
  const r = check(t, GOOD);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /store -> format {2}\(1\)/);
  t.match(r.out, /layout ok/);
});

const breaches: Array<[string, Record<string, string>, RegExp]> = [
  ['an arrow against the flow', { 'src/format/bad.ts': "import { y } from '../store/index.js';\n" },
    /src\/format\/bad\.ts: imports \.\.\/store\/index\.js: format -> store goes against the flow/],
  ['a deep import across folders', { 'src/cli/deep.ts': "import { y } from '../store/store.js';\n" },
    /src\/cli\/deep\.ts: imports \.\.\/store\/store\.js: a deep import into store\//],
  ['a file over 250 lines', { 'src/store/long.ts': 'export const a = 1;\n'.repeat(251) }, /src\/store\/long\.ts: 251 lines, more than 250/],
  ['format taking from sys more than the digest', { 'src/sys/index.ts': 'export const xxh3 = 1;\nexport const open = 2;\n', 'src/format/io.ts': "import { xxh3, open } from '../sys/index.js';\n" },
    /src\/format\/io\.ts: imports open from \.\.\/sys\/index\.js: format may take only XXH3_LONG_INPUT, xxh3, xxh3Blocks, xxh3Wide from sys/],
  ['a shared leaf importing a folder', { 'src/leaf.ts': "import { x } from './format/index.js';\n" }, /src\/leaf\.ts: a shared file imports/],
  ['a fixture importing dist/', { 'fixtures/stale.js': "import { attach } from '../dist/client/index.js';\n" },
    /fixtures\/stale\.js: imports \.\.\/dist\/client\/index\.js, inside dist\//],
  ['a script importing deep into src/', { 'scripts/deep.ts': "import { y } from '../src/store/store.js';\n" },
    /scripts\/deep\.ts: imports \.\.\/src\/store\/store\.js: a deep import into src\/store\//],
];

for (const [what, extra, problem] of breaches) {
  t.test(`fails on ${what}`, async (t) => {
    const r = check(t, { ...GOOD, ...extra });
    t.equal(r.code, 1, 'non-zero exit');
    t.match(r.out, /1 layout problem:/);
    t.match(r.out, problem);
  });
}
