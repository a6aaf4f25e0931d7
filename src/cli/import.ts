// shm-host import <file|->: checks an export and adds it as the newest
// generation (reason `import`), so the next host start restores it.
//
// It takes the directory's lock like a host (see writable-store.ts); the
// reading, checking and committing are the store's (importExport).
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { ExportFormatError, exportFileStream, importExport, type Generation, type Manifest } from '../store/index.js';
import { defineCommand, type CommandContext } from './command.js';
import { CommandFailure, UsageError } from './errors.js';
import { withDir, withJson, exampleLines } from './options.js';
import { openForWriting, undoingNewDirectory } from './writable-store.js';
import type { Progress } from './progress.js';
import { humanBytes, shortTime } from './text.js';
import { SALVAGED, withIgnoreChecksum } from './salvage.js';
import { namedSequence } from './file-source.js';

export const importCommand = defineCommand({
  command: 'import <file>',
  describe: 'Check an export file (or - for stdin) and add it as the newest generation, restored at the next start',
  builder: (yargs) =>
    withIgnoreChecksum(withJson(withDir(yargs)), 'import an export')
      .positional('file', { type: 'string', demandOption: true, describe: 'The export file to read, or - for stdin' })
      .example(exampleLines('shm-host import state.shmx --dir ./state', 'Restore a kept export at the next start'))
      .example(exampleLines('shm-host export latest~2 - | shm-host import -', 'Roll back to an older generation (with the host stopped)')),
  handler: async (args, ctx) => {
    const fromStdin = args.file === '-';
    if (fromStdin && (ctx.io.stdin as { isTTY?: boolean }).isTTY === true) {
      throw new UsageError('refusing to read an export from a terminal', 'pipe one in (shm-host export latest - | shm-host import -) or give a file name');
    }
    let input: Readable;
    if (fromStdin) {
      input = ctx.io.stdin;
    } else {
      // Open first, so a missing file fails before the directory is touched.
      const handle = await fs.promises.open(args.file, 'r').catch((err: unknown) => {
        throw unreadableExport(args.file, err);
      });
      const stat = await handle.stat();
      if (!stat.isFile()) {
        await handle.close();
        throw new CommandFailure('NOT_A_FILE', `${args.file} is not a regular file`, 'give the path of an export file');
      }
      // Read in the image's chunk grid; its holes are not read at all.
      input = exportFileStream(handle.fd, stat.size);
      input.once('close', () => { void handle.close(); });
    }
    try {
      const options = { dir: args.dir, json: args.json, ignoreChecksum: args['ignore-checksum'] };
      return await undoingNewDirectory(args.dir, 'import', () => importFrom(input, options, ctx, fromStdin ? 'stdin' : args.file));
    } finally {
      input.destroy();
    }
  },
});

/** Checks the export on `input` and commits it as the newest generation of `args.dir`. */
async function importFrom(input: Readable, args: { dir: string; json: boolean; ignoreChecksum: boolean }, ctx: CommandContext, name: string): Promise<number> {
  const store = await openForWriting(args.dir, 'import', ctx.io.stderr);
  try {
    let generation: Generation;
    let from: Manifest;
    let salvaged: string | null;
    let progress: Progress | null = null;
    try {
      ({ generation, from, salvaged } = await importExport(store, input, {
        onHeader: (header) => {
          progress = ctx.progress('importing', header.imageLength, { json: args.json });
        },
        onChunk: (bytes) => progress?.advance(bytes),
      }, { ignoreChecksum: args.ignoreChecksum }));
    } catch (err) {
      if (err instanceof ExportFormatError) {
        // A generation's own data file: import takes it as an export of its generation, made in its snapshot directory.
        const fix = err.imageMismatch
          ? 'nothing was imported; it is the export of a damaged generation: to take its bytes as they are, import it with --ignore-checksum'
          : err.found === null
            ? 'nothing was imported; give a complete file written by shm-host export'
            : `nothing was imported; export its generation from the snapshot directory it belongs to and import that: shm-host export ${namedSequence(name, err.found)} --dir <that directory> FILE.shmx`;
        throw new CommandFailure(err.code, `cannot import ${name}: ${err.problem}`, fix, { cause: err });
      }
      throw err;
    } finally {
      (progress as Progress | null)?.finish();
    }
    if (salvaged !== null) {
      ctx.io.stderr.write(`shm-host: warning: imported ${name} as generation ${generation.sequence} although its image does not match its manifest's checksum (--ignore-checksum): ${salvaged}; the generation carries its image's own checksum\n`);
    }
    if (args.json) {
      await ctx.out.json({
        sequence: generation.sequence,
        imageSize: generation.manifest.imageSize,
        from: { sequence: from.sequence, time: from.time, reason: from.reason },
        salvaged: salvaged !== null,
      });
    } else {
      await ctx.out.write(
        `imported generation ${from.sequence} (${from.reason}, ${shortTime(from.time)}, ${humanBytes(from.imageSize)}) as generation ${generation.sequence} of ${store.dir}: the next start restores it\n`,
      );
    }
    return salvaged === null ? 0 : SALVAGED;
  } finally {
    await store.close();
  }
}

/** Why the export file `file` cannot be opened, as one line with the fix; any other error as it is. */
function unreadableExport(file: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const why: Record<string, string> = { ENOENT: 'no such file', ENOTDIR: 'a part of its path is not a directory', EACCES: 'permission denied', ELOOP: 'too many symbolic links' };
  if (typeof code !== 'string' || why[code] === undefined) return err;
  const fix = code === 'EACCES' ? 'give an export file you can read' : 'check the path of the export file, or give - to read one from stdin';
  return new CommandFailure(code, `cannot import ${file}: ${why[code]} (${code})`, fix, { cause: err });
}
