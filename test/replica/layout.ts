// The replica's key names (src/replica/layout.ts): fixed-width sequences so
// keys sort by sequence, and a parser that knows every key it writes and
// nothing else.
import t from 'tap';
import { GENERATIONS, LEASE_KEY, objectKey, objectPrefix, parseKey, recordKey } from '../../src/replica/layout.js';

t.test('format and parse are inverses', async (t) => {
  t.equal(recordKey(42), 'generations/0000000000000042.json');
  t.equal(objectPrefix(42), 'generations/0000000000000042/');
  t.equal(objectKey(42, 'gen-0000000000000042.img'), 'generations/0000000000000042/gen-0000000000000042.img');
  for (const sequence of [1, 42, 10 ** 15, Number.MAX_SAFE_INTEGER]) {
    t.same(parseKey(recordKey(sequence)), { kind: 'record', sequence });
    t.same(parseKey(objectKey(sequence, 'a.manifest.json')), { kind: 'object', sequence, name: 'a.manifest.json' });
  }
});

t.test('keys sort by sequence', async (t) => {
  const keys = [9, 10, 100, 2].map(recordKey);
  t.same(keys.slice().sort(), [2, 9, 10, 100].map(recordKey));
});

t.test('anything else is not a generation key', async (t) => {
  for (const key of [LEASE_KEY, GENERATIONS, 'generations/42.json', 'generations/0000000000000042.jsonx', 'generations/0000000000000042/',
    'generations/0000000000000042/a/b', 'x/generations/0000000000000042.json', 'generations/000000000000004a.json']) {
    t.equal(parseKey(key), null, key);
  }
});
