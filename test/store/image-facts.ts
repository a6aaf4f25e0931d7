// What an image's bytes say against its manifest (src/store/image-facts.ts):
// the fields a capture would have written, and the first disagreement in words.
import t from 'tap';
import { fieldsOfImage, imageDisagreement, manifestDisagreement, type ImageFacts, type Manifest } from '../../src/store/index.js';

const records = [{ index: 0, offset: 0n, length: 10 }, { index: 1, offset: 10n, length: 20 }];
const facts: ImageFacts = { configured: true, records, writeOffset: 30n };
const manifest = (fields: Partial<Manifest>): Manifest => ({
  format: 2, sequence: 3, time: '2026-01-01T00:00:00.000Z', imageSize: 12288, kind: 'full', parent: null, chain: { links: 0, bytes: 0 }, delta: null,
  reason: 'interval', checksum: { algorithm: 'xxh3-64/chunks-64KiB', value: '0' },
  configured: true, records: 2, latest: { offset: '10', length: 20 }, writeOffset: '30', ...fields,
}) as Manifest;

t.test('fieldsOfImage: what a capture would have written', async (t) => {
  t.same(fieldsOfImage(facts), { configured: true, records: 2, latest: { offset: '10', length: 20 }, writeOffset: '30' });
  t.same(fieldsOfImage({ configured: true, records: [], writeOffset: 7n }), { configured: true, records: 0, latest: null, writeOffset: '7' });
  t.same(fieldsOfImage({ configured: false }), { configured: false, records: 0, latest: null, writeOffset: '0' });
});

t.test('manifestDisagreement: null when they agree, else the first difference', async (t) => {
  t.equal(manifestDisagreement(facts, manifest({})), null);
  t.match(manifestDisagreement(facts, manifest({ configured: false })), /configured but its manifest says it was captured raw/);
  t.match(manifestDisagreement({ configured: false }, manifest({})), /not configured \(magic is zero\)/);
  t.equal(manifestDisagreement({ configured: false }, manifest({ configured: false, records: 0, latest: null, writeOffset: '0' })), null);
  t.equal(manifestDisagreement(facts, manifest({ records: 3 })), 'the image holds 2 records but its manifest says 3');
  t.equal(manifestDisagreement(facts, manifest({ latest: { offset: '10', length: 21 } })), "the image's latest record (offset 10, 20 bytes) is not the manifest's (offset 10, 21 bytes)");
  t.equal(manifestDisagreement(facts, manifest({ latest: null })), "the image's latest record (offset 10, 20 bytes) is not the manifest's (none)");
  t.equal(manifestDisagreement(facts, manifest({ writeOffset: '31' })), "the image's write_offset 30 is not the manifest's 31");
});

t.test('imageDisagreement: the size first', async (t) => {
  t.equal(imageDisagreement({ ...facts, size: 12288 }, manifest({})), null);
  t.equal(imageDisagreement({ ...facts, size: 4096 }, manifest({ records: 9 })), 'the image has 4096 bytes but its manifest says 12288');
});
