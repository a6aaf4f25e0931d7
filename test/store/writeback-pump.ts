// WritebackPump: at most one writeback request in flight; what is written
// meanwhile goes into the next request, merged; idle() waits for that one
// too. Driven by a StoreFs whose requests wait on a gate the test opens.
import t from 'tap';
import { realStoreFs, type StoreFs } from '../../src/store/index.js';
import { WritebackPump } from '../../src/store/writeback-pump.js';

/** A StoreFs whose startWriteback records each request and resolves it only when open() is called. */
function gated(): { sfs: StoreFs; asked: Array<[number, number]>; open: () => void } {
  const asked: Array<[number, number]> = [];
  let release: Array<() => void> = [];
  const sfs: StoreFs = {
    ...realStoreFs,
    startWriteback: (_fd, offset, length) => {
      asked.push([offset, offset + length]);
      return new Promise((resolve) => release.push(() => resolve(true)));
    },
  };
  const open = (): void => {
    const now = release;
    release = [];
    for (const r of now) r();
  };
  return { sfs, asked, open };
}

const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

t.test('one request at a time; the bytes written meanwhile merged into the next; idle() waits for it', async (t) => {
  const { sfs, asked, open } = gated();
  const pump = new WritebackPump(sfs, 99, 4096);
  pump.written(4096 + 1024);
  pump.written(4096 + 2048);
  pump.written(4096 + 3072);
  await turns();
  t.same(asked, [[4096, 5120]], 'one request, for what was written when it was asked');
  let idle = false;
  const waiting = pump.idle().then(() => (idle = true));
  open();
  await turns();
  t.same(asked, [[4096, 5120], [5120, 7168]], 'then one for the rest, merged');
  t.notOk(idle, 'idle() still waits: the second request is in flight');
  open();
  await waiting;
  t.ok(idle, 'and resolves once it has returned');
  t.same(asked.length, 2, 'nothing more to ask for');
});

t.test('a request that rejects or throws leaves the pump working', async (t) => {
  for (const failure of ['reject', 'throw'] as const) {
    const asked: number[] = [];
    const sfs: StoreFs = {
      ...realStoreFs,
      startWriteback: (_fd, offset) => {
        asked.push(offset);
        if (failure === 'throw') throw new Error('EBADF');
        return Promise.reject(new Error('EIO'));
      },
    };
    const pump = new WritebackPump(sfs, 99, 0);
    pump.written(100);
    await pump.idle();
    pump.written(200);
    await pump.idle();
    t.same(asked, [0, 100], `${failure}: each written range asked for once`);
  }
});

t.test('a StoreFs without startWriteback: nothing asked, idle() at once', async (t) => {
  const { startWriteback: _none, ...rest } = realStoreFs;
  const pump = new WritebackPump(rest as StoreFs, 99, 0);
  pump.written(1 << 20);
  let idle = false;
  void pump.idle().then(() => (idle = true));
  await turns(1);
  t.ok(idle, 'idle() resolved within a turn: nothing was in flight');
});
