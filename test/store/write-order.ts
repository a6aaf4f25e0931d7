// The durable write order, checked from outside the process: a capture runs
// under strace and its system calls must come in docs/FORMAT.md section 9's order.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { childEnv } from '../../fixtures/lib/shared-child.js';
import { fixture, scratchDir } from './helpers.js';

const TRACED = 'openat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2';

function haveStrace(): string | null {
  try {
    execFileSync('strace', ['-V'], { stdio: 'pipe' });
    return null;
  } catch {
    return 'strace is not installed';
  }
}

interface Call {
  line: number;
  name: string;
  text: string;
}

/** The traced calls that started (resumed halves dropped), in order. */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  text.split('\n').forEach((raw, line) => {
    const m = /^(?:\d+\s+)?([a-z0-9_]+)\((.*)$/.exec(raw);
    if (m) calls.push({ line, name: m[1]!, text: m[2]! });
  });
  return calls;
}

/** A call on a file descriptor whose path (strace -y) is `path`. */
const onPath = (c: Call, path: string): boolean => c.text.startsWith(`${/^\d+/.exec(c.text)?.[0] ?? ''}<${path}>`);

function renames(calls: Call[]): Array<{ line: number; from: string; to: string }> {
  const out: Array<{ line: number; from: string; to: string }> = [];
  for (const c of calls) {
    if (!c.name.startsWith('rename')) continue;
    const paths = [...c.text.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    if (paths.length >= 2) out.push({ line: c.line, from: paths[0]!, to: paths[1]! });
  }
  return out;
}

const missing = haveStrace();
t.test('image fsync < image rename, manifest write < manifest fsync, both < manifest rename < directory fsync', { skip: missing ?? false }, async (t) => {
  const dir = scratchDir(t, 'order');
  const state = join(dir, 'state');
  const trace = join(dir, 'trace.txt');
  const run = spawnSync('strace', ['-f', '-qq', '-y', '-e', `trace=${TRACED}`, '-o', trace, process.execPath, '--import', 'tsx', fixture('capture-once.js'), state], {
    env: childEnv(),
    encoding: 'utf8',
  });
  t.equal(run.status, 0, `the capture ran under strace: ${run.stderr}`);
  t.equal(run.stdout, 'captured 1\n');
  const calls = parseTrace(readFileSync(trace, 'utf8'));
  const tmpImage = join(state, '.tmp-gen-0000000000000001.img');
  const image = join(state, 'gen-0000000000000001.img');
  const tmpManifest = join(state, '.tmp-gen-0000000000000001.json');
  const manifest = join(state, 'gen-0000000000000001.json');
  const isSync = (c: Call): boolean => c.name === 'fsync' || c.name === 'fdatasync';
  const isWrite = (c: Call): boolean => c.name === 'write' || c.name === 'pwrite64';

  const imageWrites = calls.filter((c) => isWrite(c) && onPath(c, tmpImage));
  const imageSync = calls.find((c) => isSync(c) && onPath(c, tmpImage));
  const imageRename = renames(calls).find((r) => r.from === tmpImage && r.to === image);
  const manifestWrites = calls.filter((c) => isWrite(c) && onPath(c, tmpManifest));
  const manifestSync = calls.find((c) => isSync(c) && onPath(c, tmpManifest));
  const manifestRename = renames(calls).find((r) => r.from === tmpManifest && r.to === manifest);
  const dirSync = calls.find((c) => isSync(c) && onPath(c, state) && manifestRename !== undefined && c.line > manifestRename.line);

  t.ok(imageWrites.length > 0, 'the image was written under its temporary name');
  t.ok(imageSync, 'the image was fsynced');
  t.ok(imageRename, 'the image was renamed to its final name');
  t.ok(manifestWrites.length > 0, 'the manifest was written under its temporary name');
  t.ok(manifestSync, 'the manifest was fsynced');
  t.ok(manifestRename, 'the manifest was renamed to its final name');
  t.ok(dirSync, 'the directory was fsynced after the manifest\'s rename');
  if (!imageSync || !imageRename || !manifestSync || !manifestRename || !dirSync) return;

  t.ok(Math.max(...imageWrites.map((c) => c.line)) < imageSync.line, 'every image write precedes the image fsync');
  t.ok(imageSync.line < imageRename.line, 'image fsync precedes its rename');
  t.ok(imageRename.line < manifestRename.line, 'the image is in place before the manifest takes its name (the commit point)');
  t.ok(Math.max(...manifestWrites.map((c) => c.line)) < manifestSync.line, 'manifest writes precede its fsync');
  t.ok(manifestSync.line < manifestRename.line, 'manifest fsync precedes its rename (the commit point)');
  t.ok(manifestRename.line < dirSync.line, 'the directory fsync comes last');
  t.notOk(calls.some((c) => isWrite(c) && (onPath(c, image) || onPath(c, manifest))), 'nothing is written under a final name');
});
