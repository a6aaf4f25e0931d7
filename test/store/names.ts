// The names of a snapshot directory's files: one format/parse pair.
import t from 'tap';
import {
  TEMP_PREFIX, generationFileName, generationPaths, isTemporaryName, parseGenerationFileName, temporaryName,
} from '../../src/store/names.js';

t.test('names sort by sequence and parse back', async (t) => {
  t.equal(generationFileName(42, 'image'), 'gen-0000000000000042.img');
  t.equal(generationFileName(42, 'manifest'), 'gen-0000000000000042.json');
  t.same(parseGenerationFileName('gen-0000000000000042.img'), { sequence: 42, kind: 'image' });
  t.same(parseGenerationFileName('gen-0000000000000042.json'), { sequence: 42, kind: 'manifest' });
  for (const other of ['gen-42.img', 'gen-0000000000000000.img', 'gen-0000000000000042.txt', `${TEMP_PREFIX}gen-0000000000000042.img`, 'lock']) {
    t.equal(parseGenerationFileName(other), null, other);
  }
  t.throws(() => generationFileName(0, 'image'), RangeError);
  t.ok(generationFileName(9, 'image') < generationFileName(10, 'image'), 'fixed width sorts');
});

t.test('temporary names are recognisable debris', async (t) => {
  t.equal(temporaryName('gen-0000000000000001.img'), '.tmp-gen-0000000000000001.img');
  t.ok(isTemporaryName(temporaryName('x')));
  t.notOk(isTemporaryName('gen-0000000000000001.img'));
  t.same(generationPaths('/d', 1), { imagePath: '/d/gen-0000000000000001.img', manifestPath: '/d/gen-0000000000000001.json' });
});
