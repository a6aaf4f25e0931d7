// bench-replica.ts's delta case: bytes the Replicator uploads per delta
// generation against the bytes that changed in the memory file since the
// generation before. A real store with deltas on (SnapshotStore with
// chain.maxChain 10) captures a 256 MiB memory file whose tail is all
// written; between captures N MiB of it change, either as one contiguous
// run or as 4 KiB pages scattered at random; each delta is offered to the
// Replicator and weighed by what it reports uploaded (its files and its
// manifest). Bytes changed are counted by comparing the file's 4 KiB pages
// before and after the change, so repeated pages are counted once.
import { closeSync, ftruncateSync, mkdtempSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attach } from '../../src/client/index.js';
import { capture } from '../../src/live/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { F_SEAL_SHRINK, addSeals, memfdCreate } from '../../src/sys/index.js';
import { describeStoreGeneration, type Replicator } from '../../src/replica/index.js';
import { scatter } from './delta-cases.js';
import { median } from './median.js';

const MiB = 1024 * 1024;
const PAGE = 4096;
const SIZE = 256 * MiB;

/** The whole memory file, read into memory. */
function contents(fd: number): Buffer {
  const out = Buffer.alloc(SIZE);
  for (let done = 0; done < SIZE;) done += readSync(fd, out, done, Math.min(SIZE - done, 64 * MiB), done);
  return out;
}

/** Bytes in 4 KiB pages that differ between `a` and `b`. */
function changedBytes(a: Buffer, b: Buffer): number {
  let pages = 0;
  for (let p = 0; p < SIZE; p += PAGE) if (a.compare(b, p, p + PAGE, p, p + PAGE) !== 0) pages += 1;
  return pages * PAGE;
}

/**
 * Rows for BENCHMARKS.md: per pattern and size, the median bytes uploaded
 * per delta against the bytes changed. `shipped(sequence)` resolves with
 * the bytes the Replicator reported for that generation.
 */
export async function deltaUploadRows(r: Replicator, shipped: (sequence: number) => Promise<number>, rounds: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shm-host-bench-replica-delta-'));
  const fd = memfdCreate('bench-replica-delta');
  ftruncateSync(fd, SIZE);
  addSeals(fd, F_SEAL_SHRINK);
  const state = attach({ fd, slots: 1024, ringSize: 1 * MiB });
  const tailBase = state.layout.tailBase;
  const block = Buffer.alloc(16 * MiB);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  for (let p = tailBase; p < SIZE; p += block.length) writeSync(fd, block, 0, Math.min(block.length, SIZE - p), p);
  const store = await SnapshotStore.open(dir, { keep: 12, chain: { maxChain: 10 } });
  let seed = 1;
  /** Captures, offers and waits for the upload; returns [kind, file bytes, bytes uploaded]. */
  const ship = async (): Promise<[string, number, number]> => {
    state.commit(new Uint8Array(64).fill(seed & 0xff));
    const { generation } = await capture(fd, store, 'request');
    const m = generation.manifest;
    const done = shipped(m.sequence);
    r.offer(await describeStoreGeneration(dir, m.sequence));
    return [m.kind ?? 'full', m.delta?.fileBytes ?? SIZE, await done];
  };
  const rows: string[] = [];
  try {
    const [, , full] = await ship();
    const patterns: Array<[string, (mib: number) => void]> = [
      ['one contiguous run', (mib) => {
        const at = tailBase + ((seed * 7 * MiB) % (SIZE - tailBase - mib * MiB));
        const page = Buffer.alloc(mib * MiB, seed & 0xff);
        writeSync(fd, page, 0, page.length, at - (at % PAGE));
      }],
      ['scattered 4 KiB pages', (mib) => scatter(fd, tailBase, SIZE, mib * MiB, seed * 101)],
    ];
    for (const [pattern, change] of patterns) {
      for (const mib of [1, 8, 32]) {
        const ratios: number[] = [];
        const changed: number[] = [];
        const uploaded: number[] = [];
        let fulls = 0;
        // Rounds whose capture the chain limit made full are counted, not weighed.
        for (let i = 0; ratios.length < rounds; i++) {
          seed += 1;
          const before = contents(fd);
          change(mib);
          const c = changedBytes(before, contents(fd));
          const [kind, , up] = await ship();
          if (kind !== 'delta') {
            fulls += 1;
            continue;
          }
          changed.push(c);
          uploaded.push(up);
          ratios.push(up / c);
        }
        const u = median(uploaded);
        const c = median(changed);
        const row = `| bytes uploaded per delta generation: ${mib} MiB changed as ${pattern} of a 256 MiB file (${rounds} deltas${fulls === 0 ? '' : `; ${fulls} full in between, not weighed`}) | ${(u / MiB).toFixed(2)} MiB uploaded | ${(c / MiB).toFixed(2)} MiB changed (4 KiB pages that differ); a full generation uploads ${(full / MiB).toFixed(0)} MiB | **${median(ratios).toFixed(2)}x** the bytes changed |`;
        console.error(`delta: ${row}`);
        rows.push(row);
      }
    }
  } finally {
    state.close();
    await store.close();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
