// The Python and C rows of `npm run bench:commit`: each client's commit of a
// record against the plain copy of the same bytes in the same language,
// measured by a small program in that language (scripts/lib/bench_commit.py,
// scripts/lib/bench_commit.c) in rounds interleaved with its baseline.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface ClientRow {
  client: string;
  baseline: string;
  size: number;
  commitNs: number;
  copyNs: number;
  /** Median of commit / copy over adjacent rounds. */
  ratio: number;
  /** A second baseline where the language has two plain copies worth showing. */
  other?: { name: string; ns: number; ratio: number };
}

interface Measured { commit_ns: number; copy_ns: number; ratio: number; mmap_copy_ns?: number; mmap_ratio?: number; python?: string }

function run(command: string, args: string[]): Measured {
  return JSON.parse(execFileSync(command, args, { encoding: 'utf8' })) as Measured;
}

/** One row per available client and record size; a missing toolchain is a note instead. */
export function benchClients(sizes: number[], rounds: number, roundMs: number): { rows: ClientRow[]; notes: string[] } {
  const rows: ClientRow[] = [];
  const notes: string[] = [];
  if (spawnSync('python3', ['--version']).error) {
    notes.push('Python: skipped, python3 is not installed');
  } else {
    for (const size of sizes) {
      const r = run('python3', [`${root}scripts/lib/bench_commit.py`, String(size), String(rounds), String(roundMs), `${root}clients/python`]);
      rows.push({
        client: `Python ${r.python}`, baseline: 'bytearray slice assignment', size, commitNs: r.commit_ns, copyNs: r.copy_ns, ratio: r.ratio,
        other: { name: 'mmap slice assignment', ns: r.mmap_copy_ns!, ratio: r.mmap_ratio! },
      });
    }
  }
  if (spawnSync('cc', ['--version']).error) {
    notes.push('C: skipped, no C compiler (cc)');
  } else {
    const dir = mkdtempSync(`${tmpdir()}/shm-host-bench-`);
    try {
      const binary = `${dir}/bench`;
      execFileSync('cc', ['-std=c11', '-O2', '-o', binary, `${root}scripts/lib/bench_commit.c`]);
      for (const size of sizes) {
        const r = run(binary, [String(size), String(rounds), String(roundMs)]);
        rows.push({ client: 'C (cc -O2)', baseline: 'memcpy + the protocol\'s 4 stores and fence', size, commitNs: r.commit_ns, copyNs: r.copy_ns, ratio: r.ratio });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { rows, notes };
}
