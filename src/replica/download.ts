// Downloads one replicated file into a local directory durably, through
// the store's DurableFile: written to a temporary name while its digest is
// computed, checked against the record, fsynced and renamed; the caller
// fsyncs the directory once, after the last file.
// Every local operation goes through the store's StoreFs, so that a
// power-loss test can record it (test/crash/).
// A sparse file's object holds only its data runs (runs.ts): each goes back
// to its place. Zeros an object spells out anyway (a record without runs)
// are skipped rather than written. The file is sized at the end, so what
// was a hole is a hole again.
import { join } from 'node:path';
import { DurableFile, TEMP_PREFIX, type StoreFs } from '../store/index.js';
import type { ReplicaClient } from './client.js';
import { PartDigest } from './digest.js';
import { ReplicaError } from './errors.js';
import type { RemoteFile } from './record.js';
import { runPlacer } from './runs.js';

const BLOCK = 4096;
const LOCAL_FIX = "check the directory's owner, mode and free space";
const ZEROS = new Uint8Array(BLOCK);

/** True when `block` (at most BLOCK bytes) holds only zeros. */
const isZero = (block: Uint8Array): boolean => Buffer.compare(block, ZEROS.subarray(0, block.length)) === 0;

/**
 * Downloads object `key` into `dir/file.name` through `sfs`, checking its
 * size and digest against `file` (from the generation's record).
 * @throws ReplicaError INTEGRITY when the bytes differ (nothing is left in
 * `dir`), NOT_FOUND, ACCESS, UNREACHABLE, IO; LOCAL for a local write failure.
 */
export async function downloadFile(client: ReplicaClient, key: string, file: RemoteFile, dir: string, sfs: StoreFs): Promise<void> {
  const final = join(dir, file.name);
  const { body } = await client.read(key);
  const counter = new PartDigest(file.partSize);
  let out: DurableFile;
  try {
    // .tmp-<name>-<pid>-<random> (docs/FORMAT.md section 9): a store opening the directory sweeps what an interrupted download left.
    out = await DurableFile.create(final, true, sfs, `${TEMP_PREFIX}${file.name}-`);
  } catch (e) {
    throw new ReplicaError('LOCAL', `cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { hint: LOCAL_FIX, key, path: dir, retryable: false, cause: e });
  }
  try {
    let position = 0;
    // Where object bytes go in the file: through the runs, or one to one.
    const place = file.runs === undefined ? (at: number, length: number): Array<[number, number, number]> => [[at, at, length]] : runPlacer(file.runs);
    for await (const chunk of body) {
      counter.update(chunk);
      for (const [to, from, length] of place(position, chunk.length)) {
        for (let at = 0; at < length; at += BLOCK) {
          const block = chunk.subarray(from - position + at, from - position + Math.min(length, at + BLOCK));
          if (!isZero(block)) await out.writeAt(block, to + at);
        }
      }
      position += chunk.length;
    }
    const digest = counter.value();
    if (counter.bytes !== file.bytes || digest !== file.digest) {
      const what = counter.bytes !== file.bytes ? `${counter.bytes} bytes where its record says ${file.bytes}` : 'bytes whose digest differs from its record';
      throw new ReplicaError('INTEGRITY', `replica ${client.url}, object ${key} is corrupt (${what})`, { key, retryable: false });
    }
    await out.commit({ size: file.size ?? position, syncDirectory: false });
  } catch (e) {
    await out.abort();
    if (e instanceof ReplicaError) throw e;
    throw new ReplicaError('LOCAL', `cannot write ${final} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { hint: LOCAL_FIX, key, path: final, retryable: false, cause: e });
  }
}
