// A big-endian machine: the shared layout is little-endian, so the program
// refuses to load there (the check runs when its layout module loads,
// whatever the command). The command line says so in its one-line form,
// exit 1, without a stack trace; shown for an inspection command and for
// the host. Simulated by a preload that makes os.endianness() answer 'BE'
// for the CommonJS bundle and the ES modules alike.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../bin/shm-host.js', import.meta.url).pathname;

t.test('a command and the host on a big-endian machine: one line naming the problem and the fix, exit 1, no stack trace', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shm-host-big-endian-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const preload = join(dir, 'big-endian.cjs');
  writeFileSync(preload, "const os = require('node:os');\nos.endianness = () => 'BE';\nrequire('node:module').syncBuiltinESMExports();\n");
  for (const args of [['list', '--dir', join(dir, 'state')], ['--dir', join(dir, 'state'), '--', 'true']]) {
    const r = spawnSync(process.execPath, ['--require', preload, BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
    const lines = r.stderr.trim().split('\n');
    t.equal(r.status, 1, `${args[0]}: exit 1 (stderr: ${r.stderr})`);
    t.equal(lines.length, 1, `${args[0]}: one line`);
    t.equal(lines[0], 'shm-host: this machine is big-endian, and the shared layout is little-endian (docs/FORMAT.md) (run shm-host on x86-64, arm64 or another little-endian machine)', `${args[0]}: the problem and the fix`);
    t.notMatch(r.stderr, /\n\s+at /, `${args[0]}: no stack trace`);
  }
});
