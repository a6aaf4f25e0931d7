// shm-host export <ref> <file|->: a generation as one portable, checksummed file.
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { DurableFile, MAX_EXPORT_IMAGE_BYTES, StoreError, writeExport } from '../store/index.js';
import { defineCommand } from './command.js';
import { checksumProblem, damaged, describeDamage, factsProblem, intactProblem } from './damage.js';
import { CommandFailure, UsageError } from './errors.js';
import { withGenerationRef, exampleLines } from './options.js';
import { resolveSource } from './source.js';
import { humanBytes } from './text.js';
import { SALVAGED, salvageWarning, skippedWarning, withIgnoreChecksum } from './salvage.js';

/**
 * Why the export file `path` cannot be written, as one line naming it (the
 * errno error names the temporary file beside it, which the user never
 * gave) and the fix; any other error as it is.
 */
function destinationFailure(path: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const parent = dirname(path);
  let parentStat: fs.Stats | undefined;
  try {
    parentStat = fs.statSync(parent);
  } catch {
    // Missing, or below a file: said by the errno below.
  }
  const fail = (problem: string, fix: string): CommandFailure => new CommandFailure(typeof code === 'string' ? code : 'EXPORT_PATH', problem, fix, { cause: err });
  switch (code) {
    case 'ENOENT':
      // A parent that exists yet gives ENOENT makes no files (/proc).
      if (parentStat?.isDirectory() === true) return fail(`cannot write ${path}: ${parent} takes no new files (ENOENT)`, 'give a path on a disk file system');
      return fail(`cannot write ${path}: the directory ${parent} does not exist (ENOENT)`, 'create it or give another path');
    case 'ENOTDIR': return fail(`cannot write ${path}: ${parentStat ? parent : `a part of ${parent}`} is not a directory (ENOTDIR)`, 'give a path in an existing directory');
    case 'EISDIR': return isDirectory(path);
    case 'EACCES': case 'EPERM': return fail(`cannot write ${path}: permission denied in ${parent} (${code})`, 'give a path in a directory you can write');
    case 'EROFS': return fail(`cannot write ${path}: ${parent} is on a read-only file system (EROFS)`, 'give a path on a writable file system');
    case 'ENOSPC': case 'EDQUOT': return fail(`cannot write ${path}: no space left for it (${code})`, 'free some space or give a path on another file system');
    default: return err;
  }
}

const isDirectory = (path: string): CommandFailure =>
  new CommandFailure('EISDIR', `${path} is a directory`, `give a file path, e.g. ${join(path, 'state.shmx')}`);

/** The export file, durable once committed; an existing one is replaced only with --force, a directory never. */
async function createExportFile(path: string, force: boolean): Promise<DurableFile> {
  // Before "already exists": --force would not help, and rename(2) would refuse it only once everything is written.
  if ((await fs.promises.stat(path).catch(() => null))?.isDirectory() === true) throw isDirectory(path);
  try {
    return await DurableFile.create(path, force);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'EXISTS') {
      throw new CommandFailure('EXISTS', `${path} already exists`, 'remove it, choose another name, or pass --force', { cause: err });
    }
    throw destinationFailure(path, err);
  }
}

export const exportCommand = defineCommand({
  command: 'export <ref> <file>',
  describe: 'Write one generation (image and manifest, checksummed) to a portable file, or to stdout with -',
  builder: (yargs) =>
    withIgnoreChecksum(withGenerationRef(yargs), 'export it (the export keeps the manifest\'s checksum: every reader, import included, finds it damaged)')
      .positional('file', { type: 'string', demandOption: true, describe: 'The export file to write, or - for stdout' })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing file' })
      .example(exampleLines('shm-host export latest state.shmx', 'Keep the newest generation'))
      .example(exampleLines('shm-host export latest - | ssh other shm-host --dir /srv/state import -', 'Move the state to another machine'))
      .example(exampleLines('shm-host export latest~2 - | shm-host import -', 'Roll back: make an older generation the newest (host stopped)')),
  handler: async (args, ctx) => {
    const toStdout = args.file === '-';
    if (toStdout && args.json) throw new UsageError('--json cannot be combined with export to - (stdout carries the export)', 'write to a file to get a JSON summary');
    if (toStdout && ctx.out.isTTY) throw new UsageError('refusing to write a binary export to a terminal', 'redirect stdout (> state.shmx) or give a file name');
    const salvage = args['ignore-checksum'];
    const source = await resolveSource(args.ref, args.dir, { command: (ref) => `shm-host export ${ref} ${args.file}`, salvage });
    try {
      const manifest = source.manifest;
      if (manifest === null) {
        throw new CommandFailure('NO_MANIFEST', `${source.label} has no manifest to export with`, 'export a generation of a snapshot directory (a <ref> of --dir, or a gen-*.img path inside one)');
      }
      const image = await source.openImage();
      if (image.size > MAX_EXPORT_IMAGE_BYTES) {
        await image.close();
        throw new CommandFailure('TOO_LARGE', `${source.label} has a ${humanBytes(image.size)} image, more than an export holds (1 TiB)`, 'copy the image and its manifest out of the snapshot directory instead');
      }
      const file = toStdout ? null : await createExportFile(args.file, args.force);
      const progress = ctx.progress('exporting', image.size, { json: args.json || toStdout });
      let written: { sha256: string; bytes: number; checksum: string };
      let problem: string | null;
      let skipped: string | null = null;
      try {
        // Refuse to carry a damaged generation elsewhere: check it while it is read.
        let info;
        try {
          info = await image.inspect({ raw: !manifest.configured, salvage });
        } catch (err) {
          throw await describeDamage(source, err);
        }
        problem = factsProblem(info, manifest);
        if (problem !== null && !salvage) throw await damaged(source, problem);
        const write = (chunk: Uint8Array): Promise<void> => (file ? file.write(chunk) : ctx.out.write(chunk));
        try {
          written = await writeExport(image, manifest, write, (n) => progress.advance(n), { ignoreChecksum: salvage });
        } catch (err) {
          if (!(err instanceof StoreError) || err.code !== 'CORRUPT') throw err;
          // Which link changed, as cat and show say it (an error path: the image is read again).
          throw await damaged(source, (await intactProblem(source, image, info, false)) ?? 'its image does not match its checksum', err);
        }
        problem ??= await checksumProblem(source, written.checksum, true);
        skipped = problem === null && image.skipped.length > 0 ? skippedWarning(source.label, 'exported', image.skipped) : null;
        await file?.commit().catch((err: unknown) => {
          throw destinationFailure(args.file, err);
        });
      } catch (err) {
        await file?.abort();
        throw err;
      } finally {
        progress.finish();
        await image.close();
      }
      // Once the export is whole: a salvage's damage is known only when the image has been read.
      if (problem !== null) ctx.io.stderr.write(`shm-host: ${salvageWarning(source.label, 'exported', problem)}\n`);
      if (skipped !== null) ctx.io.stderr.write(`shm-host: ${skipped}\n`);
      if (args.json) {
        await ctx.out.json({ file: args.file, sequence: manifest.sequence, imageSize: image.size, bytes: written.bytes, sha256: written.sha256, salvaged: problem !== null });
      } else if (!toStdout) {
        await ctx.out.write(`exported generation ${manifest.sequence} (${humanBytes(image.size)} image) to ${args.file}${problem === null ? '' : ', damaged as it is: import takes it only with --ignore-checksum'}\n`);
      }
      return problem === null && skipped === null ? 0 : SALVAGED;
    } finally {
      await source.close();
    }
  },
});
