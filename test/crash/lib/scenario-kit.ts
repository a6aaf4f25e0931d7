// What the crash scenarios are made of: captures, the store-side halves of
// the import and prune commands, a host start's restore, debris, and a host
// killed at a chosen operation.
import { closeSync, createReadStream, writeFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.js';
import { capture } from '../../../src/live/index.js';
import { createLogger } from '../../../src/host/index.js';
import { restoreNewest as hostRestoreNewest } from '../../../src/host/restore-newest.js';
import { SnapshotStore, importExport, type Generation } from '../../../src/store/index.js';
import type { ScenarioContext } from './explore.js';

/** `count` captures into the store, each acknowledged (unless `ack` is false) when it returns, the file changing in between. */
export async function captures(ctx: ScenarioContext, count: number, ack = true): Promise<void> {
  const store = await ctx.open();
  try {
    for (let i = 0; i < count; i++) {
      ctx.live.commit(3);
      await ctx.captured((await capture(ctx.live.fd, store, 'interval')).generation, ack);
    }
  } finally {
    await store.close();
  }
}

/** Runs the command line in this process; throws unless it exits 0. */
export async function cli(argv: string[]): Promise<void> {
  const sink = (): PassThrough => new PassThrough().resume();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await main(argv, { stdout: sink(), stderr, stdin: Readable.from([]), env: {} });
  if (code !== 0) throw new Error(`shm-host ${argv.join(' ')} exited ${code}: ${err}`);
}

/** What `shm-host import FILE` does to the store (src/cli/import.ts): every generation kept, the export committed as the newest. */
export async function importFile(ctx: ScenarioContext, file: string): Promise<void> {
  const store = await ctx.open(Number.MAX_SAFE_INTEGER);
  try {
    const input = createReadStream(file);
    try {
      await ctx.captured((await importExport(store, input)).generation);
    } finally {
      input.destroy();
    }
  } finally {
    await store.close();
  }
}

/** Debris an interrupted host leaves: a temporary image and manifest, an image whose manifest never came. */
export function leaveDebris(ctx: ScenarioContext, next: number): void {
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
export function killedHost(ctx: ScenarioContext, when: (name: string, done: string[]) => boolean, work: (store: Promise<SnapshotStore>) => Promise<unknown>): Promise<void> {
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
    void work(SnapshotStore.open(ctx.dir, { keep: ctx.keep, fs, chain: ctx.chain })).catch(() => {});
  });
}

/**
 * What a host start does before its child runs (src/host/restore-newest.ts):
 * restore the newest generation of `store` that verifies into a new memory
 * file, through the store (a delta's chain is read through it, and the
 * store remembers the generation as the parent of the next delta).
 */
async function restoreNewest(ctx: ScenarioContext, store: SnapshotStore): Promise<void> {
  const log = createLogger({ format: 'json', quiet: false, write: () => {} });
  // The restore tells the child (durable_offset) that what it holds is on the disk.
  const { fd, generation } = await hostRestoreNewest(store, { dir: store.dir, size: 64 * 1024, name: 'crash-scenario' }, log);
  try {
    if (generation === null) throw new Error('nothing to restore');
    await ctx.captured(generation);
  } finally {
    closeSync(fd);
  }
}

/** A host start's restore, then nothing more. */
export async function restoreAsHost(ctx: ScenarioContext): Promise<void> {
  const store = await ctx.open();
  try {
    await restoreNewest(ctx, store);
  } finally {
    await store.close();
  }
}

/**
 * A host's life: open, restore the newest verified generation, then
 * `count` captures, each acknowledged when it returns. With chain limits
 * that allow them, these are deltas of the restored generation and of each
 * other, until the chain reaches its bound and a full generation ends it.
 */
export async function hostCaptures(ctx: ScenarioContext, count: number): Promise<Generation[]> {
  const store = await ctx.open();
  const written: Generation[] = [];
  try {
    await restoreNewest(ctx, store);
    for (let i = 0; i < count; i++) {
      ctx.live.commit(3);
      const g = (await capture(ctx.live.fd, store, 'interval')).generation;
      await ctx.captured(g);
      written.push(g);
    }
  } finally {
    await store.close();
  }
  return written;
}
