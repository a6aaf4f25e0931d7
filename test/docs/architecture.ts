// docs/ARCHITECTURE.md stays one page and true: every folder of src/ has
// its entry, and every file it names exists (a bare name in a folder's
// entry, such as `capture.ts` under `live/`, in that folder; a path such
// as `host/interval.ts` under src/, or from the repository's root; a bare
// name elsewhere in some folder).
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const doc = readFileSync(join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');
const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

t.test('one page', async (t) => {
  t.ok(doc.split('\n').length <= 110, `${doc.split('\n').length} lines`);
});

t.test('every folder of src/ has its entry under "What each folder owns"', async (t) => {
  for (const folder of folders) t.match(doc, new RegExp(`^- \`${folder}/\`: `, 'm'), folder);
});

t.test('every file named exists', async (t) => {
  let folder: string | null = null;
  const missing: string[] = [];
  let named = 0;
  for (const line of doc.split('\n')) {
    const entry = /^- `([a-z]+)\/`: /.exec(line);
    if (entry) folder = entry[1]!;
    else if (!line.startsWith('  ')) folder = null;
    for (const m of line.matchAll(/`([\w./-]+\.(?:ts|js|cjs))`/g)) {
      const name = m[1]!;
      named += 1;
      // A bare name outside an entry (the folders' `index.ts`): in some folder.
      const places = name.includes('/') ? [join(ROOT, 'src', name), join(ROOT, name)] : (folder === null ? folders : [folder]).map((f) => join(ROOT, 'src', f, name));
      if (!places.some((p) => existsSync(p))) missing.push(folder === null || name.includes('/') ? name : `${folder}/${name}`);
    }
  }
  t.ok(named > 40, `${named} files named`);
  t.same(missing, [], 'none missing');
});
