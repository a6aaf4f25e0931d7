// Where things live under a replica's root. One format/parse pair per kind
// of key; sequences have a fixed width so that keys sort by sequence.
//
//   lease.json                                   the writer lease
//   generations/0000000000000042/<file name>     a generation's files, manifest included
//   generations/0000000000000042.json            its record, written last: the
//                                                generation exists remotely once this does

export const LEASE_KEY = 'lease.json';
export const GENERATIONS = 'generations/';

const DIGITS = 16;
const RECORD = /^generations\/(\d{16})\.json$/;
const OBJECT = /^generations\/(\d{16})\/([^/]+)$/;

const seq16 = (sequence: number): string => String(sequence).padStart(DIGITS, '0');

/** Key of generation `sequence`'s record. */
export const recordKey = (sequence: number): string => `${GENERATIONS}${seq16(sequence)}.json`;

/** Key prefix of generation `sequence`'s files. */
export const objectPrefix = (sequence: number): string => `${GENERATIONS}${seq16(sequence)}/`;

/** Key of file `name` of generation `sequence`. */
export const objectKey = (sequence: number, name: string): string => `${objectPrefix(sequence)}${name}`;

/** What a key under the root is: a record, a generation's file, or something else (null). */
export function parseKey(key: string): { kind: 'record'; sequence: number } | { kind: 'object'; sequence: number; name: string } | null {
  const r = RECORD.exec(key);
  if (r) return { kind: 'record', sequence: Number(r[1]) };
  const o = OBJECT.exec(key);
  if (o) return { kind: 'object', sequence: Number(o[1]), name: o[2] ?? '' };
  return null;
}
