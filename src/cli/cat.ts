// shm-host cat <ref>: a record's bytes (or the tail) on stdout, raw by
// default so the application's own decoder can read them from a pipe.
import { U64_MAX, type Slot } from '../format/index.js';
import { recordBytes, type ImageFile, type ImageInfo } from '../store/index.js';
import { defineCommand } from './command.js';
import { describeDamage } from './damage.js';
import { CommandFailure, UsageError } from './errors.js';
import type { OutputSink } from './io.js';
import { withGenerationRef, exampleLines } from './options.js';
import { resolveSource, type Source } from './source.js';
import { parseSize } from './values.js';
import { intactOrSalvaged, withIgnoreChecksum } from './salvage.js';

type Format = 'raw' | 'hex' | 'base64';
type Configured = Extract<ImageInfo, { configured: true }>;

/** Base64 of a stream must be cut at multiples of 3 bytes to concatenate cleanly. */
const BASE64_CHUNK = 3 * (1 << 18);
/** --json holds the bytes in one document in memory; past this, raw or base64 streaming is the way. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

function checkJsonSize(bytes: number, what: string): void {
  if (bytes > MAX_JSON_BYTES) {
    throw new CommandFailure('TOO_LARGE', `${what} holds ${bytes} bytes, too many for one JSON document`, 'stream it with --format base64 or --format raw instead of --json');
  }
}

/** Which records `--record` asks for. */
function selectRecords(info: Configured, which: string, label: string): Slot[] {
  const records = info.records;
  if (which === 'all') return [...records];
  if (which === 'latest') {
    const latest = records[records.length - 1];
    if (latest === undefined) throw new CommandFailure('NO_RECORDS', `${label} holds no valid record`, 'the child had committed nothing when it was taken; shm-host list shows the records of each generation');
    return [latest];
  }
  if (!/^[0-9]+$/.test(which) || BigInt(which) > U64_MAX) {
    throw new UsageError(`--record ${which}: not latest, all, or a stream offset`, 'give a decimal offset from shm-host show <ref> --slots');
  }
  const offset = BigInt(which);
  const found = records.find((r) => r.offset === offset);
  if (found === undefined) throw new CommandFailure('NO_SUCH_RECORD', `${label} has no valid record at offset ${offset}`, 'list the valid offsets with shm-host show <ref> --slots');
  return [found];
}

const encode = (bytes: Uint8Array, format: Exclude<Format, 'raw'>): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString(format);

async function writeRecords(out: OutputSink, info: Configured, records: readonly Slot[], format: Format, json: boolean, single: boolean): Promise<void> {
  if (json) {
    checkJsonSize(records.reduce((sum, r) => sum + r.length, 0), 'the selection');
    const items = records.map((r) => ({ offset: r.offset.toString(), length: r.length, base64: encode(recordBytes(info, r), 'base64') }));
    await out.json(single ? items[0] : items);
    return;
  }
  for (const r of records) {
    const bytes = recordBytes(info, r);
    await out.write(format === 'raw' ? bytes : `${encode(bytes, format)}\n`);
  }
}

/** Bytes [offset, offset + length) of the tail (offsets from its start), as --offset and --length ask. */
interface TailRange {
  readonly offset: string | undefined;
  readonly length: string | undefined;
}

/** The file range a TailRange selects; CommandFailure when it leaves the tail. */
function tailRange(info: Configured, range: TailRange, label: string): { start: number; end: number } {
  const { tailBase, tailSize } = info.layout;
  const offset = range.offset === undefined ? 0 : parseSize('--offset', range.offset);
  // Not an empty range past the end: the offset is what is wrong.
  if (offset > tailSize || (offset === tailSize && range.length !== undefined && parseSize('--length', range.length) > 0)) {
    throw new CommandFailure('OUT_OF_RANGE', `--offset ${range.offset} is ${offset === tailSize ? 'at' : 'past'} the end of ${label}'s tail, which has ${tailSize} bytes`, `give an --offset below ${tailSize}`);
  }
  const length = range.length === undefined ? tailSize - Math.min(offset, tailSize) : parseSize('--length', range.length);
  if (offset + length > tailSize) {
    throw new CommandFailure('OUT_OF_RANGE', `${label} has a ${tailSize}-byte tail: bytes [${offset}, ${offset + length}) of it do not exist`, `give --offset and --length within the tail's ${tailSize} bytes`);
  }
  return { start: tailBase + offset, end: tailBase + offset + length };
}

async function writeTail(out: OutputSink, image: ImageFile, range: { start: number; end: number }, format: Format, json: boolean): Promise<void> {
  const { start, end } = range;
  if (json) {
    // One JSON document: the range is read whole (the application's own state, usually small).
    checkJsonSize(end - start, 'the tail');
    const bytes = await image.read(start, end - start);
    await out.json({ offset: start, length: end - start, base64: encode(bytes, 'base64') });
    return;
  }
  const chunkSize = format === 'base64' ? BASE64_CHUNK : 1 << 20;
  for await (const chunk of image.chunks(start, end, chunkSize)) await out.write(format === 'raw' ? chunk : encode(chunk, format));
  if (format !== 'raw') await out.write('\n');
}

export const catCommand = defineCommand({
  command: 'cat <ref>',
  describe: 'Write record bytes (raw by default) or the tail to stdout',
  builder: (yargs) =>
    withIgnoreChecksum(withGenerationRef(yargs), 'write the bytes')
      .option('record', { type: 'string', requiresArg: true, defaultDescription: 'latest', describe: 'latest, all (oldest first), or a record\'s stream offset' })
      .option('tail', { type: 'boolean', default: false, describe: 'Write the tail (the bytes after the rings) instead of records' })
      .option('offset', { type: 'string', requiresArg: true, describe: 'With --tail: start this many bytes into the tail (K, M, G, T; 0 to the tail\'s size), e.g. 4G' })
      .option('length', { type: 'string', requiresArg: true, defaultDescription: 'to the tail\'s end', describe: 'With --tail: write this many bytes (K, M, G, T; up to the tail\'s end)' })
      .option('format', { type: 'string', choices: ['raw', 'hex', 'base64'], requiresArg: true, defaultDescription: 'raw', describe: 'raw: bytes back to back; hex, base64: one line per record' })
      .example(exampleLines('shm-host cat latest | my-decoder', 'Feed the newest record to the application\'s decoder'))
      .example(exampleLines('shm-host cat latest --record all --json | jq -r \'.[].base64\'', 'Every record, base64'))
      .example(exampleLines('shm-host cat 12 --tail > tail.bin', 'The tail of generation 12'))
      .example(exampleLines('shm-host cat latest --tail --offset 4G --length 1M > part.bin', 'One MiB of the tail, 4 GiB into it'))
      .example(exampleLines('shm-host cat 12 --ignore-checksum > salvaged.bin', 'The latest record of a damaged generation, as it is (exit 4)')),
  handler: async (args, ctx) => {
    if (args.tail && args.record !== undefined) throw new UsageError('--tail and --record cannot be combined', 'ask for records or for the tail');
    if (!args.tail && (args.offset !== undefined || args.length !== undefined)) throw new UsageError('--offset and --length select bytes of the tail', 'add --tail');
    // Checked before anything is read: a bad size is a usage error.
    if (args.offset !== undefined) parseSize('--offset', args.offset);
    if (args.length !== undefined) parseSize('--length', args.length);
    if (args.json && args.format !== undefined) throw new UsageError('--json and --format cannot be combined', '--json always carries bytes as base64');
    const format = (args.format ?? 'raw') as Format;
    const source: Source = await resolveSource(args.ref, args.dir, { command: (ref) => `shm-host cat ${ref}`, salvage: args['ignore-checksum'] });
    try {
      const image = await source.openImage();
      try {
        let info: ImageInfo;
        try {
          info = await image.inspect({ raw: source.manifest?.configured === false, rings: !args.tail, salvage: args['ignore-checksum'] });
        } catch (err) {
          throw await describeDamage(source, err);
        }
        // Before a byte is written: a damaged image prints nothing, or with --ignore-checksum a warning first.
        const { status } = await intactOrSalvaged(source, image, info, args['ignore-checksum'] ? { ctx, verb: 'writing' } : null);
        if (!info.configured) {
          throw new CommandFailure('NOT_CONFIGURED', `${source.label} is a raw capture of a file no writer configured: it has no records and no tail`, 'use a generation taken after the child attached');
        }
        if (args.tail) {
          await writeTail(ctx.out, image, tailRange(info, { offset: args.offset, length: args.length }, source.label), format, args.json);
        } else {
          const which = args.record ?? 'latest';
          await writeRecords(ctx.out, info, selectRecords(info, which, source.label), format, args.json, which !== 'all');
        }
        return status;
      } finally {
        await image.close();
      }
    } finally {
      await source.close();
    }
  },
});
