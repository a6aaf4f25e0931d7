// Kill storm with self-checking records of varying sizes: after every
// restart, every record in the restored memory is intact, the latest is at
// or after the last index the child logged, and the child resumed after it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { checkRecordSet, copyRecord, readLayout, validSlots } from '../../src/format/index.js';
import { decodeRecord, recordDefect } from '../../fixtures/lib/record-codec.js';
import { lastLogged } from '../../fixtures/lib/commit-log.js';
import { fixture, nthMatch, scratch } from './harness.js';

const KILLS = Number(process.env.SHM_HOST_STORM_KILLS ?? 30);

/** Every valid record of the image at `path` decoded, oldest first, and the newest one's offset; fails on a torn one. */
function recordsIn(t: { fail(message: string): unknown }, path: string): { indexes: number[]; latestOffset: bigint | null } {
  const bytes = new Uint8Array(readFileSync(path));
  const { layout } = readLayout(bytes);
  const records = checkRecordSet(layout, validSlots(bytes, layout));
  const indexes = records.map((slot) => {
    const data = copyRecord(bytes, layout, slot);
    const defect = recordDefect(data);
    if (defect) t.fail(`record at offset ${slot.offset} is torn: ${defect}`);
    return decodeRecord(data);
  });
  return { indexes, latestOffset: records.at(-1)?.offset ?? null };
}

t.test(`kill storm: ${KILLS} SIGKILLs of the records child, every record intact`, async (t) => {
  const work = scratch(t);
  const dir = work.dir;
  const log = `${dir}/records.log`;
  const host = work.start(['--dir', `${dir}/state`, '--interval', '50ms', '--size', '1M', '--restart-delay', '0ms', '--max-restarts', '1000',
    '--keep', '1000', '--', process.execPath, fixture('records.js'), '--rate', '3000', '--log', log]);
  let checked = 0;
  for (let kill = 1; kill <= KILLS; kill++) {
    await nthMatch(host.stdout, /records: resumed at (\d+)/, kill);
    const pid = Number((await nthMatch(host.stderr, /started child (\d+)/, kill))[1]);
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 70));
    process.kill(pid, 'SIGKILL');
    const logged = lastLogged(log) ?? 0;
    const resumed = Number((await nthMatch(host.stdout, /records: resumed at (\d+)/, kill + 1))[1]);
    if (resumed < logged) t.fail(`kill ${kill}: index ${logged} was logged as committed, the child resumed at ${resumed}`);
    // The post-mortem image of the memory the restarted child was given (its
    // live memory is being written again, so it is no place to look): the
    // same newest record as the carried-over copy.
    const carried = await nthMatch(host.stderr, /carried the child's memory over .*\(\d+ records, (?:latest record at offset (\d+)|no records)\)/, kill);
    const sequence = Number((await nthMatch(host.stderr, /captured generation (\d+) \(post-mortem\)/, kill))[1]);
    const { indexes, latestOffset } = recordsIn(t, `${dir}/state/gen-${String(sequence).padStart(16, '0')}.img`);
    t.equal(String(latestOffset ?? 'none'), carried[1] ?? 'none', `kill ${kill}: the image and the carried-over memory end at the same record`);
    checked += indexes.length;
    const behind = indexes.findIndex((v, i) => i > 0 && v !== indexes[i - 1]! + 1);
    if (behind >= 0) t.fail(`kill ${kill}: record indexes are not consecutive at ${indexes[behind]}`);
    if (indexes.length > 0 && indexes.at(-1)! < resumed) t.fail(`kill ${kill}: the newest record ${indexes.at(-1)} is older than the resume point ${resumed}`);
  }
  t.ok(checked > KILLS, `${checked} records checked intact across ${KILLS} restarts`);
});

const CONSTANT_KILLS = Number(process.env.SHM_HOST_CONSTANT_STORM_KILLS ?? 300);

t.test(`kill storm at a constant 10 ms delay: ${CONSTANT_KILLS} SIGKILLs, nothing lost, no give-up before --max-restarts`, async (t) => {
  const work = scratch(t);
  const dir = work.dir;
  const log = `${dir}/records.log`;
  const host = work.start(['--dir', `${dir}/state`, '--interval', '50ms', '--size', '1M', '--restart-delay', '10ms', '--restart-max-delay', '10ms',
    '--max-restarts', String(CONSTANT_KILLS), '--restart-window', '1h', '--keep', '3',
    '--', process.execPath, fixture('records.js'), '--rate', '3000', '--log', log]);
  let lost = 0;
  for (let kill = 1; kill <= CONSTANT_KILLS + 1; kill++) {
    // The child decodes its latest record when it resumes: a torn one makes it fail instead.
    await nthMatch(host.stdout, /records: resumed at (\d+)/, kill, 30_000);
    const pid = Number((await nthMatch(host.stderr, /started child (\d+)/, kill))[1]);
    await new Promise((r) => setTimeout(r, Math.random() * 20));
    process.kill(pid, 'SIGKILL');
    if (kill > CONSTANT_KILLS) break;
    const logged = lastLogged(log) ?? 0;
    const resumed = Number((await nthMatch(host.stdout, /records: resumed at (\d+)/, kill + 1, 30_000))[1]);
    if (resumed < logged) {
      lost += 1;
      t.fail(`kill ${kill}: index ${logged} was logged as committed, the child resumed at ${resumed}`);
    }
    const restart = await nthMatch(host.stderr, /restarting the child \(restart (\d+)\) in (\d+) ms/, kill);
    if (restart[2] !== '10') t.fail(`restart ${restart[1]} waited ${restart[2]} ms, not the constant 10 ms`);
  }
  t.equal(lost, 0, `${CONSTANT_KILLS} restarts, each resumed at or after the last logged record`);
  t.match(await host.exited, { code: 137 }, 'one kill beyond --max-restarts: the host gives up with the child\'s status');
  t.match(host.stderr.lines.join('\n'), new RegExp(`giving up: the child was restarted ${CONSTANT_KILLS} times within 3600s`));
  t.equal(host.stderr.lines.filter((l) => /giving up/.test(l)).length, 1, 'and not before');
  // The newest generation (the last post-mortem capture): every record intact and consecutive.
  const sequence = Number((await nthMatch(host.stderr, /captured generation (\d+) \(post-mortem\)/, 1)).input ? host.stderr.lines.filter((l) => /captured generation \d+ \(post-mortem\)/.test(l)).at(-1)!.match(/generation (\d+)/)![1] : 0);
  const { indexes } = recordsIn(t, `${dir}/state/gen-${String(sequence).padStart(16, '0')}.img`);
  t.ok(indexes.length > 0, `${indexes.length} records intact in the last generation`);
  t.equal(indexes.findIndex((v, i) => i > 0 && v !== indexes[i - 1]! + 1), -1, 'consecutive');
});
