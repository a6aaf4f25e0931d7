// A data file no manifest names is removed when a host opens its directory
// (docs/FORMAT.md): an interrupted write's, or a generation whose manifest
// was deleted. The host says which, so nothing goes without a word.
import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHost } from './harness.js';

t.test('a host opening a directory that holds a delta file without its manifest removes it and logs it', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  mkdirSync(dir, { mode: 0o700 });
  const orphan = join(dir, 'gen-0000000000000007.delta');
  writeFileSync(orphan, 'a delta whose manifest was deleted');
  const host = startHost(['--dir', dir, '--interval', '0', '--log-format', 'json', '--', 'true']);
  t.teardown(() => void host.child.kill('SIGKILL'));
  const line = (await host.stderr.waitFor(/"event":"swept"/, 20_000)).input!;
  const event = JSON.parse(line) as { level: string; message: string; files: string[] };
  t.equal(event.level, 'warn');
  t.equal(event.message, 'removed 1 data file no manifest names (an interrupted write\'s, or a generation whose manifest was deleted): gen-0000000000000007.delta');
  t.same(event.files, [orphan]);
  t.equal((await host.exited).code, 0);
  t.notOk(existsSync(orphan), 'removed');
});
