// Keeping the host's live memory file mapped between captures.
//
// A delta capture hashes the whole tail straight from a mapping of the live
// file. Mapped anew for each capture, every page it touches is faulted in
// again (about 95 ms per GiB on this machine) and unmapped again (35-70 ms
// per GiB, measured with a 1 GiB memfd), which together cost more than the
// hashing itself on two cores. A host captures the same file again and
// again, so it keeps one read-only mapping of its current file.
//
// What that costs: no memory (the pages are the memory file's own, shared:
// they count in the host's RssShmem, not as new memory), only the page
// tables (2 MiB per GiB). The one rule is that the mapping never outlives
// the host's descriptor of the file: a mapping keeps a file's memory alive
// after its last descriptor is closed. So it is closed with the file
// (close()), and only a file sealed against shrinking may be read through
// it (a page past a shrunk end would be SIGBUS; blocks.ts checks the seal).
import { fstatSync } from 'node:fs';
import { Mapping, MappingWindows } from '../sys/index.js';

/** A read-only mapping of one live memory file, kept between captures and closed with the file. */
export class KeptMapping {
  readonly fd: number;
  #windows: MappingWindows | null = null;
  /** The file the mapping is of (device and inode): a descriptor number can be reused for another file. */
  #identity = '';
  /** Mappings outgrown (the file grew, or fd became another file) while a capture still read them: unmapped once it is done. */
  #outgrown: Mapping[] = [];
  #users = 0;
  #closed = false;

  constructor(fd: number) {
    this.fd = fd;
  }

  /**
   * Windows over a mapping of at least the file's first `size` bytes
   * (mapped now when none is, when the file grew past it, or when `fd` is
   * now another file), valid until the matching release(). Throws the mmap SysError when it cannot map,
   * and an Error once closed.
   */
  acquire(size: number): MappingWindows {
    if (this.#closed) throw new Error(`the kept mapping of fd ${this.fd} is closed`);
    const { dev, ino } = fstatSync(this.fd);
    const identity = `${dev}:${ino}`;
    if (this.#windows === null || this.#windows.mapping.length < size || identity !== this.#identity) {
      const next = new MappingWindows(Mapping.map(this.fd, size));
      if (this.#windows !== null) this.#outgrown.push(this.#windows.mapping);
      this.#windows = next;
      this.#identity = identity;
    }
    this.#users += 1;
    return this.#windows;
  }

  /** Ends one acquire(): what was outgrown or closed meanwhile is unmapped once nothing reads it. */
  release(): void {
    this.#users = Math.max(0, this.#users - 1);
    this.#unmapUnused();
  }

  /** Unmaps now, or after the last release() when a capture still reads it. Call it before closing the file. */
  close(): void {
    this.#closed = true;
    this.#unmapUnused();
  }

  /** Once nothing reads them: the outgrown mappings, and the current one when closed. */
  #unmapUnused(): void {
    if (this.#users > 0) return;
    for (const old of this.#outgrown.splice(0)) old.close();
    if (this.#closed) {
      this.#windows?.mapping.close();
      this.#windows = null;
    }
  }
}
