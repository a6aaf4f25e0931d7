// Taking the files a service manager passes at start, in a real process that
// receives real descriptors at fd 3 onwards with the LISTEN_* variables.
import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isCloseOnExec, memfdCreate, setCloseOnExec } from '../../src/sys/index.js';
import { ROOT } from '../host/harness.js';
import { takeHandover } from '../../src/host/notify/index.js';

const PROBE = fileURLToPath(new URL('../../fixtures/handover-probe.js', import.meta.url));

interface Probe {
  pid: number;
  handover: { kind: string; fd?: number; reason?: string; closed?: Array<{ fd: number; name: string }> };
  fds: Record<string, 'closed' | { cloexec: boolean; text: string | null }>;
}

function marked(t: { teardown(fn: () => unknown): void }, text: string): number {
  const fd = memfdCreate(text);
  t.teardown(() => closeSync(fd));
  writeSync(fd, Buffer.from(text), 0, text.length, 0);
  return fd;
}

/**
 * Runs the probe with `fds` at 3, 4... and `env`; LISTEN_PID is the probe's
 * own pid (set by the shell that execs it) unless `listenPid` says otherwise.
 */
function probe(fds: number[], env: Record<string, string>, listenPid?: string): Promise<Probe> {
  const setPid = listenPid === undefined ? 'export LISTEN_PID=$$;' : `export LISTEN_PID=${listenPid};`;
  const child = spawn('sh', ['-c', `${setPid} exec "$0" --import tsx "$1" "$2"`, process.execPath, PROBE, String(fds.length)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit', ...fds],
    env: { PATH: process.env.PATH, ...env },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Probe) : reject(new Error(`probe exited with ${code}: ${out}`)))));
}

t.test('the file named SHM_SHARED_FD is taken, close-on-exec; the other passed files are closed', async (t) => {
  const other = marked(t, 'other-01');
  const shared = marked(t, 'shared-1');
  const p = await probe([other, shared], { LISTEN_FDS: '2', LISTEN_FDNAMES: 'stored:SHM_SHARED_FD' });
  t.same(p.handover, { kind: 'file', fd: 4, closed: [{ fd: 3, name: 'stored' }] });
  t.same(p.fds['4'], { cloexec: true, text: 'shared-1' }, 'fd 4 is the shared file, no longer inherited by children');
  t.equal(p.fds['3'], 'closed');
});

t.test('of two files named SHM_SHARED_FD, the first is taken and the second closed', async (t) => {
  const p = await probe([marked(t, 'first-01'), marked(t, 'second-1')], { LISTEN_FDS: '2', LISTEN_FDNAMES: 'SHM_SHARED_FD:SHM_SHARED_FD' });
  t.same(p.handover, { kind: 'file', fd: 3, closed: [{ fd: 4, name: 'SHM_SHARED_FD' }] });
  t.match(p.fds['3'], { text: 'first-01' });
});

t.test('files meant for another process are left alone', async (t) => {
  const p = await probe([marked(t, 'shared-1')], { LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' }, '1');
  t.match(p.handover, { kind: 'unusable', reason: /LISTEN_FDS=1 was passed for process 1, not this host \(\d+\): start shm-host itself/, closed: [] });
  t.match(p.fds['3'], { text: 'shared-1' }, 'still open');
  t.same(p.handover.closed, []);
});

t.test('without a file named SHM_SHARED_FD every passed file is closed and the reason given', async (t) => {
  const p = await probe([marked(t, 'a-000001'), marked(t, 'b-000001')], { LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:db' });
  t.match(p.handover, { kind: 'unusable', reason: /passed 2 descriptors and none is a shared file: none is named SHM_SHARED_FD \(LISTEN_FDNAMES=web:db\)/ });
  t.same(p.handover.closed, [{ fd: 3, name: 'web' }, { fd: 4, name: 'db' }]);
  t.equal(p.fds['3'], 'closed');
  t.equal(p.fds['4'], 'closed');
});

t.test('a SHM_SHARED_FD that is not a regular file is refused', async (t) => {
  const dir = openSync(tmpdir(), 'r');
  t.teardown(() => closeSync(dir));
  const p = await probe([dir], { LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' });
  t.match(p.handover, { kind: 'unusable', reason: /fd 3 \(SHM_SHARED_FD\) is not a regular file/ });
  t.same(p.handover.closed, [], 'left open: only stored files are closed');
  t.match(p.fds['3'], { cloexec: true });
});

t.test('no LISTEN_FDS, bad counts, descriptors that are not open', async (t) => {
  t.same(takeHandover({}, process.pid), { kind: 'none' });
  t.match(takeHandover({ LISTEN_FDS: '0', LISTEN_PID: String(process.pid) }, process.pid), { kind: 'unusable', reason: /LISTEN_FDS=0 passes no descriptor/ });
  t.match(takeHandover({ LISTEN_FDS: 'x', LISTEN_PID: String(process.pid) }, process.pid), { kind: 'unusable' });
  // Nothing passed although LISTEN_FDS says one: fd 3 is then Node's own (its event loop's), and must survive.
  const p = await probe([], { LISTEN_FDS: '1', LISTEN_FDNAMES: 'SHM_SHARED_FD' });
  t.match(p.handover, { kind: 'unusable', reason: /fd 3 \(SHM_SHARED_FD\) is not (open|a regular file)/, closed: [] });
});

t.test('setCloseOnExec sets the flag once and names errors', async (t) => {
  const fd = openSync('/dev/null', 'r');
  t.teardown(() => closeSync(fd));
  t.equal(isCloseOnExec(fd), true, 'Node opens files close-on-exec');
  setCloseOnExec(fd);
  t.equal(isCloseOnExec(fd), true);
  t.throws(() => setCloseOnExec(1 << 30), { name: 'SysError', code: 'EBADF', syscall: 'fcntl(F_GETFD)' });
  t.ok(fstatSync(fd).isCharacterDevice());
});
