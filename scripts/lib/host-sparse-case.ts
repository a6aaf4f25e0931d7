// The sparse file through the host: a child on a 1 GiB shared file that
// holds 10 MiB of data and then stays idle (nothing changes between
// captures), a capture asked for with SIGUSR1 and timed until the host logs
// the generation durable, against a plain copy of the 10 MiB (the same
// baseline as the direct capture's row in bench-capture.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost } from './host-process.js';
import { median } from './median.js';

const MiB = 1024 * 1024;
const fmtBytes = (n: number): string => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`);

/**
 * Runs `runs` captures of a host started with `hostArgs` (besides size and
 * interval) and returns the table row, which says what the host's options
 * were. `plainCopyMs` copies `data` bytes of a file holding that much;
 * `small` is that file.
 */
export async function sparseThroughHost(
  small: number, data: number, plainCopyMs: (fd: number, size: number) => number, runs: number, warmups: number, hostArgs: string[] = [],
): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'bench-sparse-host-'));
  const host = startHost(join(work, 'state'), ['--size', '1G', '--interval', '0', ...hostArgs], ['--data', String(data), '--ring', String(64 * 1024)]);
  try {
    await host.out.next(/^ready/);
    const plain: number[] = [];
    const captured: number[] = [];
    const kinds = new Map<string, number>();
    const written: number[] = [];
    for (let i = 0; i < warmups + runs; i++) {
      const p = plainCopyMs(small, data);
      const t0 = performance.now();
      host.proc.kill('SIGUSR1');
      // The host logs a capture once its generation is durable.
      const line = JSON.parse((await host.err.next(/"event":"captured"/)).input!) as { kind: string; bytes: number; fileBytes: number };
      const ms = performance.now() - t0;
      if (i < warmups) continue;
      plain.push(p);
      captured.push(ms);
      kinds.set(line.kind, (kinds.get(line.kind) ?? 0) + 1);
      // A delta's file; a full image's data copied (its file is sparse).
      written.push(line.kind === 'delta' ? line.fileBytes : line.bytes);
    }
    const p = median(plain);
    const c = median(captured);
    const mix = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
    const row = `| 1 GiB holding 10 MiB, through the host${hostArgs.length > 0 ? ` with ${hostArgs.join(' ')}` : ''}, idle child (SIGUSR1 to the log line of the durable generation; ${mix}; median bytes written ${fmtBytes(median(written))}) | ${p.toFixed(1)} ms (copy of ${data / MiB} MiB) | ${c.toFixed(1)} ms | **${(c / p).toFixed(2)}x the time** | ${runs} |`;
    console.log(row);
    return row;
  } finally {
    host.proc.kill('SIGTERM');
    await host.exited;
    rmSync(work, { recursive: true, force: true });
  }
}
