// Loads the command line's bundle (dist/cli-bundle/main.cjs, one CommonJS
// file: scripts/bundle-cli.js) with its compiled code kept on disk, because
// compiling it was a fifth of the host's work before it spawns its child
// (docs/BENCHMARKS.md, Start-up). Node >= 22.8 keeps such a cache itself
// (module.enableCompileCache); on older Node this file keeps V8's code cache
// (vm.Script cachedData) in a directory of the user's own.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

/** Cache files kept in the directory: one per build of the bundle and Node version; older ones are deleted at a save. */
const KEEP = 8;
/** A run that lasts saves its cache this long after its start (ms): by then the host has started its child, and that code is compiled. */
const SAVE_AFTER_MS = 2000;

/**
 * Runs the CommonJS file `file` and returns `{ exports, save }`: its
 * `module.exports`, and a function that writes the code V8 compiled for it
 * so far to the cache (once; call it when the program's work is done;
 * otherwise it runs by itself SAVE_AFTER_MS after the load, without holding
 * the process). Where Node has a cache of its own it is turned on, `file`
 * is required, and `save` flushes Node's cache. The cache follows Node's
 * variables (nodejs.org/api/module.html#module-compile-cache):
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off, NODE_COMPILE_CACHE names its
 * directory. `role` names the kind of command (one cache file each: a
 * cache holds the code that ran before it was saved, and a hit is not saved
 * again). Never throws for the cache's sake: without a usable one, the
 * file is compiled as it would be by require().
 */
export function loadBundle(file, role) {
  if (typeof module.enableCompileCache === 'function') {
    // Never throws; not passed on: the child's environment stays the host's.
    module.enableCompileCache();
    const exports = createRequire(file)(file);
    return { exports, save: () => module.flushCompileCache?.() };
  }
  const dir = codeCacheDirectory();
  const loaded = loadWithCodeCache(file, dir, role);
  const timer = setTimeout(loaded.save, SAVE_AFTER_MS);
  timer.unref();
  return {
    exports: loaded.exports,
    save: () => {
      clearTimeout(timer);
      loaded.save();
    },
  };
}

/**
 * Compiles and runs the CommonJS file `file` as require() would (its own
 * `require`, `module`, `__filename`, `__dirname`), with V8's code cache
 * from directory `dir` (null: none), in the file of `role` for this
 * source: named by the SHA-256 of the source, the Node version and the
 * architecture (V8 itself checks only the source's length, its own version
 * and its flags), holding the SHA-256 of the code cache before it (V8 does
 * not check its payload unless --verify-snapshot-checksum). Returns
 * `{ exports, cache, save }`: `cache` tells what was found: 'hit', 'miss',
 * 'corrupt' (a cache file that failed its checksum), 'rejected' (by V8) or
 * 'off'; `save()` writes the cache (write-temp then rename) unless it was a
 * hit; it never throws.
 */
export function loadWithCodeCache(file, dir, role = 'main') {
  const source = fs.readFileSync(file, 'utf8');
  const key = createHash('sha256').update(`${process.version} ${process.arch}\0`).update(source).digest('hex').slice(0, 32);
  const cacheFile = dir === null ? null : join(dir, `${key}-${role}.v8`);
  let cache = 'off';
  let cachedData;
  if (cacheFile !== null) {
    cachedData = readCacheFile(cacheFile);
    cache = cachedData === undefined ? 'miss' : cachedData === null ? 'corrupt' : 'hit';
  }
  const script = new vm.Script(module.wrap(source), { filename: file, cachedData: cachedData ?? undefined });
  if (cache === 'hit' && script.cachedDataRejected) cache = 'rejected';
  const mod = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
  let saved = cache === 'hit' || cacheFile === null;
  return {
    exports: mod.exports,
    cache,
    save: () => {
      if (saved) return;
      saved = true;
      try {
        writeCacheFile(/** @type {string} */ (cacheFile), script.createCachedData());
      } catch {
        // A cache is an optimisation: a full disk or a read-only directory costs the next start a compile.
      }
    },
  };
}

/**
 * The code cache's directory for `env`: NODE_COMPILE_CACHE, else one per
 * user in the temporary directory (`shm-host-code-cache-<uid>`, created
 * 0700); null when NODE_DISABLE_COMPILE_CACHE=1, or when it cannot be
 * created or is not safely this user's (not a directory of this user that
 * no other user can write: code read from it runs as this user).
 */
export function codeCacheDirectory(env = process.env) {
  if (env.NODE_DISABLE_COMPILE_CACHE === '1') return null;
  const uid = process.getuid?.() ?? 0;
  const dir = env.NODE_COMPILE_CACHE || join(tmpdir(), `shm-host-code-cache-${uid}`);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o022) === 0 ? dir : null;
  } catch {
    return null;
  }
}

/** The code cache in `path`: a Buffer, undefined when there is none, null when its checksum fails. */
function readCacheFile(path) {
  let bytes;
  try {
    bytes = fs.readFileSync(path);
  } catch {
    return undefined;
  }
  const data = bytes.subarray(32);
  return bytes.length > 32 && createHash('sha256').update(data).digest().equals(bytes.subarray(0, 32)) ? data : null;
}

function writeCacheFile(path, data) {
  const temp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(temp, Buffer.concat([createHash('sha256').update(data).digest(), data]), { mode: 0o600 });
  fs.renameSync(temp, path);
  const dir = dirname(path);
  const others = fs.readdirSync(dir).filter((name) => name.endsWith('.v8')).map((name) => {
    try {
      return { name, mtime: fs.statSync(join(dir, name)).mtimeMs };
    } catch {
      return { name, mtime: Infinity };
    }
  });
  for (const { name } of others.sort((a, b) => b.mtime - a.mtime).slice(KEEP)) fs.rmSync(join(dir, name), { force: true });
}
