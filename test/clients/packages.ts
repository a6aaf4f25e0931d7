// The clients as their users get them: `pip install ./clients/python`
// installs an importable, typed `shm_host` whose API behaves as documented
// (api_check.py), and clients/c/shm_host.h compiles cleanly under strict
// C11 and its example runs, resumes and counts.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { attach, defaultConfig } from '../../src/client/index.js';
import { childEnv, spawnShared } from '../../fixtures/lib/shared-child.js';
import { ROOT, cTool, memfd, pythonTool } from './helpers.js';

t.test('pip install ./clients/python gives an importable, typed shm_host', async (t) => {
  const python = pythonTool();
  if (typeof python === 'string') return t.skip(python);
  if (spawnSync('python3', ['-m', 'pip', '--version']).status !== 0) return t.skip('pip is not installed for python3');
  const dir = mkdtempSync(`${tmpdir()}/shm-host-pip-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The ordinary command (build isolation: pip fetches setuptools from the
  // package index pip is configured with, which may be a local mirror).
  // From a copy: setuptools builds in the source tree (build/, *.egg-info).
  cpSync(`${ROOT}clients/python`, `${dir}/src`, { recursive: true, filter: (p) => !/__pycache__|\.egg-info|\/build$/.test(p) });
  const pip = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', '--target', `${dir}/site`, `${dir}/src`],
    { encoding: 'utf8', env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
  if (pip.status !== 0 && /Could not find a version that satisfies the requirement setuptools|No matching distribution found for setuptools/.test(pip.stderr)) {
    return t.skip('pip cannot reach a package index with setuptools to build the package (offline)');
  }
  t.equal(pip.status, 0, `pip install ./clients/python: ${pip.stderr}`);
  t.ok(existsSync(`${dir}/site/shm_host/py.typed`), 'py.typed is installed');
  const env = childEnv({ PYTHONPATH: `${dir}/site`, SHM_TOOL_INSTALLED: '1' });
  const where = spawnSync('python3', ['-c', 'import shm_host; print(shm_host.__file__)'], { env, encoding: 'utf8', cwd: dir });
  t.match(where.stdout, `${dir}/site/shm_host/__init__.py`, 'the installed package is the one imported');

  const api = spawnSync('python3', [`${ROOT}test/clients/api_check.py`], { env, encoding: 'utf8', cwd: dir });
  t.equal(api.status, 0, api.stderr);
  const results = JSON.parse(api.stdout) as Record<string, true | string>;
  for (const [name, result] of Object.entries(results)) t.equal(result, true, `python: ${name}`);
  t.same([12288, 1 << 20, 1 << 30].map((n) => defaultConfig(n)), [{ slots: 64, ringSize: 4096 }, { slots: 2048, ringSize: 131072 }, { slots: 4096, ringSize: 4 << 20 }], 'the defaults api_check.py expects are Node\'s');

  // The installed package writes a file the Node client reads.
  const fd = memfd(t, 1 << 20);
  const wrote = await spawnShared('python3', [`${ROOT}test/clients/shm_tool.py`, 'write', '--count', '50'], { fd, env }).exited;
  t.equal(wrote.code, 0, wrote.stderr);
  const state = attach({ fd, env: {} });
  t.equal(state.records().length, 50, 'node reads the 50 records the installed package committed');
  state.close();
});

t.test('shm_host.h compiles under strict C11 and its example child runs and resumes', async (t) => {
  if (spawnSync('cc', ['--version']).error) return t.skip('no C compiler (cc) is installed');
  const dir = mkdtempSync(`${tmpdir()}/shm-host-cc-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const binary = `${dir}/counter`;
  const cc = spawnSync('cc', ['-std=c11', '-pedantic', '-Wall', '-Wextra', '-Wconversion', '-Werror', '-O2', '-o', binary, `${ROOT}clients/c/example.c`], { encoding: 'utf8' });
  t.equal(cc.status, 0, `no warnings: ${cc.stderr}`);
  const alone = spawnSync(binary, ['--standalone'], { encoding: 'utf8' });
  t.equal(alone.stdout, 'counter: resumed at 0\n', 'standalone: starts at 0, waits for no host');
  const fd = memfd(t, 1 << 20);
  for (const start of [0, 1000]) {
    const r = await spawnShared(binary, ['--no-wait'], { fd }).exited;
    t.match(r.stdout, new RegExp(`^counter: resumed at ${start}\\n`), `resumed at ${start}`);
  }
  const state = attach({ fd, env: {} });
  t.same(state.latest(), new Uint8Array([0xd0, 0x07, 0, 0, 0, 0, 0, 0]), 'node reads the counter: 2000');
  state.close();
});

t.test('the C API\'s edge cases: each error code where documented', async (t) => {
  const tool = cTool(t);
  if (typeof tool === 'string') return t.skip(tool);
  const r = spawnSync(tool.command, ['api'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  for (const [name, result] of Object.entries(JSON.parse(r.stdout) as Record<string, true | string>)) t.equal(result, true, `c: ${name}`);
});
