// What commit() takes (issue 11): the bytes of any typed array, DataView or
// ArrayBuffer; a string or any other value is a TypeError naming what it
// got, thrown before anything is stored. Before this, a Float64Array
// committed one byte per element (its values truncated), a string or
// { length: 3 } committed bytes of zeros, and a number was a RangeError
// about an empty record.
import t, { type Test } from 'tap';
import { closeSync, ftruncateSync } from 'node:fs';
import { memfdCreate } from '../../src/sys/index.js';
import { attach, DoubleBuffer } from '../../src/client/index.js';

function fresh(t: Test) {
  const fd = memfdCreate('commit-arguments');
  ftruncateSync(fd, 1 << 20);
  const state = attach({ fd, env: {} });
  t.teardown(() => { state.close(); closeSync(fd); });
  return state;
}

t.test('typed arrays, DataViews and ArrayBuffers commit their bytes', async (t) => {
  const state = fresh(t);
  const f64 = new Float64Array([1.5, -2]);
  state.commit(f64);
  t.same(state.latest(), new Uint8Array(f64.buffer), 'a Float64Array: its 16 bytes, not 2 truncated values');
  const u16 = new Uint16Array([0x0102, 0x0304]).subarray(1);
  state.commit(u16);
  t.same(state.latest(), new Uint8Array([0x04, 0x03]), 'a subarray: exactly its own bytes, little-endian');
  const backing = new Uint8Array([9, 8, 7, 6, 5]);
  state.commit(new DataView(backing.buffer, 1, 3));
  t.same(state.latest(), new Uint8Array([8, 7, 6]), 'a DataView: its window');
  state.commit(backing.buffer);
  t.same(state.latest(), backing, 'an ArrayBuffer: all of it');
  state.commit(Buffer.from('hé'));
  t.same(state.latest(), new Uint8Array([0x68, 0xc3, 0xa9]), 'a Buffer is a Uint8Array');
  t.throws(() => state.commit(new Float64Array(0)), RangeError, 'an empty typed array is an empty record');
});

t.test('anything else is a TypeError naming it, and nothing is stored', async (t) => {
  const state = fresh(t);
  state.commit(new Uint8Array([1]));
  const before = state.writeOffset;
  const cases: [string, unknown, RegExp][] = [
    ['a string', 'abc', /takes bytes, not a string: encode it first/],
    ['an empty string', '', /not a string/],
    ['an array-like', { length: 3 }, /got an object \(Object\)/],
    ['a plain array', [1, 2, 3], /got an object \(Array\)/],
    ['a number', 42, /got a number \(42\)/],
    ['a bigint', 42n, /got a bigint/],
    ['null', null, /got null/],
    ['undefined', undefined, /got undefined/],
    ['a Map', new Map(), /got an object \(Map\)/],
  ];
  for (const [name, value, message] of cases) {
    t.throws(() => state.commit(value as Uint8Array), { name: 'TypeError', message }, name);
  }
  t.equal(state.writeOffset, before, 'no record was committed');
  t.same(state.records().map((r) => [...r.data]), [[1]], 'the file holds only the first record');
  const region = new DoubleBuffer(state, 1024);
  t.throws(() => region.write('text' as unknown as Uint8Array), { name: 'TypeError', message: /DoubleBuffer.write\(\) takes bytes/ }, 'DoubleBuffer.write too');
});
