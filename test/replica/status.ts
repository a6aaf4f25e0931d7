// The replicator's status bookkeeping (src/replica/status.ts): the newest
// replicated generation and the lag `status` shows.
import t from 'tap';
import { initialStatus, noteLag, noteReplicated } from '../../src/replica/status.js';
import type { RemoteGeneration } from '../../src/replica/index.js';
import type { LocalGeneration } from '../../src/replica/generation.js';

const remote = (sequence: number, offset: string | null): RemoteGeneration => ({
  format: 'shm-host-replica-generation/1', sequence, parent: null, offset, created: `2026-01-0${sequence}T00:00:00.000Z`, host: 'h',
  files: [], manifest: { name: 'm', key: 'k', bytes: 1, sha256: '' },
} as unknown as RemoteGeneration);
const local = (sequence: number, bytes: number, parent?: number): LocalGeneration => ({
  sequence, ...(parent === undefined ? {} : { parent }), files: [{ name: `g${sequence}`, path: `/d/g${sequence}`, bytes }], manifest: { name: `m${sequence}`, path: `/d/m${sequence}`, bytes: 0 },
});

t.test('initialStatus: starting, nothing replicated, no lag', async (t) => {
  t.same(initialStatus('s3://b/p'), { url: 's3://b/p', state: 'starting', lastReplicated: null, uploading: null, lagGenerations: 0, lagBytes: 0, remoteGenerations: 0, lastError: null });
});

t.test('noteReplicated: the newest remote generation, and the offered ones still newer', async (t) => {
  const status = initialStatus('u');
  t.same(noteReplicated(status, new Map(), [1, 2]), [1, 2], 'nothing remote: everything offered is lag');
  t.equal(status.lastReplicated, null);
  const lag = noteReplicated(status, new Map([[1, remote(1, '10')], [3, remote(3, '30')]]), [2, 3, 4, 5]);
  t.same(lag, [4, 5]);
  t.same(status.lastReplicated, { sequence: 3, offset: '30', at: '2026-01-03T00:00:00.000Z' });
  t.equal(status.remoteGenerations, 2);
  const before = status.lastReplicated;
  noteReplicated(status, new Map([[3, remote(3, '30')]]), []);
  t.equal(status.lastReplicated, before, 'the same newest generation: the record is kept as it was');
});

t.test('noteLag: what the newest offered generation\'s chain still needs sent, less what the upload sent', async (t) => {
  const status = initialStatus('u');
  const waiting = new Map([[4, local(4, 100)], [5, local(5, 10, 4)]]);
  noteLag(status, [4, 5], waiting, () => false);
  t.equal(status.lagGenerations, 2);
  t.equal(status.lagBytes, 110, 'generation 5 needs its parent 4 too');
  noteLag(status, [5], waiting, (s) => s === 4);
  t.equal(status.lagBytes, 10, 'the parent is on the replica already');
  status.uploading = { sequence: 5, bytesSent: 30, bytes: 10 };
  noteLag(status, [5], waiting, (s) => s === 4);
  t.equal(status.lagBytes, 0, 'never negative');
});
