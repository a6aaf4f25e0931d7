import { constants as bufferConstants } from 'node:buffer';
import { address, c, errno, view } from './libc.js';
import { SysError, check } from './errors.js';

const PROT_NONE = 0x0;
const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x01;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/**
 * The most bytes one JavaScript buffer (ArrayBuffer, Uint8Array) can span in
 * this runtime: Node's buffer.constants.MAX_LENGTH, 2^32 on Node 20 and
 * 2^53 - 1 on Node 22 and 24 (measured: koffi.view of 2^32 + 1 bytes aborts
 * Node 20 with a fatal N-API error; Node 22 and 24 view 1 TiB). A mapping
 * larger than this is reached through windows (Mapping.view).
 */
export const MAX_VIEW_BYTES: number = bufferConstants.MAX_LENGTH;

/**
 * A shared mapping of a file's first `length` bytes. The mapping itself has
 * no size limit beyond the address space; JavaScript reaches it through
 * views of at most MAX_VIEW_BYTES each (`bytes` for the whole of a small
 * mapping, `view(offset, length)` for a window of any). Views are only
 * valid until close(): after it they point at unmapped memory, so the
 * mapping refuses to make new ones and callers must drop theirs.
 */
export class Mapping {
  readonly length: number;
  readonly writable: boolean;
  #ptr: unknown;
  #address: bigint;
  #closed = false;
  #bytes: Uint8Array | null = null;

  private constructor(ptr: unknown, length: number, writable: boolean) {
    this.#ptr = ptr;
    this.#address = address(ptr);
    this.length = length;
    this.writable = writable;
  }

  /** Maps `length` bytes of `fd` from offset 0, shared, read-only unless `writable`. */
  static map(fd: number, length: number, { writable = false } = {}): Mapping {
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(`cannot map ${length} bytes: the length must be a positive integer`);
    }
    const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    return new Mapping(mmapOrThrow(fd, length, prot), length, writable);
  }

  /**
   * Whether `length` bytes of `fd` could be mapped at all, without touching
   * a page: maps them with no access and unmaps them. Throws the mmap
   * SysError (ENOMEM: address space or `ulimit -v`) when they cannot.
   */
  static probe(fd: number, length: number): void {
    const ptr = mmapOrThrow(fd, length, PROT_NONE);
    check('munmap', c.munmap(ptr, length) as number, errno());
  }

  /** Address of the first mapped byte (for system calls on the mapping, e.g. futex). */
  get address(): bigint {
    if (this.#closed) throw new Error('the shared memory mapping is closed');
    return address(this.#ptr);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The whole mapping as one Uint8Array. Throws a RangeError when the
   * mapping is longer than one buffer can be (MAX_VIEW_BYTES): use view().
   */
  get bytes(): Uint8Array {
    this.#bytes ??= this.view(0, this.length);
    return this.#bytes;
  }

  /**
   * A Uint8Array over bytes [offset, offset + length) of the mapping (a
   * window: writes land in the file), valid until close(). Throws a
   * RangeError for a range outside the mapping or longer than
   * MAX_VIEW_BYTES, and once the mapping is closed.
   */
  view(offset: number, length: number): Uint8Array {
    if (this.#closed) throw new Error('the shared memory mapping is closed');
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.length) {
      throw new RangeError(`cannot view bytes [${offset}, ${offset + length}) of a ${this.length}-byte mapping`);
    }
    if (length > MAX_VIEW_BYTES) {
      throw new RangeError(`cannot view ${length} bytes at once: one JavaScript buffer holds at most ${MAX_VIEW_BYTES} bytes in Node ${process.version}; view it in windows`);
    }
    if (length === 0) return new Uint8Array(0);
    // koffi.view takes a raw address: a window starts `offset` bytes into the mapping.
    return new Uint8Array(view(this.#address + BigInt(offset), length));
  }

  /** Unmaps exactly once; later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#bytes = null;
    check('munmap', c.munmap(this.#ptr, this.length) as number, errno());
    this.#ptr = null;
  }
}

/** Bytes per window of MappingWindows: a multiple of every block and chunk size, and viewable in every Node version. */
export const WINDOW_BYTES = 256 * 1024 * 1024;

/**
 * A mapping of any length read or written through WINDOW_BYTES windows (one
 * JavaScript buffer may not span a multi-GiB file). Each window's view is
 * made once and kept for as long as this object: a new view of a large
 * external buffer makes the runtime count its bytes again, and enough of
 * them start a garbage collection. Ranges must not cross a window
 * boundary: callers step in blocks or chunks, which divide WINDOW_BYTES.
 */
export class MappingWindows {
  readonly mapping: Mapping;
  readonly #views: Array<Uint8Array | undefined> = [];

  constructor(mapping: Mapping) {
    this.mapping = mapping;
  }

  /** Bytes [a, b) of the mapping; a RangeError when they cross a window boundary. */
  get(a: number, b: number): Uint8Array {
    const w = Math.floor(a / WINDOW_BYTES);
    const start = w * WINDOW_BYTES;
    if (b - start > WINDOW_BYTES) throw new RangeError(`bytes [${a}, ${b}) cross a ${WINDOW_BYTES}-byte window boundary`);
    const view = (this.#views[w] ??= this.mapping.view(start, Math.min(WINDOW_BYTES, this.mapping.length - start)));
    return view.subarray(a - start, b - start);
  }
}

function mmapOrThrow(fd: number, length: number, prot: number): unknown {
  const ptr = c.mmap(null, length, prot, MAP_SHARED, fd, 0);
  if (ptr === null || address(ptr) === MAP_FAILED) throw new SysError('mmap', errno(), `fd ${fd}, ${length} bytes`);
  return ptr;
}
