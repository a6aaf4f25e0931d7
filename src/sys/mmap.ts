import { address, c, errno, view } from './libc.js';
import { SysError, check } from './errors.js';

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x01;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/**
 * A shared mapping of a whole file. `bytes` and every view made from it are
 * only valid until close(): after it they point at unmapped memory, so the
 * mapping itself refuses use through `bytes` and callers must drop theirs.
 */
export class Mapping {
  readonly length: number;
  readonly writable: boolean;
  #ptr: unknown;
  #bytes: Uint8Array | null;

  private constructor(ptr: unknown, length: number, writable: boolean) {
    this.#ptr = ptr;
    this.length = length;
    this.writable = writable;
    this.#bytes = new Uint8Array(view(ptr, length));
  }

  /** Maps `length` bytes of `fd` from offset 0, shared, read-only unless `writable`. */
  static map(fd: number, length: number, { writable = false } = {}): Mapping {
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(`cannot map ${length} bytes: the length must be a positive integer`);
    }
    const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    const ptr = c.mmap(null, length, prot, MAP_SHARED, fd, 0);
    if (ptr === null || address(ptr) === MAP_FAILED) throw new SysError('mmap', errno(), `fd ${fd}, ${length} bytes`);
    return new Mapping(ptr, length, writable);
  }

  /** Address of the first mapped byte (for system calls on the mapping, e.g. futex). */
  get address(): bigint {
    if (this.#bytes === null) throw new Error('the shared memory mapping is closed');
    return address(this.#ptr);
  }

  get closed(): boolean {
    return this.#bytes === null;
  }

  /** The mapped bytes; throws once the mapping is closed instead of touching unmapped memory. */
  get bytes(): Uint8Array {
    if (this.#bytes === null) throw new Error('the shared memory mapping is closed');
    return this.#bytes;
  }

  /** Unmaps exactly once; later calls do nothing. */
  close(): void {
    if (this.#bytes === null) return;
    this.#bytes = null;
    check('munmap', c.munmap(this.#ptr, this.length) as number, errno());
    this.#ptr = null;
  }
}
