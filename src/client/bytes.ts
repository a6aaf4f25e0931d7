// What commit() accepts (issue 11): the bytes of any ArrayBufferView or
// ArrayBuffer; nothing else, and never a guess.

/** Anything whose bytes commit() and DoubleBuffer.write() take as a record. */
export type RecordBytes = ArrayBufferView | ArrayBuffer | SharedArrayBuffer;

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object' || typeof value === 'function') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `an object (${name})` : 'an object';
  }
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

/**
 * The bytes of `data` as a Uint8Array over the same memory (no copy): a
 * Uint8Array as is; any other typed array or DataView as its raw bytes in
 * the machine's (little-endian) order, `byteLength` of them; an ArrayBuffer
 * or SharedArrayBuffer whole. A string is a TypeError (encode it first: the
 * library does not pick an encoding), and so is any other value (a number,
 * an array-like such as `{ length: 3 }`, a plain array), naming what it got.
 */
export function recordBytes(data: unknown, what = 'commit()'): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) return new Uint8Array(data);
  if (typeof data === 'string') {
    throw new TypeError(`${what} takes bytes, not a string: encode it first, e.g. new TextEncoder().encode(text) or Buffer.from(text)`);
  }
  throw new TypeError(`${what} takes a Uint8Array, another typed array, a DataView or an ArrayBuffer, got ${describe(data)}`);
}
