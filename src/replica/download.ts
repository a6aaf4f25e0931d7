// Downloads one replicated file into a local directory durably: written to
// a temporary name while its digest is computed, checked against the
// record, fsynced, renamed, and the directory fsynced by the caller.
// A sparse file's object holds only its data runs (runs.ts): each goes back
// to its place. Zeros an object spells out anyway (a record without runs)
// are skipped rather than written. The file is sized at the end, so what
// was a hole is a hole again.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReplicaClient } from './client.js';
import { PartDigest } from './digest.js';
import { ReplicaError } from './errors.js';
import type { RemoteFile } from './record.js';
import { runPlacer } from './runs.js';

const BLOCK = 4096;
const ZEROS = new Uint8Array(BLOCK);

/** True when `block` (at most BLOCK bytes) holds only zeros. */
const isZero = (block: Uint8Array): boolean => Buffer.compare(block, ZEROS.subarray(0, block.length)) === 0;

/**
 * Downloads object `key` into `dir/file.name`, checking its size and
 * digest against `file` (from the generation's record).
 * @throws ReplicaError INTEGRITY when the bytes differ (nothing is left in
 * `dir`), NOT_FOUND, ACCESS, UNREACHABLE, IO; LOCAL for a local write failure.
 */
export async function downloadFile(client: ReplicaClient, key: string, file: RemoteFile, dir: string): Promise<void> {
  const final = join(dir, file.name);
  const temp = join(dir, `.tmp-${randomBytes(6).toString('hex')}-${file.name}`);
  const { body } = await client.read(key);
  const counter = new PartDigest(file.partSize);
  let fh;
  try {
    fh = await open(temp, 'wx', 0o600);
  } catch (e) {
    throw new ReplicaError('LOCAL', `cannot write ${temp} (${(e as NodeJS.ErrnoException).code ?? String(e)}): check the directory's owner, mode and free space`, { key, retryable: false, cause: e });
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
          let done = 0;
          if (!isZero(block)) while (done < block.length) done += (await fh.write(block, done, block.length - done, to + at + done)).bytesWritten;
        }
      }
      position += chunk.length;
    }
    await fh.truncate(file.size ?? position);
    const digest = counter.value();
    if (counter.bytes !== file.bytes || digest !== file.digest) {
      const what = counter.bytes !== file.bytes ? `${counter.bytes} bytes where its record says ${file.bytes}` : 'bytes whose digest differs from its record';
      throw new ReplicaError('INTEGRITY', `replica ${client.url}, object ${key} is corrupt (${what})`, { key, retryable: false });
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(temp, final);
  } catch (e) {
    await fh?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    if (e instanceof ReplicaError) throw e;
    throw new ReplicaError('LOCAL', `cannot write ${final} (${(e as NodeJS.ErrnoException).code ?? String(e)}): check the directory's owner, mode and free space`, { key, retryable: false, cause: e });
  }
}
