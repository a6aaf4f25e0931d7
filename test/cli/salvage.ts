// Reading a damaged generation on purpose: --ignore-checksum makes cat, show
// and export write what is there, after one warning line, with exit 4; a
// chain that composes no image is still refused, naming the link; a
// salvaged export is found damaged by every reader, and import takes it
// only when told.
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { writeGenerations } from '../../fixtures/cli-store.js';
import { isOneLineError, runCli } from './harness.js';

const name = (sequence: number, ext: string): string => `gen-${String(sequence).padStart(16, '0')}.${ext}`;

/** Sets byte `at` of `path` to 0x55. */
function poke(path: string, at: number): void {
  const fd = fs.openSync(path, 'r+');
  fs.writeSync(fd, Buffer.from([0x55]), 0, 1, at);
  fs.closeSync(fd);
}

const HEX = '[0-9a-f]{16}';
const warning = (verb: string, label: string, problem: string): RegExp =>
  new RegExp(`^shm-host: warning: ${verb} ${label} although its bytes do not match its manifest's checksum \\(--ignore-checksum\\): ${problem}\n$`);

t.test('a full generation whose tail changed: cat writes its bytes with one warning and exit 4; an intact one as without the option', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  const written = await writeGenerations(dir, { generations: 3 });
  const before = await runCli(['cat', '3', '--tail', '--dir', dir]);
  const latest = await runCli(['cat', '3', '--dir', dir]);
  t.equal(before.code, 0);
  const tailBase = written[2]!.tailBase;
  poke(join(dir, name(3, 'img')), tailBase + 500);

  const refused = await runCli(['cat', '3', '--tail', '--dir', dir]);
  t.equal(refused.code, 1, 'without the option: refused');
  t.match(refused.stderr, /\(use generation 2 instead, the newest older one that verifies, or add --ignore-checksum to take its bytes as they are\)\n$/, 'naming the option');
  t.equal(refused.stdout.length, 0);

  const tail = await runCli(['cat', '3', '--tail', '--ignore-checksum', '--dir', dir]);
  t.equal(tail.code, 4, tail.stderr);
  t.match(tail.stderr, warning('writing', 'generation 3', `checksum mismatch: image gen-0000000000000003\\.img changed after it was written \\(manifest ${HEX}, image ${HEX}\\)`));
  const expected = Buffer.from(before.stdout);
  expected[500] = 0x55;
  t.ok(tail.stdout.equals(expected), 'the tail as it is on disk, the changed byte included');

  const record = await runCli(['cat', '3', '--ignore-checksum', '--dir', dir]);
  t.equal(record.code, 4);
  t.ok(record.stdout.equals(latest.stdout), 'the latest record, which the damage did not touch');

  const intact = await runCli(['cat', '2', '--ignore-checksum', '--dir', dir]);
  const plain = await runCli(['cat', '2', '--dir', dir]);
  t.same([intact.code, intact.stderr], [0, ''], 'an intact generation: exit 0, no warning');
  t.ok(intact.stdout.equals(plain.stdout));

  const show = await runCli(['show', '3', '--ignore-checksum', '--dir', dir]);
  t.equal(show.code, 4);
  t.match(show.stderr, warning('showing', 'generation 3', 'checksum mismatch: image gen-0000000000000003\\.img changed after it was written .*'));
  t.match(show.out, /checksum: +xxh3-64\/chunks-64KiB [0-9a-f]{16} \(does NOT match the image: what follows is not what was written\)/);
  const json = await runCli(['show', '3', '--ignore-checksum', '--json', '--dir', dir]);
  t.equal(json.code, 4);
  t.equal(JSON.parse(json.out).salvaged, true);
  t.equal(JSON.parse((await runCli(['show', '2', '--json', '--dir', dir])).out).salvaged, false);
});

t.test('a delta: a damaged file of its own is named in the warning; one whose damaged blocks newer links replace composes an intact image', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 4, maxChain: 3 });
  const before = await runCli(['cat', '2', '--tail', '--dir', dir]);
  // The last stored block of delta 2 (the tail's first block): its byte 100.
  const delta = join(dir, name(2, 'delta'));
  const indexOffset = Number(fs.readFileSync(delta).readBigUInt64LE(40));
  poke(delta, indexOffset - 4096 + 100);

  const own = await runCli(['cat', '2', '--tail', '--ignore-checksum', '--dir', dir]);
  t.equal(own.code, 4, own.stderr);
  t.match(own.stderr, warning('writing', 'generation 2', `gen-0000000000000002\\.delta is damaged: checksum mismatch \\(manifest ${HEX}, file ${HEX}\\): it changed after it was written`));
  const expected = Buffer.from(before.stdout);
  expected[100] = 0x55;
  t.ok(own.stdout.equals(expected), 'the tail composed from the damaged delta');

  // Every later delta holds every block of this small image: generation 4's image is intact though a link is damaged.
  const refused = await runCli(['cat', '4', '--dir', dir]);
  t.equal(refused.code, 1, 'without the option the damaged link refuses it');
  t.match(refused.stderr, new RegExp(`^shm-host: generation 4 cannot be read: gen-0000000000000002\\.delta \\(generation 2, which it depends on\\) is damaged: checksum mismatch \\(manifest ${HEX}, file ${HEX}\\): it changed after it was written \\(use generation 1 instead, the newest older one that verifies, or add --ignore-checksum to take its bytes as they are\\)\n$`), 'the refusal names the option: the chain still composes');
  const composed = await runCli(['cat', '4', '--ignore-checksum', '--dir', dir]);
  t.same([composed.code, composed.stderr], [0, ''], 'its image matches its checksum: no warning, exit 0');
});

t.test('a chain with a missing link cannot be salvaged: refused, naming the link', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 4, maxChain: 3 });
  fs.rmSync(join(dir, name(2, 'delta')));
  for (const argv of [['cat', '4'], ['show', '4'], ['export', '4', join(dir, '..', 'x.shmx')]]) {
    const r = await runCli([...argv, '--ignore-checksum', '--dir', dir]);
    t.equal(r.code, 1, argv[0]);
    t.ok(isOneLineError(r.stderr), r.stderr);
    t.equal(r.stderr, 'shm-host: generation 4 cannot be read: gen-0000000000000002.delta (generation 2, which it depends on) is missing (a chain whose links do not compose an image cannot be salvaged; use generation 1 instead, the newest older one that verifies)\n', argv[0]);
    t.equal(r.stdout.length, 0);
  }
});

t.test('a salvaged export keeps the manifest\'s checksum: verify, cat and import find it damaged; import --ignore-checksum takes its bytes as a generation that verifies', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  const written = await writeGenerations(dir, { generations: 3 });
  const latest = await runCli(['cat', '3', '--dir', dir]);
  poke(join(dir, name(3, 'img')), written[2]!.tailBase + 500);
  const file = join(base, 'salvaged.shmx');

  const exported = await runCli(['export', '3', file, '--ignore-checksum', '--dir', dir]);
  t.equal(exported.code, 4, exported.stderr);
  t.match(exported.stderr, warning('exported', 'generation 3', `checksum mismatch: image gen-0000000000000003\\.img changed after it was written \\(manifest ${HEX}, image ${HEX}\\)`));
  t.equal(exported.out, `exported generation 3 (64 KiB image) to ${file}, damaged as it is: import takes it only with --ignore-checksum\n`);

  const verify = await runCli(['verify', file]);
  t.equal(verify.code, 1, 'verify: bad');
  t.equal((await runCli(['cat', file])).code, 1, 'cat: refused');

  const target = join(base, 'other');
  const refused = await runCli(['import', file, '--dir', target]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^shm-host: cannot import .*salvaged\.shmx: the exported image does not match its manifest's checksum \([0-9a-f]{16}\): it was damaged before it was exported \(nothing was imported; it is the export of a damaged generation: to take its bytes as they are, import it with --ignore-checksum\)\n$/);
  t.notOk(fs.existsSync(target), 'nothing imported, the new directory removed');

  const taken = await runCli(['import', file, '--ignore-checksum', '--dir', target]);
  t.equal(taken.code, 4, taken.stderr);
  t.match(taken.stderr, new RegExp(`^shm-host: warning: imported ${file} as generation 1 although its image does not match its manifest's checksum \\(--ignore-checksum\\): its image's checksum is ${HEX}, its manifest's ${HEX}; the generation carries its image's own checksum\n$`));
  t.equal((await runCli(['verify', '--all', '--dir', target])).code, 0, 'the imported generation verifies: its manifest describes the bytes it holds');
  t.ok((await runCli(['cat', 'latest', '--dir', target])).stdout.equals(latest.stdout), 'the salvaged record');

  const good = await runCli(['export', '2', join(base, 'good.shmx'), '--ignore-checksum', '--json', '--dir', dir]);
  t.same([good.code, good.stderr, JSON.parse(good.out).salvaged], [0, '', false], 'an intact generation exports as without the option');
  const plain = await runCli(['export', '2', join(base, 'plain.shmx'), '--dir', dir]);
  t.equal(plain.code, 0);
  t.ok(fs.readFileSync(join(base, 'good.shmx')).equals(fs.readFileSync(join(base, 'plain.shmx'))), 'byte for byte the same export');
});

t.test('verify latest reports a damaged or broken delta as verify N does (a bad row, exit 1); only commands that take --ignore-checksum suggest it', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 3, maxChain: 3 });
  const delta = join(dir, name(3, 'delta'));
  poke(delta, Number(fs.readFileSync(delta).readBigUInt64LE(40)) - 4096 + 100);
  const byNumber = await runCli(['verify', '3', '--dir', dir]);
  t.equal(byNumber.code, 1);
  t.match(byNumber.out, /^generation 3: bad: gen-0000000000000003\.delta is damaged: checksum mismatch/);
  for (const ref of ['latest', 'latest~0']) {
    const r = await runCli(['verify', ref, '--dir', dir]);
    t.same([r.code, r.out, r.stderr], [1, byNumber.out, ''], `verify ${ref}: the same bad row`);
    const json = await runCli(['verify', ref, '--json', '--dir', dir]);
    t.same([json.code, JSON.parse(json.out).results[0].sequence, JSON.parse(json.out).ok], [1, 3, false], `verify ${ref} --json`);
  }
  const cat = await runCli(['cat', 'latest', '--dir', dir]);
  t.equal(cat.code, 1);
  t.match(cat.stderr, /or add --ignore-checksum to take its bytes as they are\)\n$/, 'cat takes the option: its refusal names it');

  fs.rmSync(join(dir, name(2, 'delta')));
  const missing = await runCli(['verify', '3', '--dir', dir]);
  t.equal(missing.code, 1);
  const latest = await runCli(['verify', 'latest', '--dir', dir]);
  t.same([latest.code, latest.out, latest.stderr], [1, missing.out, ''], 'a missing link: the same bad row');
});

t.test('a salvaged import is marked in its manifest, in list and in show, and the mark travels with its exports; a clean import carries none', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  const written = await writeGenerations(dir, { generations: 3 });
  const original = JSON.parse(fs.readFileSync(join(dir, name(3, 'json')), 'utf8'));
  poke(join(dir, name(3, 'img')), written[2]!.tailBase + 500);
  const file = join(base, 'salvaged.shmx');
  t.equal((await runCli(['export', '3', file, '--ignore-checksum', '--dir', dir])).code, 4);
  const target = join(base, 'other');
  t.equal((await runCli(['import', file, '--ignore-checksum', '--dir', target])).code, 4);

  const manifest = JSON.parse(fs.readFileSync(join(target, name(1, 'json')), 'utf8'));
  t.match(manifest.salvaged, { sequence: 3, checksum: original.checksum.value, problem: new RegExp(`^its image's checksum is ${HEX}, its manifest's ${original.checksum.value}$`) }, 'the manifest records the salvage');
  t.equal(manifest.reason, 'import');
  t.not(manifest.checksum.value, original.checksum.value, 'and carries the bytes\' own checksum');

  const list = await runCli(['list', '--dir', target]);
  t.match(list.out, /\n +1 +\S+ +import \(salvaged\) +full /, 'list: the REASON column says so');
  t.same(JSON.parse((await runCli(['list', '--json', '--dir', target])).out).generations[0].salvaged, manifest.salvaged, 'list --json: the record');
  const show = await runCli(['show', '1', '--dir', target]);
  t.equal(show.code, 0, show.stderr);
  t.equal(/\n +salvaged: +([^\n]*)\n/.exec(show.out)?.[1], `from generation 3 of an export whose image did not match its manifest's checksum ${original.checksum.value}: ${manifest.salvaged.problem}`, 'show: a line');
  const shown = JSON.parse((await runCli(['show', '1', '--json', '--dir', target])).out);
  t.same([shown.manifest.salvaged, shown.salvaged], [manifest.salvaged, false], 'show --json: the manifest\'s record; the image matches its own checksum');

  // Exported again, cleanly, and imported: the mark travels.
  const again = join(base, 'again.shmx');
  t.equal((await runCli(['export', '1', again, '--dir', target])).code, 0);
  const third = join(base, 'third');
  t.equal((await runCli(['import', again, '--dir', third])).code, 0);
  t.same(JSON.parse(fs.readFileSync(join(third, name(1, 'json')), 'utf8')).salvaged, manifest.salvaged, 'a clean import of a salvaged generation keeps the record');

  const clean = join(base, 'clean');
  const good = join(base, 'good.shmx');
  t.equal((await runCli(['export', '2', good, '--dir', dir])).code, 0);
  t.equal((await runCli(['import', good, '--dir', clean])).code, 0);
  t.notOk('salvaged' in JSON.parse(fs.readFileSync(join(clean, name(1, 'json')), 'utf8')), 'a clean import: no salvaged field');
  t.equal(JSON.parse((await runCli(['list', '--json', '--dir', clean])).out).generations[0].salvaged, null);
  t.notMatch((await runCli(['show', '1', '--dir', clean])).out, /\n +salvaged:/, 'show: no line');

  // A field this version does not know is no reason to refuse a manifest.
  const path = join(clean, name(1, 'json'));
  fs.writeFileSync(path, JSON.stringify({ ...JSON.parse(fs.readFileSync(path, 'utf8')), futureField: { a: 1 } }, null, 2) + '\n');
  t.equal((await runCli(['verify', '1', '--dir', clean])).code, 0, 'an unknown field is read past');
});
