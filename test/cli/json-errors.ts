// With --json, stdout holds exactly one JSON document whatever happened: the
// result, or an error document whose message is the line on stderr and
// whose exitCode is the exit code. Usage errors (exit 2) included, an
// unusable --dir first among them, for every subcommand that takes --dir and
// --json (docs/CLI.md, Conventions); without --json, nothing on stdout.
import fs from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { isOneLineError, runCli, type CliResult } from './harness.js';

/** Each subcommand that takes --dir and --json, with the arguments it needs besides them. */
function commands(base: string): Array<[string, string[]]> {
  return [
    ['list', []],
    ['show', ['latest']],
    ['verify', []],
    ['cat', ['latest']],
    ['export', ['latest', join(base, 'out.shmx')]],
    ['import', [join(base, 'in.shmx')]],
    ['prune', ['--keep', '2']],
    ['restore', ['--from', `file://${join(base, 'replica')}`]],
    ['status', []],
    ['snapshot', []],
  ];
}

/** `r` is a failure with exit `code`: its one stderr line, and with --json the same as one document. */
function failed(t: Test, r: CliResult, what: string, code: number, json: boolean, errorCode?: string | RegExp): void {
  t.equal(r.code, code, `${what}: exit ${code} (${r.stderr.trim()})`);
  t.ok(isOneLineError(r.stderr), `${what}: one line`);
  if (!json) {
    t.equal(r.out, '', `${what}: nothing on stdout`);
    return;
  }
  let doc: unknown;
  t.doesNotThrow(() => { doc = JSON.parse(r.out); }, `${what}: stdout is one JSON document`);
  t.same(Object.keys(doc as object), ['error'], `${what}: an error document`);
  const error = (doc as { error: { code: string; message: string; exitCode: number } }).error;
  t.equal(error.message, r.stderr.replace(/^shm-host: /, '').trimEnd(), `${what}: its message is the line`);
  t.equal(error.exitCode, code, `${what}: its exitCode is the exit code`);
  if (errorCode !== undefined) t.match(error.code, errorCode, `${what}: code ${String(errorCode)}`);
}

t.test('an unusable --dir (a file, a path under a file): a usage error, with --json an error document too', async (t) => {
  const base = t.testdir({ afile: 'x', 'in.shmx': 'not an export\n', replica: {} });
  const before = fs.readdirSync(base).sort();
  for (const dir of [join(base, 'afile'), join(base, 'afile', 'x')]) {
    for (const [name, rest] of commands(base)) {
      for (const json of [false, true]) {
        const argv = [name, ...rest, '--dir', dir, ...(json ? ['--json'] : [])];
        failed(t, await runCli(argv), argv.join(' '), 2, json, 'NOT_A_DIRECTORY');
      }
    }
  }
  t.same(fs.readdirSync(base).sort(), before, 'nothing created');
});

t.test('every other usage error under --json: a document with code USAGE, exit 2', async (t) => {
  const base = t.testdir({ 'in.shmx': 'x' });
  const dir = join(base, 'state');
  for (const [name, rest] of commands(base)) {
    // yargs' own (an unknown option), and one a command finds (a bad value).
    failed(t, await runCli([name, ...rest, '--dir', dir, '--bogus', '--json']), `${name} --bogus --json`, 2, true, 'USAGE');
    failed(t, await runCli([name, ...rest, '--dir', dir, '--bogus']), `${name} --bogus`, 2, false);
  }
  failed(t, await runCli(['prune', '--keep', '1', '--dir', dir, '--json']), 'prune --keep 1 --json', 2, true, 'USAGE');
  failed(t, await runCli(['status', '--timeout', 'soon', '--dir', dir, '--json']), 'status --timeout soon --json', 2, true, 'USAGE');
  failed(t, await runCli(['show', '--json']), 'show --json (no <ref>)', 2, true, 'USAGE');
  failed(t, await runCli(['list', '--json', '--no-json', '--bogus']), 'list --json --no-json --bogus: the last says', 2, false);
  // run takes no --json: its usage errors never print a document.
  failed(t, await runCli(['--dir', dir, '--bogus', '--', 'true']), 'run --bogus', 2, false);
  t.notOk(fs.existsSync(dir), 'nothing created');
});
