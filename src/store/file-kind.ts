// Which of shm-host's own files some bytes begin, so that a command handed
// another kind of file than it reads can say what the file is and what to
// read instead, rather than only that its magic is wrong.
import { MAGIC } from '../format/index.js';

/** `SHMDELTA`: the first 8 bytes of a delta generation's data file (docs/FORMAT.md section 9). */
export const DELTA_MAGIC = 'SHMDELTA';

/** True when `bytes` begin as a delta generation's `.delta` file does. */
export function looksLikeDelta(bytes: Uint8Array): boolean {
  return bytes.length >= DELTA_MAGIC.length && Buffer.from(bytes.buffer, bytes.byteOffset, DELTA_MAGIC.length).toString('latin1') === DELTA_MAGIC;
}

/** True when `bytes` begin with a configured shared file's magic (an image, in either byte order). */
export function looksLikeImage(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return view.getBigUint64(0, true) === MAGIC || view.getBigUint64(0, false) === MAGIC;
}
