import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);
// Delta capture timing: N deltas of CH MiB scattered changes in a SIZE file; prints medians and globalThis.T stats if code sets them.
import { closeSync, mkdtempSync, rmSync, ftruncateSync, writeSync, openSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { attach } from '../src/client/index.js';
import { F_SEAL_SHRINK, addSeals, memfdCreate, sendfile } from '../src/sys/index.js';
import { SnapshotStore } from '../src/store/index.js';
import { KeptMapping, capture } from '../src/live/index.js';
import { scatter } from './lib/delta-cases.js';
const MiB = 1 << 20;
const size = Number(process.env.SIZE ?? 1024 * MiB);
const N = Number(process.env.N ?? 10);
const scratch = mkdtempSync(join(process.cwd(), '.prof-'));
const fd = memfdCreate('prof'); ftruncateSync(fd, size); addSeals(fd, F_SEAL_SHRINK);
const state = attach({ fd, slots: 4096, ringSize: 4 * MiB });
for (let w = 0, i = 0; w < 4 * MiB; w += 200, i++) state.commit(new Uint8Array(200).fill(i & 0xff));
const tailBase = state.layout.tailBase; state.close();
const block = Buffer.alloc(16 * MiB); for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
for (let p = tailBase; p < size; p += block.length) writeSync(fd, block, 0, Math.min(block.length, size - p), p);
const store = await SnapshotStore.open(join(scratch, 's'), { keep: 3, chain: { maxChain: Number(process.env.MAXCHAIN ?? 1000), maxChainRatio: 10 } });
const kept = new KeptMapping(fd);
const { PerformanceObserver } = await import('node:perf_hooks'); const gcs: any[] = []; new PerformanceObserver((l) => gcs.push(...l.getEntries())).observe({ entryTypes: ['gc'] });
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
try {
  await capture(fd, store, 'request', { kept });
  const walls: number[] = []; const cpus: number[] = []; const plains: number[] = [];
  for (let i = 0; i < N; i++) {
    if (process.env.PYPLAIN) { const t = performance.now(); require('node:child_process').execFileSync('python3', ['-c', `import os\nsrc=os.open('/proc/${process.pid}/fd/${fd}', os.O_RDONLY)\nout=os.open('${join(scratch, 'plain' + (i % 2))}', os.O_WRONLY|os.O_CREAT|os.O_TRUNC, 0o600)\nd=0\nwhile d < ${size}: d += os.sendfile(out, src, d, ${size} - d)\nos.fsync(out)`]); if (i >= 2) plains.push(performance.now() - t); }
    if (process.env.PLAIN) { const t = performance.now(); const out = openSync(join(scratch, process.env.NODEL ? 'plain' + i : 'plain' + (i % 2)), 'w', 0o600); for (let done = 0; done < size;) done += sendfile(out, fd, done, size - done); fsyncSync(out); closeSync(out); if (i >= 2) plains.push(performance.now() - t); }
    if (process.env.SLEEP) await new Promise((r) => setTimeout(r, Number(process.env.SLEEP)));
    if (process.env.DROP) require('node:fs').writeFileSync('/proc/sys/vm/drop_caches', '1');
    if (process.env.SPIN) { const e = performance.now() + Number(process.env.SPIN); let x = 0; while (performance.now() < e) x++; }
    scatter(fd, tailBase, size, Number(process.env.CH ?? 10) * MiB, i + 1);
    if (process.env.FINCORE) { const { execSync } = await import('node:child_process'); console.log(execSync(`fincore --bytes ${join(scratch, 's')}/*.img* ${join(scratch,'s')}/*delta* 2>/dev/null || true`).toString()); }
    const vm = () => Object.fromEntries((require('node:fs').readFileSync('/proc/vmstat','utf8') as string).trim().split('\n').map((l: string) => { const [k, v] = l.split(' '); return [k, Number(v)]; }));
    const v0 = vm();
    (globalThis as any).T = {};
    const t0 = performance.now(); (globalThis as any).T.start = t0;
    const c0 = process.cpuUsage(); const hs = process.hrtime.bigint();
    if (i === N - 1) { const { Session } = await import('node:inspector/promises'); (globalThis as any).S = new Session(); (globalThis as any).S.connect(); await (globalThis as any).S.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }); }
    const m0 = process.memoryUsage();
    await capture(fd, store, 'request', { kept });
    { const m1 = process.memoryUsage(); console.error('EXT', ((m1.external - m0.external) / 1048576).toFixed(1), ((m1.arrayBuffers - m0.arrayBuffers) / 1048576).toFixed(1), (m1.external / 1048576).toFixed(0)); }
    if (i === N - 1) { const r = await (globalThis as any).S.post('HeapProfiler.stopSampling'); require('node:fs').writeFileSync('/tmp/alloc.json', JSON.stringify(r.profile)); }
    const c = process.cpuUsage(c0); await new Promise((r) => setTimeout(r, 5)); if (i >= 2) { const tEnd = performance.now(); const mine = gcs.filter((g) => g.startTime >= t0 && g.startTime <= tEnd); console.error('GC', mine.length, mine.reduce((a, g) => a + g.duration, 0).toFixed(1), mine.map((g) => g.detail?.kind + ':' + g.duration.toFixed(1)).join(' ')); } if (i >= 2) console.error('RANGE', (Number(hs) / 1e9).toFixed(6) + ',' + (Number(process.hrtime.bigint()) / 1e9).toFixed(6));
    const v1 = vm(); const dv: Record<string, number> = {}; for (const k in v1) if (v1[k] - v0[k] > 50 && !/^nr_/.test(k)) dv[k] = v1[k] - v0[k]; if (i >= 2) console.log(JSON.stringify(dv));
    const T = (globalThis as any).T; T.total = performance.now() - t0; delete T.start; for (const k in T) T[k] = Math.round(T[k]);
    if (i >= 2) { walls.push(performance.now() - t0); cpus.push((c.user + c.system) / 1000); if (Object.keys(T).length) console.log(JSON.stringify(T)); }
  }
  if (plains.length) console.log('plain median', med(plains).toFixed(0), 'ratio', (med(walls) / med(plains)).toFixed(3));
  console.log('median wall', med(walls).toFixed(0), 'cpu', med(cpus).toFixed(0), 'min wall', Math.min(...walls).toFixed(0));
} finally { kept.close(); await store.close(); closeSync(fd); rmSync(scratch, { recursive: true, force: true }); }
