// The pure rules under the replicator, over random histories (fast-check):
// what to upload next, and what retention may delete.
import t from 'tap';
import fc from 'fast-check';
import { planUpload } from '../../src/replica/plan.js';
import { generationsToDelete } from '../../src/replica/retention.js';
import { RECORD_FORMAT, type RemoteGeneration } from '../../src/replica/record.js';
import type { LocalGeneration } from '../../src/replica/generation.js';

/** Generations 1..n, each full or a delta on an older one (null: full). */
const histories = fc.array(fc.option(fc.nat(), { nil: null }), { minLength: 1, maxLength: 30 }).map((parents) =>
  parents.map((p, i) => ({ sequence: i + 1, parent: i === 0 || p === null ? null : 1 + (p % i) })));

const local = (h: { sequence: number; parent: number | null }): LocalGeneration => {
  const g: LocalGeneration = { sequence: h.sequence, files: [], manifest: { name: 'm', path: '/m', bytes: 1 } };
  if (h.parent !== null) g.parent = h.parent;
  return g;
};

t.test('the plan uploads the newest shippable chain, oldest first, and skips only what it does not need', async (t) => {
  fc.assert(fc.property(histories, fc.array(fc.boolean(), { maxLength: 30 }), fc.array(fc.boolean(), { maxLength: 30 }), (history, remoteFlags, waitingFlags) => {
    const remote = new Set(history.filter((_, i) => remoteFlags[i] === true).map((h) => h.sequence));
    const waiting = new Map(history.filter((h, i) => !remote.has(h.sequence) && waitingFlags[i] !== false).map((h) => [h.sequence, local(h)]));
    const plan = planUpload(waiting, (s) => remote.has(s));
    const accounted = new Set([...plan.chain.map((g) => g.sequence), ...plan.skipped, ...plan.orphaned]);
    if (plan.next === null) {
      // Nothing shippable: every waiting generation is orphaned.
      if (plan.orphaned.length !== waiting.size) return false;
      return true;
    }
    // The chain ends at next, every link waiting, its bottom full or on the replica.
    if (plan.chain.at(-1) !== plan.next) return false;
    for (let i = 0; i < plan.chain.length - 1; i++) if (plan.chain[i]!.parent !== plan.chain[i + 1]!.sequence) return false;
    const bottom = plan.next.parent;
    if (bottom !== undefined && !remote.has(bottom)) return false;
    // Nothing newer than the chosen one is shippable; nothing waiting is forgotten.
    const chosen = plan.chain[0]!.sequence;
    if (plan.orphaned.some((s) => s < chosen)) return false;
    return [...waiting.keys()].every((s) => accounted.has(s)) && plan.skipped.every((s) => s < chosen);
  }));
});

t.test('retention keeps the newest, the N newest, the young, and every generation they depend on', async (t) => {
  fc.assert(fc.property(histories, fc.integer({ min: 0, max: 5 }), fc.nat({ max: 40 }), (history, keep, youngFrom) => {
    const now = Date.parse('2026-11-29T00:00:00Z');
    const remote = new Map<number, RemoteGeneration>(history.map((h) => [h.sequence, {
      format: RECORD_FORMAT, sequence: h.sequence, parent: h.parent, offset: null, host: 'h', files: [],
      manifest: { name: 'm', bytes: 1, digest: `${'0'.repeat(32)}-1`, partSize: 1 },
      created: new Date(now - (h.sequence >= youngFrom ? 1000 : 10 * 3600_000)).toISOString(),
    }]));
    const doomed = new Set(generationsToDelete(remote, { keep, keepForMs: 3600_000 }, now));
    const newestFirst = [...remote.keys()].sort((a, b) => b - a);
    const mustKeep = newestFirst.filter((s, i) => i < Math.max(1, keep) || s >= youngFrom);
    for (const s of mustKeep) {
      for (let at: number | null = s; at !== null; at = remote.get(at)!.parent) if (doomed.has(at)) return false;
    }
    // Only what no kept generation needs goes, and everything else does.
    const needed = new Set<number>();
    for (const s of mustKeep) for (let at: number | null = s; at !== null; at = remote.get(at)!.parent) needed.add(at);
    return newestFirst.every((s) => doomed.has(s) === !needed.has(s));
  }));
});
