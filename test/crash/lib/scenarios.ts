// The crash scenarios: each is what a host (or a command) does to a
// snapshot directory, as one small function. setup() runs unrecorded and
// counts as durable; run() is what gets crashed at every operation.
import { createReadStream, rmSync, writeFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';
import { capture } from '../../../src/live/index.js';
import { importExport } from '../../../src/store/index.js';
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

export const scenarios: Scenario[] = [
  {
    // A host start (open: lock, sweep) and six full captures on top of two generations.
    name: 'capture',
    setup: (ctx) => captures(ctx, 2),
    run: (ctx) => captures(ctx, 6),
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
    // Captures past --keep: every commit is followed by retention deleting the oldest.
    name: 'retention',
    keep: 2,
    setup: (ctx) => captures(ctx, 2),
    run: (ctx) => captures(ctx, 8),
  },
  {
    // What `shm-host prune --keep 2` (src/cli/prune.ts) does to eight generations.
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
];
