// The values options take (sizes, durations, whole numbers, fractions) read
// from the command line: a bad one is a UsageError naming the option, what
// is wrong and a value that works, and each bound is one constant that both
// the check and the option's --help use. Numbers are plain decimals only
// (`3`, `0.25`, `.5`): JavaScript's Number() also takes `0x10`, `1e3`,
// `Infinity` and surrounding blanks, which no user means for a count or a
// size, and which a typo can turn into one.
import { UsageError } from './errors.js';

/** A plain decimal number, whole or with a fraction (`3`, `0.25`, `.5`): no sign, blank, exponent or base prefix. */
const DECIMAL = '(\\d+(?:\\.\\d+)?|\\.\\d+)';
/** A decimal with an optional unit of letters right after it (`64M`, `1.5s`, `4096`). */
const WITH_UNIT = new RegExp(`^${DECIMAL}([a-zA-Z]*)$`);

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The duration units, as hints list them (from the table, so that a hint names every unit taken, and only those). */
const TIME_UNIT_NAMES = Object.keys(TIME_UNITS);
const TIME_UNITS_LISTED = TIME_UNIT_NAMES.join(', ');
const TIME_UNITS_OR = `${TIME_UNIT_NAMES.slice(0, -1).join(', ')} or ${TIME_UNIT_NAMES.at(-1)}`;

/**
 * The longest duration an option that sets a timer takes. Node's
 * setTimeout() holds a 32-bit signed count of milliseconds (about 24.8
 * days) and past it fires after 1 ms (TimeoutOverflowWarning): a longer
 * --stop-timeout would SIGKILL the child at once, a longer --interval
 * capture every millisecond. 24 days is under it, in a unit users write.
 */
export const MAX_TIMER = { ms: 24 * TIME_UNITS.d!, text: '24d' } as const;

/**
 * `64M`, `1.5G`, `1T`, `4096` (bytes) -> bytes; units are binary (K =
 * 1024), the number a plain decimal right before the unit. A size that is
 * not a whole number of bytes (`0.1K`, `1.5`) is refused rather than rounded.
 */
export function parseSize(option: string, value: string): number {
  if (/^\s*-/.test(value)) throw new UsageError(`${option} ${value}: a size cannot be negative`, `give a positive size, e.g. ${option} 64M`);
  const m = WITH_UNIT.exec(value);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const scale = SIZE_UNITS[unit];
  if (!m || scale === undefined) throw new UsageError(`${option} ${value}: not a size`, `use a number with K, M, G or T, e.g. ${option} 64M`);
  const bytes = Number(m[1]) * scale;
  if (!Number.isSafeInteger(Math.round(bytes))) throw new UsageError(`${option} ${value}: too large`, `e.g. ${option} 1G`);
  if (!Number.isInteger(bytes)) throw new UsageError(`${option} ${value}: not a whole number of bytes`, `e.g. ${option} ${Math.round(bytes)}`);
  return bytes;
}

/**
 * `250ms`, `1.5s`, `2m`, `1h`, `0` -> milliseconds, the number a plain
 * decimal right before the unit. A number without a unit other than 0 is
 * refused: `--interval 1` reads as one millisecond to some and one second
 * to others, and either guess is wrong for someone. So is a duration that
 * is not a whole number of milliseconds: rounded, `--interval 0.0001s`
 * would be 0, which turns periodic captures off.
 */
export function parseDuration(option: string, value: string): number {
  if (/^\s*-/.test(value)) throw new UsageError(`${option} ${value}: a duration cannot be negative`, `e.g. ${option} 1s, or ${option} 0`);
  const m = WITH_UNIT.exec(value);
  const unit = m?.[2]?.toLowerCase() ?? '';
  if (m && unit === '' && Number(m[1]) !== 0) {
    const n = m[1]!;
    throw new UsageError(`${option} ${value}: a duration needs a unit`, `write ${option} ${n}s or ${option} ${Number(n) * 1000}ms; units are ${TIME_UNITS_LISTED}`);
  }
  const scale = unit === '' ? 1 : TIME_UNITS[unit];
  if (!m || scale === undefined) throw new UsageError(`${option} ${value}: not a duration`, `use ${TIME_UNITS_OR}, e.g. ${option} 500ms`);
  const ms = Number(m[1]) * scale;
  if (!Number.isSafeInteger(Math.round(ms))) throw new UsageError(`${option} ${value}: too long`, `e.g. ${option} 1h`);
  if (!Number.isInteger(ms)) throw new UsageError(`${option} ${value}: not a whole number of milliseconds`, `e.g. ${option} ${Math.max(1, Math.round(ms))}ms`);
  return ms;
}

/** parseDuration() for an option that sets a timer: at most MAX_TIMER. */
export function parseTimer(option: string, value: string): number {
  const ms = parseDuration(option, value);
  if (ms > MAX_TIMER.ms) throw new UsageError(`${option} ${value}: longer than ${MAX_TIMER.text}`, `a timer runs at most ${MAX_TIMER.text}, e.g. ${option} 1h`);
  return ms;
}

/** A whole number from `min` to `max` (both included), as typed (digits only) or as yargs parsed it. */
export function wholeNumber(option: string, value: string | number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${option} ${value}: not a whole number ${range}`, `e.g. ${option} ${Math.min(max, Math.max(min, 3))}`);
  return n;
}

/**
 * A plain decimal (`0.25`, `.5`, `3`) from `min` to `max`, both included;
 * anything else (hex, an exponent, `Infinity`, a sign, blanks) is a
 * UsageError `<option> <value>: not <what> from <min> to <max>`, with
 * `example` as its fix.
 */
export function decimalNumber(option: string, value: string | number, range: { min: number; max: number; what: string; example: string }): number {
  const text = String(value);
  const n = new RegExp(`^${DECIMAL}$`).test(text) ? Number(text) : Number.NaN;
  if (!(n >= range.min && n <= range.max)) throw new UsageError(`${option} ${text}: not ${range.what} from ${range.min} to ${range.max}`, range.example);
  return n;
}
