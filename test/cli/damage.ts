// describeDamage and damaged (src/cli/damage.ts): a layout error becomes one
// line naming the damaged snapshot and what to use instead; other errors
// pass. (The fix for a generation, the newest older one that verifies, needs
// a store: test/cli/inspect.ts shows it on real directories.)
import t from 'tap';
import { FormatError } from '../../src/format/index.js';
import { CommandFailure } from '../../src/cli/errors.js';
import { damaged, describeDamage } from '../../src/cli/damage.js';

const file = { kind: 'image' as const, label: 'image ./x.img', store: null, generation: null };

t.test('a FormatError names the snapshot, keeps its code, and says what the file should be', async (t) => {
  const err = new FormatError('BAD_MAGIC', 'magic 0x1 is not the shm-host magic');
  const failure = (await describeDamage(file, err)) as CommandFailure;
  t.ok(failure instanceof CommandFailure);
  t.equal(failure.code, 'BAD_MAGIC', 'the format\'s code is kept for --json');
  t.equal(failure.problem, 'image ./x.img is damaged: magic 0x1 is not the shm-host magic');
  t.match(failure.hint, /shm-host snapshot image or export/);
  t.equal(failure.cause, err);
});

t.test('anything else is returned unchanged', async (t) => {
  const other = new Error('EIO');
  t.equal(await describeDamage(file, other), other);
});

t.test('damaged: a CORRUPT failure with the same line', async (t) => {
  const failure = await damaged({ ...file, kind: 'export', label: 'export ./x.shmx' }, 'its trailer does not match');
  t.equal(failure.code, 'CORRUPT');
  t.equal(failure.problem, 'export ./x.shmx is damaged: its trailer does not match');
  t.match(failure.hint, /snapshot image or export/);
});
