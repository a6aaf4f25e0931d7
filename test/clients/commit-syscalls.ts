// No system call in commit (issue: "no system call in commit"; docs/FORMAT.md
// section 3): each client tool's `commit-burst` makes 100,000 commits of 1
// to 299 bytes on a private file (the ring wraps, so the invalidations run
// too) between two marker calls, close(-4242), under strace; nothing may
// appear between the markers. Node is not traced this way: its runtime's own
// garbage collector makes system calls on the same thread at any time.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { clientTools } from './helpers.js';

const COUNT = 100_000;

t.test('C and Python: commit makes no system call (strace between two markers)', async (t) => {
  if (spawnSync('strace', ['-V']).error) return t.skip('strace is not installed');
  // Installed is not enough: ptrace may be denied (no CAP_SYS_PTRACE, a seccomp filter, Yama).
  const probe = spawnSync('strace', ['-qq', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) return t.skip(`strace cannot trace here: ${probe.stderr.trim().split('\n')[0]}`);
  const tools = clientTools(t);
  if (tools.length === 0) return t.skip('neither python3 nor cc is available');
  const dir = mkdtempSync(`${tmpdir()}/shm-host-strace-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const tool of tools) {
    const trace = `${dir}/${tool.name}.trace`;
    // Without -f: the tool's own thread (a pyenv shim execs python3 in the same process).
    const r = spawnSync('strace', ['-qq', '-o', trace, tool.command, ...tool.args, 'commit-burst', '--count', String(COUNT)], { encoding: 'utf8' });
    t.equal(r.status, 0, `${tool.name} commit-burst under strace: ${r.stderr}`);
    t.match(JSON.parse(r.stdout.trim()), { commits: COUNT }, `${tool.name}: ${COUNT} commits`);
    // A signal delivered meanwhile (--- SIG...) is not a call the commit made.
    const lines = readFileSync(trace, 'utf8').split('\n').filter((line) => !line.startsWith('--- SIG'));
    const markers = lines.flatMap((line, i) => (line.startsWith('close(-4242)') ? [i] : []));
    t.equal(markers.length, 2, `${tool.name}: both markers traced`);
    t.same(lines.slice(markers[0]! + 1, markers[1]), [], `${tool.name}: no system call in ${COUNT} commits`);
  }
});
