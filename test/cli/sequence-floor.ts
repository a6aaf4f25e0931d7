// The sequence floor (docs/FORMAT.md, section 9) as the binary treats it,
// and FORMAT.md saying the same: a floor that does not parse is damage
// that every writer refuses (a floor read as 0 would let new generations
// take numbers the replica holds), while readers ignore the file.
import fs from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { isOneLineError, runBin } from './harness.js';

const FORMAT = fs.readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');

t.test('a sequence floor that does not parse: the host, import and prune refuse, naming it; the read commands ignore it', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'state');
  t.equal((await runBin(['--dir', dir, '--restart', 'never', '--', 'true'])).code, 0, 'generation 1');
  t.equal((await runBin(['export', 'latest', join(base, 'one.shmx'), '--dir', dir])).code, 0);
  const floor = join(dir, 'sequence-floor');
  const before = fs.readdirSync(dir).sort();
  // Not digits, empty, a leading zero, no newline, above 2^53 - 1.
  for (const bad of ['abc\n', '', '00\n', '7', '9007199254740992\n']) {
    fs.writeFileSync(floor, bad);
    for (const argv of [['--dir', dir, '--', 'true'], ['import', join(base, 'one.shmx'), '--dir', dir], ['prune', '--keep', '2', '--dir', dir]]) {
      const r = await runBin(argv);
      t.equal(r.code, 1, `${JSON.stringify(bad)}, ${argv[0]}: exit 1`);
      t.ok(isOneLineError(r.stderr), `${JSON.stringify(bad)}, ${argv[0]}: one line`);
      t.match(r.stderr, /sequence-floor does not hold a generation sequence/, `${JSON.stringify(bad)}, ${argv[0]}: names the file`);
    }
    t.same(fs.readdirSync(dir).filter((n) => n !== 'sequence-floor').sort(), before, `${JSON.stringify(bad)}: no generation written`);
    const list = await runBin(['list', '--dir', dir, '--json']);
    t.equal(list.code, 0, `${JSON.stringify(bad)}: list ignores it`);
  }
  // One that parses: the next generation is numbered above it.
  fs.writeFileSync(floor, '12\n');
  t.equal((await runBin(['import', join(base, 'one.shmx'), '--dir', dir])).code, 0, 'a floor that parses');
  t.ok(fs.existsSync(join(dir, 'gen-0000000000000013.json')), 'the import numbered above the floor');
});

t.test('FORMAT.md says what the code does with such a floor', async (t) => {
  const at = FORMAT.indexOf('`sequence-floor` (optional)');
  t.ok(at > 0, 'FORMAT.md describes the file');
  const paragraph = FORMAT.slice(at, FORMAT.indexOf('\n\n', at));
  t.notMatch(paragraph, /counts as 0/, 'not read as 0');
  t.match(paragraph, /refuses/, 'the writers refuse the directory');
  t.match(paragraph, /list/, 'and says what the readers do');
});
