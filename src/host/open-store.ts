// What the host opens before its first child: the replica (with --replica),
// which restores an empty directory, then the snapshot store and its
// capture queue.
import { SnapshotStore, sweptLine } from '../store/index.js';
import { CaptureQueue } from './capture-queue.js';
import type { HostState } from './host-state.js';
import type { Logger } from './logger.js';
import { hostChainLimits, type SupervisorOptions } from './options.js';
import type { ReplicaLink } from './replica-link.js';

export interface HostStore {
  readonly replica: ReplicaLink | null;
  readonly store: SnapshotStore;
  readonly captures: CaptureQueue;
}

/**
 * Opens the replica of `options.replica` (its module is loaded only then:
 * it brings the AWS SDK, 100-250 ms of loading before the child could
 * start, docs/BENCHMARKS.md), then the store on `options.dir` (locked), and
 * a capture queue on it that reports to `state`.
 * Throws what ReplicaLink.open and SnapshotStore.open throw.
 */
export async function openHostStore(options: SupervisorOptions, log: Logger, state: HostState): Promise<HostStore> {
  const replica = options.replica === undefined ? null : await (await import('./replica-link.js')).ReplicaLink.open(options.replica, options.dir, log, options.optionName);
  // A data file without its manifest is an interrupted write's, or a generation whose manifest went: its removal is said.
  const onSwept = (paths: readonly string[]): void => log.log('warn', 'swept', sweptLine(paths), { files: paths });
  const store = await SnapshotStore.open(options.dir, {
    keep: options.keep, chain: hostChainLimits(options), spare: () => replica?.needed() ?? new Set(), firstSequence: replica?.firstSequence(), onSwept,
  });
  await replica?.bindStore(store);
  return { replica, store, captures: new CaptureQueue(store, log, state) };
}
