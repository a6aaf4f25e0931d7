// What verify and list say of a generation whose files cannot be read:
// verify <ref> reports one it cannot read as a bad result, in the shape
// verify --all uses; list says, from stat(2) alone, which generations (or
// the chain links they need) lack their data files. Snapshot directories
// written by real captures.
import fs from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { writeGenerations, type WrittenGeneration } from '../../fixtures/cli-store.js';
import { isOneLineError, runCli } from './harness.js';

const name = (sequence: number, ext: string): string => `gen-${String(sequence).padStart(16, '0')}.${ext}`;

async function generations(t: Test, options: Record<string, number> = {}): Promise<{ dir: string; written: WrittenGeneration[] }> {
  const dir = join(t.testdir(), 'snapshots');
  return { dir, written: await writeGenerations(dir, { generations: 3, ...options }) };
}

t.test('verify <ref> of a generation whose manifest cannot be read: a bad result, as verify --all has it', async (t) => {
  const { dir, written } = await generations(t);
  const damages: Array<[string, () => void, RegExp]> = [
    ['another generation\'s manifest', () => fs.copyFileSync(join(dir, name(1, 'json')), join(dir, name(2, 'json'))), /^the manifest says sequence 1, but its file name says 2$/],
    ['garbage', () => fs.writeFileSync(join(dir, name(2, 'json')), '{"format":1,'), /not valid JSON/],
  ];
  for (const [what, damage, problem] of damages) {
    damage();
    for (const ref of ['2', written[1]!.imagePath]) {
      const text = await runCli(['verify', ref, '--dir', dir]);
      t.equal(text.code, 1, `${what}, verify ${ref}: exit 1 as for any bad generation`);
      t.equal(text.stderr, '', `${what}: no error line`);
      t.match(text.out, /^generation 2: bad: .+\n$/, what);
      const json = await runCli(['verify', ref, '--dir', dir, '--json']);
      t.equal(json.code, 1);
      const doc = JSON.parse(json.out);
      t.same(Object.keys(doc).sort(), ['ok', 'orphans', 'results'], `${what}: the shape of verify --all`);
      t.match(doc, { ok: false, results: [{ kind: 'generation', sequence: 2, ok: false, path: written[1]!.imagePath, problem }] }, what);
      const all = JSON.parse((await runCli(['verify', '--all', '--dir', dir, '--json'])).out);
      t.same(doc.results[0], all.results.find((r: { sequence: number }) => r.sequence === 2), `${what}: the same result as verify --all`);
    }
  }
  // No generation 9 at all, nor 2 once its manifest is gone (an image without one was never committed, and --all
  // lists no such generation): nothing to verify, the ref is wrong (as before).
  fs.rmSync(join(dir, name(2, 'json')));
  for (const sequence of [9, 2]) {
    const none = await runCli(['verify', String(sequence), '--dir', dir]);
    t.equal(none.code, 1);
    t.ok(isOneLineError(none.stderr), none.stderr);
    t.match(none.stderr, new RegExp(`there is no generation ${sequence} in `));
  }
  const all = JSON.parse((await runCli(['verify', '--all', '--dir', dir, '--json'])).out);
  t.same(all.results.map((r: { sequence: number }) => r.sequence), [3, 1]);
});
t.test('list without --verify: a generation whose data file, or a chain link\'s, is missing or cut short is bad, from stat(2) alone', async (t) => {
  const { dir } = await generations(t, { generations: 4, maxChain: 3 });
  const clean = await runCli(['list', '--dir', dir, '--json']);
  t.equal(clean.code, 0);
  t.same(JSON.parse(clean.out).generations.map((g: { state: string }) => g.state), ['unchecked', 'unchecked', 'unchecked', 'unchecked']);
  fs.rmSync(join(dir, name(3, 'delta')));
  fs.truncateSync(join(dir, name(1, 'img')), 1000);
  const r = await runCli(['list', '--dir', dir]);
  t.equal(r.code, 1, 'exit 1: a generation is bad');
  for (const sequence of [4, 3, 2, 1]) t.match(r.out, new RegExp(`^\\s+${sequence}\\s.*\\sbad\\s`, 'm'), `row ${sequence}: bad`);
  t.match(r.out, /^generation 4: bad: gen-0+3\.delta \(generation 3, which it depends on\) is missing$/m);
  t.match(r.out, /^generation 3: bad: gen-0+3\.delta is missing$/m);
  t.match(r.out, /^generation 2: bad: gen-0+1\.img \(generation 1, which it depends on\) has 1000 bytes but its manifest says 65536 \(truncated or replaced\)$/m);
  t.match(r.out, /^generation 1: bad: gen-0+1\.img has 1000 bytes but its manifest says 65536 \(truncated or replaced\)$/m);
  const j = JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out);
  t.match(j.generations[1], { sequence: 3, state: 'bad', problem: /is missing/, diskBytes: null });
  // A link whose manifest is gone: the chain is broken there, as a restore would say.
  fs.rmSync(join(dir, name(2, 'json')));
  const broken = JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out);
  t.match(broken.generations[0], { sequence: 4, state: 'bad', problem: /its chain is broken: generation 2 is missing/ });
});
