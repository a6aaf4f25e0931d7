// One writer per replica prefix. The writer holds a small lease object that
// names it and is renewed while it runs; a second host is refused while the
// holder is live. The lease is created with a conditional write (S3:
// PutObject with If-None-Match: *, answered 412 when the key exists; a
// directory: link(2)), so two hosts racing for a free prefix cannot both win.
import { hostname } from 'node:os';
import type { ReplicaClient } from './client.js';
import { ReplicaError, isReplicaError } from './errors.js';
import { LEASE_KEY } from './layout.js';

/** Who holds a replica: a host id, its pid and machine, when it took and last renewed the lease, and for how long a renewal counts (seconds). */
export interface LeaseHolder {
  host: string;
  pid: number;
  hostname: string;
  acquired: string;
  renewed: string;
  ttlSeconds: number;
}

/** Who we are, for the lease. */
export interface LeaseIdentity {
  host: string;
  pid?: number;
  hostname?: string;
}

function parseHolder(bytes: Uint8Array): LeaseHolder | null {
  try {
    const v = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<LeaseHolder>;
    if (typeof v.host !== 'string' || typeof v.hostname !== 'string' || !Number.isSafeInteger(v.pid)) return null;
    if (typeof v.renewed !== 'string' || Number.isNaN(Date.parse(v.renewed)) || typeof v.ttlSeconds !== 'number') return null;
    return v as LeaseHolder;
  } catch {
    return null;
  }
}

/** True if process `pid` of this machine is running (a zombie counts as dead: it will never renew). */
async function processRuns(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const { readFile } = await import('node:fs/promises');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** Why `holder` no longer holds the lease (a phrase), or null while it is live. */
async function staleReason(holder: LeaseHolder | null, me: Required<LeaseIdentity>, now: number): Promise<string | null> {
  if (holder === null) return 'the lease object is unreadable';
  if (holder.host === me.host) return 'it is ours';
  const age = (now - Date.parse(holder.renewed)) / 1000;
  if (age > holder.ttlSeconds) return `its holder last renewed it ${Math.round(age)} s ago`;
  if (holder.hostname === me.hostname && holder.pid !== me.pid && !(await processRuns(holder.pid))) return `its holder (pid ${holder.pid} on this machine) is gone`;
  return null;
}

/** The writer lease of one replica prefix. */
export class WriterLease {
  readonly #client: ReplicaClient;
  readonly #me: Required<LeaseIdentity>;
  readonly #ttlSeconds: number;
  #acquired = '';

  /** `ttlSeconds`: how long a renewal keeps other hosts out; renew well within it. */
  constructor(client: ReplicaClient, identity: LeaseIdentity, ttlSeconds: number) {
    this.#client = client;
    this.#me = { host: identity.host, pid: identity.pid ?? process.pid, hostname: identity.hostname ?? hostname() };
    this.#ttlSeconds = ttlSeconds;
  }

  #body(): Uint8Array {
    const now = new Date().toISOString();
    if (this.#acquired === '') this.#acquired = now;
    const holder: LeaseHolder = { ...this.#me, acquired: this.#acquired, renewed: now, ttlSeconds: this.#ttlSeconds };
    return Buffer.from(`${JSON.stringify(holder)}\n`);
  }

  /**
   * Takes the lease: creates it, or replaces a stale one (expired, ours, or
   * held by a dead process of this machine), or any one when `takeover`.
   * @returns a phrase saying how ('created', or why an existing lease was replaced).
   * @throws ReplicaError LEASE, one line naming the live holder and the fix; ACCESS, UNREACHABLE, IO.
   */
  async acquire(takeover: boolean): Promise<string> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.#client.createExclusive(LEASE_KEY, this.#body());
        return 'created';
      } catch (e) {
        if (!isReplicaError(e, 'EXISTS')) throw e;
      }
      let holder: LeaseHolder | null;
      try {
        holder = parseHolder(await this.#client.get(LEASE_KEY));
      } catch (e) {
        if (isReplicaError(e, 'NOT_FOUND')) continue; // released meanwhile: create again
        throw e;
      }
      const stale = await staleReason(holder, this.#me, Date.now());
      if (stale === null && !takeover) {
        const h = holder as LeaseHolder;
        throw new ReplicaError('LEASE', `replica ${this.#client.url} is written by host ${h.host} (pid ${h.pid} on ${h.hostname}, renewed ${h.renewed})`, { hint: 'stop that host, use another replica prefix, or take its lease over', option: 'replica.takeover', retryable: false });
      }
      // Delete, then create conditionally: of two hosts replacing the same
      // stale lease, only one creation succeeds; the other looks again.
      await this.#client.delete([LEASE_KEY]);
      try {
        await this.#client.createExclusive(LEASE_KEY, this.#body());
        return stale ?? `taken over from host ${holder?.host ?? '?'}`;
      } catch (e) {
        if (!isReplicaError(e, 'EXISTS')) throw e;
      }
    }
    throw new ReplicaError('LEASE', `replica ${this.#client.url}: the writer lease keeps changing hands: another host is starting on it`, { hint: 'stop it or use another prefix', retryable: false });
  }

  /**
   * Checks that the lease is still ours: before a generation's record is
   * written and before retention deletes anything, so that a host that lost
   * the lease writes and deletes nothing more.
   * @throws ReplicaError LEASE when another host took it over or it is gone; ACCESS, UNREACHABLE, IO.
   */
  async check(): Promise<void> {
    let holder: LeaseHolder | null = null;
    try {
      holder = parseHolder(await this.#client.get(LEASE_KEY));
    } catch (e) {
      if (!isReplicaError(e, 'NOT_FOUND')) throw e;
    }
    if (holder === null || holder.host !== this.#me.host) {
      const who = holder === null ? 'the lease is gone' : `host ${holder.host} (pid ${holder.pid} on ${holder.hostname}) took it over`;
      throw new ReplicaError('LEASE', `replica ${this.#client.url}: ${who}; this host stopped replicating`, { hint: 'to write again, restart this host taking the lease over', option: 'replica.takeover', retryable: false });
    }
  }

  /**
   * Renews the lease if it is still ours. Servers without compare-and-swap
   * on PUT (Ceph RGW 16 answers 412 to If-Match even with the right ETag,
   * measured here) leave a window between the check and the write: a
   * takeover landing in it is overwritten, and the host that took over
   * finds out at its own next check and stops. Either way one host writes.
   * @throws ReplicaError LEASE when another host took it over (stop writing); ACCESS, UNREACHABLE, IO.
   */
  async renew(): Promise<void> {
    await this.check();
    await this.#client.put(LEASE_KEY, { bytes: this.#body() });
  }

  /** Deletes the lease if it is still ours (on a clean stop); errors are the caller's to log. */
  async release(): Promise<void> {
    const holder = parseHolder(await this.#client.get(LEASE_KEY).catch(() => new Uint8Array()));
    if (holder !== null && holder.host === this.#me.host) await this.#client.delete([LEASE_KEY]);
  }
}

/**
 * Renews `lease` every `everyMs` beside the uploads (one upload may outlast
 * the lease's lifetime). `onLost` is called once if another host took the
 * lease; any other failure is tried again at the next tick.
 */
export function keepRenewing(lease: WriterLease, everyMs: number, onLost: (e: ReplicaError) => void): { stop(): void } {
  let busy = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    lease.renew().then(
      () => { busy = false; },
      (e: unknown) => {
        busy = false;
        if (isReplicaError(e, 'LEASE') && !stopped) {
          stopped = true;
          clearInterval(timer);
          onLost(e);
        }
      },
    );
  }, everyMs);
  timer.unref();
  return {
    stop(): void {
      stopped = true;
      clearInterval(timer);
    },
  };
}
