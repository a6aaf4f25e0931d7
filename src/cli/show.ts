// shm-host show <ref>: one generation's manifest, header, records and tail.
import type { ImageInfo, Manifest } from '../store/index.js';
import { defineCommand } from './command.js';
import { describeDamage } from './damage.js';
import { withGenerationRef, exampleLines } from './options.js';
import { resolveSource } from './source.js';
import { SALVAGED, intactOrSalvaged, withIgnoreChecksum } from './salvage.js';
import { fields, humanBytes, shortTime, table } from './text.js';
import { MAGIC_HEX, deltaBlocks, imageJson, type DeltaBlocks } from './views.js';

const sized = (n: number): string => (n < 1024 ? `${n} bytes` : `${humanBytes(n)} (${n} bytes)`);

/**
 * What a delta's file holds of its image, and what its parent gives: `48
 * blocks of 4096 bytes: the head's 16 (...) held whole, changed or not (3
 * stored in its file, 13 as zeros); 2 changed in the tail (...); the other
 * 30 from generation 7`. The head's blocks are not called changed: a delta
 * holds all of them, zeros that were zeros in its parent too.
 */
function blocksText(m: Manifest, b: DeltaBlocks): string {
  const parts: string[] = [];
  if (b.head === null || b.tail === null) {
    parts.push(`${b.stored} of ${b.image} block${b.image === 1 ? '' : 's'} of ${b.blockSize} bytes stored in its file`);
    if (b.zeros > 0) parts.push(`${b.zeros} more held as zeros (no bytes stored)`);
  } else {
    const { head, tail } = b;
    const whole = head.held === head.blocks ? 'held whole, changed or not' : `${head.held} held, changed or not`;
    parts.push(`${b.image} block${b.image === 1 ? '' : 's'} of ${b.blockSize} bytes: the head's ${head.blocks} (header and rings, up to the next 64 KiB boundary) ${whole} (${head.stored} stored in its file, ${head.zeros} as zeros)`);
    parts.push(tail.changed === 0 ? 'none changed in the tail' : `${tail.changed} changed in the tail (${tail.stored} stored, ${tail.zeros} set to zeros)`);
  }
  if (b.pastParentEnd > 0) parts.push(`${b.pastParentEnd} past the end of generation ${m.parent}'s image (zeros)`);
  parts.push(b.fromParent === 0 ? `none from generation ${m.parent}` : `the other ${b.fromParent} from generation ${m.parent}`);
  return parts.join(b.head === null ? ', ' : '; ');
}

function manifestText(m: Manifest, blocks: DeltaBlocks | null, matches: boolean): string {
  return fields([
    ['sequence', String(m.sequence)],
    ['time', shortTime(m.time)],
    ['reason', m.reason],
    ...(m.salvaged ? [['salvaged', `from generation ${m.salvaged.sequence} of an export whose image did not match its manifest's checksum ${m.salvaged.checksum}: ${m.salvaged.problem}`] as [string, string]] : []),
    ['kind', m.delta === null ? 'full (a whole image)' : `delta of generation ${m.parent}`],
    ...(blocks === null ? [] : [['blocks', blocksText(m, blocks)] as [string, string]]),
    ['chain', m.delta === null ? 'none (a full generation needs no other)' : `${m.chain.links} delta${m.chain.links === 1 ? '' : 's'} (${humanBytes(m.chain.bytes)} in delta files) over a full generation`],
    ['image size', sized(m.imageSize)],
    ['checksum', `${m.checksum.algorithm} ${m.checksum.value} (${matches ? 'matches the image' : 'does NOT match the image: what follows is not what was written'})`],
    ['configured', m.configured ? 'yes' : 'no (a raw capture of a file no writer configured)'],
    ['records', String(m.records)],
    ['latest', m.latest === null ? 'none' : `offset ${m.latest.offset}, ${m.latest.length} bytes`],
    ['write_offset', m.writeOffset],
  ], '  ');
}

function imageText(info: ImageInfo, withSlots: boolean): string {
  if (!info.configured) return `image\n${fields([['size', sized(info.size)], ['configured', 'no: no writer set its magic, so it has no records']], '  ')}`;
  const { layout, extension, records } = info;
  const oldest = records[0];
  const newest = records[records.length - 1];
  const describe = (r: typeof oldest): string => (r === undefined ? 'none' : `offset ${r.offset}, ${r.length} bytes (slot ${r.index})`);
  let text = `header\n${fields([
    ['magic', MAGIC_HEX],
    ['slots', String(layout.slots)],
    ['ring size', sized(layout.ringSize)],
    ['write_offset', info.writeOffset.toString()],
    ['durable_offset', extension.present ? `${extension.durableOffset} (snapshot ${extension.snapshotSeq})` : 'none (the host never published one)'],
  ], '  ')}`;
  text += `records\n${fields([['valid', String(records.length)], ['oldest', describe(oldest)], ['newest', describe(newest)]], '  ')}`;
  text += `tail\n${fields([['offset', String(layout.tailBase)], ['size', sized(layout.tailSize)]], '  ')}`;
  if (withSlots && records.length > 0) {
    text += `slots (oldest first)\n${table(['SLOT', 'OFFSET', 'LENGTH'], records.map((r) => [String(r.index), r.offset.toString(), String(r.length)]), ['right', 'right', 'right'])
      .split('\n').map((l) => (l === '' ? l : `  ${l}`)).join('\n')}`;
  }
  return text;
}

export const showCommand = defineCommand({
  command: 'show <ref>',
  describe: 'Show one generation: manifest, header, valid records, tail',
  builder: (yargs) =>
    withIgnoreChecksum(withGenerationRef(yargs), 'show it')
      .option('slots', { type: 'boolean', default: false, describe: 'List every valid slot (index, offset, length)' })
      .example(exampleLines('shm-host show latest', 'The newest generation'))
      .example(exampleLines('shm-host show latest~1 --slots --json | jq \'.image.records.list | length\'', 'Count the records of the one before'))
      .example(exampleLines('shm-host show ./backup.shmx', 'An export file, read in place')),
  handler: async (args, ctx) => {
    const source = await resolveSource(args.ref, args.dir, { command: (ref) => `shm-host show ${ref}`, salvage: args['ignore-checksum'] });
    try {
      const image = await source.openImage();
      let info: ImageInfo;
      let status: number;
      let matches: boolean;
      let blocks: DeltaBlocks | null;
      try {
        try {
          info = await image.inspect({ raw: source.manifest?.configured === false, salvage: args['ignore-checksum'] });
        } catch (err) {
          throw await describeDamage(source, err);
        }
        // The head is found by the image's layout, and split by the delta's index (read while the chain is open).
        blocks = source.manifest === null ? null : deltaBlocks(source.manifest, image, info.configured ? info.layout.tailBase : null);
        // What show decodes from the image (header, records) is shown only if the image is the one its manifest describes.
        ({ status, matches } = await intactOrSalvaged(source, image, info, args['ignore-checksum'] ? { ctx, verb: 'showing' } : null));
      } finally {
        await image.close();
      }
      // What the generation's own data file takes on disk, as list's ON DISK says it.
      const diskBytes = source.kind === 'generation' && source.store !== null ? await source.store.diskBytes({ imagePath: source.path }) : null;
      if (args.json) {
        await ctx.out.json({
          source: { kind: source.kind, path: source.path },
          sequence: source.manifest?.sequence ?? null,
          diskBytes,
          blocks,
          manifest: source.manifest,
          image: imageJson(info, args.slots),
          salvaged: status === SALVAGED,
        });
        return status;
      }
      let text = `${source.label}${source.kind === 'generation' ? ` in ${source.store?.dir}` : ''}\n`;
      text += fields([['path', source.path], ...(diskBytes === null ? [] : [['on disk', sized(diskBytes)] as [string, string]])], '  ');
      text += source.manifest ? `manifest\n${manifestText(source.manifest, blocks, matches)}` : 'manifest\n  none (a bare image file)\n';
      text += imageText(info, args.slots);
      await ctx.out.write(text);
      return status;
    } finally {
      await source.close();
    }
  },
});
