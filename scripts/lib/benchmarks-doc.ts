// Writes one benchmark's section of docs/BENCHMARKS.md, leaving the other
// sections as they are, with the machine and date the numbers came from.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { fileURLToPath } from 'node:url';

const DOC = fileURLToPath(new URL('../../docs/BENCHMARKS.md', import.meta.url));
const INTRO = `# Benchmarks

Each figure is a ratio against a baseline measured in the same run on the same
machine: the machines here are shared and noisy, so absolute numbers move from
run to run while ratios hold. Each section says which command produced it.
`;

/** One line naming the machine: CPU model and count, memory, kernel, Node. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
}

/** Replaces (or appends) the `## <title>` section of docs/BENCHMARKS.md. */
export function writeBenchmarkSection(title: string, command: string, body: string): void {
  const doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : INTRO;
  const section = `## ${title}\n\n\`${command}\`, ${new Date().toISOString().slice(0, 10)}, ${machineLine()}.\n\n${body.trim()}\n`;
  const start = doc.indexOf(`\n## ${title}\n`);
  let next: string;
  if (start < 0) {
    next = `${doc.trimEnd()}\n\n${section}`;
  } else {
    const end = doc.indexOf('\n## ', start + 1);
    next = `${doc.slice(0, start + 1)}${section}${end < 0 ? '' : doc.slice(end)}`;
  }
  writeFileSync(DOC, next);
}

/**
 * Replaces, in the `## <title>` section of docs/BENCHMARKS.md, the table
 * rows starting with `rowPrefix` by `rows` (at the place of the first), and
 * the paragraph starting with `notePrefix` by `note` (appended when there
 * is none): for a run of one case of a benchmark, which leaves the other
 * rows, and the date and machine they were measured on, as they are.
 */
export function replaceBenchmarkRows(title: string, rowPrefix: string, rows: string[], notePrefix: string, note: string): void {
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/BENCHMARKS.md has no section ${title}: run the whole benchmark once`);
  const end = doc.indexOf('\n## ', start + 1) < 0 ? doc.length : doc.indexOf('\n## ', start + 1);
  const lines = doc.slice(start, end).split('\n');
  const first = lines.findIndex((l) => l.startsWith(rowPrefix));
  const kept = lines.filter((l) => !l.startsWith(rowPrefix));
  const at = first < 0 ? kept.findLastIndex((l) => l.startsWith('|')) + 1 : first;
  kept.splice(at, 0, ...rows);
  let section = kept.join('\n').trimEnd();
  const paragraphs = section.split('\n\n').filter((p) => !p.startsWith(notePrefix));
  section = `${[...paragraphs, note.trim()].join('\n\n')}\n`;
  writeFileSync(DOC, `${doc.slice(0, start)}${section}${doc.slice(end)}`);
}
