// memfdHolders finds the processes that hold a memory file by its name:
// through an open descriptor, or through a mapping alone (the descriptor
// closed after mmap), on real processes.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { memfdHolders } from '../../src/sys/index.js';

/** A python3 process that creates memfd `name`, maps it, keeps or closes the descriptor, says "ready" and waits. */
async function holder(t: Test, name: string, keepFd: boolean): Promise<number> {
  const script = [
    'import os, mmap, sys',
    `fd = os.memfd_create(${JSON.stringify(name)})`,
    'os.ftruncate(fd, 8192)',
    'm = mmap.mmap(fd, 8192)',
    keepFd ? 'pass' : 'os.close(fd)',
    'print("ready", flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const p = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => {
    p.kill('SIGKILL');
  });
  const [line] = (await once(p.stdout!, 'data')) as [Buffer];
  if (!line.toString().startsWith('ready')) throw new Error(`python3 said ${line}`);
  return p.pid!;
}

t.test('a process holding the memfd by descriptor and one holding only a mapping are both found; others are not', async (t) => {
  const name = `holders-test-${process.pid}`;
  const byFd = await holder(t, name, true);
  const byMapping = await holder(t, name, false);
  const other = await holder(t, `${name}-other`, false);
  const found = memfdHolders(name).sort((a, b) => a - b);
  t.same(found, [byFd, byMapping].sort((a, b) => a - b));
  t.notOk(found.includes(other), 'a memfd whose name only starts the same is not this one');
  t.same(memfdHolders(`${name}-other`), [other]);
});
