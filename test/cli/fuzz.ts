// Everything show, verify, cat, list and import read is untrusted: they are
// fuzzed here with valid images, manifests and exports (written by real
// captures) mutated in targeted ways, and with random bytes. The contract,
// for every case: no exception escapes main(), no stack trace, no internal
// error (which is also what a read outside the image would produce: the
// reader refuses such a read as a bug), exit 0 with a clean stderr or exit 1
// with one line. An import that succeeds adds exactly one generation that
// verifies; one that fails leaves nothing behind.
//
// In-process (main() with captured streams): a process per case would take
// minutes. Over 10,000 cases in all.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { MAGIC } from '../../src/format/index.js';
import { decodeRequest } from '../../src/host/control/index.js';
import { writeGenerations } from '../../fixtures/cli-store.js';
import { runCli, type CliResult } from './harness.js';

const IMAGE_SIZE = 16 * 1024;
const base = t.testdir();
const source = join(base, 'source');
await writeGenerations(source, { generations: 2, perGeneration: 6, size: IMAGE_SIZE, slots: 16, ringSize: 4096, recordSize: 24 });
const validImage = fs.readFileSync(join(source, 'gen-0000000000000002.img'));
const validManifest = JSON.parse(fs.readFileSync(join(source, 'gen-0000000000000002.json'), 'utf8')) as Record<string, unknown>;
const exportPath = join(base, 'valid.shmx');
if ((await runCli(['export', 'latest', exportPath, '--dir', source])).code !== 0) throw new Error('setup: export failed');
const validExport = fs.readFileSync(exportPath);

/** What every run must satisfy; returns the problem, or null. */
function contractBroken(r: CliResult, reportsResults: boolean): string | null {
  if (/internal error|\n\s+at /.test(r.stderr)) return 'internal error or stack trace';
  if (r.code === 0) return r.stderr === '' ? null : 'exit 0 with something on stderr';
  if (r.code !== 1) return `exit ${r.code}`;
  // verify and list report bad snapshots as results on stdout, with exit 1 and nothing on stderr.
  if (reportsResults && r.stderr === '' && r.out !== '') return null;
  return /^shm-host: [^\n]+\n$/.test(r.stderr) ? null : `not one line on stderr: ${JSON.stringify(r.stderr)}`;
}

async function check(argv: string[], options: { stdin?: Buffer } = {}): Promise<CliResult> {
  const r = await runCli(argv, options);
  const problem = contractBroken(r, argv[0] === 'verify' || argv[0] === 'list');
  if (problem !== null) throw new Error(`shm-host ${argv.join(' ')}: ${problem}\nstderr: ${r.stderr}\nstdout: ${r.out.slice(0, 400)}`);
  return r;
}

// ---- mutations -------------------------------------------------------------

type Mutation =
  | { kind: 'word'; at: number; value: bigint }
  | { kind: 'flips'; flips: Array<{ at: number; xor: number }> }
  | { kind: 'truncate'; length: number }
  | { kind: 'extend'; bytes: Uint8Array };

const interestingWords = fc.constantFrom(
  0n, 1n, 2n, 3n, 15n, 16n, 17n, 255n, 4095n, 4096n, 4097n, 8191n, 16383n, 16384n, 65535n, 2n ** 31n, 2n ** 32n - 1n,
  2n ** 53n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n, MAGIC, 0x5348_4d48_4f53_5401n,
);

/** Mutations aimed at the parts a reader interprets: header words, slot words, lengths. */
function mutationOf(size: number, wordSpots: fc.Arbitrary<number>): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('word' as const), at: wordSpots, value: fc.oneof(interestingWords, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 70000n })) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('flips' as const), flips: fc.array(fc.record({ at: fc.integer({ min: 0, max: size - 1 }), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), length: fc.integer({ min: 0, max: size }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 3000 }) }) },
  );
}

function apply(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    switch (m.kind) {
      case 'word':
        if (m.at + 8 <= out.length) out.writeBigUInt64LE(m.value, m.at);
        break;
      case 'flips':
        for (const f of m.flips) if (f.at < out.length) out[f.at]! ^= f.xor;
        break;
      case 'truncate':
        out = out.subarray(0, Math.min(m.length, out.length));
        break;
      case 'extend':
        out = Buffer.concat([out, m.bytes]);
        break;
    }
  }
  return out;
}

/** Header words (magic, masks, write_offset, extension) and the first slots' offset and length words. */
const imageWordSpots = fc.oneof(
  fc.constantFrom(0, 8, 16, 24, 32, 40, 48),
  fc.integer({ min: 0, max: 40 }).map((i) => 4096 + i * 8),
  fc.integer({ min: 0, max: IMAGE_SIZE / 8 - 1 }).map((i) => i * 8),
);
const imageMutations = fc.array(mutationOf(IMAGE_SIZE, imageWordSpots), { minLength: 1, maxLength: 4 });

const manifestKeys = [...Object.keys(validManifest), 'extra'];
const manifestValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('0', '-1', '18446744073709551615', '18446744073709551616', '007', '1e3', '', 'latest', 'interval', 'import'),
  fc.constantFrom(0, -1, 1, 1.5, 2 ** 53, 1e308, IMAGE_SIZE, IMAGE_SIZE - 1, null, true),
  fc.record({ offset: fc.constantFrom('0', '24', '120', '99999999999999999999', 'x'), length: fc.constantFrom(0, 24, 4096, -1, 1.5) }),
  fc.record({ algorithm: fc.constantFrom('xxh3-64/chunks-1MiB', 'sha256', ''), value: fc.constantFrom('', '0123456789abcdef', String(validManifest.checksum)) }),
);

/** A manifest's text, mutated: fields replaced or removed, or the text itself damaged. */
const manifestText = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(fc.constantFrom(...manifestKeys), fc.option(manifestValue, { nil: undefined })), { minLength: 1, maxLength: 3 })
    .map((edits) => {
      const m: Record<string, unknown> = structuredClone(validManifest);
      for (const [k, v] of edits) {
        if (v === undefined) delete m[k];
        else m[k] = v;
      }
      return JSON.stringify(m, null, 2);
    }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 400 }).map((n) => JSON.stringify(validManifest, null, 2).slice(0, n)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v) ?? '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);

/** An export rebuilt around `manifest` and `image`, with a correct header and SHA-256: only the contents lie. */
function sealedExport(manifest: Buffer, image: Buffer): Buffer {
  const header = Buffer.alloc(48);
  header.write('SHMHEXP\n', 0, 'latin1');
  header.writeUInt32LE(1, 8);
  header.writeUInt32LE(48, 12);
  header.writeBigUInt64LE(BigInt(manifest.length), 16);
  header.writeBigUInt64LE(BigInt(image.length), 24);
  const body = Buffer.concat([header, manifest, image]);
  return Buffer.concat([body, Buffer.from('SHMHEND\n', 'latin1'), createHash('sha256').update(body).digest()]);
}

const manifestLength = Number(validExport.readBigUInt64LE(16));
const exportManifest = validExport.subarray(48, 48 + manifestLength);

/** Exports: the valid one mutated anywhere (mostly caught by the SHA-256), or resealed around mutated contents. */
const exportCases = fc.oneof(
  { weight: 2, arbitrary: fc.array(mutationOf(validExport.length, fc.oneof(fc.constantFrom(8, 16, 24, 32, 40), fc.integer({ min: 0, max: Math.floor(validExport.length / 8) - 1 }).map((i) => i * 8))), { minLength: 1, maxLength: 3 })
    .map((ms) => apply(validExport, ms)) },
  { weight: 3, arbitrary: fc.tuple(fc.option(manifestText, { nil: null }), fc.option(imageMutations, { nil: null }))
    .map(([m, ms]) => sealedExport(m === null ? exportManifest : Buffer.from(m), ms === null ? validImage : apply(validImage, ms))) },
);

// ---- properties ------------------------------------------------------------

let cases = 0;
const runs = (n: number): fc.Parameters<unknown> => ({ numRuns: n, endOnFailure: true });

t.test('show, verify and cat on a mutated bare image', async (t) => {
  const path = join(base, 'fuzz.img');
  const commands: string[][] = [['show', path, '--json', '--slots'], ['show', path], ['verify', path], ['cat', path, '--record', 'all'], ['cat', path, '--tail', '--format', 'hex']];
  await fc.assert(fc.asyncProperty(imageMutations, fc.constantFrom(...commands), async (mutations, argv) => {
    cases += 1;
    fs.writeFileSync(path, apply(validImage, mutations));
    await check(argv);
  }), runs(2600));
  t.pass('2600 cases');
});

t.test('show, verify, cat and list on a generation with a mutated manifest and image', async (t) => {
  const dir = join(base, 'generation');
  fs.mkdirSync(dir, { mode: 0o700 });
  const commands: string[][] = [['show', '1', '--json'], ['verify', '1'], ['cat', 'latest', '--format', 'base64'], ['list', '--verify', '--json'], ['verify', '--all']];
  await fc.assert(fc.asyncProperty(manifestText, fc.option(imageMutations, { nil: null }), fc.constantFrom(...commands), async (manifest, mutations, argv) => {
    cases += 1;
    fs.writeFileSync(join(dir, 'gen-0000000000000001.json'), manifest);
    fs.writeFileSync(join(dir, 'gen-0000000000000001.img'), mutations === null ? validImage : apply(validImage, mutations));
    await check([...argv, '--dir', dir]);
  }), runs(2200));
  t.pass('2200 cases');
});

t.test('import of a mutated export: one generation that verifies, or nothing at all', async (t) => {
  const dir = join(base, 'import');
  let imported = 0;
  await fc.assert(fc.asyncProperty(exportCases, async (bytes) => {
    cases += 1;
    fs.rmSync(dir, { recursive: true, force: true });
    const r = await check(['import', '-', '--dir', dir], { stdin: bytes });
    // A failed import removes the directory it made (src/store/new-directory.ts).
    const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n !== 'lock') : [];
    if (r.code === 0) {
      imported += 1;
      if (names.length !== 2) throw new Error(`a successful import left ${names.join(', ')}`);
      const verified = await runCli(['verify', 'latest', '--dir', dir]);
      if (verified.code !== 0) throw new Error(`an import was accepted that does not verify: ${verified.out}`);
    } else if (names.length !== 0) {
      throw new Error(`a failed import left ${names.join(', ')}`);
    }
  }), runs(2200));
  t.pass(`2200 cases, ${imported} accepted`);
});

t.test('verify, show and cat of a mutated export file read in place', async (t) => {
  const path = join(base, 'fuzz.shmx');
  const commands: string[][] = [['verify', path], ['show', path, '--json'], ['cat', path, '--record', 'all']];
  await fc.assert(fc.asyncProperty(exportCases, fc.constantFrom(...commands), async (bytes, argv) => {
    cases += 1;
    fs.writeFileSync(path, bytes);
    await check(argv);
  }), runs(800));
  t.pass('800 cases');
});

t.test('random bytes as an image, a manifest and an export', async (t) => {
  const path = join(base, 'random.img');
  const dir = join(base, 'random');
  fs.mkdirSync(dir, { mode: 0o700 });
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 20_000 }), fc.nat(3), async (bytes, which) => {
    cases += 1;
    const buf = Buffer.from(bytes);
    if (which === 0) {
      fs.writeFileSync(path, buf);
      await check(['show', path]);
    } else if (which === 1) {
      fs.writeFileSync(join(dir, 'gen-0000000000000001.json'), buf);
      fs.writeFileSync(join(dir, 'gen-0000000000000001.img'), buf);
      await check(['verify', '--all', '--dir', dir]);
    } else if (which === 2) {
      fs.writeFileSync(path, buf);
      await check(['cat', path]);
    } else {
      const importDir = join(base, 'random-import');
      fs.rmSync(importDir, { recursive: true, force: true });
      const r = await check(['import', '-', '--dir', importDir], { stdin: buf });
      if (r.code !== 1) throw new Error('random bytes were imported');
    }
  }), runs(1200));
  t.pass('1200 cases');
});

t.test('the live channel decodes any line without throwing', async (t) => {
  const line = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? ''),
    fc.record({ id: fc.jsonValue({ maxDepth: 1 }), op: fc.oneof(fc.constantFrom('status', 'snapshot', 'STATUS', ''), fc.jsonValue({ maxDepth: 1 })), wait: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] })
      .map((v) => JSON.stringify(v)),
  );
  fc.assert(fc.property(line, (text) => {
    cases += 1;
    const decoded = decodeRequest(text);
    if (decoded.ok) return ['status', 'snapshot'].includes(decoded.request.op);
    return !decoded.reply.ok && /^[^\n]+$/.test(decoded.reply.error.message);
  }), { numRuns: 1000 });
  t.pass('1000 cases');
});

t.test('at least 10,000 cases ran', async (t) => {
  t.ok(cases >= 10_000, `${cases} cases`);
});
