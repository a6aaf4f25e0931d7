// Images whose header and entry ring alone exceed what the readers take into
// memory (4 GiB): verify and the inspection reader refuse them with a reason,
// never allocate them and never fail as a bug.
import t from 'tap';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { CHECKSUM_ALGORITHM, planLayout, writeHeader } from '../../src/format/index.js';
import { ImageFile, SnapshotStore, type Generation, type Manifest } from '../../src/store/index.js';
import { scratchDir } from './helpers.js';

const GiB = 2 ** 30;

t.test('an image with a 4 GiB entry ring: verify says why, inspect refuses', async (t) => {
  const dir = scratchDir(t);
  const imagePath = `${dir}/huge-ring.img`;
  const size = 5 * GiB;
  const page = new Uint8Array(4096);
  writeHeader(page, planLayout(size, 2 ** 28, 4096));
  const fd = openSync(imagePath, 'w');
  writeSync(fd, page, 0, page.length, 0);
  ftruncateSync(fd, size);
  closeSync(fd);
  const manifest = {
    format: 1, sequence: 1, time: new Date(0).toISOString(), reason: 'request', imageSize: size,
    checksum: { algorithm: CHECKSUM_ALGORITHM, value: '0000000000000000' }, configured: true, records: 0, latest: null, writeOffset: '0',
  } as unknown as Manifest;
  const generation: Generation = { sequence: 1, manifest, imagePath, manifestPath: `${dir}/huge-ring.json` };
  const store = await SnapshotStore.open(`${dir}/store`, { readOnly: false });
  t.teardown(() => store.close());
  t.same(await store.verify(generation), {
    ok: false,
    reason: `the image's header and entry ring take ${4096 + 2 ** 32} bytes, more than verify reads into memory (4 GiB)`,
  });
  const image = await ImageFile.open(imagePath);
  t.teardown(() => image.close());
  await t.rejects(image.inspect(), { name: 'FormatError', code: 'RINGS_DO_NOT_FIT', message: /more than this command can inspect \(4 GiB\)/ });
});
