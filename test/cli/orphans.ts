// Data files no manifest names (a manifest deleted by mistake, or debris of
// an interrupted write): list and verify report them, in text and JSON,
// since the next writer that opens the directory deletes them; they do not
// change the exit status; temporary files are not among them; and a data
// file whose manifest a running host commits (or which its retention
// deletes) while the command reads is not reported.
import fs from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeGenerations } from '../../fixtures/cli-store.js';
import { realStoreFs } from '../../src/store/index.js';
import { isOneLineError, runCli } from './harness.js';

const name = (sequence: number, ext: string): string => `gen-${String(sequence).padStart(16, '0')}.${ext}`;

/** Generations 1 (full), 2 (a delta of 1), 3 (full), written by the store, in `base`/snapshots. */
async function store(t: Test): Promise<{ base: string; dir: string }> {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  await writeGenerations(dir, { generations: 3, maxChain: 1 });
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('gen-')).sort(), [
    name(1, 'img'), name(1, 'json'), name(2, 'delta'), name(2, 'json'), name(3, 'img'), name(3, 'json'),
  ], 'the store wrote a full generation, a delta and a full one');
  return { base, dir };
}

const ORPHAN_LINE = (dir: string, sequence: number, ext: string): RegExp =>
  new RegExp(`^${dir}/${name(sequence, ext)} \\([0-9.]+ KiB\\): not a generation, no manifest names it \\(${name(sequence, 'json')} is missing\\): the next start of a host on this directory, or an import or prune into it, deletes it; to keep it, put its manifest back`, 'm');

t.test('a generation whose manifest was deleted: list and verify name its data file, exit 0', async (t) => {
  const { dir } = await store(t);
  fs.unlinkSync(join(dir, name(3, 'json')));
  const imageBytes = fs.statSync(join(dir, name(3, 'img'))).size;

  const list = await runCli(['list', '--dir', dir]);
  t.same([list.code, list.stderr], [0, ''], 'list: exit 0, nothing on stderr');
  t.match(list.out, ORPHAN_LINE(dir, 3, 'img'), 'list: one line for the image');
  t.match(list.out, 'or copy the file out of the directory first (show and cat read the copy as a bare image)', 'list: how to keep a full image');
  t.equal(list.out.match(/not a generation/g)?.length, 1, 'list: one line, for that file only');
  t.match(list.out, /^ +2 .*\n +1 .*\n/m, 'list: the generations as before');

  const json = await runCli(['list', '--dir', dir, '--json']);
  t.equal(json.code, 0);
  const doc = JSON.parse(json.out) as { generations: Array<{ sequence: number }>; orphans: unknown[] };
  t.same(doc.generations.map((g) => g.sequence), [2, 1], 'list --json: the generations');
  t.same(doc.orphans, [{ path: join(dir, name(3, 'img')), sequence: 3, kind: 'full', manifest: join(dir, name(3, 'json')), bytes: imageBytes }], 'list --json: orphans');

  for (const argv of [['verify', '--all'], ['verify'], ['verify', 'latest~1'], ['verify', '1'], ['list', '--verify']]) {
    const r = await runCli([...argv, '--dir', dir]);
    t.same([r.code, r.stderr], [0, ''], `${argv.join(' ')}: exit 0 (no generation is damaged)`);
    t.match(r.out, ORPHAN_LINE(dir, 3, 'img'), `${argv.join(' ')}: the line`);
  }
  const verify = await runCli(['verify', '--all', '--dir', dir]);
  t.match(verify.out, /^generation 2: ok\ngeneration 1: ok\n\//, 'verify --all: the results, then the orphan');
  const verifyJson = await runCli(['verify', '--all', '--dir', dir, '--json']);
  t.equal(verifyJson.code, 0);
  t.match(JSON.parse(verifyJson.out), { ok: true, results: [{ sequence: 2, ok: true }, { sequence: 1, ok: true }], orphans: [{ sequence: 3, kind: 'full', bytes: imageBytes }] }, 'verify --all --json');
  t.match(JSON.parse((await runCli(['verify', '--dir', dir, '--json'])).out), { ok: true, orphans: [{ sequence: 3 }] }, 'verify --json (latest)');

  // A file named by its path is that file only: no directory, no orphans.
  const byPath = await runCli(['verify', join(dir, name(1, 'img')), '--dir', dir, '--json']);
  t.match(JSON.parse(byPath.out), { ok: true, orphans: [] }, 'verify <path>: none');

  // What the line says happens: the next writer's open deletes it.
  const prune = await runCli(['prune', '--keep', '5', '--dir', dir]);
  t.equal(prune.code, 0, prune.stderr);
  t.notOk(fs.existsSync(join(dir, name(3, 'img'))), 'prune swept it');
  const after = await runCli(['list', '--dir', dir, '--json']);
  t.same(JSON.parse(after.out).orphans, [], 'and it is no longer reported');
});

t.test('a delta whose manifest was deleted, and a directory with no generation left', async (t) => {
  const { dir } = await store(t);
  fs.unlinkSync(join(dir, name(2, 'json')));
  const list = await runCli(['list', '--dir', dir]);
  t.equal(list.code, 0, list.stderr);
  t.match(list.out, ORPHAN_LINE(dir, 2, 'delta'), 'the delta file');
  t.match(list.out, 'put its manifest back (a delta file cannot be read without it)', 'and the only way to keep it');
  fs.unlinkSync(join(dir, name(1, 'json')));
  fs.unlinkSync(join(dir, name(3, 'json')));
  const empty = await runCli(['list', '--dir', dir]);
  t.equal(empty.code, 0);
  t.match(empty.out, new RegExp(`^no generations in ${dir} yet\\n`), 'no generations');
  t.same([...empty.out.matchAll(/\/(gen-\d+\.\w+) \(.*: not a generation/g)].map((m) => m[1]), [name(3, 'img'), name(2, 'delta'), name(1, 'img')], 'every data file, newest first');
  const verify = await runCli(['verify', '--all', '--dir', dir, '--json']);
  t.match(JSON.parse(verify.out), { ok: true, results: [], orphans: [{ sequence: 3, kind: 'full' }, { sequence: 2, kind: 'delta' }, { sequence: 1, kind: 'full' }] });
  t.equal(verify.code, 0);
  // latest names none: the error line says what is there instead, for every command that reads it.
  for (const argv of [['verify'], ['show', 'latest'], ['cat', 'latest'], ['verify', 'latest~1']]) {
    const r = await runCli([...argv, '--dir', dir]);
    t.equal(r.code, 1, `${argv.join(' ')}: exit 1`);
    t.ok(isOneLineError(r.stderr), `${argv.join(' ')}: one line (${r.stderr.trim()})`);
    t.match(r.stderr, `there are no generations in ${dir}, only data files no manifest names (${name(3, 'img')}, ${name(2, 'delta')}, ${name(1, 'img')}) (the next start of a host on it deletes them; see shm-host list for how to keep them)`, argv.join(' '));
  }
});

t.test('not orphans: a clean directory, temporary files, a data file beside a manifest that cannot be read', async (t) => {
  const { dir } = await store(t);
  const clean = await runCli(['list', '--dir', dir]);
  t.notMatch(clean.out, 'not a generation', 'a clean directory: no line');
  t.same(JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out).orphans, [], 'orphans: []');
  fs.writeFileSync(join(dir, `.tmp-${name(4, 'img')}`), 'partial');
  fs.writeFileSync(join(dir, `.tmp-${name(5, 'delta')}`), 'partial');
  fs.writeFileSync(join(dir, `.tmp-${name(4, 'json')}`), '{');
  // Named by a manifest name, though not one: reported as a bad row, and never swept.
  fs.writeFileSync(join(dir, name(3, 'json')), 'not json');
  for (const argv of [['list'], ['verify', '--all']]) {
    const r = await runCli([...argv, '--dir', dir, '--json']);
    t.same(JSON.parse(r.out).orphans, [], `${argv.join(' ')}: none`);
    t.equal(r.code, 1, `${argv.join(' ')}: exit 1 for the bad manifest, as before`);
  }
});

/**
 * Runs `work` with realStoreFs.open doing `meanwhile` (once) just before the
 * command opens its first manifest: what a running host does while the
 * command reads the directory, between its two looks for orphans.
 */
async function whileReading<T>(meanwhile: () => void, work: () => Promise<T>): Promise<T> {
  const open = realStoreFs.open;
  let done = false;
  realStoreFs.open = (path, flags, mode) => {
    if (!done && path.endsWith('.json')) {
      done = true;
      meanwhile();
    }
    return open(path, flags, mode);
  };
  try {
    return await work();
  } finally {
    realStoreFs.open = open;
  }
}

/**
 * Runs `work` with `meanwhile` done (once) at the first readdir after the
 * command read its lock file, which it does after its second look, when
 * orphans are left: a deletion that ends while it watches them.
 */
async function whileWatching<T>(meanwhile: () => void, work: () => Promise<T>): Promise<T> {
  const { open, readdir } = realStoreFs;
  let armed = false;
  let done = false;
  realStoreFs.open = (path, flags, mode) => {
    if (path.endsWith('/lock')) armed = true;
    return open(path, flags, mode);
  };
  realStoreFs.readdir = (path) => {
    if (armed && !done) {
      done = true;
      meanwhile();
    }
    return readdir(path);
  };
  try {
    return await work();
  } finally {
    Object.assign(realStoreFs, { open, readdir });
  }
}

t.test('beside a running host: a commit or a deletion while the command reads is not an orphan', async (t) => {
  const { base, dir } = await store(t);
  const manifest = join(dir, name(3, 'json'));
  const aside = join(base, name(3, 'json'));
  for (const argv of [['list'], ['list', '--verify'], ['verify', '--all'], ['verify']]) {
    // The image renamed into place, its manifest not yet: the host commits it while the command reads.
    fs.renameSync(manifest, aside);
    const committed = await whileReading(() => fs.renameSync(aside, manifest), () => runCli([...argv, '--dir', dir, '--json']));
    t.same(JSON.parse(committed.out).orphans, [], `${argv.join(' ')}: committed meanwhile: not reported`);
    t.equal(committed.code, 0, committed.stderr);
  }
  // The same, with the manifest still under its temporary name at both looks: a commit in flight.
  fs.renameSync(manifest, join(dir, `.tmp-${name(3, 'json')}`));
  t.same(JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out).orphans, [], 'a manifest being written: not reported');
  fs.renameSync(join(dir, `.tmp-${name(3, 'json')}`), manifest);
  // Retention deletes the manifest first and the data file after: done while the command reads.
  fs.unlinkSync(manifest);
  const image = join(dir, name(3, 'img'));
  const deleted = await whileReading(() => fs.unlinkSync(image), () => runCli(['list', '--dir', dir, '--json']));
  t.same(JSON.parse(deleted.out).orphans, [], 'deleted meanwhile: not reported');
  // Without either, it is one.
  fs.writeFileSync(image, 'an image');
  t.match(JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out).orphans, [{ sequence: 3, bytes: 8 }], 'still there at both looks: reported');

  // A writer named alive in the lock file (this process): what is left after the second look is
  // watched a little longer, so a deletion slower than the command still ends unreported.
  const lock = join(dir, 'lock');
  fs.writeFileSync(lock, `${process.pid} host\n`);
  const slow = await whileWatching(() => fs.unlinkSync(image), () => runCli(['list', '--dir', dir, '--json']));
  t.same(JSON.parse(slow.out).orphans, [], 'deleted after the second look, beside a live writer: not reported');
  t.notOk(fs.existsSync(image), 'it was deleted while the command watched');
  fs.writeFileSync(image, 'an image');
  const started = performance.now();
  const real = await runCli(['verify', '--all', '--dir', dir, '--json']);
  t.ok(performance.now() - started >= 1000, 'a real orphan beside a live writer: watched for a second');
  t.match(JSON.parse(real.out).orphans, [{ sequence: 3, bytes: 8 }], 'then reported');
  // No live writer named: nothing to wait for, and no second chance.
  fs.writeFileSync(lock, '');
  const noWriter = await whileWatching(() => fs.unlinkSync(image), () => runCli(['list', '--dir', dir, '--json']));
  t.match(JSON.parse(noWriter.out).orphans, [{ sequence: 3, bytes: 8 }], 'no live writer: reported at once');
  t.ok(fs.existsSync(image), 'the directory was not read again');
});
