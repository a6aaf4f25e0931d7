// Shared by the replica tests: the S3 gateway the environment names (or the
// reason there is none), fresh buckets, scratch directories. Not a test itself.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

import { scratchDir } from '../store/helpers.js';
export { scratchDir };

/** The gateway's endpoint, or why the S3 tests cannot run here. */
export async function s3Gateway(): Promise<{ endpoint: string } | { skip: string }> {
  const endpoint = process.env.SHM_HOST_TEST_S3_ENDPOINT;
  const start = 'start one with: eval "$(scripts/s3/up.sh)" (scripts/s3/install.sh installs Ceph)';
  if (endpoint === undefined || endpoint === '') return { skip: `no S3 gateway: SHM_HOST_TEST_S3_ENDPOINT is not set; ${start}` };
  if (process.env.AWS_ACCESS_KEY_ID === undefined) return { skip: `no S3 credentials: AWS_ACCESS_KEY_ID is not set; ${start}` };
  try {
    await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(3000) });
  } catch (e) {
    return { skip: `the S3 gateway at ${endpoint} does not answer (${(e as Error).message}); ${start}` };
  }
  return { endpoint };
}

/** An SDK client on the test gateway, for setting up and inspecting (not the code under test). */
export function adminS3(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1', forcePathStyle: true });
}

/** A new bucket on the gateway, emptied and deleted after the test. */
export async function freshBucket(t: Teardown, endpoint: string, label: string): Promise<string> {
  const bucket = `shm-${label}-${randomBytes(4).toString('hex')}`;
  const s3 = adminS3(endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  t.teardown(async () => {
    try {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const o of listed.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    } catch {
      // The gateway may be gone already (fault tests); its data goes with it.
    } finally {
      s3.destroy();
    }
  });
  return bucket;
}

/** `n` pseudo-random bytes (distinct per call). */
export const noise = (n: number): Buffer => randomBytes(n);

/**
 * Writes generation `sequence` into `dir` as the store would (a data file
 * of `bytes` random bytes and a small manifest) and describes it.
 */
export function localGeneration(dir: string, sequence: number, bytes: number, parent?: number): import('../../src/replica/index.js').LocalGeneration {
  const seq = String(sequence).padStart(16, '0');
  const image = join(dir, `gen-${seq}.img`);
  const manifest = join(dir, `gen-${seq}.json`);
  writeFileSync(image, randomBytes(bytes));
  const m = Buffer.from(JSON.stringify({ sequence, parent: parent ?? null, bytes }));
  writeFileSync(manifest, m);
  const g: import('../../src/replica/index.js').LocalGeneration = {
    sequence, offset: String(sequence * 100),
    files: [{ name: `gen-${seq}.img`, path: image, bytes }],
    manifest: { name: `gen-${seq}.json`, path: manifest, bytes: m.length },
  };
  if (parent !== undefined) g.parent = parent;
  return g;
}

/** Polls `check` every 10 ms until it is true, failing after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What the replica-counter fixture logged: each commit's value and offset, and each replicated_offset it saw. */
export function replicaCounterLog(path: string): { commits: Array<{ value: number; offset: bigint }>; replicated: bigint[] } {
  const commits: Array<{ value: number; offset: bigint }> = [];
  const replicated: bigint[] = [];
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  for (const line of text.split('\n')) {
    const c = /^commit (\d+) (\d+)$/.exec(line);
    if (c) commits.push({ value: Number(c[1]), offset: BigInt(c[2]!) });
    const r = /^replicated (\d+)$/.exec(line);
    if (r) replicated.push(BigInt(r[1]!));
  }
  return { commits, replicated };
}

/**
 * The machine is lost: a child under `--replica` (replicaArgs), the host
 * SIGKILLed, its directory deleted; a new host in a new directory with the
 * same replica. Checks that the child resumed at or after every record
 * replicatedOffset() had reported replicated, and at most at what it had
 * committed. `start` starts a host (test/host/harness.ts scratch().start).
 */
export async function machineLost(
  t: { ok(v: unknown, m: string): void; match(a: unknown, b: RegExp, m: string): void },
  work: { dir: string; start(args: string[], env?: NodeJS.ProcessEnv): import('../host/harness.js').HostProcess },
  replicaArgs: string[],
  env?: NodeJS.ProcessEnv,
): Promise<void> {
  const { fixture, untilDead, nthMatch } = await import('../host/harness.js');
  const log = join(work.dir, 'child.log');
  const run = (dir: string) => work.start(['--dir', dir, '--interval', '100ms', '--size', '64K', ...replicaArgs, '--', process.execPath, fixture('replica-counter.js'), log, '400'], env);
  const first = run(join(work.dir, 'machine-a'));
  await first.stdout.waitFor(/resumed at 0/, 20_000);
  const child = Number((await nthMatch(first.stderr, /started child (\d+)/, 1))[1]);
  await waitFor(() => replicaCounterLog(log).replicated.filter((r) => r > 0n).length >= 3, 30_000, 'the child to see replicated_offset move three times');
  first.child.kill('SIGKILL');
  await first.exited;
  await untilDead(child, 5000);
  const before = replicaCounterLog(log);
  rmSync(join(work.dir, 'machine-a'), { recursive: true, force: true });

  const lastReplicated = before.replicated.at(-1)!;
  // Every record that starts before replicated_offset was reported off the machine.
  const covered = before.commits.filter((c) => c.offset < lastReplicated).at(-1)!;
  const lastCommitted = before.commits.at(-1)!.value;
  const second = run(join(work.dir, 'machine-b'));
  const restored = await second.stderr.waitFor(/restored generation (\d+) .*from replica/, 30_000);
  t.ok(restored, `the new host said it restored from the replica: ${restored[0]}`);
  const resumed = Number((await second.stdout.waitFor(/resumed at (\d+)/, 20_000))[1]);
  t.ok(resumed >= covered.value, `resumed at ${resumed}: at or after ${covered.value}, the last record the child was told was replicated (replicated_offset ${lastReplicated})`);
  t.ok(resumed <= lastCommitted, `resumed at ${resumed}, no later than the last commit ${lastCommitted}; lost ${lastCommitted - resumed}, none of them reported replicated`);
}

/** Whether Ceph's daemons are installed (for tests that run a private cluster). */
export function hasCeph(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v radosgw && command -v ceph-mon && command -v ceph-osd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A TCP port free right now on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A private one-node Ceph cluster for one test (its own directory and
 * ports, so stopping its gateway disturbs no other test), stopped at
 * teardown. Its credentials go into process.env (the SDK's default chain).
 * `script('gateway.sh', 'stop')` takes the gateway away, `'start'` brings it back;
 * `ceph('radosgw-admin', ...)` looks at the cluster without the gateway.
 */
export async function privateCluster(t: Teardown): Promise<{ endpoint: string; script(name: string, ...args: string[]): string; ceph(command: string, ...args: string[]): string }> {
  const env = {
    ...process.env,
    SHM_HOST_S3_DIR: join(scratchDir(t, 'ceph'), 'cluster'),
    SHM_HOST_S3_PORT: String(await freePort()),
    SHM_HOST_S3_MON_PORT: String(await freePort()),
  };
  const script = (name: string, ...args: string[]): string => execFileSync('bash', [join(ROOT, 'scripts/s3', name), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  t.teardown(() => void script('down.sh'));
  const exported = Object.fromEntries([...script('up.sh').matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  process.env.AWS_ACCESS_KEY_ID = exported.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = exported.AWS_SECRET_ACCESS_KEY;
  // A Ceph tool (radosgw-admin, rados) on this cluster: it reads RADOS directly, with the gateway down too.
  const ceph = (command: string, ...args: string[]): string => execFileSync(command, args, { env: { ...env, CEPH_CONF: join(env.SHM_HOST_S3_DIR, 'ceph.conf') }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  return { endpoint: exported.SHM_HOST_TEST_S3_ENDPOINT as string, script, ceph };
}
