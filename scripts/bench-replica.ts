// Replication benchmark (npm run bench:replica), against a baseline taken in
// the same run on the same gateway, alternating with it:
//   full generation upload   a generation of one image file (64 MiB and
//                            256 MiB of random bytes) plus its manifest,
//                            offered to the Replicator until its record is
//                            on the replica, vs a plain @aws-sdk/lib-storage
//                            Upload of the same image file (same part size
//                            and parallelism): throughput ratio (target >= 0.8x)
//   steady writer            generations offered faster than the gateway
//                            takes them: lag behind the newest, against
//                            the time of one plain upload
//   delta generations        bytes uploaded per delta against the bytes
//                            changed (scripts/lib/replica-delta-case.ts)
// Needs the S3 gateway the tests use: eval "$(scripts/s3/up.sh)" first.
// BENCH_QUICK=1 shortens it (for a smoke run). BENCH_REPLICA_CASE=delta runs
// the delta case alone and replaces only its rows in docs/BENCHMARKS.md.
import { copyFileSync, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DEFAULT_PART_SIZE, Replicator, S3ReplicaClient } from '../src/replica/index.js';
import { localGeneration } from '../test/replica/helpers.js';
import { machineLine, replaceBenchmarkRows, writeBenchmarkSection } from './lib/benchmarks-doc.js';
import { deltaUploadRows } from './lib/replica-delta-case.js';
import { median } from './lib/median.js';

const endpoint = process.env.SHM_HOST_TEST_S3_ENDPOINT;
if (endpoint === undefined) {
  console.error('bench:replica: no S3 gateway: run eval "$(scripts/s3/up.sh)" first (scripts/s3/install.sh installs Ceph)');
  process.exit(1);
}
const quick = process.env.BENCH_QUICK === '1';
const only = process.env.BENCH_REPLICA_CASE;
if (only !== undefined && only !== 'delta') {
  console.error(`bench:replica: BENCH_REPLICA_CASE=${only}: the only case that runs alone is delta`);
  process.exit(2);
}
const MiB = 1024 * 1024;
const rounds = quick ? 1 : 7;
const sizes = quick ? [16 * MiB] : [64 * MiB, 256 * MiB];
const QUEUE = 4;
const scratch = mkdtempSync(join(tmpdir(), 'shm-host-bench-replica-'));
const bucket = `bench-${Date.now().toString(36)}`;
const admin = new S3Client({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1', forcePathStyle: true });

/** Deletes the objects under `prefix` ('' for all; never the replicator's lease while it runs). */
async function emptyBucket(prefix = ''): Promise<void> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  for (const o of listed.Contents ?? []) await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
}

const fmt = (x: number, digits = 2): string => x.toFixed(digits);
/** CPU time (user + system) this process used since `since`, in ms. */
const cpuMs = (since: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};

/**
 * A writer faster than the gateway: a new 16 MiB generation every 150 ms
 * for 8 s (about 100 MiB/s offered). Lag of a generation: from its offer
 * until it or a newer one is on the replica. The baseline is one plain
 * upload of 16 MiB in the same run. With the backlog bounded, a lag is at
 * least the rest of the upload in flight plus the newest generation's own
 * upload (about two uploads), plus each generation's small requests
 * (manifest, listing, lease check, record, retention).
 */
async function steadyWriter(r: Replicator, after: number, onReplicated: (f: (sequence: number) => void) => void, skippedSoFar: () => number): Promise<string> {
  const size = 16 * MiB;
  const every = 150;
  const seconds = quick ? 2 : 8;
  const offeredAt = new Map<number, number>();
  const lags: number[] = [];
  let caughtUp = (): void => {};
  onReplicated((s) => {
    for (const [seq, at] of offeredAt) {
      if (seq > s) continue;
      lags.push(performance.now() - at);
      offeredAt.delete(seq);
    }
    if (offeredAt.size === 0) caughtUp();
  });
  const skipped0 = skippedSoFar();
  const template = localGeneration(scratch, after + 1, size).files[0]!.path;
  const t0 = performance.now();
  let maxLagGenerations = 0;
  let offered = 0;
  for (let seq = after + 2; performance.now() - t0 < seconds * 1000; seq++) {
    const g = localGeneration(scratch, seq, 1);
    copyFileSync(template, g.files[0]!.path);
    g.files[0]!.bytes = size;
    offeredAt.set(seq, performance.now());
    r.offer(g);
    offered += 1;
    maxLagGenerations = Math.max(maxLagGenerations, r.status().lagGenerations);
    await new Promise((res) => setTimeout(res, every));
  }
  if (offeredAt.size > 0) await new Promise<void>((resolve) => { caughtUp = resolve; });
  const t1 = performance.now();
  await new Upload({ client: admin, params: { Bucket: bucket, Key: 'plain/steady', Body: createReadStream(template) }, partSize: DEFAULT_PART_SIZE, queueSize: QUEUE }).done();
  const oneUpload = performance.now() - t1;
  await emptyBucket('plain/');
  const lag = median(lags);
  return `| replication lag, a 16 MiB generation every ${every} ms for ${seconds} s (${offered} offered, ${skippedSoFar() - skipped0} skipped, at most ${maxLagGenerations} behind) | median ${fmt(lag, 0)} ms, max ${fmt(Math.max(...lags), 0)} ms | one plain 16 MiB upload ${fmt(oneUpload, 0)} ms | **${fmt(lag / oneUpload)}** uploads behind (target: bounded) |`;
}

/** What the delta rows weigh (the paragraph under the table says it). */
const DELTA_NOTE = `A store with deltas on (chain.maxChain 10) captures a
256 MiB memory file whose tail is all written; between captures N MiB
change, as one contiguous run or as 4 KiB pages at random places (pages hit
twice count once). Uploaded: what the Replicator reports for the delta (its
delta file and manifest; the record, under 1 KiB, not counted). Changed: the
4 KiB pages that differ, compared byte for byte. The ratio is the median of
the rounds' ratios. A delta holds whole 4 KiB blocks, so scattered pages
cost no more than a contiguous run; what is uploaded beyond the changed
bytes is the delta's block table and its manifest, about 20 KiB. A capture
the chain limits made full (256 MiB uploaded) is counted in the row, not weighed.`;

let onBytes: (sequence: number, bytes: number) => void = () => {};

async function main(): Promise<void> {
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  const client = new S3ReplicaClient({ bucket, prefix: 'rep', url: `s3://${bucket}/rep`, endpoint, forcePathStyle: true, queueSize: QUEUE });
  let replicated: (sequence: number) => void = () => {};
  let skipped = 0;
  const r = new Replicator({
    client, identity: { host: 'bench' }, retention: { keep: 1 },
    onEvent: (e) => {
      if (e.kind === 'replicated') {
        replicated(e.sequence);
        onBytes(e.sequence, e.bytes);
      }
      if (e.kind === 'skipped') skipped += e.sequences.length;
    },
  });
  await r.start();
  const deltaRounds = quick ? 1 : 5;
  const bytesOf = new Map<number, (bytes: number) => void>();
  const deltas = async (): Promise<string[]> => {
    return deltaUploadRows(r, (s) => new Promise((resolve) => bytesOf.set(s, resolve)), deltaRounds);
  };
  onBytes = (s, bytes) => bytesOf.get(s)?.(bytes);
  if (only === 'delta') {
    const rows = await deltas();
    await r.close();
    client.close();
    const load = loadavg().map((x) => x.toFixed(1)).join(', ');
    replaceBenchmarkRows('Replication', '| bytes uploaded per delta generation', rows, 'Delta rows:', `Delta rows: \`BENCH_REPLICA_CASE=delta npm run bench:replica\`, ${new Date().toISOString().slice(0, 10)}, ${machineLine()}, load average ${load} (1, 5, 15 min). ${DELTA_NOTE}`);
    console.log(rows.join('\n'));
    return;
  }
  const rows: string[] = [];
  let sequence = 0;
  for (const size of sizes) {
    const ours: number[] = [];
    const plain: number[] = [];
    const oursCpu: number[] = [];
    const plainCpu: number[] = [];
    for (let i = 0; i < rounds; i++) {
      sequence += 1;
      const g = localGeneration(scratch, sequence, size);
      const bytes = g.files[0]!.bytes + g.manifest.bytes;
      // Ours: from the offer to the record on the replica.
      const replicator = async (): Promise<void> => {
        const done = new Promise<void>((resolve) => { replicated = (s) => s === g.sequence && resolve(); });
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        r.offer(g);
        await done;
        ours.push(bytes / MiB / ((performance.now() - t0) / 1000));
        oursCpu.push(cpuMs(c0) / (bytes / MiB));
        // Retention deletes the previous generation after the record: not timed.
        while (r.status().state !== 'idle') await new Promise((res) => setTimeout(res, 5));
      };
      // The baseline: the same image through lib-storage alone.
      const baseline = async (): Promise<void> => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await new Upload({ client: admin, params: { Bucket: bucket, Key: `plain/${sequence}`, Body: createReadStream(g.files[0]!.path) }, partSize: DEFAULT_PART_SIZE, queueSize: QUEUE }).done();
        plain.push(g.files[0]!.bytes / MiB / ((performance.now() - t0) / 1000));
        plainCpu.push(cpuMs(c0) / (g.files[0]!.bytes / MiB));
        await emptyBucket('plain/');
      };
      // Alternate which goes first: the gateway collects the other's deleted objects meanwhile.
      if (i % 2 === 0) {
        await replicator();
        await baseline();
      } else {
        await baseline();
        await replicator();
      }
      rmSync(g.files[0]!.path);
      console.error(`${size / MiB} MiB round ${i + 1}: replicator ${fmt(ours.at(-1)!, 1)} MiB/s, plain upload ${fmt(plain.at(-1)!, 1)} MiB/s`);
    }
    // The ratio is the median of each round's ratio: the two sides of a
    // round ran back to back, so they saw the same load on the machine.
    const ratio = median(ours.map((x, i) => x / plain[i]!));
    rows.push(`| full generation, ${size / MiB} MiB image (${rounds} rounds) | ${fmt(median(ours), 1)} MiB/s; ${fmt(median(oursCpu))} ms CPU per MiB | lib-storage Upload ${fmt(median(plain), 1)} MiB/s; ${fmt(median(plainCpu))} ms CPU per MiB | **${fmt(ratio)}x** (target >= 0.8x) |`);
  }
  const steady = await steadyWriter(r, sequence, (f) => { replicated = f; }, () => skipped);
  const deltaRows = await deltas();
  await r.close();
  client.close();
  const body = `| case | Replicator | baseline (same run, same gateway) | ratio |
|---|---|---|---|
${rows.join('\n')}
${steady}
${deltaRows.join('\n')}

Gateway: Ceph RADOS Gateway 16 (Debian 12) on loopback, one OSD on memstore
(scripts/s3/up.sh), sharing the machine's two cores with the benchmark. Both
sides use 8 MiB parts, 4 in parallel, and take turns going first; the ratio
is the median of the rounds' ratios, throughputs are medians. Load average
during the run: ${loadavg().map((x) => x.toFixed(1)).join(', ')} (1, 5, 15 min) on ${cpus().length} cores. CPU is
this process's (the client's) time per MiB sent: steadier than throughput
when other work shares the machine. The Replicator's time runs from the
offer to its record being on the replica: the image, the manifest, a listing
that checks both sizes, and the record; on the way it computes the MD5 of
every part once, sent as Content-MD5 (which the gateway verifies) and folded
into the record's digest (the SDK's CRC32 is turned off for these: one
checked digest per body is enough). The baseline uploads the image alone with the
SDK's defaults (CRC32 per part).

Delta rows: measured in the same run. ${DELTA_NOTE}`;
  // A smoke run's figures are not measurements.
  if (!quick) writeBenchmarkSection('Replication', 'npm run bench:replica', body);
  console.log(body);
}

try {
  await main();
} finally {
  await emptyBucket().catch(() => {});
  admin.destroy();
  rmSync(scratch, { recursive: true, force: true });
}
