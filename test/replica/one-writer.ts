// One writer per snapshot directory: a restore from a replica holds the
// directory's lock (the store's, with its pid) from before its marker until
// after its removal, like a host, an import and a prune. A second restore,
// an import or a host on that directory meanwhile is refused in one line
// naming the restore's pid, and touches nothing (before, a second restore
// took the first one's files for an interrupted restore's and deleted them).
// Real processes; the first restore is held in the middle of its download
// by an object that is a FIFO nobody writes yet.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { capture } from '../../src/live/index.js';
import { SnapshotStore } from '../../src/store/index.js';
import { FileReplicaClient, Replicator, describeStoreGeneration } from '../../src/replica/index.js';
import { commitRecords, liveFile } from '../store/helpers.js';
import { BIN, runBin } from '../cli/harness.js';
import { until } from '../host/harness.js';
import { scratchDir } from './helpers.js';

/** A scratch directory with a store in `source` and a directory replica at `root` holding its one full generation. */
async function replicaOfOne(t: Parameters<typeof scratchDir>[0], label: string): Promise<{ work: string; source: string; root: string }> {
  const work = scratchDir(t, label);
  const source = join(work, 'source');
  const root = join(work, 'replica');
  const { fd, state } = liveFile(t);
  const store = await SnapshotStore.open(source);
  const client = new FileReplicaClient(root);
  const r = new Replicator({ client, identity: { host: 'source' } });
  try {
    await r.start();
    commitRecords(state, 20);
    const { generation } = await capture(fd, store, 'request');
    r.offer(await describeStoreGeneration(source, generation.sequence));
    await r.idle();
  } finally {
    await r.close();
    await store.close();
    client.close();
  }
  return { work, source, root };
}

t.test('while a restore writes a directory, a second restore, an import and a host are refused, naming it', async (t) => {
  const { work, source, root } = await replicaOfOne(t, 'one-writer');
  const exported = join(work, 'state.shmx');
  const ex = await runBin(['export', 'latest', exported, '--dir', source]);
  t.equal(ex.code, 0, `an export to import meanwhile ${ex.stderr}`);
  // The image's object becomes a FIFO: the restore blocks opening it until its bytes are written in.
  const objects = join(root, 'generations', '0000000000000001');
  const image = readdirSync(objects).find((n) => n.endsWith('.img'))!;
  const bytes = readFileSync(join(objects, image));
  unlinkSync(join(objects, image));
  execFileSync('mkfifo', [join(objects, image)]);

  const url = pathToFileURL(root).href;
  const dir = join(work, 'state');
  const first = execa(process.execPath, [BIN, 'restore', '--from', url, '--dir', dir], { reject: false });
  t.teardown(() => { first.kill('SIGKILL'); });
  await until('the first restore to mark the directory', () => existsSync(join(dir, 'restore-in-progress')), 20_000);
  const pid = first.pid!;
  const before = readdirSync(dir).sort();

  const second = await runBin(['restore', '--from', url, '--dir', dir]);
  t.equal(second.code, 1, 'a second restore: exit 1');
  t.equal(second.stderr, `shm-host: cannot restore: another shm-host is writing ${dir} (pid ${pid}, restoring) (wait for the restore to finish, then restore again)\n`);
  const imported = await runBin(['import', exported, '--dir', dir, '--json']);
  t.equal(imported.code, 1, 'an import: exit 1');
  t.equal(imported.stderr, `shm-host: cannot import: another shm-host is writing ${dir} (pid ${pid}, restoring) (wait for the restore to finish, then import again)\n`);
  t.match(JSON.parse(imported.out), { error: { code: 'LOCKED', exitCode: 1 } });
  const host = await runBin(['--dir', dir, '--', 'true']);
  t.equal(host.code, 1, 'a host: exit 1');
  t.equal(host.stderr, `shm-host: snapshot directory ${dir} is in use by another shm-host (pid ${pid}, restoring) (wait for the restore to finish or use another snapshot directory: --dir)\n`);
  t.same(readdirSync(dir).sort(), before, 'nothing in the directory changed');

  // Let the first restore read its object: it finishes, alone, and the directory is whole.
  writeFileSync(join(objects, image), bytes);
  const done = await first;
  t.equal(done.exitCode, 0, `the first restore finishes ${done.stderr}`);
  t.match(done.stdout, /^restored generation 1 /);
  t.notOk(existsSync(join(dir, 'restore-in-progress')), 'its marker is gone');
  const verify = await runBin(['verify', '--dir', dir]);
  t.equal(verify.code, 0, `what it restored verifies ${verify.out}`);
  const after = await runBin(['import', exported, '--dir', dir]);
  t.equal(after.code, 0, `and the directory is free for the next writer ${after.stderr}`);
});

t.test('a restore while a host runs on the directory is refused with the host\'s pid; the host runs on', async (t) => {
  const { work, root } = await replicaOfOne(t, 'one-writer-host');
  const dir = join(work, 'state');
  const host = execa(process.execPath, [BIN, '--dir', dir, '--size', '64K', '--', 'sleep', '30'], { reject: false });
  t.teardown(() => { host.kill('SIGKILL'); });
  await until('the host to take the lock', () => existsSync(join(dir, 'lock')) && readFileSync(join(dir, 'lock'), 'utf8') === `${host.pid} host\n`, 20_000);
  const r = await runBin(['restore', '--from', pathToFileURL(root).href, '--dir', dir]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `shm-host: cannot restore: a host is running on ${dir} (pid ${host.pid}) (stop the host first, then restore again)\n`, r.stderr);
  t.notOk(existsSync(join(dir, 'restore-in-progress')), 'no marker written under the host');
  t.equal(host.exitCode, null, 'the host runs on');
});
