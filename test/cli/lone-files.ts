// A generation's own data file given where a command reads an image or an
// export file: a lone `.delta` (copied out of its snapshot directory, or
// beside no manifest) holds only the blocks that changed since its parent,
// so it cannot be read alone; cat, show, verify and export say what it is
// and the command to run on its generation instead, and import says the
// same of a `.delta` or a `.img`, not only that the magic is wrong.
import fs from 'node:fs';
import { basename, join } from 'node:path';
import t from 'tap';
import { writeGenerations } from '../../fixtures/cli-store.js';
import { isOneLineError, runCli } from './harness.js';

const name = (sequence: number, ext: string): string => `gen-${String(sequence).padStart(16, '0')}.${ext}`;

t.test('a lone delta file: what it is, and the command to run instead', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  await writeGenerations(dir, { generations: 3, maxChain: 3 });
  const lone = join(base, 'lone');
  fs.mkdirSync(lone);
  const copies: Array<[string, string]> = [
    [join(lone, 'copy.delta'), '<sequence>'],
    // Named as its store names it, but no manifest beside it.
    [join(lone, name(3, 'delta')), '3'],
  ];
  for (const [path] of copies) fs.copyFileSync(join(dir, name(3, 'delta')), path);
  for (const [path, sequence] of copies) {
    const out = join(base, 'out.shmx');
    for (const [argv, instead] of [
      [['show', path], `shm-host show ${sequence} --dir <its snapshot directory>`],
      [['cat', path], `shm-host cat ${sequence} --dir <its snapshot directory>`],
      [['verify', path], `shm-host verify ${sequence} --dir <its snapshot directory>`],
      [['export', path, out], `shm-host export ${sequence} ${out} --dir <its snapshot directory>`],
    ] as const) {
      const r = await runCli([...argv, '--dir', dir]);
      t.equal(r.code, 1, `${argv.join(' ')}: exit 1`);
      t.ok(isOneLineError(r.stderr), `${argv.join(' ')}: one line (${r.stderr.trim()})`);
      t.match(r.stderr, `${path} is a delta generation's data file (magic SHMDELTA), not an image`, `${argv.join(' ')}: says what the file is`);
      t.match(r.stderr, 'read through its chain', `${argv.join(' ')}: and why it cannot be read alone`);
      t.match(r.stderr, instead, `${argv.join(' ')}: and what to run instead`);
      t.notMatch(r.stderr, /magic is 0x/, `${argv.join(' ')}: not a foreign magic`);
      const json = await runCli([...argv, '--dir', dir, '--json']);
      t.match(JSON.parse(json.out), { error: { code: 'BAD_MAGIC', message: /delta generation's data file/, exitCode: 1 } }, `${argv.join(' ')} --json`);
    }
    t.notOk(fs.existsSync(out), 'no export written');
  }
  // In its own snapshot directory, a .delta path reads as its generation, as before.
  const inPlace = await runCli(['show', join(dir, name(3, 'delta')), '--dir', dir]);
  t.equal(inPlace.code, 0, inPlace.stderr);
  t.match(inPlace.out, /^generation 3 in /);
});

t.test('a lone image file named as its store names it reads as a bare image, as the same file under another name', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  await writeGenerations(dir, { generations: 1 });
  const lone = join(base, 'lone');
  fs.mkdirSync(lone);
  const named = join(lone, name(1, 'img'));
  const renamed = join(lone, 'x.img');
  fs.copyFileSync(join(dir, name(1, 'img')), named);
  fs.copyFileSync(join(dir, name(1, 'img')), renamed);
  for (const argv of [['show'], ['cat'], ['verify'], ['cat', '--tail']]) {
    const asNamed = await runCli([argv[0]!, named, ...argv.slice(1), '--dir', dir]);
    const asRenamed = await runCli([argv[0]!, renamed, ...argv.slice(1), '--dir', dir]);
    t.same([asNamed.code, asNamed.stderr], [0, ''], `${argv.join(' ')} ${name(1, 'img')}: read (${asNamed.stderr.trim()})`);
    t.equal(asNamed.out.replaceAll(named, renamed), asRenamed.out, `${argv.join(' ')}: as x.img reads`);
  }
  t.match((await runCli(['show', named, '--dir', dir])).out, `image ${named}`, 'a bare image, without a manifest');
});

t.test('import of a generation\'s data file (a .delta or a .img): what it is, and to export its generation first', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'snapshots');
  await writeGenerations(dir, { generations: 2, maxChain: 3 });
  const into = join(base, 'into');
  fs.copyFileSync(join(dir, name(2, 'delta')), join(base, 'copy.delta'));
  const files = [
    [join(dir, name(2, 'delta')), "a delta generation's data file \\(magic SHMDELTA\\)", '2'],
    [join(dir, name(1, 'img')), 'a snapshot image', '1'],
    // Renamed: its name no longer gives its sequence.
    [join(base, 'copy.delta'), "a delta generation's data file \\(magic SHMDELTA\\)", '<sequence>'],
  ] as const;
  for (const [path, what, sequence] of files) {
    const file = basename(path);
    const r = await runCli(['import', path, '--dir', into]);
    t.equal(r.code, 1, `import ${file}: exit 1`);
    t.ok(isOneLineError(r.stderr), `import ${file}: one line (${r.stderr.trim()})`);
    t.match(r.stderr, new RegExp(`not a shm-host export but ${what}`), `import ${file}: says what the file is`);
    t.match(r.stderr, `shm-host export ${sequence} --dir <that directory> FILE.shmx`, `import ${file}: and what to run instead, with the sequence its name gives`);
    t.notOk(fs.existsSync(into), `import ${file}: nothing created`);
  }
  const garbage = join(base, 'garbage');
  fs.writeFileSync(garbage, Buffer.alloc(100, 7));
  t.match((await runCli(['import', garbage, '--dir', into])).stderr, /does not start with the export magic \(nothing was imported; give a complete file written by shm-host export\)/, 'any other file: as before');
});
