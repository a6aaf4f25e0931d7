// The manifest as the store writes it and reads it back (untrusted JSON).
import t from 'tap';
import { ManifestError, buildManifest, parseManifest, serializeManifest } from '../../src/store/manifest.js';

const fields = {
  reason: 'interval' as const,
  checksum: { algorithm: 'xxh3-64/chunks-1MiB', value: '0123456789abcdef' },
  configured: true,
  records: 2,
  latest: { offset: '18446744073709551000', length: 24 },
  writeOffset: '18446744073709551024',
};

t.test('a built manifest parses back to itself, offsets past 2^53 included', async (t) => {
  const m = buildManifest(7, new Date('2026-01-02T03:04:05.000Z'), 65536, fields);
  const text = serializeManifest(m);
  t.ok(text.endsWith('}\n'));
  t.same(parseManifest(text, 7), m);
});

t.test('a salvage record is written only when there is one, and parses back; a manifest without it, or with a field unknown here, reads', async (t) => {
  const salvaged = { sequence: 3, checksum: '3782ef824e837bf8', problem: 'its image\'s checksum is 58eb5b3036e55ce9, its manifest\'s 3782ef824e837bf8' };
  const m = buildManifest(7, new Date('2026-01-02T03:04:05.000Z'), 65536, { ...fields, reason: 'import', salvaged });
  t.same(parseManifest(serializeManifest(m), 7).salvaged, salvaged);
  const clean = serializeManifest(buildManifest(7, new Date(), 65536, { ...fields, salvaged: null }));
  t.notOk('salvaged' in JSON.parse(clean), 'absent from a clean manifest');
  t.notOk('salvaged' in parseManifest(clean, 7));
  t.notOk('salvaged' in parseManifest(JSON.stringify({ ...JSON.parse(clean), salvaged: null }), 7), 'null reads as none');
  t.equal(parseManifest(JSON.stringify({ ...JSON.parse(clean), later: [1] }), 7).sequence, 7, 'an unknown field is read past');
});

t.test('each broken field is named; only ManifestError is thrown', async (t) => {
  const good = JSON.parse(serializeManifest(buildManifest(7, new Date(), 65536, fields))) as Record<string, unknown>;
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['{"format":1', /not valid JSON/],
    ['[]', /not a JSON object/],
    [JSON.stringify({ ...good, format: 3 }), /unknown manifest format 3/],
    [JSON.stringify({ ...good, kind: 'delta' }), /delta has no valid parent/],
    [JSON.stringify({ ...good, kind: 'delta', parent: 7 }), /delta has no valid parent/],
    [JSON.stringify({ ...good, kind: 'delta', parent: 3, chain: { links: 1, bytes: 10 }, delta: null }), /no valid delta fields/],
    [JSON.stringify({ ...good, parent: 3 }), /full generation names a parent/],
    [JSON.stringify({ ...good, chain: null }), /no valid chain/],
    [JSON.stringify({ ...good, sequence: 8 }), /says sequence 8, but its file name says 7/],
    [JSON.stringify({ ...good, reason: 'whim' }), /unknown reason "whim"/],
    [JSON.stringify({ ...good, records: 0 }), /counts 0 records but has a latest record/],
    [JSON.stringify({ ...good, writeOffset: '18446744073709551616' }), /no valid writeOffset/],
    [JSON.stringify({ ...good, salvaged: { sequence: 0, checksum: 'x', problem: 'y' } }), /invalid salvaged record/],
    [JSON.stringify({ ...good, salvaged: 'yes' }), /invalid salvaged record/],
  ];
  for (const [text, message] of cases) {
    const err = (() => {
      try {
        parseManifest(text, 7);
        return null;
      } catch (e) {
        return e;
      }
    })();
    t.ok(err instanceof ManifestError, text);
    t.match((err as Error).message, message, text);
  }
});
