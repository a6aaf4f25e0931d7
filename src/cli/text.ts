// Plain-text output for people: sizes, durations and aligned tables.

export { humanBytes } from '../human-bytes.js';

/** `93784000` -> `1d 2h 3m`, `4500` -> `4.5s`, `12` -> `12ms`. */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) parts.push(`${d}d`);
  if (h > 0 || d > 0) parts.push(`${h}h`);
  parts.push(`${m}m`);
  if (d === 0 && h === 0) parts.push(`${s % 60}s`);
  return parts.join(' ');
}

/** An ISO time without milliseconds: `2024-05-01T12:00:00Z`. */
export function shortTime(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}

export type Align = 'left' | 'right';

/**
 * Lays out rows under a header row, columns separated by two spaces; a
 * left-aligned last column is not padded (it may be long: a path, a reason).
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align: readonly Align[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => {
        if (align[i] === 'right') return cell.padStart(widths[i]!);
        return i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** `key: value` lines with the values aligned; an empty key continues the line above. */
export function fields(pairs: ReadonlyArray<readonly [string, string]>, indent = ''): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${indent}${(k === '' ? '' : `${k}:`).padEnd(width + 2)}${v}`).join('\n') + '\n';
}
