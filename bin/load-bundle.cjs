// Loads the command line's bundle (dist/cli-bundle/main.cjs, or
// main-node20.cjs on Node 20: one CommonJS file, scripts/bundle-cli.js)
// with its compiled code kept on disk, because compiling it was a fifth of
// the host's work before it spawns its child (docs/BENCHMARKS.md, Start-up). Node >= 22.8 keeps such a cache itself
// (module.enableCompileCache); on older Node this file keeps V8's code cache
// (vm.Script cachedData) in a directory of the user's own.
//
// CommonJS, like the bundle: Node's built-in modules come with require()
// at no cost, where each first import() of one costs about a millisecond.
'use strict';
const fs = require('node:fs');
const module_ = require('node:module');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const vm = require('node:vm');
const { createRequire } = module_;
/** Cache files kept in the directory: one per build of the bundle, Node version and role; older ones are deleted at a save. */
const KEEP = 8;
/** A run that lasts saves its cache this long after its start (ms): by then the host has started its child, and that code is compiled. */
const SAVE_AFTER_MS = 2000;
/** Bytes before the code cache in a cache file: the SHA-256 of the rest, then a flag: 1 when saved by a run that lasted (COMPLETE), 0 when by one that ended sooner. */
const HEADER = 33;
/** The names of this loader's cache files, and of their temporary files. */
const OWN = /^[0-9a-f]{32}-[a-z0-9]+\.v8(\.\d+\.tmp)?$/;

/**
 * Runs the CommonJS file `file` and returns `{ exports, save }`: its
 * `module.exports`, and a function that writes the code V8 compiled for it
 * so far to the cache (call it when the program's work is done; a run
 * that lasts saves it by itself SAVE_AFTER_MS after the load, without
 * holding the process). The cache follows Node's variables
 * (nodejs.org/api/module.html#module-compile-cache): NODE_DISABLE_COMPILE_CACHE=1
 * turns it off, NODE_COMPILE_CACHE names its directory (see
 * codeCacheDirectory). Where Node has a cache of its own (Node >= 22.8) it
 * is turned on in that directory and `file` is required; so it is too when
 * this Node maps stack traces (--enable-source-maps) or was given options
 * or preloads (execArgv, NODE_OPTIONS): those apply to require() only, or
 * change the compiled code. `role` names the kind of command (one cache
 * file each: a cache holds the code that ran before it was saved). Never
 * throws for the cache's sake: without a usable one, `file` is compiled as
 * require() would.
 */
function loadBundle(file, role) {
  const dir = codeCacheDirectory();
  if (typeof module_.enableCompileCache === 'function' || process.sourceMapsEnabled || process.execArgv.length > 0 || process.env.NODE_OPTIONS) {
    // Never throws; not passed on: the child's environment stays the host's.
    if (dir !== null) module_.enableCompileCache?.(dir);
    const exports = require(file);
    // Node writes its cache at exit: a host that runs for weeks, or is killed, would never.
    const flush = () => module_.flushCompileCache?.();
    setTimeout(flush, SAVE_AFTER_MS).unref();
    return { exports, save: flush };
  }
  const loaded = loadWithCodeCache(file, dir, role);
  const timer = setTimeout(() => loaded.save(true), SAVE_AFTER_MS);
  timer.unref();
  return {
    exports: loaded.exports,
    save: () => {
      clearTimeout(timer);
      loaded.save(false);
    },
  };
}

/**
 * Compiles and runs the CommonJS file `file` as require() would (its own
 * `require`, `module`, `__filename`, `__dirname`; but no import()), with
 * V8's code cache from directory `dir` (null: none), in the file of `role`
 * for this build of `file`: named by the SHA-256 of the
 * file's identity (device, inode, size, modification time in ns), the Node
 * version, architecture and options (V8 itself checks only the source's
 * length, its own version and its flags), and holding the SHA-256 of the
 * code cache before it (V8 does not check its payload unless
 * --verify-snapshot-checksum). Returns `{ exports, cache, save }`: `cache`
 * tells what was found: 'hit', 'partial' (a cache saved by a run that
 * ended before SAVE_AFTER_MS), 'miss', 'corrupt' (a cache file that failed
 * its checksum), 'rejected' (by V8) or 'off'. `save(complete)` writes the
 * cache (write-temp then rename; `complete`: this run lasted) unless it
 * holds as much already; it never throws.
 */
function loadWithCodeCache(file, dir, role = 'main') {
  const { createHash } = require('node:crypto');
  // One descriptor for both: a rebuild between a stat and a read would file the old code under the new build's key.
  const fd = fs.openSync(file, 'r');
  let source;
  let id;
  try {
    id = fs.fstatSync(fd, { bigint: true });
    source = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  const key = createHash('sha256')
    .update([process.version, process.arch, process.execArgv.join(' '), process.env.NODE_OPTIONS ?? '', id.dev, id.ino, id.size, id.mtimeNs].join('\0'))
    .digest('hex').slice(0, 32);
  const cacheFile = dir === null ? null : join(dir, `${key}-${role}.v8`);
  let cache = 'off';
  let found;
  if (cacheFile !== null) {
    found = readCacheFile(cacheFile, createHash);
    cache = found === undefined ? 'miss' : found === null ? 'corrupt' : found.complete ? 'hit' : 'partial';
  }
  // No import() may run in it: without --experimental-vm-modules vm.Script has no loader for it (main-node20.cjs requires its packages).
  const script = new vm.Script(module_.wrap(source), { filename: file, cachedData: found?.data });
  if (found && script.cachedDataRejected) cache = 'rejected';
  const mod = { exports: {}, filename: file, id: file, loaded: false };
  // `this` is module.exports, as require() has it.
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
  let saved = cacheFile === null || cache === 'hit';
  return {
    exports: mod.exports,
    cache,
    save: (complete = false) => {
      // A partial cache is replaced by a complete one only.
      if (saved || (cache === 'partial' && !complete)) return;
      saved = true;
      try {
        writeCacheFile(/** @type {string} */ (cacheFile), script.createCachedData(), complete, createHash);
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
function codeCacheDirectory(env = process.env) {
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

/** The cache in `path`: `{ data, complete }`, undefined when there is none, null when its checksum fails. */
function readCacheFile(path, createHash) {
  let bytes;
  try {
    bytes = fs.readFileSync(path);
  } catch {
    return undefined;
  }
  if (bytes.length <= HEADER || !createHash('sha256').update(bytes.subarray(32)).digest().equals(bytes.subarray(0, 32))) return null;
  return { data: bytes.subarray(HEADER), complete: bytes[32] === 1 };
}

function writeCacheFile(path, data, complete, createHash) {
  const body = Buffer.concat([Buffer.from([complete ? 1 : 0]), data]);
  const temp = `${path}.${process.pid}.tmp`;
  fs.writeFileSync(temp, Buffer.concat([createHash('sha256').update(body).digest(), body]), { mode: 0o600 });
  fs.renameSync(temp, path);
  const dir = dirname(path);
  // Only this loader's files: the directory may be one the user named (NODE_COMPILE_CACHE).
  const files = fs.readdirSync(dir).filter((name) => OWN.test(name)).map((name) => {
    try {
      return { name, mtime: fs.statSync(join(dir, name)).mtimeMs };
    } catch {
      return { name, mtime: Infinity };
    }
  });
  // The oldest caches beyond KEEP, and temporary files a process killed before its rename left (older than a minute).
  const stale = [
    ...files.filter((f) => f.name.endsWith('.v8')).sort((a, b) => b.mtime - a.mtime).slice(KEEP),
    ...files.filter((f) => f.name.endsWith('.tmp') && f.mtime < Date.now() - 60_000),
  ];
  for (const { name } of stale) fs.rmSync(join(dir, name), { force: true });
}

exports.loadBundle = loadBundle;
exports.loadWithCodeCache = loadWithCodeCache;
exports.codeCacheDirectory = codeCacheDirectory;
