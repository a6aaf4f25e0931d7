// A chain broken under a running host: the next interval capture is full,
// and the host says why, although interval captures are otherwise not logged.
import t from 'tap';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, startHost, until } from './harness.js';

t.test('a link of the chain deleted under a running host: the next interval capture is full, with a full-generation warning', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  const host = startHost(['--dir', dir, '--size', '1M', '--interval', '100ms', '--log-format', 'json', '--', process.execPath, fixture('counter.js'), '200']);
  t.teardown(() => void host.child.kill('SIGKILL'));
  const files = (): string[] => { try { return readdirSync(dir); } catch { return []; } };
  await until('a delta generation', () => files().some((f) => f.endsWith('.delta')), 20_000);
  const image = files().find((f) => f.endsWith('.img'))!;
  const seen = host.stderr.lines.length;
  rmSync(join(dir, image));
  const line = (await host.stderr.waitFor(/"event":"full-generation"/, 20_000, seen)).input!;
  const event = JSON.parse(line) as { level: string; message: string; sequence: number };
  t.equal(event.level, 'warn');
  t.match(event.message, new RegExp(`^the parent of the delta, generation \\d+, could not be read \\(generation \\d+ cannot be read: .*${image.replace('.', '\\.')}.* is missing\\): a full generation is written instead$`));
  await until('the full generation it names', () => files().includes(`gen-${String(event.sequence).padStart(16, '0')}.img`), 10_000);
  host.child.kill('SIGTERM');
  t.equal((await host.exited).code, 0);
});
