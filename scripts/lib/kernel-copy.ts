// The least a copy of a file into a new memory file costs: one sendfile
// loop in the kernel, the baseline of restarts and restores.
import { closeSync, ftruncateSync } from 'node:fs';
import { MFD_CLOEXEC, memfdCreate, sendfile } from '../../src/sys/index.js';

/** Milliseconds to copy the first `size` bytes of the open file `from` into a new memory file of that size (sendfile(2)). */
export function kernelCopyIntoMemfdMs(from: number, size: number): number {
  const to = memfdCreate('bench-to', MFD_CLOEXEC);
  try {
    ftruncateSync(to, size);
    const t0 = performance.now();
    for (let at = 0; at < size;) at += sendfile(to, from, at, size - at);
    return performance.now() - t0;
  } finally {
    closeSync(to);
  }
}
