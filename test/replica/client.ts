// The replica client's pure helpers (src/replica/client.ts): the shape of a
// key, and reading a small object whole.
import t from 'tap';
import { checkKey, readWhole } from '../../src/replica/client.js';

t.test('checkKey: "/"-separated parts, none empty, "." or ".."', async (t) => {
  for (const key of ['lease.json', 'generations/0000000000000042.json', 'generations/0000000000000042/gen-0000000000000042.img']) {
    t.equal(checkKey(key), key, key);
  }
  for (const key of ['', '/a', 'a/', 'a//b', '.', '..', 'a/../b', 'a/./b']) {
    t.throws(() => checkKey(key), { name: 'RangeError', message: /malformed replica key/ }, JSON.stringify(key));
  }
});

t.test('readWhole: every chunk, in order', async (t) => {
  async function* body() {
    yield new Uint8Array([1, 2]);
    yield new Uint8Array([]);
    yield new Uint8Array([3]);
  }
  t.same([...(await readWhole({ bytes: 3, body: body() }))], [1, 2, 3]);
});
