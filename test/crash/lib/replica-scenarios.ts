// The crash scenarios of a restore from a replica into a local directory
// (src/replica/restore.ts, what `shm-host restore --from` and a host
// starting on an empty --dir with --replica do): a directory replica
// (file:///) filled in setup with a full generation and deltas, then the
// restore recorded through the store's StoreFs and crashed at every
// operation; each crash state is opened as the next host would.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capture } from '../../../src/live/index.js';
import {
  FileReplicaClient, Replicator, describeStoreGeneration, localRestoreState, restoreFromReplica, verifyStoreGeneration,
} from '../../../src/replica/index.js';
import { SnapshotStore } from '../../../src/store/index.js';
import type { Scenario, ScenarioContext } from './explore.js';
import { digestOf } from './digest.js';
import { type Expectation, checkAsNextHost } from './next-host.js';

/** Chains long enough for every capture here to be a delta of the one before. */
const DELTAS = { maxChain: 10, maxChainRatio: 10 } as const;

/** `count` captures in one store in `ctx.aside` (a full generation, then deltas), shipped to a directory replica; returns the replica's root. */
async function replicaWith(ctx: ScenarioContext, count: number): Promise<string> {
  const source = join(ctx.aside, 'source');
  const root = join(ctx.aside, 'replica');
  const store = await SnapshotStore.open(source, { chain: ctx.chain });
  const replicator = new Replicator({ client: new FileReplicaClient(root), identity: { host: 'crash-source' } });
  try {
    await replicator.start();
    for (let i = 0; i < count; i++) {
      ctx.live.commit(3);
      const g = (await capture(ctx.live.fd, store, 'interval')).generation;
      await ctx.captured(g, false); // the source's, not the restored directory's
      replicator.offer(await describeStoreGeneration(source, g.sequence));
    }
    await replicator.idle();
  } finally {
    await replicator.close();
    await store.close();
  }
  return root;
}

/** The restore, through the recorded file system; acknowledged once it returned. */
async function restoreInto(ctx: ScenarioContext, root: string, wanted: number): Promise<void> {
  const client = new FileReplicaClient(root);
  try {
    const result = await restoreFromReplica({ client, dir: ctx.dir, verify: verifyStoreGeneration, fs: ctx.fs });
    if (result.generation.sequence !== wanted) throw new Error(`the restore chose generation ${result.generation.sequence}, not ${wanted}`);
    ctx.ack(result.generation.sequence);
  } finally {
    client.close();
  }
}

/** Flips one byte in the middle of generation `sequence`'s data file (delta or image) in the directory replica at `root`. */
function damageObject(root: string, sequence: number): void {
  const dir = join(root, 'generations', String(sequence).padStart(16, '0'));
  const name = readdirSync(dir).find((n) => !n.endsWith('.json'));
  if (name === undefined) throw new Error(`generation ${sequence} has no data file in ${dir}`);
  const bytes = readFileSync(join(dir, name));
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(join(dir, name), bytes);
}

/** A restore from a replica holding a full generation and two deltas, of which `damaged` (if any) has a corrupt data file; `wanted` is what it must restore. */
function replicaRestore(name: string, damaged: number | null, wanted: number): Scenario {
  let root = '';
  const memo = new Map<string, string[]>();
  return {
    name,
    chain: DELTAS,
    // Each state's check is a whole restore from the replica, then the next host's: about 20 times a store-only check.
    perPointShare: 1 / 16,
    setup: async (ctx) => {
      memo.clear();
      root = await replicaWith(ctx, 3);
      if (damaged !== null) damageObject(root, damaged);
      // A directory the restore creates, with its parent.
      ctx.dir = join(ctx.root, 'restored', 'state');
    },
    run: (ctx) => restoreInto(ctx, root, wanted),
    check: async (base, acked, next) => {
      // Crash states recur from one crash point to the next: each distinct tree is checked once.
      const key = `${acked} ${treeKey(base)}`;
      const known = memo.get(key);
      if (known !== undefined) return known;
      const problems = await checkRestoredDirectory(join(base, 'restored', 'state'), root, acked, wanted, next);
      memo.set(key, problems);
      return problems;
    },
  };
}

/**
 * What the next host with --replica does with `dir` (src/host/replica-link.ts):
 * restore a directory that is missing, empty, or an interrupted restore's;
 * then it opens the store. Whether or not the restore had returned, the
 * replica holds `wanted`, so the host must start from it.
 */
async function checkRestoredDirectory(dir: string, root: string, acked: number | null, wanted: number, next: Expectation): Promise<string[]> {
  const problems: string[] = [];
  const state = await localRestoreState(dir);
  // Once the restore returned, the directory holds it, whatever the replica still has.
  if (acked !== null && state !== 'in use') problems.push(`the restore returned, but the directory reads as ${state === 'interrupted' ? 'an interrupted restore' : state}`);
  if (state !== 'in use') {
    const client = new FileReplicaClient(root);
    try {
      await restoreFromReplica({ client, dir, verify: verifyStoreGeneration });
    } catch (err) {
      problems.push(`the next host's restore fails: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      client.close();
    }
  }
  problems.push(...await checkAsNextHost(dir, { ...next, acked: wanted }));
  return problems;
}

/** Every directory and file under `base`, with its content's digest. */
function treeKey(base: string, rel = ''): string {
  return readdirSync(join(base, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1)).map((e) => {
    const path = join(rel, e.name);
    return e.isDirectory() ? `${path}/\n${treeKey(base, path)}` : `${path} ${digestOf(readFileSync(join(base, path)))}\n`;
  }).join('');
}

export const replicaScenarios: Scenario[] = [
  // The newest generation, a delta, with the two links it needs.
  replicaRestore('replica-restore', null, 3),
  // Generation 2's delta is corrupt: generation 3's files, already written,
  // are removed again, 2 is passed over too, and 1 is restored.
  replicaRestore('replica-restore-fallback', 2, 1),
];
