// The live channel on real unix sockets: requests and replies, hostile
// peers, stale and live sockets, long directory paths.
import fs from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { waitFor } from '../../../fixtures/lib/shared-child.js';
import {
  MAX_REQUEST_BYTES, requestHost, socketAddress, socketPath, startControlServer, type ControlHandlers, type HostStatus,
} from '../../../src/host/control/index.js';

const sampleStatus = (dir: string): HostStatus => ({
  pid: process.pid,
  dir,
  startedAt: new Date(0).toISOString(),
  uptimeMs: 1234,
  child: { pid: 42, command: ['node', 'app.js'], state: 'running', startedAt: new Date(0).toISOString() },
  restarts: 2,
  lastExits: [{ time: new Date(0).toISOString(), pid: 41, code: null, signal: 'SIGKILL', reason: 'killed by SIGKILL' }],
  lastCapture: { sequence: 7, time: new Date(0).toISOString(), durationMs: 3, bytes: 65536, reason: 'interval' },
  lastRestart: null,
  starvedCaptures: 1,
  durableOffset: '18446744073709551615',
  intervalMs: 1000,
  nextCaptureDue: null,
});

function handlers(dir: string, overrides: Partial<ControlHandlers> = {}): ControlHandlers {
  let sequence = 7;
  return { status: () => sampleStatus(dir), snapshot: async () => ({ sequence: ++sequence }), ...overrides };
}

/** A raw connection to the socket of `dir` (through socketAddress: test directories have long paths). */
function connect(dir: string, onConnect?: () => void): net.Socket {
  const address = socketAddress(dir);
  const socket = net.connect({ path: address.address }, onConnect);
  socket.once('connect', () => address.release()).once('error', () => address.release());
  return socket;
}

/** Sends `payload` on a raw connection and collects reply lines until `lines` arrived or the server closed. */
function exchange(dir: string, payload: string | Buffer, lines: number, timeoutMs = 5000): Promise<{ replies: Array<Record<string, any>>; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(dir);
    let text = '';
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${lines} replies within ${timeoutMs} ms; got ${JSON.stringify(text)}`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ replies: text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)), closed });
    };
    socket.on('error', () => {});
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d) => {
      text += d.toString();
      if (text.split('\n').length - 1 >= lines) finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
  });
}

t.test('status and snapshot round trip; the socket is 0600 and removed on close', async (t) => {
  const dir = t.testdir();
  const server = await startControlServer(dir, handlers(dir));
  t.equal(server.path, join(dir, 'control.sock'));
  const stat = fs.statSync(server.path);
  t.ok(stat.isSocket());
  t.equal(stat.mode & 0o777, 0o600, 'only the owner may connect');
  const status = (await requestHost(dir, { op: 'status' }, 2000)) as HostStatus & { protocol: number };
  t.equal(status.protocol, 1);
  t.equal(status.durableOffset, '18446744073709551615', 'u64 offsets travel as decimal strings');
  t.same(status.child.command, ['node', 'app.js']);
  t.same(await requestHost(dir, { op: 'snapshot', wait: true }, 2000), { sequence: 8 });
  t.same(await requestHost(dir, { op: 'snapshot', wait: false }, 2000), { accepted: true });
  await server.close();
  t.notOk(fs.existsSync(server.path), 'socket removed');
  await t.rejects(requestHost(dir, { op: 'status' }, 2000), { code: 'NO_HOST' });
  await server.close(); // twice is fine
});

t.test('malformed and unknown requests get error replies, in order, and the host keeps serving', async (t) => {
  const dir = t.testdir();
  const server = await startControlServer(dir, handlers(dir));
  t.teardown(() => server.close());
  const payload = [
    'not json',
    '[1,2]',
    '"status"',
    '{"op":"launch"}',
    '{"id":{"x":1},"op":"status"}',
    `{"id":"${'x'.repeat(200)}","op":"status"}`,
    '{"id":5,"op":"snapshot","wait":"yes"}',
    '',
    '   ',
    '{"id":6,"op":"status"}\r',
    '{"id":"a","op":"snapshot","wait":true}',
    '\u0000\u00ff\ud800',
    '{"id":9,"op":"status"}',
  ].join('\n') + '\n';
  const { replies } = await exchange(dir, payload, 11);
  t.same(replies.map((r) => (r.ok ? 'ok' : r.error.code)), [
    'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'UNKNOWN_OP', 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'ok', 'ok', 'BAD_REQUEST', 'ok',
  ]);
  t.same(replies.map((r) => r.id), [null, null, null, null, null, null, 5, 6, 'a', null, 9], 'replies carry the request ids, in order');
  for (const r of replies.filter((r) => !r.ok)) t.match(r.error.message, /^[^\n]+$/, 'one-line error message');
  t.same(await requestHost(dir, { op: 'status' }, 2000).then((s: any) => s.restarts), 2, 'still serving');
});

t.test('a request without its newline is answered when the peer half-closes', async (t) => {
  const dir = t.testdir();
  const server = await startControlServer(dir, handlers(dir));
  t.teardown(() => server.close());
  const reply = await new Promise<string>((resolve) => {
    const socket = connect(dir, () => socket.end('{"id":1,"op":"status"}'));
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('close', () => resolve(text));
  });
  t.equal(JSON.parse(reply).id, 1);
});

t.test('an oversized request is refused and the connection closed; the host survives', async (t) => {
  const dir = t.testdir();
  const server = await startControlServer(dir, handlers(dir));
  t.teardown(() => server.close());
  const { replies, closed } = await exchange(dir, `{"id":1,"op":"status"}\n{"op":"${'x'.repeat(MAX_REQUEST_BYTES * 4)}`, 2);
  t.equal(replies[0]?.ok, true, 'the request before it is answered');
  t.equal(replies[1]?.error.code, 'TOO_LARGE');
  t.ok(closed || replies.length === 2);
  // A flood of bytes with no newline at all.
  const flood = await exchange(dir, Buffer.alloc(4 * 1024 * 1024, 0x41), 1);
  t.equal(flood.replies[0]?.error.code, 'TOO_LARGE');
  t.same(((await requestHost(dir, { op: 'status' }, 2000)) as HostStatus).restarts, 2);
});

t.test('handler failures become error replies, never a crash', async (t) => {
  const dir = t.testdir();
  const unobserved: unknown[] = [];
  const server = await startControlServer(dir, handlers(dir, {
    status: () => {
      throw new Error('status broke\nwith two lines');
    },
    snapshot: async () => {
      throw new Error('disk full');
    },
  }), { onError: (err) => unobserved.push(err) });
  t.teardown(() => server.close());
  const { replies } = await exchange(dir, '{"id":1,"op":"status"}\n{"id":2,"op":"snapshot","wait":true}\n{"id":3,"op":"snapshot"}\n', 3);
  t.same(replies.map((r) => [r.id, r.ok, r.error?.code]), [[1, false, 'FAILED'], [2, false, 'FAILED'], [3, true, undefined]]);
  t.equal(replies[0]!.error.message, 'status broke with two lines');
  t.equal(replies[1]!.error.message, 'disk full');
  await waitFor('the unobserved error', () => unobserved.length === 1, { timeout: 5000, interval: 10 });
  t.match(String(unobserved[0]), /disk full/, 'a capture nobody waits for reports its failure to onError');
  await t.rejects(requestHost(dir, { op: 'snapshot', wait: true }, 2000), { code: 'REFUSED', message: /disk full/ });
});

t.test('a status that cannot be sent is an error reply, not a crash', async (t) => {
  const dir = t.testdir();
  const circular: Record<string, unknown> = { pid: 1 };
  circular.self = circular;
  const server = await startControlServer(dir, handlers(dir, { status: () => circular as unknown as HostStatus }));
  t.teardown(() => server.close());
  const { replies } = await exchange(dir, '{"id":1,"op":"status"}\n{"id":2,"op":"snapshot","wait":true}\n', 2);
  t.same(replies.map((r) => [r.id, r.ok, r.error?.code]), [[1, false, 'FAILED'], [2, true, undefined]]);
  t.match(replies[0]!.error.message, /circular/i);
});

t.test('a peer that disconnects while its capture runs does not disturb the host', async (t) => {
  const dir = t.testdir();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  const server = await startControlServer(dir, handlers(dir, {
    snapshot: async () => {
      started += 1;
      await gate;
      return { sequence: 99 };
    },
  }));
  t.teardown(() => server.close());
  const socket = connect(dir, () => socket.write('{"id":1,"op":"snapshot","wait":true}\n'));
  socket.on('error', () => {});
  await waitFor('the request to start', () => started === 1, { timeout: 5000, interval: 10 });
  socket.destroy();
  release();
  t.same(await requestHost(dir, { op: 'snapshot', wait: true }, 2000), { sequence: 99 });
});

t.test('too many connections: the extra one is told BUSY', async (t) => {
  const dir = t.testdir();
  const server = await startControlServer(dir, handlers(dir), { maxConnections: 2 });
  t.teardown(() => server.close());
  const idle = await Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => {
    const s = connect(dir, () => resolve(s));
    s.on('error', () => {});
  })));
  // Both idle connections are accepted before the third one connects.
  t.same((await exchange(dir, '{"id":1,"op":"status"}\n', 1)).replies[0]?.error?.code, 'BUSY');
  for (const s of idle) s.destroy();
  let answered = false;
  const deadline = Date.now() + 5000;
  while (!answered && Date.now() < deadline) {
    const { replies } = await exchange(dir, '{"id":2,"op":"status"}\n', 1);
    answered = replies[0]?.ok === true;
  }
  t.ok(answered, 'served again once the idle peers left');
});

t.test('an idle connection is closed after the idle timeout', async (t) => {
  const dir = t.testdir();
  const server = await startControlServer(dir, handlers(dir), { idleTimeoutMs: 100 });
  t.teardown(() => server.close());
  const closedAfter = await new Promise<number>((resolve) => {
    const started = Date.now();
    const s = connect(dir);
    s.on('error', () => {});
    s.on('close', () => resolve(Date.now() - started));
  });
  t.ok(closedAfter >= 90, `closed after ${closedAfter} ms`);
});

/** A directory with a short path, for a foreign process that binds a plain path (tap's test directories are long). */
function shortDir(t: Test): string {
  const dir = fs.mkdtempSync('/tmp/shm-control-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A process listening on `path` (stand-in for another host), and how to kill it. */
async function foreignListener(path: string): Promise<{ kill(signal: NodeJS.Signals): Promise<void> }> {
  const child = execa('node', ['-e', `require('net').createServer(() => {}).listen(${JSON.stringify(path)}, () => console.log('up'))`], { reject: false });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('up') && resolve());
    void child.then((r) => reject(new Error(`listener ended: ${r.stderr}`)));
  });
  return {
    async kill(signal) {
      child.kill(signal);
      await child;
    },
  };
}

t.test('a stale socket from a dead host is replaced', async (t) => {
  const dir = shortDir(t);
  const listener = await foreignListener(socketPath(dir));
  await listener.kill('SIGKILL');
  t.ok(fs.statSync(socketPath(dir)).isSocket(), 'the dead process left its socket');
  await t.rejects(requestHost(dir, { op: 'status' }, 2000), { code: 'NO_HOST', message: /left from a host that is gone/ });
  const server = await startControlServer(dir, handlers(dir));
  t.teardown(() => server.close());
  t.equal(((await requestHost(dir, { op: 'status' }, 2000)) as HostStatus).restarts, 2);
});

t.test('the socket of a live host is never taken over', async (t) => {
  const dir = shortDir(t);
  const listener = await foreignListener(socketPath(dir));
  t.teardown(() => listener.kill('SIGTERM'));
  const inode = fs.statSync(socketPath(dir)).ino;
  await t.rejects(startControlServer(dir, handlers(dir)), { name: 'ControlError', code: 'SOCKET_IN_USE', message: /another process is listening/ });
  t.equal(fs.statSync(socketPath(dir)).ino, inode, 'the live socket is untouched');
  await new Promise<void>((resolve, reject) => {
    const s = connect(dir, () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
});

t.test('a file that is not a socket is never removed', async (t) => {
  const dir = t.testdir({ 'control.sock': 'precious' });
  await t.rejects(startControlServer(dir, handlers(dir)), { code: 'NOT_A_SOCKET', message: /is not a socket/ });
  t.equal(fs.readFileSync(join(dir, 'control.sock'), 'utf8'), 'precious');
});

t.test('a directory path too long for a socket address still works, at the right place', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'd'.repeat(60), 'e'.repeat(60));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = socketPath(dir);
  t.ok(Buffer.byteLength(path) > 108, `path is ${Buffer.byteLength(path)} bytes`);
  const server = await startControlServer(dir, handlers(dir));
  t.ok(fs.statSync(path).isSocket(), 'the socket is inside the long directory');
  t.notOk(fs.existsSync(path.slice(0, 107)), 'nothing bound at a truncated path');
  t.same(await requestHost(dir, { op: 'snapshot', wait: true }, 2000), { sequence: 8 });
  await t.rejects(startControlServer(dir, handlers(dir)), { code: 'SOCKET_IN_USE' }, 'a second server sees the first through the long path too');
  await server.close();
  t.notOk(fs.existsSync(path), 'removed on close');
});

t.test('a host that exits without closing the channel leaves no socket behind', async (t) => {
  const dir = t.testdir();
  const host = execa('node', ['--import', 'tsx', 'fixtures/cli-host.js', dir], { reject: false });
  await new Promise<void>((resolve, reject) => {
    host.stdout!.on('data', (d: Buffer) => d.toString().startsWith('ready') && resolve());
    void host.then((r) => reject(new Error(`host ended: ${r.stderr}`)));
  });
  t.ok(fs.statSync(socketPath(dir)).isSocket());
  host.kill('SIGUSR2');
  const result = await host;
  t.equal(result.exitCode, 0);
  t.notOk(fs.existsSync(socketPath(dir)), 'removed by the exit hook');
});
