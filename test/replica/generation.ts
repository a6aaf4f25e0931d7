// The replicator's view of a local generation (src/replica/generation.ts):
// its size, and the shape check that catches a bad adapter before upload.
import t from 'tap';
import { checkGeneration, generationBytes, type LocalGeneration } from '../../src/replica/generation.js';

const file = (name: string, bytes: number) => ({ name, path: `/d/${name}`, bytes });
const good: LocalGeneration = { sequence: 5, parent: 4, offset: '9007199254740993', files: [file('gen-5.delta', 100)], manifest: file('gen-5.manifest.json', 10) };

t.test('generationBytes counts the manifest too', async (t) => {
  t.equal(generationBytes(good), 110);
});

t.test('checkGeneration passes a good one through, and names the field of a bad one', async (t) => {
  t.equal(checkGeneration(good), good);
  t.equal(checkGeneration({ sequence: 1, files: [], manifest: file('m', 0) }).sequence, 1, 'a full generation: no parent, no offset');
  const bad: Array<[Partial<LocalGeneration>, RegExp]> = [
    [{ sequence: 0 }, /sequence must be a positive integer/],
    [{ sequence: 1.5 }, /sequence must be a positive integer/],
    [{ offset: '12e3' }, /offset must be a decimal string/],
    [{ parent: 5 }, /parent 5 must be an older sequence/],
    [{ parent: 0 }, /parent 0 must be an older sequence/],
    [{ files: [file('a/b', 1)] }, /bad or repeated file name "a\/b"/],
    [{ files: [file('..', 1)] }, /bad or repeated file name/],
    [{ files: [file('gen-5.manifest.json', 1)] }, /bad or repeated file name "gen-5.manifest.json"/],
    [{ files: [file('x', -1)] }, /file x has a bad size -1/],
  ];
  for (const [change, message] of bad) t.throws(() => checkGeneration({ ...good, ...change }), { name: 'RangeError', message }, JSON.stringify(change));
});
