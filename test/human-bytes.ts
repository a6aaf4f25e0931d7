// humanBytes (src/human-bytes.ts): sizes in log lines and inspection output.
import t from 'tap';
import { humanBytes } from '../src/human-bytes.js';

t.test('exact bytes below 1 KiB, one decimal below 10 of a unit, whole numbers above', async (t) => {
  t.equal(humanBytes(0), '0 B');
  t.equal(humanBytes(1023), '1023 B');
  t.equal(humanBytes(1024), '1.0 KiB');
  t.equal(humanBytes(1536), '1.5 KiB');
  t.equal(humanBytes(10 * 1024), '10 KiB');
  t.equal(humanBytes(1023 * 1024), '1023 KiB');
  t.equal(humanBytes(16 * 2 ** 20), '16 MiB');
  t.equal(humanBytes(5 * 2 ** 30), '5.0 GiB');
  t.equal(humanBytes(2 ** 40), '1.0 TiB');
  t.equal(humanBytes(2048 * 2 ** 40), '2048 TiB', 'TiB is the largest unit');
});
