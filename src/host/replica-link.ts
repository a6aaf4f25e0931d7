// The host's replica (--replica): restore an empty directory from it, offer
// every durable generation to the replicator in the background, and publish
// replicated_offset in the child's header once a generation is off the
// machine. Nothing here delays a capture, a restart or the child.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import {
  ReplicaError, Replicator, describeStoreGeneration, failureLine, isReplicaError, listRemote, localRestoreState, openReplicaClient, restoreFromReplica, storeGenerationSource,
  verifyStoreGeneration,
  type ReplicaClient, type ReplicaEvent, type ReplicaStatus,
} from '../replica/index.js';
import { publishReplicated, type CaptureResult } from '../live/index.js';
import type { SnapshotStore } from '../store/index.js';
import type { CaptureQueue } from './capture-queue.js';
import type { HostState } from './host-state.js';
import type { Logger } from './logger.js';
import { ownName, type OptionName, type ReplicaOptions } from './options.js';

/** Empty, missing, or an interrupted restore's: nothing a restore would overwrite (src/replica/restore-dir.ts). */
async function isEmptyDir(dir: string): Promise<boolean> {
  return (await localRestoreState(dir)) !== 'in use';
}

export class ReplicaLink {
  readonly #client: ReplicaClient;
  readonly #replicator: Replicator;
  readonly #log: Logger;
  readonly #dir: string;
  readonly #url: string;
  /** The last failure logged: a replica that stays down is one line, not one per retry. */
  #failing: string | null = null;
  /** Whether a generation was replicated yet (the first one is logged, later ones only show in status). */
  #replicatedOnce = false;
  /** Past the lease: a lost lease is logged from now on (before, the refusal is the host's one line). */
  #started = false;
  /** Holds back the replica-down line while an empty directory's restore decides whether the host starts. */
  #quiet = false;
  /** Offers still describing their files (close waits for them, so the shutdown capture is offered). */
  readonly #describing = new Set<Promise<void>>();
  #publish: (offset: bigint, sequence: number) => void = () => {};
  /** The store and its capture queue, once bound: the replica's highest sequence is their numbering floor. */
  #store: SnapshotStore | null = null;
  #captures: CaptureQueue | null = null;
  /** Floor records and delta-parent resets, one at a time, inside the capture queue once there is one. */
  #storeWork: Promise<void> = Promise.resolve();

  constructor(options: ReplicaOptions, dir: string, log: Logger, optionName: OptionName = ownName) {
    this.#log = log;
    this.#dir = dir;
    this.#url = options.url;
    this.#client = openReplicaClient(options.url, { endpoint: options.endpoint, region: options.region, forcePathStyle: options.forcePathStyle });
    this.#replicator = new Replicator({
      client: this.#client,
      identity: { host: `${hostname()}:${resolve(dir)}` },
      takeover: options.takeover ?? false,
      retention: { keep: options.keep, keepForMs: options.keepForMs }, // unset: the replicator's defaults
      onEvent: (e) => this.#onEvent(e),
      optionName,
    });
  }

  /**
   * The link of `options` (null without a replica), its writer lease taken,
   * then an empty `dir` restored from it (restoreIfEmpty). A replica that
   * cannot be reached or refuses the credentials is logged in one line and
   * retried in the background; the host runs on.
   * @throws ReplicaError LEASE when another live host writes the prefix;
   * ACCESS, UNREACHABLE, IO when an empty `dir` cannot be restored.
   */
  static async open(options: ReplicaOptions | undefined, dir: string, log: Logger, optionName: OptionName = ownName): Promise<ReplicaLink | null> {
    if (options === undefined) return null;
    const link = new ReplicaLink(options, dir, log, optionName);
    // An empty dir that cannot be restored ends the host with its own line: no "retrying" before it.
    link.#quiet = await isEmptyDir(dir);
    await link.#replicator.start();
    link.#started = true;
    try {
      await link.restoreIfEmpty(optionName);
    } catch (e) {
      await link.#replicator.close();
      throw e;
    }
    link.#quiet = false;
    return link;
  }

  /**
   * On an empty or missing snapshot directory, downloads the newest
   * generation of the replica that verifies, and logs it. An empty replica
   * leaves the directory empty. `optionName`: as SupervisorOptions.optionName.
   * @throws ReplicaError when the replica cannot be read: starting empty
   * then could later mix a new history into the replica's.
   */
  async restoreIfEmpty(optionName: OptionName = ownName): Promise<void> {
    if (!(await isEmptyDir(this.#dir))) return;
    let generations: Map<number, unknown>;
    try {
      ({ generations } = await listRemote(this.#client));
    } catch (e) {
      // Starting empty now could later bury the replica's newest state under an empty one.
      const why = isReplicaError(e) ? failureLine(e, this.#url, optionName) : String(e);
      throw new ReplicaError(isReplicaError(e) ? e.code : 'IO', `${this.#dir} is empty and replica ${this.#url} cannot be read to restore it (${why}); the host does not start empty over a replica it cannot read`, { hint: 'fix the replica, or start without one', option: 'replica', cause: e });
    }
    if (generations.size === 0) {
      this.#log.log('info', 'replica-empty', `replica ${this.#url} holds no generation yet: starting fresh in ${this.#dir}`);
      return;
    }
    const result = await restoreFromReplica({
      client: this.#client,
      dir: this.#dir,
      verify: verifyStoreGeneration,
      onFallback: (sequence, reason) => this.#log.log('warn', 'replica-fallback', `replica generation ${sequence} passed over: ${reason}`, { sequence }),
    });
    const g = result.generation;
    this.#log.log('info', 'replica-restored', `restored generation ${g.sequence} (offset ${g.offset ?? 'none'}) from replica ${this.#url} into the empty ${this.#dir}`, {
      sequence: g.sequence, offset: g.offset, files: result.files.length,
    });
  }

  /**
   * Binds the store new generations go to: they number above the highest
   * sequence the replica holds, as listed at start and at every listing
   * after (a replica that was down at start), and that floor is recorded in
   * the directory for a start that cannot reach the replica (docs/REPLICA.md).
   * Resolves once the floor known now is recorded (a failure is logged).
   */
  bindStore(store: SnapshotStore): Promise<void> {
    this.#store = store;
    return this.#withStore('replica-floor', 'record the replica\'s highest sequence', (s) => s.raiseSequenceFloor(this.#replicator.highestSequence()));
  }

  /** Runs `task` on the bound store, after the earlier ones and inside the capture queue once attached; a failure is logged as `event`. */
  #withStore(event: string, what: string, task: (store: SnapshotStore) => Promise<void>): Promise<void> {
    const store = this.#store;
    if (store === null || this.#replicator.highestSequence() === 0) return this.#storeWork;
    const run = (): Promise<void> => task(store);
    this.#storeWork = this.#storeWork.then(() => (this.#captures === null ? run() : this.#captures.exclusive(run))).catch((e: unknown) => {
      this.#log.log('warn', event, `could not ${what} in ${this.#dir}: ${e instanceof Error ? e.message : String(e)}`);
    });
    return this.#storeWork;
  }

  /**
   * Ships what `captures` stores from now on (each generation offered), and
   * publishes replicated_offset into the file `currentFd()` names, inside
   * the capture queue (so the file is never closed under it).
   */
  attach(captures: CaptureQueue, currentFd: () => number, state: HostState): void {
    this.#captures = captures;
    captures.onStored = (result) => this.offer(result);
    this.#publish = (offset, sequence) => void captures.exclusive(async () => {
      const fd = currentFd();
      if (fd >= 0) publishReplicated(fd, offset, sequence);
    }).catch((e: unknown) => this.#log.log('warn', 'replica-publish', `could not publish replicated_offset: ${String(e)}`));
    state.replica = () => this.status();
    // What is on disk already (restored, or left by a host that died before shipping it): a new delta may need it.
    const local = storeGenerationSource(this.#dir).generations().then((gs) => gs.forEach((g) => this.#replicator.offer(g)), () => {});
    this.#describing.add(local);
    void local.finally(() => this.#describing.delete(local));
  }

  /** Offers a durable capture to the replicator, in the background. */
  offer(result: CaptureResult): void {
    const m = result.generation.manifest;
    const offset = m.latest === null ? undefined : (BigInt(m.latest.offset) + BigInt(m.latest.length)).toString();
    const described = describeStoreGeneration(this.#dir, m.sequence, offset).then(
      (g) => this.#replicator.offer(g),
      (e: unknown) => this.#log.log('warn', 'replica-skip', `generation ${m.sequence} is gone before it could be replicated (${String(e)}); a newer one will be`),
    ).finally(() => this.#describing.delete(described));
    this.#describing.add(described);
  }

  /**
   * The lowest sequence the store may give a new generation: above every
   * one the replica has used (after a restore that passed over corrupt
   * generations, or a directory older than the replica). Undefined when
   * the replica could not be listed at start.
   */
  firstSequence(): number | undefined {
    const highest = this.#replicator.highestSequence();
    return highest === 0 ? undefined : highest + 1;
  }

  /** Sequences the replica still needs on disk (local retention keeps them). */
  needed(): Set<number> {
    return this.#replicator.needed();
  }

  status(): ReplicaStatus {
    return this.#replicator.status();
  }

  /** Resolves once everything offered is replicated or skipped. */
  idle(): Promise<void> {
    return this.#replicator.idle();
  }

  /**
   * Gives what is still waiting (the shutdown capture) up to `graceMs` to
   * reach the replica (none while it fails), then stops; the next host
   * ships what is left.
   */
  async close(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.all([...this.#describing]);
    // A replica that is failing would only hold the stop up: the next host ships what is left.
    if (this.#failing === null) await Promise.race([this.#replicator.idle(), new Promise<void>((r) => { timer = setTimeout(r, graceMs); })]);
    clearTimeout(timer);
    await this.#replicator.close();
    await this.#storeWork;
  }

  #onEvent(e: ReplicaEvent): void {
    switch (e.kind) {
      case 'replicated':
        if (e.offset !== null) this.#publish(BigInt(e.offset), e.sequence);
        if (this.#failing !== null || !this.#replicatedOnce) {
          // Routine afterwards, like interval captures: `status` shows the latest.
          this.#log.log('info', 'replicated', `replicated generation ${e.sequence} to ${this.#url} (${e.bytes} bytes in ${e.ms} ms)${this.#failing === null ? '' : ': the replica answers again'}`, { ...e });
        }
        this.#failing = null;
        this.#replicatedOnce = true;
        return;
      case 'retry':
        if (this.#quiet) return;
        // One line per problem, not per object it meets (the newest generation changes during an outage).
        if (this.#failing !== e.problem) this.#log.log('error', 'replica-down', `${e.message} (local snapshots go on; retrying, the replica catches up once it answers)`, { delayMs: e.delayMs });
        this.#failing = e.problem;
        return;
      case 'stopped':
        if (this.#started) this.#log.log('error', 'replica-stopped', `replication stopped: ${e.message}`);
        return;
      case 'listed':
        void this.#withStore('replica-floor', `record the replica's highest sequence ${e.highest}`, (s) => s.raiseSequenceFloor(e.highest));
        return;
      case 'diverged':
        this.#log.log('error', 'replica-diverged', `replica ${this.#url}: generation ${e.sequence} is not replicated: ${e.reason}`, { sequence: e.sequence });
        // The next capture is a full generation: a delta on this one could never be restored from the replica.
        void this.#withStore('replica-diverged', 'start a full generation', async (s) => s.forgetDeltaParent());
        return;
      case 'skipped':
        this.#log.log('info', 'replica-skipped', `replica skips generations ${e.sequences.join(', ')}: ${e.reason}`, { sequences: e.sequences });
        return;
      default:
    }
  }
}

/** Whether `e` is the replica's refusal of a second writer (the host ends then). */
export const isLeaseRefusal = (e: unknown): boolean => isReplicaError(e, 'LEASE');
