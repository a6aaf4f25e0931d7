// Writing a modelled crash state out as real files, for the real store code
// to open as the next host would.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TreeState } from './model.js';

/** Creates `state`'s directories and files under the existing empty directory `base`. */
export function materialize(state: TreeState, base: string): void {
  for (const [path, mode] of [...state.dirs].sort((a, b) => a[0].length - b[0].length)) {
    if (path === '') continue;
    mkdirSync(join(base, path), { mode });
    chmodSync(join(base, path), mode);
  }
  for (const [path, f] of state.files) {
    writeFileSync(join(base, path), f.data, { mode: f.mode });
    chmodSync(join(base, path), f.mode);
  }
}
