// docs/API.md against what the package exports: package.json `exports` has
// exactly the entries API.md has sections for, and every name each entry
// exports (values and types, as the compiler sees src/<folder>/index.ts) is
// named in that entry's section. An export added without its documentation,
// or a documented entry that is gone, fails here.
import t from 'tap';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const ROOT = new URL('../../', import.meta.url).pathname;
const api = readFileSync(`${ROOT}docs/API.md`, 'utf8');
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { exports: Record<string, { types?: string }> };

/** Entry name ('.', './store') -> the folder its types come from ('client', 'store'). */
const entries = Object.entries(pkg.exports)
  .filter(([name]) => name !== './package.json')
  .map(([name, target]) => ({ name, folder: /dist\/([a-z]+)\/index\.d\.ts$/.exec(target.types ?? '')?.[1] }));

/**
 * The sections of API.md, by the entry their heading names (`## \`shm-host/store\`: ...`),
 * each with the text above the first heading (what every entry shares: ShmHostError).
 */
const sections = new Map<string, string>();
const headings = [...api.matchAll(/^## `(shm-host(?:\/[a-z]+)?)`/gm)];
const preamble = api.slice(0, headings[0]?.index ?? 0);
headings.forEach((h, i) => {
  const entry = h[1] === 'shm-host' ? '.' : `./${h[1]!.slice('shm-host/'.length)}`;
  sections.set(entry, preamble + api.slice(h.index, headings[i + 1]?.index ?? api.length));
});

t.same(entries.map((e) => e.name).sort(), [...sections.keys()].sort(), 'package.json exports and the sections of docs/API.md name the same entries');

const program = ts.createProgram(entries.map((e) => `${ROOT}src/${e.folder}/index.ts`), {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
});
const checker = program.getTypeChecker();

for (const { name, folder } of entries) {
  t.test(`${name} (src/${folder}/index.ts)`, async (t) => {
    const file = program.getSourceFile(`${ROOT}src/${folder}/index.ts`);
    const module = file && checker.getSymbolAtLocation(file);
    if (module === undefined) return t.fail(`src/${folder}/index.ts is not a module`);
    const exported = checker.getExportsOfModule(module).map((s) => s.name).sort();
    t.ok(exported.length > 0, `${exported.length} exports`);
    const section = sections.get(name) ?? '';
    const missing = exported.filter((n) => !new RegExp(`\\b${n}\\b`).test(section));
    t.same(missing, [], `every export of ${name} is named in its section of docs/API.md`);
  });
}
