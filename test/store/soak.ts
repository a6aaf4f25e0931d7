// The short delta soak CI runs (npm run soak:delta runs 1000 captures):
// 100 captures with 1% changed each, keep 3, disk use within 3x the image.
import t from 'tap';
import { join } from 'node:path';
import { soak } from '../../scripts/lib/soak.js';
import { scratchDir } from './helpers.js';

t.test('100 captures, 1% changed each, keep 3: disk use never passes 3x the image', async (t) => {
  const r = await soak(join(scratchDir(t, 'soak'), 'store'), 1024 * 1024, 100);
  t.equal(r.overAt, null, `at most ${r.mostBytes} bytes, bound ${r.bound}`);
  // A full generation at least every 11th capture (10 deltas at most), sooner when the chain's
  // deltas reach a quarter of the image (this small image's rings are an eighth of it); deltas between.
  t.ok(r.fulls >= 9 && r.fulls <= 50, `${r.fulls} full generations in 100 captures, deltas between`);
});
