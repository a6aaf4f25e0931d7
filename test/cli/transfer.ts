// export, import and prune on directories written by real captures: round
// trips, rollback through real pipes, damaged exports, and a directory a
// running host holds.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { recordData, writeGenerations } from '../../fixtures/cli-store.js';
import { BIN, hostDir, isOneLineError, runBin, runCli, startHost } from './harness.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Names in `dir`, sorted (to show that a failed command left nothing behind). */
const names = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

async function store(t: Test, generations = 3, options = {}): Promise<{ base: string; dir: string }> {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  await writeGenerations(dir, { generations, ...options });
  return { base, dir };
}

for (const [kind, options] of [['full', {}], ['delta', { maxChain: 3 }]] as const) t.test(`export to a file (a ${kind} generation), import into another directory: the same state, restored next`, async (t) => {
  const { base, dir } = await store(t, 3, options);
  const file = join(base, 'state.shmx');
  const exported = await runCli(['export', 'latest~1', file, '--dir', dir, '--json']);
  t.equal(exported.code, 0, exported.stderr);
  const summary = JSON.parse(exported.out);
  const bytes = fs.readFileSync(file);
  t.same(summary, {
    file, sequence: 2, imageSize: 65536, bytes: bytes.length, sha256: createHash('sha256').update(bytes.subarray(0, -40)).digest('hex'), salvaged: false,
  }, 'the trailer is the SHA-256 of everything before it');
  t.equal(bytes.subarray(0, 8).toString('latin1'), 'SHMHEXP\n');
  t.equal(bytes.subarray(-40, -32).toString('latin1'), 'SHMHEND\n');
  t.equal(hex(bytes.subarray(-32)), summary.sha256);
  t.equal((fs.statSync(file).mode & 0o777), 0o600);
  t.same(names(base).filter((n) => n.includes('.tmp-')), [], 'no temporary file left');

  const other = join(base, 'elsewhere');
  const imported = await runCli(['import', file, '--dir', other]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.out, /^imported generation 2 \(interval, .*, 64 KiB\) as generation 1 of .*elsewhere: the next start restores it\n$/);
  const shown = JSON.parse((await runCli(['show', 'latest', '--dir', other, '--json'])).out);
  t.match(shown.manifest, { sequence: 1, reason: 'import', records: 8, configured: true, kind: 'full' });
  t.equal(hex((await runCli(['cat', 'latest', '--dir', other])).stdout), hex(recordData(2, 3, 24)));
  t.equal((await runCli(['verify', '--dir', other])).code, 0);
  // The export file itself can be read in place.
  t.equal((await runCli(['verify', file])).out, `export ${file}: ok\n`);
  t.equal(hex((await runCli(['cat', file, '--record', 'all'])).stdout), hex((await runCli(['cat', '2', '--record', 'all', '--dir', dir])).stdout));
});

t.test('an existing file is kept unless --force; stdout must not be a terminal', async (t) => {
  const { base, dir } = await store(t, 2);
  const file = join(base, 'x.shmx');
  fs.writeFileSync(file, 'keep me');
  const refused = await runCli(['export', 'latest', file, '--dir', dir]);
  t.equal(refused.code, 1);
  t.equal(refused.stderr, `shm-host: ${file} already exists (remove it, choose another name, or pass --force)\n`);
  t.equal(fs.readFileSync(file, 'utf8'), 'keep me');
  t.equal((await runCli(['export', 'latest', file, '--dir', dir, '--force'])).code, 0);
  t.equal(fs.readFileSync(file).subarray(0, 8).toString(), 'SHMHEXP\n');
  const tty = await runCli(['export', 'latest', '-', '--dir', dir], { tty: true });
  t.equal(tty.code, 2);
  t.match(tty.stderr, /refusing to write a binary export to a terminal \(redirect stdout/);
  t.equal((await runCli(['export', 'latest', '-', '--json', '--dir', dir])).code, 2);
  const stdin = Object.assign(Readable.from([]), { isTTY: true });
  const fromTty = await runCli(['import', '-', '--dir', dir], { stdin });
  t.equal(fromTty.code, 2);
  t.match(fromTty.stderr, /refusing to read an export from a terminal/);
  const bare = join(base, 'bare.img');
  fs.copyFileSync(join(dir, 'gen-0000000000000001.img'), bare);
  const noManifest = await runCli(['export', bare, join(base, 'y.shmx')]);
  t.equal(noManifest.code, 1);
  t.match(noManifest.stderr, /has no manifest to export with/);
});

t.test('an export path that cannot be written: one line naming it (not the temporary file) and the fix', async (t) => {
  const { base, dir } = await store(t, 1);
  fs.writeFileSync(join(base, 'afile'), 'x');
  fs.mkdirSync(join(base, 'adir'));
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing directory', [join(base, 'nodir', 'x.shmx')], new RegExp(`^shm-host: cannot write ${join(base, 'nodir', 'x.shmx')}: the directory ${join(base, 'nodir')} does not exist .*\\(create it or give another path\\)\n$`)],
    ['a directory', [join(base, 'adir')], new RegExp(`^shm-host: ${join(base, 'adir')} is a directory \\(give a file path, e.g. ${join(base, 'adir', 'state.shmx')}\\)\n$`)],
    ['a directory, with --force', [join(base, 'adir'), '--force'], /adir is a directory \(give a file path/],
    ['a file as its directory', [join(base, 'afile', 'x.shmx')], new RegExp(`cannot write .*: ${join(base, 'afile')} is not a directory`)],
    ['a file system that makes no files', ['/proc/shm-host-test.shmx'], /cannot write \/proc\/shm-host-test.shmx: \/proc takes no new files/],
  ];
  for (const [what, argv, pattern] of cases) {
    // The binary: the errno errors come from its own system calls.
    const r = await runBin(['export', 'latest', '--dir', dir, ...argv]);
    t.equal(r.code, 1, `${what}: exit 1`);
    t.ok(isOneLineError(r.stderr), `${what}: one line (${r.stderr.trim()})`);
    t.match(r.stderr, pattern, what);
    t.notMatch(r.stderr, /\.tmp-/, `${what}: no temporary file named`);
  }
  t.same(names(join(base, 'adir')), [], 'nothing left in the directory');
});

t.test('an export file that cannot be read: one line naming it and the fix, and no directory made', async (t) => {
  const base = t.testdir({ afile: 'x' });
  for (const [what, file, pattern] of [
    ['missing', join(base, 'nodir', 'x.shmx'), /: no such file \(ENOENT\) \(check the path of the export file, or give - to read one from stdin\)/],
    ['below a file', join(base, 'afile', 'x.shmx'), /: a part of its path is not a directory \(ENOTDIR\)/],
  ] as const) {
    const r = await runBin(['import', file, '--dir', join(base, 'state')]);
    t.equal(r.code, 1, `${what}: exit 1`);
    t.ok(isOneLineError(r.stderr), `${what}: one line (${r.stderr.trim()})`);
    t.match(r.stderr, new RegExp(`^shm-host: cannot import ${file}`), `${what}: names the file`);
    t.match(r.stderr, pattern, what);
  }
  t.same(names(base), ['afile'], 'no snapshot directory made');
});

t.test('roll back through real pipes: export latest~2 - | import -', async (t) => {
  const { dir } = await store(t, 3);
  const before = JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out).generations.map((g: any) => g.sequence);
  const r = await execa('bash', ['-c', `set -o pipefail; node "${BIN}" export latest~2 - --dir "$0" | node "${BIN}" import - --dir "$0"`, dir], { reject: false });
  t.equal(r.exitCode, 0, r.stderr);
  t.match(r.stdout, /^imported generation 1 .* as generation 4 of /);
  const after = JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out).generations;
  t.same(after.map((g: any) => g.sequence), [4, ...before], 'the import is the newest; nothing was deleted');
  t.same([after[0].reason, after[0].records], ['import', 4]);
  t.equal(hex((await runCli(['cat', 'latest', '--dir', dir])).stdout), hex(recordData(1, 3, 24)), 'the rolled-back state');
  t.equal((await runCli(['verify', '--all', '--dir', dir])).code, 0);
});

t.test('a large, mostly empty image stays sparse through export and import', async (t) => {
  const { base, dir } = await store(t, 1, { size: 8 * 1024 * 1024 });
  const file = join(base, 'big.shmx');
  t.equal((await runCli(['export', 'latest', file, '--dir', dir])).code, 0);
  const other = join(base, 'other');
  t.equal((await runCli(['import', file, '--dir', other])).code, 0);
  const image = join(other, 'gen-0000000000000001.img');
  const stat = fs.statSync(image);
  t.equal(stat.size, 8 * 1024 * 1024);
  t.ok(stat.blocks * 512 < 2 * 1024 * 1024, `${stat.blocks * 512} bytes allocated for an 8 MiB image`);
  t.equal((await runCli(['verify', '--dir', other])).code, 0);
});

t.test('damaged exports are refused and leave the directory as it was', async (t) => {
  const { base, dir } = await store(t, 2);
  const file = join(base, 'good.shmx');
  t.equal((await runCli(['export', 'latest', file, '--dir', dir])).code, 0);
  const good = fs.readFileSync(file);
  const before = names(dir);
  const variants: Array<[string, Buffer, RegExp]> = [];
  const flipped = Buffer.from(good);
  flipped[good.length - 1000]! ^= 0x01;
  variants.push(['a flipped image byte', flipped, /its SHA-256 does not match its contents/]);
  variants.push(['truncated', good.subarray(0, good.length - 100), /the export is truncated: it ends inside its (image|trailer)/]);
  variants.push(['extended', Buffer.concat([good, Buffer.from('x')]), /bytes after its trailer/]);
  variants.push(['empty', Buffer.alloc(0), /not a shm-host export: it is empty/]);
  variants.push(['a bare image', fs.readFileSync(join(dir, 'gen-0000000000000001.img')), /not a shm-host export but a snapshot image/]);
  // A manifest that lies about the image, with a SHA-256 made to match: the image checksum catches it.
  const manifestLength = Number(good.readBigUInt64LE(16));
  const manifest = JSON.parse(good.subarray(48, 48 + manifestLength).toString());
  manifest.checksum.value = '0123456789abcdef';
  const body = Buffer.concat([good.subarray(0, 48), Buffer.from(JSON.stringify(manifest, null, 2).padEnd(manifestLength - 1) + '\n'), good.subarray(48 + manifestLength, -40)]);
  const forged = Buffer.concat([body, Buffer.from('SHMHEND\n'), createHash('sha256').update(body).digest()]);
  variants.push(['a manifest whose checksum lies', forged, /does not match its manifest's checksum/]);
  for (const [what, bytes, expected] of variants) {
    const r = await runCli(['import', '-', '--dir', dir], { stdin: bytes });
    t.equal(r.code, 1, what);
    t.match(r.stderr, expected, what);
    // A whole export whose image is not its manifest's is a damaged generation's: the option that takes it is named.
    const fix = what === 'a manifest whose checksum lies'
      ? 'it is the export of a damaged generation: to take its bytes as they are, import it with --ignore-checksum'
      : what === 'a bare image'
        ? 'export its generation from the snapshot directory it belongs to and import that: shm-host export <sequence> --dir <that directory> FILE.shmx'
        : 'give a complete file written by shm-host export';
    t.equal(r.stderr.slice(r.stderr.lastIndexOf(' (nothing was imported; ')), ` (nothing was imported; ${fix})\n`, what);
    t.match(r.stderr, /^shm-host: cannot import stdin: /, what);
    t.same(names(dir), before, `${what}: the directory is unchanged`);
    if (what === 'a bare image') continue; // verify reads it as the valid image it is
    const path = join(base, 'bad.shmx');
    fs.writeFileSync(path, bytes);
    const v = await runCli(['verify', path]);
    t.equal(v.code, 1, `verify ${what}`);
  }
});

t.test('export refuses a damaged generation', async (t) => {
  const { base, dir } = await store(t, 2);
  const image = join(dir, 'gen-0000000000000002.img');
  const fd = fs.openSync(image, 'r+');
  fs.writeSync(fd, Buffer.from([0x55]), 0, 1, 40000);
  fs.closeSync(fd);
  const file = join(base, 'x.shmx');
  const r = await runCli(['export', 'latest', file, '--dir', dir]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^shm-host: generation 2 is damaged: checksum mismatch: image gen-0000000000000002\.img changed after it was written \(manifest [0-9a-f]{16}, image [0-9a-f]{16}\) \(use generation 1 instead, the newest older one that verifies, or add --ignore-checksum to take its bytes as they are\)\n$/);
  t.notOk(fs.existsSync(file), 'no export file');
  t.same(names(base).filter((n) => n.includes('.tmp-')), [], 'no temporary file left');
});

t.test('import and prune refuse a directory a running host holds, in one line', async (t) => {
  const dir = hostDir(t);
  await writeGenerations(dir, { generations: 2 });
  const file = `${dir}.shmx`;
  t.teardown(() => fs.rmSync(file, { force: true }));
  t.equal((await runCli(['export', 'latest', file, '--dir', dir])).code, 0);
  const { pid } = await startHost(t, dir);
  const before = (await runCli(['list', '--dir', dir, '--json'])).out;
  for (const [what, argv] of [['import', ['import', file]], ['prune', ['prune', '--keep', '2']]] as const) {
    const r = await runCli([...argv, '--dir', dir]);
    t.equal(r.code, 1, what);
    t.equal(r.stderr, `shm-host: cannot ${what}: a host is running on ${dir} (pid ${pid}) (stop the host first, then ${what} again)\n`);
  }
  t.equal((await runCli(['list', '--dir', dir, '--json'])).out, before, 'nothing changed');
});

t.test('prune --keep 2 of a chain keeps what the newest depend on, and says so', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 4, maxChain: 3 });
  const r = await runBin(['prune', '--keep', '2', '--dir', dir]);
  t.same([r.code, r.stderr], [0, '']);
  t.equal(r.out, `nothing to delete: ${dir} holds 4 generations (past --keep 2: what the newest 2 depend on, or the newest that verifies)\n`);
  const help = await runBin(['prune', '--help']);
  t.match(help.out, /Delete all but the newest --keep generations and the ones they depend on/);
});

t.test('prune keeps the newest N, and always the newest generation that verifies', async (t) => {
  const { dir } = await store(t, 5);
  const r = await runCli(['prune', '--keep', '3', '--dir', dir, '--json']);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.out), { dir, deleted: [2, 1], kept: [5, 4, 3] });
  t.same(await runCli(['prune', '--keep', '3', '--dir', dir]).then((x) => x.out), `nothing to delete: ${dir} holds 3 generations\n`);
  // Damage the two newest: the newest good one (3) must survive --keep 2.
  for (const seq of [5, 4]) fs.truncateSync(join(dir, `gen-000000000000000${seq}.img`), 100);
  const damaged = await runCli(['prune', '--keep', '2', '--dir', dir]);
  t.equal(damaged.code, 0);
  t.equal(damaged.out, `nothing to delete: ${dir} holds 3 generations (past --keep 2: what the newest 2 depend on, or the newest that verifies)\n`, 'generation 3 is spared: it is the only one a restart could use');
  t.equal((await runCli(['verify', '3', '--dir', dir])).code, 0);
  t.ok(isOneLineError((await runCli(['prune', '--keep', '2', '--dir', join(dir, 'gen-0000000000000003.img')])).stderr));
});

t.test('prune says which data files without a manifest its open removed, as a host logs them', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 2 });
  fs.writeFileSync(join(dir, 'gen-0000000000000009.img'), 'an image whose manifest was deleted');
  const r = await runBin(['prune', '--keep', '2', '--dir', dir]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, 'shm-host: prune: removed 1 data file no manifest names (an interrupted write\'s, or a generation whose manifest was deleted): gen-0000000000000009.img\n');
  t.notOk(fs.existsSync(join(dir, 'gen-0000000000000009.img')));
});
