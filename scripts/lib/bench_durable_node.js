// Node waiter of `npm run bench:durable` (scripts/bench-durable.ts drives it).
//   node bench_durable_node.js MODE N, MODE one of
//     client       await state.durable(r) for r = 0..N-1 on the file at fd 3
//                  (the driver publishes r + 1)
//     pipe         a 'data' event of one byte on stdin (the baseline: the event
//                  loop's own wake-up)
//     idle-client  state.durable() on an offset never published, given up after
//                  N ms: prints the process CPU time used meanwhile
//     idle-sleep   setTimeout for N ms (the baseline of the above)
// Prints "ready" when about to wait for the first time, then after each
// wake-up "woke NS" (process.hrtime: CLOCK_MONOTONIC, as the driver's).
import { attach } from 'shm-host';

const [mode, count] = process.argv.slice(2);
const n = Number(count);
const cpuNs = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const woke = () => process.stdout.write(`woke ${process.hrtime.bigint()}\n`);

if (mode === 'idle-client' || mode === 'idle-sleep') {
  const state = mode === 'idle-client' ? attach({ fd: 3, env: {} }) : null;
  const cpu0 = cpuNs();
  const wall0 = process.hrtime.bigint();
  if (state) {
    await state.durable(2n ** 63n, { signal: AbortSignal.timeout(n) }).then(
      () => { throw new Error('an offset never published became durable'); },
      (err) => { if (err.name !== 'TimeoutError') throw err; },
    );
  } else {
    await new Promise((resolve) => setTimeout(resolve, n));
  }
  process.stdout.write(`cpu ${Math.round(cpuNs() - cpu0)} wall ${process.hrtime.bigint() - wall0}\n`);
  state?.close();
} else if (mode === 'client') {
  const state = attach({ fd: 3, env: {} });
  for (let r = 0; r < n; r++) {
    const done = state.durable(BigInt(r));
    if (r === 0) process.stdout.write('ready\n');
    await done;
    woke();
  }
  state.close();
} else if (mode === 'pipe') {
  let r = 0;
  process.stdin.on('data', (chunk) => {
    for (let i = 0; i < chunk.length && r < n; i++, r++) woke();
    if (r >= n) process.stdin.destroy();
  });
  process.stdout.write('ready\n');
} else {
  throw new Error(`unknown mode ${mode}`);
}
