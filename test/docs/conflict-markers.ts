// No tracked file holds a merge's conflict markers: a merge resolved in a
// hurry once left both sides of a table in docs/ARCHITECTURE.md, committed.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url).pathname;
const MARKER = /^(<{7}|>{7})( |$)|^={7}$/m;

t.test('no tracked text file holds conflict markers', async (t) => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => /\.(md|ts|js|cjs|mjs|json|py|h|c|sh|ya?ml|toml|txt)$/.test(f) || f.startsWith('.ci/'));
  t.ok(files.length > 50, `git lists the repository's files (${files.length})`);
  const marked = files.filter((f) => {
    try {
      return MARKER.test(readFileSync(`${ROOT}${f}`, 'utf8'));
    } catch {
      return false; // deleted in the work tree
    }
  });
  t.same(marked, [], 'files with <<<<<<<, ======= or >>>>>>> lines');
});
