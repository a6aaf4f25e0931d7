// What --ignore-checksum gets past and what it says: a delta's reserved
// header byte (no data), records that break the commit protocol (left out,
// named), and the words of a salvaged export, of export's refusal and of a
// --tail range past the tail's end.
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { writeGenerations } from '../../fixtures/cli-store.js';
import { isOneLineError, runCli } from './harness.js';

const name = (sequence: number, ext: string): string => `gen-${String(sequence).padStart(16, '0')}.${ext}`;

/** Sets byte `at` of `path` to `value`. */
function poke(path: string, at: number, value: number): void {
  const fd = fs.openSync(path, 'r+');
  fs.writeSync(fd, Buffer.from([value]), 0, 1, at);
  fs.closeSync(fd);
}

const RESERVED = 'is damaged: byte 100 of its header page is 0xff where the format reserves zeros \\(bytes 48\\.\\.4096\\): the header changed after it was written';

t.test('a delta\'s reserved header byte holds no data: salvage reads past it with a warning naming it, exit 4', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 4, maxChain: 3 });
  const tail = await runCli(['cat', '2', '--tail', '--dir', dir]);
  const later = await runCli(['cat', '4', '--tail', '--dir', dir]);
  const exported = join(dir, '..', 'before.shmx');
  t.equal((await runCli(['export', '2', exported, '--dir', dir])).code, 0);
  poke(join(dir, name(2, 'delta')), 100, 0xff);

  const refused = await runCli(['cat', '2', '--tail', '--dir', dir]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, new RegExp(`^shm-host: generation 2 cannot be read: gen-0000000000000002\\.delta ${RESERVED} \\(use generation 1 instead, the newest older one that verifies, or add --ignore-checksum to take its bytes as they are\\)\n$`));

  const cat = await runCli(['cat', '2', '--tail', '--ignore-checksum', '--dir', dir]);
  t.equal(cat.code, 4, cat.stderr);
  t.match(cat.stderr, new RegExp(`^shm-host: warning: writing generation 2 although gen-0000000000000002\\.delta ${RESERVED} \\(--ignore-checksum\\); its image matches its manifest's checksum\n$`));
  t.ok(cat.stdout.equals(tail.stdout), 'the tail as written');

  const link = await runCli(['cat', '4', '--tail', '--ignore-checksum', '--dir', dir]);
  t.equal(link.code, 4, link.stderr);
  t.match(link.stderr, /^shm-host: warning: writing generation 4 although gen-0000000000000002\.delta \(generation 2, which it depends on\) is damaged: byte 100 /);
  t.ok(link.stdout.equals(later.stdout));

  const show = await runCli(['show', '2', '--ignore-checksum', '--dir', dir]);
  t.equal(show.code, 4, show.stderr);
  t.match(show.stderr, /^shm-host: warning: showing generation 2 although /);
  t.notMatch(show.out, /does NOT match/, 'its checksum matches: show does not say otherwise');

  const file = join(dir, '..', 'after.shmx');
  const exp = await runCli(['export', '2', file, '--ignore-checksum', '--dir', dir]);
  t.equal(exp.code, 4, exp.stderr);
  t.match(exp.stderr, /^shm-host: warning: exported generation 2 although gen-0000000000000002\.delta is damaged: byte 100 /);
  t.ok(fs.readFileSync(file).equals(fs.readFileSync(exported)), 'the same export as before the damage');
});

t.test('records that overlap after a flipped ring byte: salvage leaves both out, names them, writes the rest', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 3 });
  const all = await runCli(['cat', '3', '--record', 'all', '--format', 'hex', '--dir', dir]);
  const lines = all.out.trim().split('\n');
  const image = join(dir, name(3, 'img'));
  // The oldest record's slot: its length's low byte, so that it runs into the next record.
  const bytes = fs.readFileSync(image);
  let oldest = -1;
  for (let i = 0; i < 16; i++) {
    const length = bytes.readBigUInt64LE(4096 + i * 16 + 8);
    if (length !== 0n && (oldest < 0 || bytes.readBigUInt64LE(4096 + i * 16) < bytes.readBigUInt64LE(4096 + oldest * 16))) oldest = i;
  }
  poke(image, 4096 + oldest * 16 + 8, 0xff);

  const refused = await runCli(['cat', '3', '--dir', dir]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /invalid layout: records in slots \d+ and \d+ overlap/);
  const salvaged = await runCli(['cat', '3', '--record', 'all', '--format', 'hex', '--ignore-checksum', '--dir', dir]);
  t.equal(salvaged.code, 4, salvaged.stderr);
  t.match(salvaged.stderr, new RegExp(`^shm-host: warning: writing generation 3 although its bytes do not match its manifest's checksum \\(--ignore-checksum\\): checksum mismatch: .*; records in slots ${oldest} and \\d+ overlap \\(offsets \\d+ and \\d+\\): both left out\n$`));
  t.same(salvaged.out.trim().split('\n'), lines.slice(2), 'every record but the two');
  const latest = await runCli(['cat', '3', '--ignore-checksum', '--format', 'hex', '--dir', dir]);
  t.same([latest.code, latest.out], [4, `${lines.at(-1)}\n`], 'the latest record, intact');
  t.equal((await runCli(['show', '3', '--ignore-checksum', '--dir', dir])).code, 4);
  t.equal((await runCli(['export', '3', join(dir, '..', 'x.shmx'), '--ignore-checksum', '--dir', dir])).code, 4);
});

t.test('a salvaged export: show and cat say what verify says', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  const written = await writeGenerations(dir, { generations: 3 });
  poke(join(dir, name(3, 'img')), written[2]!.tailBase + 500, 0x55);
  const file = join(base, 'salvaged.shmx');
  t.equal((await runCli(['export', '3', file, '--ignore-checksum', '--dir', dir])).code, 4);
  const verify = await runCli(['verify', file]);
  t.match(verify.out + verify.stderr, /it was damaged before it was exported/);
  for (const argv of [['show', file], ['cat', file]]) {
    const r = await runCli(argv);
    t.equal(r.code, 1, argv[0]);
    t.ok(isOneLineError(r.stderr), r.stderr);
    t.match(r.stderr, /it was damaged before it was exported/, argv[0]);
    t.notMatch(r.stderr, /check that the file is a shm-host snapshot image or export/, argv[0]);
  }
});

t.test('export of a damaged chain names the link that changed, as cat does', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 3, maxChain: 3, size: 1 << 20 });
  // Deep in the tail, which no delta holds again: the full generation's block is read.
  poke(join(dir, name(1, 'img')), 900_000, 0x55);
  const cat = await runCli(['cat', '3', '--tail', '--dir', dir]);
  const exp = await runCli(['export', '3', join(dir, '..', 'x.shmx'), '--dir', dir]);
  t.equal(exp.code, 1);
  t.match(cat.stderr, /full generation 1 at the chain's root changed after it was written/);
  t.equal(exp.stderr, cat.stderr, 'the same line');
});

t.test('cat --tail --offset at or past the tail\'s end says so and the tail\'s size; the size options\' help says T', async (t) => {
  const dir = join(t.testdir(), 'snapshots');
  await writeGenerations(dir, { generations: 1 });
  const whole = (await runCli(['cat', '1', '--tail', '--dir', dir])).stdout.length;
  const past = await runCli(['cat', '1', '--tail', '--offset', String(whole + 1), '--dir', dir]);
  t.equal(past.code, 1);
  t.equal(past.stderr, `shm-host: --offset ${whole + 1} is past the end of generation 1's tail, which has ${whole} bytes (give an --offset below ${whole})\n`);
  const at = await runCli(['cat', '1', '--tail', '--offset', String(whole), '--length', '1', '--dir', dir]);
  t.equal(at.stderr, `shm-host: --offset ${whole} is at the end of generation 1's tail, which has ${whole} bytes (give an --offset below ${whole})\n`);
  const empty = await runCli(['cat', '1', '--tail', '--offset', String(whole), '--dir', dir]);
  t.same([empty.code, empty.stdout.length], [0, 0], 'at the end, no --length: the empty rest, as the help says (0 to the tail\'s size)');
  const over = await runCli(['cat', '1', '--tail', '--offset', '1', '--length', String(whole), '--dir', dir]);
  t.equal(over.stderr, `shm-host: generation 1 has a ${whole}-byte tail: bytes [1, ${whole + 1}) of it do not exist (give --offset and --length within the tail's ${whole} bytes)\n`);
  const help = await runCli(['cat', '--help']);
  t.match(help.out, /--offset[^\n]*K, M, G, T/);
  t.match(help.out, /--length[^\n]*K, M, G, T/);
});

t.test('an export changed after it was written: show and cat say what verify says, not that it was damaged before', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  const written = await writeGenerations(dir, { generations: 3 });
  const file = join(base, 'x.shmx');
  t.equal((await runCli(['export', '3', file, '--dir', dir])).code, 0);
  const at = fs.readFileSync(file).indexOf(Buffer.from(written[2]!.records.at(-1)!.bytes));
  poke(file, at, 0x00);
  const verify = await runCli(['verify', file]);
  const line = /: bad: (.*)\n$/.exec(verify.out)?.[1];
  t.ok(line, verify.out);
  for (const argv of [['show', file], ['cat', file]]) {
    const r = await runCli(argv);
    t.equal(r.code, 1, argv[0]);
    t.ok(r.stderr.includes(`is damaged: ${line!.replace(/^the export is damaged: /, '')} (`), `${argv[0]}: ${r.stderr}`);
  }
});
