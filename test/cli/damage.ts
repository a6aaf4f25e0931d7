// describeDamage (src/cli/damage.ts): a layout error becomes one line naming
// the damaged snapshot and what to use instead; other errors pass.
import t from 'tap';
import { FormatError } from '../../src/format/index.js';
import { CommandFailure } from '../../src/cli/errors.js';
import { describeDamage } from '../../src/cli/damage.js';

t.test('a FormatError names the snapshot and the fix', async (t) => {
  const err = new FormatError('BAD_MAGIC', 'magic 0x1 is not the shm-host magic');
  const generation = describeDamage({ kind: 'generation', label: 'generation 7' }, err) as CommandFailure;
  t.ok(generation instanceof CommandFailure);
  t.equal(generation.code, 'BAD_MAGIC', 'the format\'s code is kept for --json');
  t.equal(generation.problem, 'generation 7 is damaged: magic 0x1 is not the shm-host magic');
  t.match(generation.hint, /older generation.*list --verify/);
  t.equal(generation.cause, err);
  const image = describeDamage({ kind: 'image', label: 'image ./x.img' }, err) as CommandFailure;
  t.match(image.hint, /shm-host snapshot image or export/);
});

t.test('anything else is returned unchanged', async (t) => {
  const other = new Error('EIO');
  t.equal(describeDamage({ kind: 'generation', label: 'generation 7' }, other), other);
});
