// status and snapshot through the real binary, against a real host process
// that captures a real memory file; and against peers that misbehave.
import fs from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { socketAddress, startControlServer, type HostStatus } from '../../src/host/control/index.js';
import { execa, type ResultPromise } from 'execa';
import { BIN, hostDir, isOneLineError, runBin, runCli, startHost } from './harness.js';

t.test('without a running host: one line, exit 3', async (t) => {
  const dir = t.testdir();
  const [status, json, snapshot] = await Promise.all([
    runBin(['status', '--dir', dir]),
    runBin(['status', '--dir', dir, '--json']),
    runBin(['snapshot', '--wait', '--dir', dir]),
  ]);
  t.equal(status.code, 3);
  t.equal(status.stderr, `shm-host: no shm-host is running on ${dir}: it has no control socket (start one with shm-host --dir ${dir} -- <command>)\n`);
  t.equal(status.out, '');
  t.equal(json.code, 3);
  t.match(JSON.parse(json.out), { error: { code: 'NO_HOST', exitCode: 3 } });
  t.equal(snapshot.code, 3);
  t.ok(isOneLineError(snapshot.stderr));
  const missing = await runCli(['status', '--dir', join(dir, 'nope')]);
  t.equal(missing.code, 3);
  t.match(missing.stderr, /no shm-host is running on .*nope: the directory does not exist \(start one with/);
});

t.test('status and snapshot against a running host', async (t) => {
  const dir = hostDir(t);
  const host = await startHost(t, dir);
  const text = await runBin(['status', '--dir', dir]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.out, new RegExp(`^host:\\s+pid ${host.pid}, up [0-9.]+\\w*, on ${dir}\\n`));
  t.match(text.out, /\ncommand:\s+.*cli-host\.js/);
  t.match(text.out, /\nlast capture:\s+none yet\n/);
  t.match(text.out, /\nnext capture:\s+none: --interval 0/);

  const waited = await runBin(['snapshot', '--wait', '--json', '--dir', dir]);
  t.equal(waited.code, 0, waited.stderr);
  const { sequence, durable } = JSON.parse(waited.out);
  t.same([typeof sequence, durable], ['number', true]);
  const listed = JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out).generations;
  t.same([listed[0].sequence, listed[0].reason], [sequence, 'request'], 'the generation is durable and listed');
  t.equal((await runCli(['verify', String(sequence), '--dir', dir])).code, 0);

  const status = JSON.parse((await runCli(['status', '--json', '--dir', dir])).out);
  t.match(status, { protocol: 1, pid: host.pid, dir, restarts: 0, starvedCaptures: 0, lastCapture: { sequence, reason: 'request' } });
  t.type(status.durableOffset, 'string');
  t.ok(BigInt(status.durableOffset) > 0n, 'the capture published durable_offset');

  const accepted = await runCli(['snapshot', '--dir', dir]);
  t.equal(accepted.code, 0);
  t.match(accepted.out, /^capture requested from the host on /);
  const deadline = Date.now() + 10_000;
  let newest = sequence;
  while (newest === sequence && Date.now() < deadline) {
    newest = JSON.parse((await runCli(['list', '--dir', dir, '--json'])).out).generations[0].sequence;
    if (newest === sequence) await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(newest > sequence, 'the requested capture was taken without waiting');
});

t.test('a host killed with SIGKILL leaves a socket that status recognizes as stale', async (t) => {
  const dir = hostDir(t);
  const host = await startHost(t, dir);
  host.process.kill('SIGKILL');
  await host.process;
  t.ok(fs.statSync(join(dir, 'control.sock')).isSocket(), 'the socket file is left');
  const r = await runCli(['status', '--dir', dir]);
  t.equal(r.code, 3);
  t.match(r.stderr, /its control socket is left from a host that is gone/);
  // A new host on the directory takes its place.
  await startHost(t, dir);
  t.equal((await runCli(['status', '--dir', dir])).code, 0);
});

t.test('a directory path longer than a socket address holds', async (t) => {
  const dir = join(hostDir(t), 'x'.repeat(80), 'y'.repeat(80));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  await startHost(t, dir);
  const r = await runBin(['snapshot', '--wait', '--dir', dir]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.out, /^generation \d+ is durable\n$/);
});

/** A socket in `dir` that accepts connections and answers with `reply` (or never). */
async function fakeHost(t: Test, dir: string, reply: string | null): Promise<void> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    if (reply !== null) socket.on('data', () => socket.write(reply));
  });
  const address = socketAddress(dir);
  await new Promise<void>((resolve) => server.listen({ path: address.address }, resolve));
  address.release();
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
}

t.test('a host that does not answer in time, or answers nonsense', async (t) => {
  const base = t.testdir();
  const silent = join(base, 'silent');
  fs.mkdirSync(silent);
  await fakeHost(t, silent, null);
  const timeout = await runCli(['status', '--dir', silent, '--timeout', '200ms']);
  t.equal(timeout.code, 1);
  t.match(timeout.stderr, /^shm-host: the host on .* did not answer within 200 ms \(it may be busy: retry, or allow it a longer timeout: --timeout\)\n$/);

  const noisy = join(base, 'noisy');
  fs.mkdirSync(noisy);
  await fakeHost(t, noisy, 'hello\n');
  const nonsense = await runCli(['status', '--dir', noisy]);
  t.equal(nonsense.code, 1);
  t.match(nonsense.stderr, /sent a reply that is not JSON/);
  t.ok(isOneLineError(nonsense.stderr));

  const odd = join(base, 'odd');
  fs.mkdirSync(odd);
  await fakeHost(t, odd, '{"id":null,"ok":false,"error":{"code":"FAILED","message":"capture failed: disk full"}}\n');
  const refused = await runCli(['snapshot', '--wait', '--dir', odd]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^shm-host: the host on .* refused: capture failed: disk full \(see the host's log\)\n$/);
});

t.test('status shows restarts, exits, the last capture and the next one', async (t) => {
  const dir = t.testdir();
  const status: HostStatus = {
    pid: 4242,
    dir,
    startedAt: '2024-05-01T09:00:00.000Z',
    uptimeMs: 3 * 3600_000 + 12 * 60_000,
    child: { pid: null, command: ['node', 'app.js', '--port', '8080'], state: 'restarting', startedAt: null },
    restarts: 2,
    lastExits: [
      { time: '2024-05-01T11:00:00.000Z', pid: 4250, code: null, signal: 'SIGKILL', reason: 'killed by SIGKILL' },
      { time: '2024-05-01T10:00:00.000Z', pid: 4245, code: 3, signal: null, reason: 'exited with code 3' },
    ],
    lastCapture: { sequence: 812, time: '2024-05-01T11:00:00.100Z', durationMs: 12.5, bytes: 64 * 1024 * 1024, reason: 'post-mortem' },
    lastRestart: { restart: 2, deathSeenAt: '2024-05-01T11:00:00.000Z', reapMs: 0.21, copyMs: 2.4, delayMs: 100.3, spawnMs: 3.1, totalMs: 106.01 },
    starvedCaptures: 1,
    durableOffset: '18446744073709551000',
    intervalMs: 1000,
    nextCaptureDue: '2024-05-01T11:00:01.000Z',
  };
  let answer: unknown = status;
  const server = await startControlServer(dir, { status: () => answer as HostStatus, snapshot: async () => ({ sequence: 813 }) });
  t.teardown(() => server.close());
  const r = await runCli(['status', '--dir', dir]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.out, [
    `host:           pid 4242, up 3h 12m, on ${dir}`,
    'command:        node app.js --port 8080',
    'child:          restarting',
    'restarts:       2',
    'last exits:     killed by SIGKILL (pid 4250, 2024-05-01T11:00:00Z)',
    '                exited with code 3 (pid 4245, 2024-05-01T10:00:00Z)',
    'last capture:   generation 812 at 2024-05-01T11:00:00Z (post-mortem, 13ms, 64 MiB)',
    'last restart:   restart 2 at 2024-05-01T11:00:00Z: reaped 0.21 ms, copied and proven 2.4 ms, delay 100.3 ms, spawned 3.1 ms (106.01 ms in all)',
    'starved:        1 capture retried because the child outran the copy',
    'durable_offset: 18446744073709551000',
    'next capture:   2024-05-01T11:00:01Z (every 1.0s)',
    '',
  ].join('\n'));
  t.same(JSON.parse((await runCli(['status', '--json', '--dir', dir])).out), { protocol: 1, ...status });
  // A host of another version: a reply without the fields this command reads.
  answer = { pid: 1, something: 'else' };
  const odd = await runCli(['status', '--dir', dir]);
  t.equal(odd.code, 1);
  t.match(odd.stderr, /^shm-host: the host on .* sent a status this shm-host cannot read \(use the shm-host that started the host\)\n$/);
  t.same(JSON.parse((await runCli(['snapshot', '--wait', '--json', '--dir', dir])).out), { sequence: 813, durable: true });
});

t.test('end to end: the real host running the counter answers status and snapshot', async (t) => {
  // Registered before testdir(): teardowns run in order, and the host must be gone before its directory.
  let host: ResultPromise | null = null;
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) host?.kill('SIGKILL');
    await host;
  });
  const dir = t.testdir();
  host = execa('node', [BIN, '--dir', dir, '--interval', '0', '--', 'node', 'fixtures/counter.js', '200'], { reject: false });
  // The host is up once status answers.
  const deadline = Date.now() + 15_000;
  let status: any = null;
  while (status === null) {
    const r = await runCli(['status', '--json', '--dir', dir]);
    if (r.code === 0 && JSON.parse(r.out).child.pid !== null) status = JSON.parse(r.out);
    else if (Date.now() > deadline) throw new Error(`no status within 15 s: ${r.stderr}`);
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.same(status.child.command, ['node', 'fixtures/counter.js', '200']);
  t.equal(status.child.state, 'running');
  t.equal(status.intervalMs, 0);
  const snap = await runBin(['snapshot', '--wait', '--json', '--dir', dir]);
  t.equal(snap.code, 0, snap.stderr);
  const { sequence } = JSON.parse(snap.out);
  const shown = JSON.parse((await runCli(['show', String(sequence), '--dir', dir, '--json'])).out);
  t.equal(shown.manifest.reason, 'request');
  const counter = (await runCli(['cat', String(sequence), '--dir', dir])).stdout;
  t.equal(counter.length, 8, 'the counter commits 8-byte records');
  t.ok(counter.readBigUInt64LE(0) >= 1n, `the counter was at ${counter.readBigUInt64LE(0)}`);
  host.kill('SIGTERM');
  stopped = true;
  const result = await host;
  t.equal(result.exitCode, 0);
  t.notOk(fs.existsSync(join(dir, 'control.sock')), 'the host removed its socket');
  t.equal((await runCli(['status', '--dir', dir])).code, 3);
  t.equal((await runCli(['verify', '--all', '--dir', dir])).code, 0);
});
