// The progress bar: drawn on a terminal only, throttled, erased at the
// end; never on a pipe or with --json. One case under a real pseudo-terminal.
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import t from 'tap';
import { createProgress } from '../../src/cli/progress.js';
import { writeGenerations } from '../../fixtures/cli-store.js';
import { BIN, runCli } from './harness.js';

function terminal(): { stream: PassThrough & { isTTY: boolean; columns: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

t.test('draws at most every 100 ms, always the last step, and erases itself', async (t) => {
  const term = terminal();
  let now = 0;
  const p = createProgress(term.stream, 'copying', 4096, true, () => now);
  p.advance(1024);
  now = 50;
  p.advance(1024); // within 100 ms: not drawn
  now = 150;
  p.advance(1024);
  now = 160;
  p.advance(1024); // the last step is always drawn
  p.finish();
  const frames = term.text().split('\r').filter((f) => f !== '');
  t.same(frames, [
    `copying [${'#'.repeat(10)}${'-'.repeat(30)}]  25% 1.0 KiB / 4.0 KiB\u001b[K`,
    `copying [${'#'.repeat(30)}${'-'.repeat(10)}]  75% 3.0 KiB / 4.0 KiB\u001b[K`,
    `copying [${'#'.repeat(40)}] 100% 4.0 KiB / 4.0 KiB\u001b[K`,
    '\u001b[K',
  ]);
});

t.test('disabled, or with nothing to do, it writes nothing', async (t) => {
  const term = terminal();
  const off = createProgress(term.stream, 'x', 100, false);
  off.advance(50);
  off.finish();
  const empty = createProgress(term.stream, 'x', 0, true);
  empty.advance(0);
  empty.finish();
  t.equal(term.text(), '');
});

t.test('export, import and verify --all show it on a terminal only', async (t) => {
  const base = t.testdir();
  const dir = join(base, 's');
  await writeGenerations(dir, { generations: 2, size: 6 * 1024 * 1024 });
  const onTty = await runCli(['export', 'latest', join(base, 'a.shmx'), '--dir', dir], { tty: true });
  t.equal(onTty.code, 0);
  t.match(onTty.stderr, /^\rexporting \[[#-]+\] +\d+% /);
  t.match(onTty.stderr, /100% 6\.0 MiB \/ 6\.0 MiB\u001b\[K\r\u001b\[K$/, 'ends complete, then erased');
  t.match(onTty.out, /^exported generation 2 /);
  const piped = await runCli(['export', 'latest', join(base, 'b.shmx'), '--dir', dir]);
  t.same([piped.code, piped.stderr], [0, ''], 'nothing extra when not on a terminal');
  const json = await runCli(['export', 'latest', join(base, 'c.shmx'), '--dir', dir, '--json'], { tty: true });
  t.same([json.code, json.stderr], [0, ''], 'nothing extra with --json');
  const imported = await runCli(['import', join(base, 'a.shmx'), '--dir', join(base, 'other')], { tty: true });
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stderr, /^\rimporting \[/);
  const verified = await runCli(['verify', '--all', '--dir', dir], { tty: true });
  t.match(verified.stderr, /^\rverifying \[.*100% 12 MiB \/ 12 MiB\u001b\[K\r\u001b\[K$/s);
  t.equal(verified.out, 'generation 2: ok\ngeneration 1: ok\n');
});

t.test('under a real pseudo-terminal', async (t) => {
  const base = t.testdir();
  const dir = join(base, 's');
  await writeGenerations(dir, { generations: 1, size: 4 * 1024 * 1024 });
  const probe = await execa('script', ['-qec', 'true', '/dev/null'], { reject: false });
  if (probe.exitCode !== 0) {
    t.plan(0, 'script(1) cannot allocate a pseudo-terminal here');
    return;
  }
  const r = await execa('script', ['-qec', `node ${BIN} verify --all --dir ${dir}`, '/dev/null'], { reject: false });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /verifying \[#+\] 100% 4\.0 MiB \/ 4\.0 MiB/);
  t.match(r.stdout, /generation 1: ok/);
});
