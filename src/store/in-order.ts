// Running one asynchronous step per item, several at once, results in the
// items' order: reading a directory's manifests one after the other cost a
// round trip through libuv's thread pool per open, fstat, read and close,
// on the host's path to its child (docs/BENCHMARKS.md, Start-up).

/** At most this many steps in flight: libuv's pool has 4 threads, and each holds a descriptor open. */
export const IN_FLIGHT = 8;

/**
 * `step` applied to every item of `items`, at most `limit` at a time,
 * resolving to the results in the items' order. After a step rejects no
 * new one starts, and the rejection of the lowest-numbered of the `limit`
 * workers that failed is thrown once the steps in flight have settled
 * (none is left running). `limit` below 1 counts as 1.
 */
export async function mapInOrder<T, R>(items: readonly T[], step: (item: T) => Promise<R>, limit = IN_FLIGHT): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await step(items[i]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Math.min(Math.max(1, Math.floor(limit) || 1), items.length);
  const outcomes = await Promise.allSettled(Array.from({ length: workers }, worker));
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}
