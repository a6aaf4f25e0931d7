// Reading the records fixture's records back from a stored image, failing on a torn one.
import { readFileSync } from 'node:fs';
import { checkRecordSet, copyRecord, readLayout, validSlots } from '../../src/format/index.js';
import { decodeRecord, recordDefect } from '../../fixtures/lib/record-codec.js';

/** Every valid record of the image at `path` decoded, oldest first, and the newest one's offset; fails on a torn one. */
export function recordsIn(t: { fail(message: string): unknown }, path: string): { indexes: number[]; latestOffset: bigint | null } {
  const bytes = new Uint8Array(readFileSync(path));
  const { layout } = readLayout(bytes);
  const records = checkRecordSet(layout, validSlots(bytes, layout));
  const indexes = records.map((slot) => {
    const data = copyRecord(bytes, layout, slot);
    const defect = recordDefect(data);
    if (defect) t.fail(`record at offset ${slot.offset} is torn: ${defect}`);
    return decodeRecord(data);
  });
  return { indexes, latestOffset: records.at(-1)?.offset ?? null };
}

