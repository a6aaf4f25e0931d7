// dataRuns on a real sparse memfd: every run in order, holes skipped, and
// with stopAfter only as many runs as hold that many bytes.
import t from 'tap';
import { closeSync, ftruncateSync, writeSync } from 'node:fs';
import { noHoleBelow, dataRuns, memfdCreate } from '../../src/sys/index.js';

const PAGE = 4096;

t.test('the runs of a sparse file, all of them or only the first ones that hold enough', async (t) => {
  const fd = memfdCreate('data-runs-test');
  t.teardown(() => closeSync(fd));
  ftruncateSync(fd, 64 * PAGE);
  for (const page of [2, 3, 10, 40]) writeSync(fd, Buffer.alloc(PAGE, 1), 0, PAGE, page * PAGE);
  const all = dataRuns(fd, 0, 64 * PAGE);
  t.same(all, [[2 * PAGE, 4 * PAGE], [10 * PAGE, 11 * PAGE], [40 * PAGE, 41 * PAGE]], 'each run of pages written, holes between');
  t.same(dataRuns(fd, 0, 64 * PAGE, 2 * PAGE), all.slice(0, 1), 'the first run holds 2 pages: it is enough');
  t.same(dataRuns(fd, 0, 64 * PAGE, 2 * PAGE + 1), all.slice(0, 2), 'one byte more needs the second');
  t.same(dataRuns(fd, 0, 64 * PAGE, 100 * PAGE), all, 'more than the file holds: every run');
  t.same(dataRuns(fd, 3 * PAGE, 10 * PAGE), [[3 * PAGE, 4 * PAGE]], 'runs are cut at the range');
});

t.test('noHoleBelow: a memory file with no hole, and one with a single hole page', async (t) => {
  const fd = memfdCreate('allocated-through-test');
  t.teardown(() => closeSync(fd));
  ftruncateSync(fd, 64 * PAGE);
  t.notOk(noHoleBelow(fd, 64 * PAGE), 'all holes');
  for (let page = 0; page < 64; page++) if (page !== 37) writeSync(fd, Buffer.alloc(PAGE, 1), 0, PAGE, page * PAGE);
  t.notOk(noHoleBelow(fd, 64 * PAGE), 'one hole page is enough to say no');
  t.notOk(noHoleBelow(fd, 30 * PAGE), 'nor below it: the whole file is weighed');
  writeSync(fd, Buffer.alloc(PAGE, 1), 0, PAGE, 37 * PAGE);
  t.ok(noHoleBelow(fd, 64 * PAGE), 'every page written');
  t.same(dataRuns(fd, 0, 64 * PAGE), [[0, 64 * PAGE]], 'as dataRuns says');
  t.notOk(noHoleBelow(fd, 65 * PAGE), 'not past the end of the file');
});
