// npm run soak:delta: SOAK_CAPTURES captures (default 1000) of a
// SOAK_SIZE-byte file (default 16 MiB), 1% changed between captures,
// --keep 3; fails when disk use ever passes 3x the image. CI runs a
// short version (test/store/soak.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { soak } from './lib/soak.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const captures = Number(process.env.SOAK_CAPTURES ?? 1000);
const size = Number(process.env.SOAK_SIZE ?? 16 * 1024 * 1024);
const dir = mkdtempSync(join(root, '.soak-delta-'));
try {
  const r = await soak(join(dir, 'store'), size, captures);
  console.log(`${r.captures} captures of ${size} bytes, ${r.fulls} full: at most ${r.mostBytes} bytes on disk (bound ${r.bound}, ${(r.mostBytes / size).toFixed(2)}x the image)`);
  if (r.overAt !== null) {
    console.error(`disk use passed the bound after capture ${r.overAt}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
