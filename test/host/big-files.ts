// Shared files over 4 GiB (more than one JavaScript buffer spans on Node 20)
// through the whole supervisor: capture, carry-over after SIGKILL, restore
// at a host restart, and a child that grows its file past 4 GiB. The files
// are sparse: a 5 GiB memory file costs only the few MiB the child writes.
import t from 'tap';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { SnapshotStore } from '../../src/store/index.js';
import { BIN, fixture, scratch, type HostProcess } from './harness.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const child = fixture('big-tail.js');

interface Started { pid: number; resumed: number; size: number; intact: boolean | null }

/** The child's start line after stdout line `from`, and its commit line. */
async function round(host: HostProcess, from: number): Promise<Started> {
  const started = JSON.parse((await host.stdout.waitFor(/^\{"pid":.*\}$/, 60_000, from))[0]) as Started;
  await host.stdout.waitFor(new RegExp(`^\\{"committed":${started.resumed + 1}\\}$`), 30_000, from);
  return started;
}

/** Round `r`'s byte i (as fixtures/big-tail.js writes it). */
const patternByte = (r: number, i: number): number => (i * 7 + r * 13 + (i >>> 12)) & 0xff;

/** Checks bytes [at, at + length) of the image the newest generation in `dir` stands for against round `r`. */
async function newestImageHolds(dir: string, at: number, length: number, r: number): Promise<{ size: number; ok: boolean; sequence: number }> {
  const store = await SnapshotStore.open(dir, { readOnly: true });
  try {
    const [newest] = await store.list();
    if (newest === undefined) throw new Error(`no generation in ${dir}`);
    const generation = await store.get(newest.sequence);
    // Through the chain: the newest generation may be a delta.
    const image = await store.openChain(generation);
    try {
      const bytes = Buffer.alloc(length);
      await image.read(bytes, 0, length, at);
      return { size: generation.manifest.imageSize, ok: bytes.every((b, i) => b === patternByte(r, i)), sequence: newest.sequence };
    } finally {
      await image.close();
    }
  } finally {
    await store.close();
  }
}

/** SIGTERM, the shutdown capture, exit 0. */
async function stop(host: HostProcess): Promise<void> {
  host.child.kill('SIGTERM');
  const exit = await host.exited;
  if (exit.code !== 0) throw new Error(`the host exited with ${JSON.stringify(exit)}; last lines:\n${host.stderr.lines.slice(-10).join('\n')}`);
}

t.test('--size 5G: bytes past 4 GiB survive a SIGKILL (carry-over) and a host restart (restore)', async (t) => {
  const work = scratch(t);
  const dir = `${work.dir}/state`;
  const args = ['--dir', dir, '--size', '5G', '--interval', '0', '--restart-delay', '0ms', '--', process.execPath, child];
  const host = work.start(args);
  const first = await round(host, 0);
  t.match(first, { resumed: 0, size: 5 * GiB, intact: true }, 'the first child starts on an empty 5 GiB file');
  process.kill(first.pid, 'SIGKILL');

  const second = await round(host, host.stdout.lines.length);
  t.match(second, { resumed: 1, size: 5 * GiB, intact: true }, 'after SIGKILL the new child has round 1\'s bytes past 4 GiB');
  await host.stderr.waitFor(/carried the child's memory over/, 1000);
  await host.stderr.waitFor(/captured generation \d+ \(post-mortem\)/, 60_000);
  await stop(host);
  const stored = await newestImageHolds(dir, 4 * GiB + 4093, 2 * MiB, 2);
  t.match(stored, { size: 5 * GiB, ok: true }, `the shutdown generation ${stored.sequence} holds round 2 past 4 GiB`);

  const again = work.start(args);
  const third = await round(again, 0);
  await again.stderr.waitFor(/restored generation \d+/, 1000);
  t.match(third, { resumed: 2, size: 5 * GiB, intact: true }, 'a host restart restores the bytes past 4 GiB');
  await stop(again);
});

t.test('a child that grows its file from 64 MiB to 5 GiB keeps what it wrote past 4 GiB', async (t) => {
  const work = scratch(t);
  const dir = `${work.dir}/state`;
  const args = ['--dir', dir, '--size', '64M', '--interval', '0', '--restart-delay', '0ms', '--', process.execPath, child, '--grow', String(5 * GiB)];
  const host = work.start(args);
  const first = await round(host, 0);
  t.match(first, { resumed: 0, size: 64 * MiB, intact: null }, 'the first child starts on 64 MiB and grows it');
  process.kill(first.pid, 'SIGKILL');

  const second = await round(host, host.stdout.lines.length);
  t.match(second, { resumed: 1, size: 5 * GiB, intact: true }, 'the grown 5 GiB file is carried over whole');
  await host.stderr.waitFor(/captured generation \d+ \(post-mortem\)/, 60_000);
  await stop(host);

  const again = work.start(args);
  const third = await round(again, 0);
  t.match(third, { resumed: 2, size: 5 * GiB, intact: true }, 'restored into a 5 GiB file although --size says 64M');
  await stop(again);
});

t.test('a --size the machine cannot map is one line and exit 2, before anything is written', async (t) => {
  const work = scratch(t);
  const dir = `${work.dir}/state`;
  const cases: Array<[string, string[], RegExp]> = [
    ['2T, above the largest size', ['--size', '2T'], /^shm-host: --size 2T: out of range \(give between 12K .* and 1T, e\.g\. --size 64M\)\n$/],
    ['5G under ulimit -f 1 GiB', ['--size', '5G'], /^shm-host: --size 5G: a shared file of 5\.0 GiB is above this process's file size limit \(EFBIG\) \(give a smaller --size or raise ulimit -f\)\n$/],
  ];
  for (const [name, size, expected] of cases) {
    const limit = name.includes('ulimit') ? 'ulimit -f 1048576; ' : '';
    const r = spawnSync('sh', ['-c', `${limit}exec "$0" "$@"`, process.execPath, BIN, '--dir', dir, ...size, '--', process.execPath, child], { encoding: 'utf8' });
    t.equal(r.status, 2, `${name}: exit 2`);
    t.match(r.stderr, expected, `${name}: one line`);
    t.equal(r.stdout, '', `${name}: no child ran`);
    t.notOk(existsSync(dir), `${name}: the directory was not created`);
  }
});
