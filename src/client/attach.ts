import { closeSync, fstatSync, ftruncateSync, type Stats } from 'node:fs';
import {
  AttachError, FormatError, PAGE_SIZE, findSharedFd, planLayout, readHeader, unsetListenEnvironment, writeHeader, type Layout,
} from '../format/index.js';
import { MAX_VIEW_BYTES, MFD_CLOEXEC, Mapping, SysError, memfdCreate } from '../sys/index.js';
import { SharedState } from './shared-state.js';

export interface AttachOptions {
  /** Use this file descriptor instead of looking up SHM_SHARED_FD in LISTEN_FDNAMES. */
  fd?: number;
  /** Remove LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES from process.env after reading them (as libsystemd's unset_environment). */
  unsetEnvironment?: boolean;
  /** Entry slots when this attach configures the file (power of two). */
  slots?: number;
  /** Data ring bytes when this attach configures the file (power of two). */
  ringSize?: number;
  /**
   * With no shared file passed in, run on a private in-memory file instead of
   * failing (state does not survive the process). `true` means 16 MiB; a
   * number is the size in bytes.
   */
  standalone?: boolean | number;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const STANDALONE_SIZE = 16 * 1024 * 1024;
const MAX_DEFAULT_RING = 4 * 1024 * 1024;
const MIN_DEFAULT_RING = 4096;
const MAX_DEFAULT_SLOTS = 4096;

const floorPow2 = (n: number): number => 2 ** Math.floor(Math.log2(n));

/**
 * Default configuration for an unconfigured file of `size` bytes: a ring of
 * about 1/8 of the file (between 4 KiB and 4 MiB) and one slot per 64 ring
 * bytes (at most 4096).
 */
export function defaultConfig(size: number, slots?: number, ringSize?: number): { slots: number; ringSize: number } {
  const ring = ringSize ?? Math.min(MAX_DEFAULT_RING, Math.max(MIN_DEFAULT_RING, floorPow2(Math.max(1, size / 8))));
  const s = slots ?? Math.min(MAX_DEFAULT_SLOTS, Math.max(2, floorPow2(ring / 64)));
  return { slots: s, ringSize: ring };
}

function validateOptions(options: AttachOptions): void {
  const { fd, slots, ringSize, standalone } = options;
  if (fd !== undefined && (!Number.isSafeInteger(fd) || fd < 0)) throw new TypeError(`options.fd must be a file descriptor number, got ${fd}`);
  for (const [name, v] of [['slots', slots], ['ringSize', ringSize]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1 || !Number.isInteger(Math.log2(v)))) {
      throw new RangeError(`options.${name} must be a power of two, got ${v}`);
    }
  }
  if (typeof standalone === 'number' && (!Number.isSafeInteger(standalone) || standalone < PAGE_SIZE * 3)) {
    throw new RangeError(`options.standalone must be a size of at least ${PAGE_SIZE * 3} bytes, got ${standalone}`);
  }
}

function sharedFd(options: AttachOptions, env: NodeJS.ProcessEnv): { fd: number; owned: boolean } {
  if (options.fd !== undefined) return { fd: options.fd, owned: false };
  try {
    return { fd: findSharedFd(env, process.pid), owned: false };
  } catch (err) {
    if (!(err instanceof AttachError) || err.code !== 'NO_SHARED_FILE' || !options.standalone) throw err;
  }
  const size = typeof options.standalone === 'number' ? options.standalone : STANDALONE_SIZE;
  const fd = memfdCreate('shm-host-standalone', MFD_CLOEXEC);
  ftruncateSync(fd, size);
  return { fd, owned: true };
}

function fileSize(fd: number): number {
  let stat;
  try {
    stat = fstatSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AttachError('BAD_FILE', `file descriptor ${fd} is not open (${code}): the shared file was not passed to this process; start it with shm-host -- <command>`, { cause: err });
  }
  // When nothing was passed on fd 3, the runtime itself may have opened
  // something there (Node's event loop does): not a file, so not ours.
  if (!stat.isFile()) {
    throw new AttachError('BAD_FILE', `file descriptor ${fd} is not a file (it is ${kindOf(stat)}): the shared file was not passed to this process; start it with shm-host -- <command>`);
  }
  return stat.size;
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a pipe';
  if (stat.isSocket()) return 'a socket';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'an anonymous inode, e.g. one the runtime opened itself';
}

/**
 * Attaches to the shared memory file passed by the host (fd 3 by systemd's
 * LISTEN_FDS convention), configuring it if no writer ever did, and resumes
 * after its latest record. The returned state is the file's only writer.
 */
export function attach(options: AttachOptions = {}): SharedState {
  validateOptions(options);
  const env = options.env ?? process.env;
  const { fd, owned } = sharedFd(options, env);
  if (options.unsetEnvironment) unsetListenEnvironment(env);
  const size = fileSize(fd);
  if (size < PAGE_SIZE * 3) {
    // The host's setting, not a flag: whatever started this process (the shm-host command, supervise()) has its own spelling of `size`.
    throw new AttachError('BAD_FILE', `the shared file on fd ${fd} has ${size} bytes, too small for a header, an entry ring and a data ring (at least ${PAGE_SIZE * 3})`, { hint: 'start the host with a larger shared file size', option: 'size' });
  }
  // The whole file is mapped at once (address space only: pages are touched
  // as they are used); JavaScript reaches it through views of the mapping,
  // since one buffer cannot span more than 4 GiB on Node 20.
  let mapping: Mapping;
  try {
    mapping = Mapping.map(fd, size, { writable: true });
  } catch (err) {
    if (err instanceof SysError) {
      throw new AttachError('BAD_FILE', `cannot map the shared file on fd ${fd} read-write (${err.code}): it must be a memory file opened read-write, as shm-host passes it`, { cause: err });
    }
    throw err;
  }
  try {
    const headerPage = mapping.view(0, PAGE_SIZE);
    const header = readHeader(headerPage, size);
    let layout: Layout;
    let writeOffset = 0n;
    if (header.configured) {
      layout = header.layout;
      writeOffset = header.writeOffset;
    } else {
      const config = defaultConfig(size, options.slots, options.ringSize);
      layout = planLayout(size, config.slots, config.ringSize);
    }
    if (layout.tailBase > MAX_VIEW_BYTES) {
      throw new AttachError('BAD_FILE', `the shared file on fd ${fd} has a header and rings of ${layout.tailBase} bytes, more than one JavaScript buffer holds in Node ${process.version} (${MAX_VIEW_BYTES}): configure fewer slots or a smaller ring, or use Node 22 or later`);
    }
    if (!header.configured) writeHeader(headerPage, layout);
    return new SharedState(fd, mapping, layout, writeOffset, { ownsFd: owned, closeFd: closeSync });
  } catch (err) {
    mapping.close();
    if (owned) closeSync(fd);
    if (err instanceof FormatError) {
      throw new AttachError('BAD_FILE', `the shared file on fd ${fd} cannot be used: ${err.message}`, { cause: err });
    }
    throw err;
  }
}
