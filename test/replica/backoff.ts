// Backoff (src/replica/backoff.ts): doubling from firstMs to maxMs, +-20%
// jitter, back to firstMs after reset().
import t from 'tap';
import { Backoff } from '../../src/replica/backoff.js';

const within = (value: number, base: number): boolean => value >= Math.floor(base * 0.8) && value <= Math.ceil(base * 1.2);

t.test('doubles up to the cap, each delay within 20% of its base', async (t) => {
  const b = new Backoff({ firstMs: 100, maxMs: 1000 });
  const bases = [100, 200, 400, 800, 1000, 1000, 1000];
  for (const base of bases) {
    const d = b.next();
    t.ok(within(d, base), `${d} ms is within 20% of ${base}`);
  }
});

t.test('reset: the next failure waits firstMs again', async (t) => {
  const b = new Backoff({ firstMs: 100, maxMs: 1000 });
  for (let i = 0; i < 5; i++) b.next();
  b.reset();
  t.ok(within(b.next(), 100));
});

t.test('defaults: 500 ms first, 30 s at most, even after many failures', async (t) => {
  const b = new Backoff();
  t.ok(within(b.next(), 500));
  for (let i = 0; i < 100; i++) b.next();
  t.ok(within(b.next(), 30_000));
});

t.test('the jitter spreads hosts out', async (t) => {
  const seen = new Set(Array.from({ length: 50 }, () => new Backoff({ firstMs: 1000 }).next()));
  t.ok(seen.size > 1, `${seen.size} different first delays in 50 backoffs`);
});
