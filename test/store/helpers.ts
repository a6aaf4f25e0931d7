// Shared by the store and capture tests: scratch directories, live memory
// files with a real writer, and the fixtures' paths. Not a test itself.
import { closeSync, fstatSync, ftruncateSync, mkdtempSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attach, type SharedState } from '../../src/client/index.js';
import { F_SEAL_SHRINK, Mapping, addSeals, memfdCreate } from '../../src/sys/index.js';
import { realStoreFs, type StoreFs } from '../../src/store/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const fixture = (name: string): string => join(ROOT, 'fixtures', name);

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A new empty directory under the system's temporary directory, removed after the test. */
export function scratchDir(t: Teardown, label = 'store'): string {
  const dir = mkdtempSync(join(tmpdir(), `shm-host-${label}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A live shared file: a memfd of `size` bytes configured by a real writer,
 * sealed against shrinking as the host seals it (unless `sealed` is false).
 */
export function liveFile(t: Teardown, size = 256 * 1024, slots = 64, ringSize = 64 * 1024, sealed = true): { fd: number; state: SharedState } {
  const fd = memfdCreate('store-test');
  ftruncateSync(fd, size);
  if (sealed) addSeals(fd, F_SEAL_SHRINK);
  const state = attach({ fd, slots, ringSize });
  t.teardown(() => {
    state.close();
    closeSync(fd);
  });
  return { fd, state };
}

/** A new memfd of `size` bytes (no writer), closed after the test; sealed against shrinking if asked. */
export function memoryFile(t: Teardown, size: number, sealed = false): number {
  const fd = memfdCreate('store-test');
  ftruncateSync(fd, size);
  if (sealed) addSeals(fd, F_SEAL_SHRINK);
  t.teardown(() => closeSync(fd));
  return fd;
}

/** A memory file of `size` bytes and a mapping of all of it, to watch what another process writes there. */
export function watchedMemoryFile(t: Teardown, size: number): { fd: number; view: Uint8Array } {
  const fd = memoryFile(t, size);
  const mapping = Mapping.map(fd, size);
  t.teardown(() => mapping.close());
  return { fd, view: mapping.bytes };
}

const encoder = new TextEncoder();

/** Commits `count` small records, each naming its number. */
export function commitRecords(state: SharedState, count: number, label = 'record'): void {
  for (let i = 0; i < count; i++) state.commit(encoder.encode(`${label} ${i} `.repeat(1 + (i % 7))));
}

/** Every byte of a file. */
export const readBytes = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

/** Every byte of the open file `fd` (a memory file), holes as zeros. */
export function fileContents(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const out = Buffer.alloc(size);
  let done = 0;
  while (done < size) done += readSync(fd, out, done, size - done, done);
  return out;
}

/** A StoreFs that performs every operation for real and logs it, with paths for fds; with `completions`, each write is logged again when it has completed (`wrote PATH POSITION+BYTES`). */
export function recording(options: { completions?: boolean } = {}): { sfs: StoreFs; log: string[] } {
  const log: string[] = [];
  const paths = new Map<number, string>();
  const name = (fd: number): string => paths.get(fd) ?? `fd ${fd}`;
  const sfs: StoreFs = {
    ...realStoreFs,
    open: async (path, flags, mode) => {
      const fd = await realStoreFs.open(path, flags, mode);
      paths.set(fd, path);
      log.push(`open ${path}`);
      return fd;
    },
    write: async (fd, buf, offset, length, position) => {
      log.push(`write ${name(fd)}`);
      const n = await realStoreFs.write(fd, buf, offset, length, position);
      if (options.completions) log.push(`wrote ${name(fd)} ${position}+${n}`);
      return n;
    },
    ftruncate: async (fd, length) => {
      log.push(`ftruncate ${name(fd)}`);
      return realStoreFs.ftruncate(fd, length);
    },
    fsync: async (fd) => {
      log.push(`fsync ${name(fd)}`);
      return realStoreFs.fsync(fd);
    },
    // Logged when asked and again when the request has returned.
    startWriteback: async (fd, offset, length) => {
      log.push(`writeback ${name(fd)} ${offset}+${length}`);
      const started = await realStoreFs.startWriteback!(fd, offset, length);
      log.push(`writeback returned ${name(fd)} ${offset}+${length}`);
      return started;
    },
    rename: async (from, to) => {
      log.push(`rename ${from} ${to}`);
      return realStoreFs.rename(from, to);
    },
    mkdir: async (path, mode) => {
      log.push(`mkdir ${path}`);
      return realStoreFs.mkdir(path, mode);
    },
    unlink: async (path) => {
      log.push(`unlink ${path}`);
      return realStoreFs.unlink(path);
    },
  };
  return { sfs, log };
}

/** The real file system with `overrides`, which may name a descriptor's path (`pathOf`: '' for one this file system did not open). */
export function withPaths(overrides: (pathOf: (fd: number) => string) => Partial<StoreFs>): StoreFs {
  const paths = new Map<number, string>();
  const pathOf = (fd: number): string => paths.get(fd) ?? '';
  return {
    ...realStoreFs,
    open: async (path, flags, mode) => {
      const fd = await realStoreFs.open(path, flags, mode);
      paths.set(fd, path);
      return fd;
    },
    ...overrides(pathOf),
  };
}
