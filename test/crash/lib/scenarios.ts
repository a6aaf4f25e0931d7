// The crash scenarios: each is what a host (or a command) does to a
// snapshot directory, as one small function. setup() runs unrecorded and
// counts as durable; run() is what gets crashed at every operation.
import { closeSync, createReadStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';
import { capture, createSharedFile, restoreImage } from '../../../src/live/index.js';
import {
  DurableFile, ImageFile, SnapshotStore, importExport, realStoreFs, writeExport, type StoreFs,
} from '../../../src/store/index.js';
import type { Scenario, ScenarioContext } from './explore.js';

/** `count` captures into the store, each acknowledged (unless `ack` is false) when it returns, the file changing in between. */
async function captures(ctx: ScenarioContext, count: number, ack = true): Promise<void> {
  const store = await ctx.open();
  try {
    for (let i = 0; i < count; i++) {
      ctx.live.commit(3);
      ctx.captured((await capture(ctx.live.fd, store, 'interval')).generation, ack);
    }
  } finally {
    await store.close();
  }
}

/** Runs the command line in this process; throws unless it exits 0. */
async function cli(argv: string[]): Promise<void> {
  const sink = (): PassThrough => new PassThrough().resume();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await main(argv, { stdout: sink(), stderr, stdin: Readable.from([]), env: {} });
  if (code !== 0) throw new Error(`shm-host ${argv.join(' ')} exited ${code}: ${err}`);
}

/** What `shm-host import FILE` does to the store (src/cli/import.ts): every generation kept, the export committed as the newest. */
async function importFile(ctx: ScenarioContext, file: string): Promise<void> {
  const store = await ctx.open(Number.MAX_SAFE_INTEGER);
  try {
    const input = createReadStream(file);
    try {
      ctx.captured((await importExport(store, input)).generation);
    } finally {
      input.destroy();
    }
  } finally {
    await store.close();
  }
}

/** Debris an interrupted host leaves: a temporary image and manifest, an image whose manifest never came. */
function leaveDebris(ctx: ScenarioContext, next: number): void {
  const name = (kind: string): string => `gen-${String(next).padStart(16, '0')}.${kind}`;
  writeFileSync(join(ctx.dir, `.tmp-${name('img')}`), Buffer.alloc(8192, 7), { mode: 0o600 });
  writeFileSync(join(ctx.dir, `.tmp-${name('json')}`), '{"format":', { mode: 0o600 });
  writeFileSync(join(ctx.dir, `gen-${String(next + 1).padStart(16, '0')}.img`), Buffer.alloc(4096, 9), { mode: 0o600 });
}

/**
 * A host on a file system of its own (`ctx.process()`), killed (not the
 * machine: see RecordingFs.kill) just before its operation `when` says.
 * Its work never finishes and none of its cleanup runs.
 */
function killedHost(ctx: ScenarioContext, when: (name: string, done: string[]) => boolean, work: (store: Promise<SnapshotStore>) => Promise<unknown>): Promise<void> {
  const fs = ctx.process();
  const done: string[] = [];
  return new Promise((resolve) => {
    fs.beforeOp = (name) => {
      if (when(name, done)) {
        fs.kill();
        resolve();
      }
      done.push(name);
    };
    void work(SnapshotStore.open(ctx.dir, { keep: ctx.keep, fs })).catch(() => {});
  });
}

/** What a host start does before its child runs (src/host): open, restore the newest verified generation into a new memory file. */
async function restoreAsHost(ctx: ScenarioContext): Promise<void> {
  const store = await ctx.open();
  try {
    const g = (await store.newestVerified()).generation;
    if (g === null) throw new Error('nothing to restore');
    const fd = createSharedFile(g.manifest.imageSize);
    try {
      // The restore tells the child (durable_offset) that what it holds is on the disk.
      await restoreImage(g, fd, g.manifest.imageSize);
      ctx.captured(g);
    } finally {
      closeSync(fd);
    }
  } finally {
    await store.close();
  }
}

/**
 * What `shm-host export 1 out.shmx` does (src/cli/export.ts), with the
 * promise an export makes: once it returned, out.shmx is complete; before,
 * it is absent or complete, never partial; and the next export succeeds.
 */
function exportScenario(): Scenario {
  let expected: Buffer | null = null;
  const exportTo = async (dir: string, path: string, sfs: StoreFs): Promise<void> => {
    const store = await SnapshotStore.open(dir, { readOnly: true, fs: sfs });
    try {
      const g = await store.get(1);
      const image = await ImageFile.open(g.imagePath, undefined, sfs);
      const file = await DurableFile.create(path, true, sfs);
      try {
        await writeExport(image, g.manifest, (chunk) => file.write(chunk));
        await file.commit();
      } catch (err) {
        await file.abort();
        throw err;
      } finally {
        await image.close();
      }
    } finally {
      await store.close();
    }
  };
  return {
    name: 'export',
    setup: (ctx) => captures(ctx, 1, false),
    run: async (ctx) => {
      const path = join(ctx.root, 'out.shmx');
      await exportTo(ctx.dir, path, ctx.fs);
      ctx.ack(1);
      expected = readFileSync(path);
    },
    check: async (base, acked) => {
      const path = join(base, 'out.shmx');
      const problems: string[] = [];
      const found = existsSync(path) ? readFileSync(path) : null;
      if (found === null && acked !== null) problems.push('the acknowledged export is gone');
      if (found !== null && !found.equals(expected!)) problems.push(`out.shmx holds ${found.length} bytes that are not the export (${expected!.length} bytes)`);
      try {
        await exportTo(join(base, 'state'), path, realStoreFs);
        if (!readFileSync(path).equals(expected!)) problems.push('the next export wrote something else');
      } catch (err) {
        problems.push(`the next export fails: ${err instanceof Error ? err.message : String(err)}`);
      }
      return problems;
    },
  };
}

/** How long the longer scenarios run (CRASH_SCALE: npm run test:crash runs them 3 times as long). */
const SCALE = Number(process.env.CRASH_SCALE ?? 1);

export const scenarios: Scenario[] = [
  {
    // A host start (open: lock, sweep) and six full captures (times CRASH_SCALE) on top of two generations.
    name: 'capture',
    setup: (ctx) => captures(ctx, 2),
    run: (ctx) => captures(ctx, 6 * SCALE),
  },
  {
    // The first captures into a directory the host creates with its parents (mkdir -p).
    name: 'first-capture',
    setup: async (ctx) => {
      ctx.dir = join(ctx.root, 'var', 'lib', 'state');
    },
    run: (ctx) => captures(ctx, 3),
  },
  {
    // A host starting where an interrupted one left debris: the open sweeps it, then captures.
    name: 'restart-with-debris',
    setup: async (ctx) => {
      await captures(ctx, 2);
      leaveDebris(ctx, 3);
    },
    run: (ctx) => captures(ctx, 3),
  },
  {
    // Captures past --keep (eight, times CRASH_SCALE): every commit is followed by retention deleting the oldest.
    name: 'retention',
    keep: 2,
    setup: (ctx) => captures(ctx, 2),
    run: (ctx) => captures(ctx, 8 * SCALE),
  },
  {
    // What `shm-host prune --keep 2` (src/cli/prune.ts) does to eight generations (already 2^6 orders of its unsynced unlinks).
    name: 'prune',
    setup: async (ctx) => {
      const store = await ctx.open(10);
      try {
        for (let i = 0; i < 8; i++) {
          ctx.live.commit(2);
          ctx.captured((await capture(ctx.live.fd, store, 'interval')).generation);
        }
      } finally {
        await store.close();
      }
    },
    run: async (ctx) => {
      const store = await ctx.open(Number.MAX_SAFE_INTEGER);
      try {
        await store.prune(2);
      } finally {
        await store.close();
      }
    },
  },
  {
    // What `shm-host import` does with an export of an older generation: it becomes the newest.
    name: 'import',
    setup: async (ctx) => {
      await captures(ctx, 2);
      await cli(['export', '1', join(ctx.aside, 'one.shmx'), '--dir', ctx.dir]);
    },
    run: (ctx) => importFile(ctx, join(ctx.aside, 'one.shmx')),
  },
  {
    // What `shm-host import` does into a directory that does not exist yet: import creates it.
    name: 'import-new-dir',
    setup: async (ctx) => {
      await captures(ctx, 1, false); // into a directory the import does not touch
      await cli(['export', '1', join(ctx.aside, 'one.shmx'), '--dir', ctx.dir]);
      rmSync(ctx.dir, { recursive: true });
      ctx.dir = join(ctx.root, 'restored', 'state');
    },
    run: (ctx) => importFile(ctx, join(ctx.aside, 'one.shmx')),
  },
  {
    // A host killed right after its mkdir of --dir's first missing parent,
    // before the fsync that makes it durable; the next host finds the
    // directory there and captures into it.
    name: 'after-killed-mkdir',
    setup: async (ctx) => {
      ctx.dir = join(ctx.root, 'var', 'lib', 'state');
    },
    run: async (ctx) => {
      await killedHost(ctx, (name, done) => done.at(-1) === 'mkdir', (store) => store);
      await captures(ctx, 1);
    },
  },
  {
    // A host killed between its commit point (the manifest's rename) and the
    // directory fsync; the next host restores that generation, which tells
    // its child the records in it are durable.
    name: 'restore-after-killed-commit',
    setup: (ctx) => captures(ctx, 2),
    run: async (ctx) => {
      await killedHost(ctx, (name, done) => name === 'open' && done.filter((n) => n === 'rename').length === 2, async (opened) => {
        const store = await opened;
        ctx.live.commit(3);
        await capture(ctx.live.fd, store, 'interval');
      });
      await restoreAsHost(ctx);
    },
  },
  exportScenario(),
];
