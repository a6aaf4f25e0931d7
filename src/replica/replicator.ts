// Ships local generations to a replica in the background. The caller offers
// each new durable generation and never waits: one loop uploads, retries
// with backoff, skips what a newer generation makes unnecessary, renews the
// writer lease, and applies remote retention after each success.
import type { ReplicaClient } from './client.js';
import type { ReplicatorOptions } from './replicator-options.js';
import { Backoff } from './backoff.js';
import { failureKind, failureLine, isReplicaError, type ReplicaError } from './errors.js';
import { checkGeneration, type LocalGeneration } from './generation.js';
import { WriterLease, keepRenewing } from './lease.js';
import { planUpload } from './plan.js';
import { remoteBytes, type RemoteGeneration } from './record.js';
import { listRemote } from './remote.js';
import { pruneRemote } from './prune.js';
import { DEFAULT_REMOTE_RETENTION, type RemoteRetention } from './retention.js';
import { initialStatus, noteLag, noteReplicated, type ReplicaEvent, type ReplicaStatus } from './status.js';
import { Nap } from './nap.js';
import { reconcile } from './reconcile.js';
import { uploadTracked } from './upload.js';

const now = (): string => new Date().toISOString();

export class Replicator {
  readonly #client: ReplicaClient;
  readonly #lease: WriterLease;
  readonly #opts: ReplicatorOptions;
  readonly #retention: RemoteRetention;
  readonly #backoff: Backoff;
  readonly #waiting = new Map<number, LocalGeneration>();
  readonly #remote = new Map<number, RemoteGeneration>();
  /** Sequences the replica holds another generation of than the local one (reconcile.ts): not ours, never built on. */
  readonly #foreign = new Set<number>();
  #ready = false;
  /** Whether an upload may have been interrupted since the last sweep for its debris. */
  #sweep = true;
  #closed = false;
  #stopped = false;
  #offered: number[] = [];
  #highest = 0;
  #status: ReplicaStatus;
  readonly #nap = new Nap();
  #abort = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  #renewal: { stop(): void } | undefined;
  #idle: Array<() => void> = [];

  constructor(options: ReplicatorOptions) {
    this.#opts = options;
    this.#client = options.client;
    this.#lease = new WriterLease(options.client, options.identity, options.leaseTtlSeconds ?? 60);
    this.#retention = { keep: options.retention?.keep ?? DEFAULT_REMOTE_RETENTION.keep, keepForMs: options.retention?.keepForMs ?? DEFAULT_REMOTE_RETENTION.keepForMs };
    this.#backoff = new Backoff(options.backoff);
    this.#status = initialStatus(options.client.url);
  }

  /**
   * Takes the writer lease and lists the replica, then keeps working in the
   * background. When the replica cannot be reached (or refuses the
   * credentials) this resolves anyway: the loop keeps trying, and status and
   * the events say why. Call once.
   * @throws ReplicaError LEASE when another live host writes the prefix (one line, with the fix).
   */
  async start(): Promise<void> {
    try {
      await this.#prepare();
    } catch (e) {
      if (isReplicaError(e, 'LEASE')) {
        this.#stop(e);
        throw e;
      }
      this.#fail(e);
    }
    this.#loop = this.#run();
  }

  /**
   * Offers a new durable local generation; returns at once. One the replica
   * holds already is checked to be the same before it counts as replicated.
   */
  offer(generation: LocalGeneration): void {
    const g = checkGeneration(generation);
    if (this.#closed || this.#stopped || this.#waiting.has(g.sequence) || this.#foreign.has(g.sequence)) return;
    this.#waiting.set(g.sequence, g);
    this.#offered.push(g.sequence);
    this.#updateLag();
    this.#nap.wake(false);
  }

  /**
   * Sequences the replicator still needs locally (local retention keeps their files): the generation
   * uploading and the chain it will ship next (bounded: older waiting ones it would skip are not needed).
   */
  needed(): Set<number> {
    const { chain } = planUpload(this.#waiting, this.#ours);
    const uploading = this.#status.uploading?.sequence;
    return new Set([...chain.map((g) => g.sequence), ...(uploading === undefined ? [] : [uploading])]);
  }

  /** A copy of the current status. */
  status(): ReplicaStatus {
    return structuredClone(this.#status);
  }

  /** Complete generations on the replica as last known, by sequence. */
  remoteGenerations(): ReadonlyMap<number, RemoteGeneration> {
    return this.#remote;
  }

  /** The highest sequence any key of the replica named at the last listing, 0 before one: new local generations number above it. */
  highestSequence = (): number => this.#highest;

  /** Resolves once nothing waits (everything offered is replicated or skipped), or the replicator stopped. */
  async idle(): Promise<void> {
    if (this.#waiting.size === 0 || this.#stopped || this.#closed) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops: abandons an upload in progress (it leaves no record, so nothing
   * partial is visible), ends the loop, releases the lease (best effort).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#renewal?.stop();
    this.#abort.abort();
    this.#nap.wake(true);
    await this.#loop;
    if (this.#ready && !this.#stopped) await this.#lease.release().catch(() => {});
    this.#status.state = 'stopped';
    this.#settleIdle();
  }

  async #prepare(): Promise<void> {
    const how = await this.#lease.acquire(this.#opts.takeover ?? false);
    this.#renewal ??= keepRenewing(this.#lease, ((this.#opts.leaseTtlSeconds ?? 60) * 1000) / 3, (e) => {
      // Another host writes now: stop at once, the upload in progress included.
      if (!this.#closed) this.#stop(e);
    });
    this.#opts.onEvent?.({ kind: 'lease', how });
    const listing = await listRemote(this.#client);
    for (const [s, g] of listing.generations) this.#remote.set(s, g);
    this.#highest = Math.max(this.#highest, ...listing.objects.keys(), ...listing.damaged.keys());
    this.#opts.onEvent?.({ kind: 'listed', highest: this.#highest });
    this.#ready = true;
    this.#refreshReplicated();
    await this.#prune();
  }

  async #run(): Promise<void> {
    while (!this.#closed && !this.#stopped) {
      try {
        if (!this.#ready) await this.#prepare();
        for (const d of await reconcile(this.#waiting, this.#remote, this.#foreign)) this.#opts.onEvent?.({ kind: 'diverged', ...d });
        const plan = planUpload(this.#waiting, this.#ours);
        this.#drop(plan.skipped, 'a newer generation supersedes them');
        this.#drop(plan.orphaned, 'the generation they depend on is neither local nor on the replica');
        if (plan.next === null) {
          this.#status.state = 'idle';
          this.#settleIdle();
          await this.#nap.sleep(Infinity, true);
          continue;
        }
        await this.#ship(plan.next);
        this.#backoff.reset();
        this.#status.lastError = null;
        await this.#prune();
      } catch (e) {
        this.#sweep = true;
        if (this.#closed) break;
        if (isReplicaError(e, 'LEASE')) this.#stop(e);
        else await this.#nap.sleep(this.#fail(e), false);
      }
    }
  }

  async #ship(g: LocalGeneration): Promise<void> {
    const started = Date.now();
    this.#status.state = 'uploading';
    try {
      const record = await uploadTracked(this.#client, g, this.#opts.identity.host, this.#status, () => this.#updateLag(), {
        signal: this.#abort.signal,
        beforeRecord: () => this.#lease.check(),
      });
      this.#remote.set(g.sequence, record);
      this.#waiting.delete(g.sequence);
      this.#refreshReplicated();
      this.#opts.onEvent?.({ kind: 'replicated', sequence: g.sequence, offset: record.offset, bytes: remoteBytes(record), ms: Date.now() - started });
    } catch (e) {
      if (!isReplicaError(e, 'LOCAL')) throw e;
      // A local file vanished or changed: this generation cannot go; later ones may.
      this.#sweep = true;
      this.#drop([g.sequence], e.message);
      this.#status.lastError = { message: e.message, at: now() };
    }
  }

  async #prune(): Promise<void> {
    await this.#lease.check();
    const deleted = await pruneRemote(this.#client, this.#remote, this.#retention, new Set(this.#waiting.keys()), this.#sweep);
    if (this.#remote.size > 0) this.#sweep = false;
    if (deleted.length > 0) this.#opts.onEvent?.({ kind: 'deleted', sequences: deleted });
    this.#status.remoteGenerations = this.#remote.size;
  }

  #refreshReplicated(): void {
    this.#offered = noteReplicated(this.#status, this.#remote, this.#offered);
    this.#updateLag();
  }

  #updateLag(): void {
    noteLag(this.#status, this.#offered, this.#waiting, this.#ours);
  }

  /** Whether the replica holds this directory's generation `s` (not another one of that number). */
  readonly #ours = (s: number): boolean => this.#remote.has(s) && !this.#foreign.has(s);

  #drop(sequences: number[], reason: string): void {
    if (sequences.length === 0) return;
    for (const s of sequences) this.#waiting.delete(s);
    this.#opts.onEvent?.({ kind: 'skipped', sequences, reason });
  }

  /** Records a failure; returns the delay before the next attempt (ms). */
  #fail(e: unknown): number {
    const message = failureLine(e, this.#client.url, this.#opts.optionName);
    const delayMs = this.#backoff.next();
    this.#status.state = 'retrying';
    this.#status.lastError = { message, at: now() };
    this.#opts.onEvent?.({ kind: 'retry', message, problem: failureKind(e, this.#client.url), delayMs });
    return delayMs;
  }

  /** Stops for good (the lease is lost): the upload in progress is abandoned. */
  #stop(e: ReplicaError): void {
    this.#stopped = true;
    this.#abort.abort();
    this.#nap.wake(true);
    this.#renewal?.stop();
    this.#status.state = 'stopped';
    this.#status.lastError = { message: failureLine(e, this.#client.url, this.#opts.optionName), at: now() };
    this.#opts.onEvent?.({ kind: 'stopped', message: this.#status.lastError.message });
    this.#settleIdle();
  }

  #settleIdle(): void {
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}

