// What a Replicator is made of (split from replicator.ts, which keeps the loop).
import type { ReplicaClient } from './client.js';
import type { BackoffOptions } from './backoff.js';
import type { LeaseIdentity } from './lease.js';
import type { RemoteRetention } from './retention.js';
import type { ReplicaEvent } from './status.js';

export interface ReplicatorOptions {
  client: ReplicaClient;
  /** Who writes: `host` is a stable id of this host (a restart with the same id reclaims its lease at once). */
  identity: LeaseIdentity;
  /** Replace another live host's lease. Default false. */
  takeover?: boolean;
  /** Remote retention; default keep 8, keepForMs 0. */
  retention?: Partial<RemoteRetention>;
  /** Lease lifetime in seconds, renewed every third of it. Default 60. */
  leaseTtlSeconds?: number;
  backoff?: BackoffOptions;
  onEvent?: (event: ReplicaEvent) => void;
  /**
   * How event messages and `status().lastError` name the option a failure's
   * hint is about (ReplicaError.option, `replica.takeover`); default: that
   * name itself. A command line passes one returning its flag.
   */
  optionName?: (option: string) => string;
}
