// The clients as their users get them: `pip install ./clients/python` in a
// fresh venv installs an importable, typed `shm_host` whose API behaves as
// documented (api_check.py), also on Python 3.9, the oldest it claims; and
// clients/c/shm_host.h compiles cleanly under strict C11 and its example
// runs, resumes and counts.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { attach, defaultConfig } from '../../src/client/index.js';
import { childEnv, spawnShared } from '../../fixtures/lib/shared-child.js';
import { ROOT, cTool, memfd, pythonTool } from './helpers.js';

t.test('pip install ./clients/python in a fresh venv gives an importable, typed shm_host', async (t) => {
  const python = pythonTool();
  if (typeof python === 'string') return t.skip(python);
  const dir = mkdtempSync(`${tmpdir()}/shm-host-pip-`);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // What a user does: a fresh virtual environment, then the ordinary command
  // (build isolation: pip fetches setuptools from the package index pip is
  // configured with, which may be a local mirror). From a copy: setuptools
  // builds in the source tree (build/, *.egg-info).
  const venv = spawnSync('python3', ['-m', 'venv', `${dir}/venv`], { encoding: 'utf8' });
  if (venv.status !== 0) return t.skip(`python3 cannot make a virtual environment here (python3 -m venv: ${venv.stderr.trim()})`);
  const py = `${dir}/venv/bin/python`;
  cpSync(`${ROOT}clients/python`, `${dir}/src`, { recursive: true, filter: (p) => !/__pycache__|\.egg-info|\/build$/.test(p) });
  const pip = spawnSync(py, ['-m', 'pip', 'install', '--quiet', `${dir}/src`],
    { encoding: 'utf8', env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
  if (pip.status !== 0 && /Could not find a version that satisfies the requirement setuptools|No matching distribution found for setuptools/.test(pip.stderr)) {
    return t.skip('pip cannot reach a package index with setuptools to build the package (offline)');
  }
  t.equal(pip.status, 0, `pip install ./clients/python: ${pip.stderr}`);
  const env = childEnv({ SHM_TOOL_INSTALLED: '1' });
  const where = spawnSync(py, ['-c', 'import shm_host; print(shm_host.__file__)'], { env, encoding: 'utf8', cwd: dir });
  const installed = where.stdout.trim().replace(/__init__\.py$/, '');
  t.match(installed, new RegExp(`^${dir}/venv/lib/python3\\.\\d+/site-packages/shm_host/$`), 'the package installed in the venv is the one imported');
  t.ok(existsSync(`${installed}py.typed`), 'py.typed is installed');

  const api = spawnSync(py, [`${ROOT}test/clients/api_check.py`], { env, encoding: 'utf8', cwd: dir });
  t.equal(api.status, 0, api.stderr);
  const results = JSON.parse(api.stdout) as Record<string, true | string>;
  for (const [name, result] of Object.entries(results)) t.equal(result, true, `python: ${name}`);
  t.same([12288, 1 << 20, 1 << 30].map((n) => defaultConfig(n)), [{ slots: 64, ringSize: 4096 }, { slots: 2048, ringSize: 131072 }, { slots: 4096, ringSize: 4 << 20 }], 'the defaults api_check.py expects are Node\'s');

  // The installed package writes a file the Node client reads.
  const fd = memfd(t, 1 << 20);
  const wrote = await spawnShared(py, [`${ROOT}test/clients/shm_tool.py`, 'write', '--count', '50'], { fd, env }).exited;
  t.equal(wrote.code, 0, wrote.stderr);
  const state = attach({ fd, env: {} });
  t.equal(state.records().length, 50, 'node reads the 50 records the installed package committed');
  state.close();
});

/** An interpreter of Python 3.9 (the oldest the client claims): `python3.9`, or pyenv's; null when none is installed. */
function python39(): string | null {
  const root = process.env.PYENV_ROOT ?? `${homedir()}/.pyenv`;
  let pyenv: string[] = [];
  try {
    pyenv = readdirSync(`${root}/versions`).filter((v) => /^3\.9\.\d+$/.test(v)).map((v) => `${root}/versions/${v}/bin/python3`);
  } catch {
    // no pyenv here
  }
  return ['python3.9', ...pyenv].find((python) => spawnSync(python, ['-c', 'import sys; assert sys.version_info[:2] == (3, 9)']).status === 0) ?? null;
}

// Syntax newer than 3.9 that 3.9 cannot even parse (match, except*, ...),
// and annotations that 3.9 evaluates at definition time and cannot
// (X | Y: a TypeError on import), checked with whatever python3 is here.
const SYNTAX_CHECK = `
import ast, pathlib, sys
bad = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    source = path.read_text()
    try:
        tree = ast.parse(source, feature_version=(3, 9))
    except SyntaxError as err:
        bad.append(f"{path.name}:{err.lineno}: not Python 3.9 syntax: {err.msg}")
        continue
    if "from __future__ import annotations" in source:
        continue
    for node in ast.walk(tree):
        notes = [node.annotation] if isinstance(node, (ast.AnnAssign, ast.arg)) and node.annotation else []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            notes.append(node.returns)
        for note in notes:
            if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) for n in ast.walk(note)):
                bad.append(f"{path.name}:{note.lineno}: an X | Y annotation, evaluated (and a TypeError) on 3.9")
print(chr(10).join(bad))
`;

t.test('the Python client is Python 3.9: its syntax, and its API checks run on a 3.9 interpreter', async (t) => {
  const python = pythonTool();
  if (typeof python === 'string') return t.skip(python);
  const syntax = spawnSync('python3', ['-c', SYNTAX_CHECK, `${ROOT}clients/python/shm_host`], { encoding: 'utf8' });
  t.equal(syntax.status, 0, syntax.stderr);
  t.equal(syntax.stdout.trim(), '', 'nothing newer than Python 3.9 in clients/python/shm_host');
  const py39 = python39();
  if (py39 === null) return t.skip('no Python 3.9 interpreter is installed (python3.9, or pyenv\'s): only the syntax was checked');
  const api = spawnSync(py39, [`${ROOT}test/clients/api_check.py`], { encoding: 'utf8', env: childEnv() });
  t.equal(api.status, 0, api.stderr);
  for (const [name, result] of Object.entries(JSON.parse(api.stdout) as Record<string, true | string>)) t.equal(result, true, `python 3.9: ${name}`);
  const fd = memfd(t, 1 << 20);
  const wrote = await spawnShared(py39, [`${ROOT}test/clients/shm_tool.py`, 'write', '--count', '50'], { fd }).exited;
  t.equal(wrote.code, 0, wrote.stderr);
  const state = attach({ fd, env: {} });
  t.equal(state.records().length, 50, 'node reads the 50 records Python 3.9 committed');
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
