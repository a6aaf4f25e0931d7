// The streams a command talks to. main() takes them as a parameter, so
// tests run commands in-process with their own streams, and every write to
// stdout goes through one sink that respects backpressure and notices a
// reader that went away (`shm-host cat latest | head -c 16`).
import type { Readable, Writable } from 'node:stream';

/** A writable end with the terminal facts a command needs. */
export type OutputStream = Writable & { readonly isTTY?: boolean; readonly columns?: number };

/** Where a command reads and writes. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly stdin: Readable;
  readonly env: NodeJS.ProcessEnv;
}

/** The process's own streams and environment: what bin/shm-host.js uses. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // On first use only: creating process.stdin builds a stream for it (a socket or TTY reader, with their modules),
    // which only `import -` needs; the host leaves its stdin to the child.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
  };
}

/** Thrown by a write once the reader of stdout has gone: the command stops quietly. */
export class ReaderGone extends Error {
  constructor() {
    super('the reader of standard output went away');
    this.name = 'ReaderGone';
  }
}

/** Standard output with backpressure: await every write of bulk data. */
export class OutputSink {
  readonly stream: OutputStream;
  #gone = false;

  constructor(stream: OutputStream) {
    this.stream = stream;
    // An EPIPE must not become an uncaught exception; later writes see #gone.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') this.#gone = true;
    });
  }

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  /** Writes `chunk`, resolving once the stream can take more; throws ReaderGone when nobody reads any more. */
  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.#gone || this.stream.destroyed) throw new ReaderGone();
    if (this.stream.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done).on('error', done).on('close', done);
    });
    if (this.#gone) throw new ReaderGone();
  }

  /** Writes one JSON document and a newline; bigints become decimal strings. */
  async json(value: unknown): Promise<void> {
    await this.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
  }
}
