export type LogFormat = 'text' | 'json';
export type LogLevel = 'info' | 'warn' | 'error';

/** One event per line on stderr: `shm-host: <message>`, or one JSON object with the event's fields. */
export interface Logger {
  log(level: LogLevel, event: string, message: string, fields?: Record<string, unknown>): void;
}

const jsonSafe = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);

export function createLogger(options: { format: LogFormat; quiet: boolean; write?: (line: string) => void }): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  return {
    log(level, event, message, fields = {}) {
      if (options.quiet && level !== 'error') return;
      if (options.format === 'json') {
        write(`${JSON.stringify({ time: new Date().toISOString(), level, event, message, ...fields }, jsonSafe)}\n`);
      } else {
        write(`shm-host: ${level === 'info' ? '' : `${level}: `}${message}\n`);
      }
    },
  };
}
