// The crash-state model and the explorer checked themselves: hand-written
// logs give exactly the states POSIX allows, and a store whose fsyncs are
// sabotaged is caught (the power-loss test can fail).
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explore } from './lib/explore.js';
import { crashStates } from './lib/model.js';
import { OpLog } from './lib/oplog.js';
import { scenarios } from './lib/scenarios.js';

/** An empty log rooted in a new directory. */
function emptyLog(t: { teardown(fn: () => void): void }): OpLog {
  const root = mkdtempSync(join(tmpdir(), 'shm-host-model-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return new OpLog(root);
}

const filesOf = (log: OpLog, point: number): string[] =>
  crashStates(log.ops, log.baseline, point, 1000, 1)
    .map((s) => [...s.files].map(([p, f]) => `${p}=${f.data.toString('latin1').replace(/[^a-z]/g, '?')}`).sort().join(' ') || '(empty)')
    .sort();

t.test('a file written, fsynced, renamed and its directory fsynced: one state, from the fsync of the directory on', async (t) => {
  const log = emptyLog(t);
  const inode = log.create('tmp', 0o600);
  log.write(inode, 0, Buffer.from('data'));
  log.fsync(inode);
  log.rename('tmp', 'final');
  log.fsyncDir('');
  t.same(filesOf(log, 5), ['final=data']);
  // Before the directory fsync: the create and the rename each may not have happened.
  t.same(filesOf(log, 4), ['(empty)', 'final=data', 'tmp=data']);
  // Before the file's fsync: its data may be lost, kept, torn, or garbage.
  t.same(filesOf(log, 2), ['(empty)', 'tmp=', 'tmp=????', 'tmp=da', 'tmp=data']);
});

t.test('a mkdir whose parent is never fsynced takes everything under it, synced or not', async (t) => {
  const log = emptyLog(t);
  log.mkdir('dir', 0o700);
  const inode = log.create('dir/file', 0o600);
  log.write(inode, 0, Buffer.from('data'));
  log.fsync(inode);
  log.fsyncDir('dir');
  const states = crashStates(log.ops, log.baseline, 5, 1000, 1);
  t.ok(states.some((s) => !s.dirs.has('dir') && s.files.size === 0), 'a state without the directory');
  t.ok(states.some((s) => s.files.get('dir/file')?.data.toString() === 'data'), 'a state with the file');
  log.fsyncDir('');
  t.same(crashStates(log.ops, log.baseline, 6, 1000, 1).map((s) => [...s.files.keys()]), [['dir/file']], 'once the parent is fsynced, only the file');
});

t.test('the bound holds, and unlinks not yet synced come back in any combination', async (t) => {
  const log = emptyLog(t);
  for (let i = 0; i < 10; i++) {
    const inode = log.create(`f${i}`, 0o600);
    log.fsync(inode);
  }
  log.fsyncDir('');
  for (let i = 0; i < 10; i++) log.unlink(`f${i}`);
  const all = crashStates(log.ops, log.baseline, log.ops.length, 5000, 1);
  t.equal(all.length, 1024, 'every subset of the ten unlinks');
  t.equal(crashStates(log.ops, log.baseline, log.ops.length, 50, 1).length, 50, 'at most the bound');
});

// A store that skips fsyncs must be caught: these are what the fsyncs are for.
for (const skip of ['file fsync', 'directory fsync'] as const) {
  t.test(`a store that skips every ${skip} loses acknowledged generations`, async (t) => {
    const result = await explore(scenarios.find((s) => s.name === 'first-capture')!, 16, 3, skip);
    t.ok(result.failures.some((f) => /acknowledged generation \d+ lost/.test(f)), `found: ${result.failures[0] ?? 'nothing'}`);
  });
  // The same for a restore from a replica, whose check restores again from the replica first.
  t.test(`a restore from a replica that skips every ${skip} loses what it acknowledged`, async (t) => {
    const result = await explore(scenarios.find((s) => s.name === 'replica-restore')!, 16, 3, skip);
    t.ok(result.failures.some((f) => /acknowledged generation \d+ lost|the restore returned, but the directory reads as/.test(f)), `found: ${result.failures[0] ?? 'nothing'}`);
  });
}
