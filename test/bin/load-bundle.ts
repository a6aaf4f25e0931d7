// bin/load-bundle.cjs: the command line's bundle compiled with V8's code
// cache kept on disk (Node without a compile cache of its own), and the
// bundle itself, which must keep what only some commands need unloaded.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import module from 'node:module';
import { join } from 'node:path';
import { codeCacheDirectory, loadWithCodeCache } from '../../bin/load-bundle.cjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const LOADER = join(ROOT, 'bin/load-bundle.cjs');

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'shm-host-load-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A scratch bundle.cjs holding `source`, and an empty cache directory (0700) beside it. */
function bundleAndCache(t: { teardown(fn: () => void): void }, source: string): { cache: string; file: string } {
  const dir = scratch(t);
  const cache = join(dir, 'cache');
  mkdirSync(cache, { mode: 0o700 });
  const file = join(dir, 'bundle.cjs');
  writeFileSync(file, source);
  return { cache, file };
}

/**
 * Loads `file` with the cache in `dir` in a new Node process (a cache hit must come from the
 * disk; `flags`: its Node options), then saves the cache as a run that lasted (`complete`) or
 * not; prints what the loader found and the file's `value` export.
 */
function loadElsewhere(file: string, dir: string, complete = true, flags: string[] = []): { cache: string; value: unknown } {
  const script = `import { loadWithCodeCache } from ${JSON.stringify(LOADER)};
const r = loadWithCodeCache(${JSON.stringify(file)}, ${JSON.stringify(dir)}, 'test');
r.save(process.env.COMPLETE === '1');
console.log(JSON.stringify({ cache: r.cache, value: r.exports.value }));`;
  // The same script text each time: -e and its text are Node options, part of the cache's key.
  const env = { ...process.env, COMPLETE: complete ? '1' : '0' };
  return JSON.parse(execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', env })) as { cache: string; value: unknown };
}

t.test('a miss writes the cache, the next process hits it; a damaged cache is refused and rewritten; another build or other flags never hit', async (t) => {
  const { cache, file } = bundleAndCache(t, 'exports.value = require("node:path").basename(__filename) + ":1";\n');
  t.same(loadElsewhere(file, cache), { cache: 'miss', value: 'bundle.cjs:1' }, 'the first load compiles and saves');
  const [name] = readdirSync(cache);
  t.match(name, /^[0-9a-f]{32}-test\.v8$/, 'one cache file, named by the build and the role');
  t.same(loadElsewhere(file, cache), { cache: 'hit', value: 'bundle.cjs:1' }, 'the next process uses it');

  const bytes = readFileSync(join(cache, name!));
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(join(cache, name!), bytes);
  t.same(loadElsewhere(file, cache), { cache: 'corrupt', value: 'bundle.cjs:1' }, 'a damaged cache fails its checksum and is not used');
  t.same(loadElsewhere(file, cache), { cache: 'hit', value: 'bundle.cjs:1' }, 'the load after it wrote it again');

  t.same(loadElsewhere(file, cache, true, ['--max-old-space-size=100']), { cache: 'miss', value: 'bundle.cjs:1' }, 'other V8 flags: a cache of their own, not one V8 rejects');
  t.same(loadElsewhere(file, cache), { cache: 'hit', value: 'bundle.cjs:1' }, 'which leaves the plain one alone');

  // The same length: V8 itself would take the old cache for this source.
  writeFileSync(file, 'exports.value = require("node:path").basename(__filename) + ":2";\n');
  t.same(loadElsewhere(file, cache), { cache: 'miss', value: 'bundle.cjs:2' }, 'a rewritten file is a miss, never the old code');
});

t.test('a cache saved by a run that ended early is replaced by the next run that lasts', async (t) => {
  const { cache, file } = bundleAndCache(t, 'exports.value = 7;\n');
  // Files of the user's in a directory NODE_COMPILE_CACHE names: never the loader's to delete.
  writeFileSync(join(cache, 'notes.tmp'), 'mine');
  utimesSync(join(cache, 'notes.tmp'), new Date(0), new Date(0));
  for (let i = 0; i < 10; i++) writeFileSync(join(cache, `other${i}.v8`), 'mine');
  t.same(loadElsewhere(file, cache, false), { cache: 'miss', value: 7 }, 'a short run saves what it compiled');
  t.equal(readdirSync(cache).filter((n) => n === 'notes.tmp' || n.startsWith('other')).length, 11, 'and leaves the files not its own alone');
  t.same(loadElsewhere(file, cache, false), { cache: 'partial', value: 7 }, 'the next finds it partial, and another short run leaves it so');
  t.same(loadElsewhere(file, cache, true), { cache: 'partial', value: 7 }, 'a run that lasts replaces it');
  t.same(loadElsewhere(file, cache, false), { cache: 'hit', value: 7 }, 'with a complete one');
});

t.test('in-process: no directory, no cache; module, require and __dirname are the file\'s own', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'bundle.cjs');
  writeFileSync(file, 'module.exports = { dir: __dirname, same: require.resolve("./bundle.cjs") === __filename, self: this === module.exports };\n');
  const loaded = loadWithCodeCache(file, null);
  t.equal(loaded.cache, 'off');
  t.same(loaded.exports, { dir, same: true, self: true });
  loaded.save();
  t.same(readdirSync(dir), ['bundle.cjs'], 'nothing written');
});

t.test('the cache directory: NODE_COMPILE_CACHE or a per-user one, never one another user can write', async (t) => {
  const dir = scratch(t);
  t.equal(codeCacheDirectory({ NODE_DISABLE_COMPILE_CACHE: '1' }), null, 'turned off');
  const own = join(dir, 'own');
  t.equal(codeCacheDirectory({ NODE_COMPILE_CACHE: own }), own, 'created');
  chmodSync(own, 0o777);
  t.equal(codeCacheDirectory({ NODE_COMPILE_CACHE: own }), null, 'writable by others: not used');
  writeFileSync(join(dir, 'file'), '');
  t.equal(codeCacheDirectory({ NODE_COMPILE_CACHE: join(dir, 'file') }), null, 'not a directory');
  t.match(codeCacheDirectory({}), new RegExp(`shm-host-code-cache-${process.getuid?.() ?? 0}$`), 'by default one per user');
});

/**
 * Runs `shm-host ...args` and returns every module file it loaded: through
 * require() (require.cache at exit) and through import() (a resolve hook).
 * The preloads send bin/load-bundle.cjs down require()'s path, as on Node 22 and later.
 */
function loadedModules(t: { equal(a: unknown, b: unknown, m?: string): void }, dir: string, args: string[]): string[] {
  const out = join(dir, `loaded-${args[0]}.txt`);
  const preload = join(dir, 'modules.cjs');
  writeFileSync(preload, `process.on('exit', () => require('node:fs').appendFileSync(${JSON.stringify(out)}, Object.keys(require.cache).join('\\n') + '\\n'));\n`);
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(out)}, r.url + '\\n');
  return r;
}
`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
  const run = spawnSync(process.execPath, ['--import', register, '-r', preload, join(ROOT, 'bin/shm-host.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: join(dir, 'cache') },
  });
  t.equal(run.status, 0, `shm-host ${args.join(' ')}: ${run.stderr}`);
  return readFileSync(out, 'utf8').split('\n').filter((l) => l !== '');
}

t.test('the host loads neither yargs nor the AWS SDK before, or after, it runs its child; list loads yargs', async (t) => {
  const dir = scratch(t);
  if (!existsSync(join(ROOT, 'dist/cli-bundle/main.cjs'))) return void t.skip('no dist/cli-bundle/: npm run build');
  const lazy = /node_modules\/(yargs|@aws-sdk)\//;
  const host = loadedModules(t, dir, ['--dir', join(dir, 'state'), '--interval', '0', '--', process.execPath, '-e', '0']);
  t.ok(host.some((f) => f.includes('node_modules/koffi/')), `the packages the host needs are seen (koffi, among ${host.length} files)`);
  t.same(host.filter((f) => lazy.test(f)), [], 'no yargs, no AWS SDK');
  const list = loadedModules(t, dir, ['list', '--dir', join(dir, 'state')]);
  t.ok(list.some((f) => /node_modules\/yargs\//.test(f)), 'list parses with yargs, and it is seen loaded');
});

t.test('the Node 20 bundle holds no import(), which its loader could not run', async (t) => {
  const file = join(ROOT, 'dist/cli-bundle/main-node20.cjs');
  if (!existsSync(file)) return void t.skip('no dist/cli-bundle/: npm run build');
  t.same(readFileSync(file, 'utf8').match(/(?<![\w$.])import\(/g) ?? [], []);
  t.ok(/(?<![\w$.])import\(/.test(readFileSync(join(ROOT, 'dist/cli-bundle/main.cjs'), 'utf8')), 'the other bundle keeps them (the check can see one)');
});

t.test('the command as users run it (no Node options): the cache is written by the first run and serves the next', async (t) => {
  const dir = scratch(t);
  const cache = join(dir, 'cache');
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: cache };
  const run = (...args: string[]): string => {
    // tap gives every process it starts NODE_OPTIONS (its process-info hooks, source maps),
    // which sends the loader down require()'s path: env(1) takes it away again.
    const r = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, join(ROOT, 'bin/shm-host.js'), ...args], { encoding: 'utf8', env });
    t.equal(r.status, 0, `shm-host ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  run('--dir', join(dir, 'state'), '--interval', '0', '--', process.execPath, '-e', '0');
  t.ok(readdirSync(cache).length > 0, `the host filled the cache directory: ${readdirSync(cache).join(', ')}`);
  const first = run('list', '--dir', join(dir, 'state'));
  t.match(first, /post-mortem/, 'list shows the host\'s generation');
  t.equal(run('list', '--dir', join(dir, 'state')), first, 'and says the same from the cache');
  run('--dir', join(dir, 'state'), '--interval', '0', '--', process.execPath, '-e', '0');
  if (typeof (module as { enableCompileCache?: unknown }).enableCompileCache !== 'function') {
    t.same(readdirSync(cache).map((n) => n.replace(/^[0-9a-f]{32}/, 'KEY')).sort(), ['KEY-host.v8', 'KEY-tools.v8'], 'Node 20: one V8 code cache per kind of command');
  }
});
