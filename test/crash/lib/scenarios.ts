// The crash scenarios: each is what a host (or a command) does to a
// snapshot directory, as one small function. setup() runs unrecorded and
// counts as durable; run() is what gets crashed at every operation.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from '../../../src/live/index.js';
import {
  DurableFile, ImageFile, SnapshotStore, realStoreFs, writeExport, type StoreFs,
} from '../../../src/store/index.js';
import type { Scenario } from './explore.js';
import { replicaScenarios } from './replica-scenarios.js';
import { captures, cli, hostCaptures, importFile, killedHost, leaveDebris, restoreAsHost } from './scenario-kit.js';

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
    // Captures past --keep (six, times CRASH_SCALE): every commit is followed by retention deleting the oldest.
    name: 'retention',
    keep: 2,
    setup: (ctx) => captures(ctx, 2),
    run: (ctx) => captures(ctx, 6 * SCALE),
  },
  {
    // What `shm-host prune --keep 2` (src/cli/prune.ts) does to eight generations (already 2^6 orders of its unsynced unlinks).
    name: 'prune',
    setup: async (ctx) => {
      const store = await ctx.open(10);
      try {
        for (let i = 0; i < 8; i++) {
          ctx.live.commit(2);
          await ctx.captured((await capture(ctx.live.fd, store, 'interval')).generation);
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
  {
    // A host restarting on a chain (a full generation and a delta) and
    // capturing deltas of what it restored (four, times CRASH_SCALE).
    name: 'delta-capture',
    chain: { maxChain: 100, maxChainRatio: 10 },
    setup: (ctx) => captures(ctx, 2),
    run: (ctx) => hostCaptures(ctx, 4 * SCALE),
  },
  {
    // Chains of at most two deltas, --keep 2: the host restores the end of
    // a full chain (1 full, 2 and 3 deltas); its first capture ends the chain
    // with a full generation (4), the next (a delta of 4) lets retention
    // delete the old chain's files (1 to 3), and the fourth ends the new
    // chain (7 full). Times CRASH_SCALE: around again, each chain deleted
    // when the one after it has a delta.
    name: 'chain-bound',
    keep: 2,
    chain: { maxChain: 2, maxChainRatio: 10 },
    setup: (ctx) => captures(ctx, 3),
    run: (ctx) => hostCaptures(ctx, 4 * SCALE),
  },
  ...replicaScenarios,
];
