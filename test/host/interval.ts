// The interval schedule's back-off after failed captures.
import t from 'tap';
import { MAX_CAPTURE_BACKOFF_MS, captureBackoffMs } from '../../src/host/index.js';

t.test('failed captures double the delay, capped at 5 s or the interval when that is longer', async (t) => {
  t.equal(MAX_CAPTURE_BACKOFF_MS, 5000);
  t.same([0, 1, 2, 3, 4, 5, 10].map((f) => captureBackoffMs(500, f)), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
  t.same([0, 1, 2].map((f) => captureBackoffMs(10_000, f)), [10_000, 10_000, 10_000], 'a long interval is never shortened');
  t.equal(captureBackoffMs(100, 0), 100, 'no failure: the interval itself');
});
