// DeltaTip (src/store/delta-tip.ts): which generation the next capture may
// write a delta against (docs/FORMAT.md section 9): the one remembered, when
// its digests fit the current checksum, the image did not shrink and the
// chain stays within its limits.
import t from 'tap';
import { BLOCK_SIZE, ChunkDigests, CHECKSUM_ALGORITHM, IMAGE_CHECKSUM_ALGORITHM, IMAGE_CHUNK_SIZE, type Generation } from '../../src/store/index.js';
import { DeltaTip } from '../../src/store/delta-tip.js';
import { BlockDigests } from '../../src/format/index.js';

const SIZE = 4 * IMAGE_CHUNK_SIZE;
const generation = (chain = { links: 0, bytes: 0 }, algorithm = IMAGE_CHECKSUM_ALGORITHM, imageSize = SIZE): Generation => ({
  sequence: 7, imagePath: '/d/gen-7.img', manifestPath: '/d/gen-7.manifest.json',
  manifest: { imageSize, chain, checksum: { algorithm, value: '0' } },
} as unknown as Generation);
const limits = { maxChain: 10, maxChainRatio: 0.25 };

t.test('nothing remembered: a full generation', async (t) => {
  t.equal(new DeltaTip().parentFor(SIZE, limits), null);
});

t.test('the remembered generation, for an image of its size or larger', async (t) => {
  const tip = new DeltaTip();
  const g = generation();
  const digests = new ChunkDigests(SIZE, IMAGE_CHUNK_SIZE, true);
  tip.remember(g, digests);
  t.same(tip.parentFor(SIZE, limits), { generation: g, digests, blocks: null, chain: null });
  const blocks = new BlockDigests(SIZE);
  tip.remember(g, digests, blocks);
  t.equal(tip.parentFor(SIZE, limits)?.blocks, blocks, 'with its block digests');
  tip.remember(g, digests, new BlockDigests(SIZE * 2));
  t.equal(tip.parentFor(SIZE, limits)?.blocks, null, 'block digests of another image size are not kept');
  t.equal(tip.parentFor(SIZE, limits)?.digests, digests, 'but the chunk digests are');
  t.equal(tip.parentFor(SIZE * 2, limits)?.generation, g, 'a grown file');
  t.equal(tip.parentFor(SIZE - BLOCK_SIZE, limits), null, 'a smaller image: full');
  tip.forget();
  t.equal(tip.parentFor(SIZE, limits), null, 'forgotten: full');
});

t.test('digests it cannot compare with are forgotten at once', async (t) => {
  const tip = new DeltaTip();
  tip.remember(generation(), new ChunkDigests(SIZE, 1 << 20));
  t.equal(tip.parentFor(SIZE, limits), null, 'another chunk size');
  tip.remember(generation({ links: 0, bytes: 0 }, CHECKSUM_ALGORITHM), new ChunkDigests(SIZE, IMAGE_CHUNK_SIZE, true));
  t.equal(tip.parentFor(SIZE, limits), null, 'a manifest of an older checksum');
  tip.remember(generation(), new ChunkDigests(SIZE * 2, IMAGE_CHUNK_SIZE, true));
  t.equal(tip.parentFor(SIZE, limits), null, 'digests of another image size');
  tip.remember(generation(), new ChunkDigests(SIZE, IMAGE_CHUNK_SIZE));
  t.equal(tip.parentFor(SIZE, limits), null, 'digests without their 128-bit halves (not wide)');
});

t.test('the chain limits: links and the deltas\' bytes against the image', async (t) => {
  const tip = new DeltaTip();
  const digests = new ChunkDigests(SIZE, IMAGE_CHUNK_SIZE, true);
  tip.remember(generation({ links: 9, bytes: 0 }), digests);
  t.ok(tip.parentFor(SIZE, limits), 'the 10th delta is allowed');
  tip.remember(generation({ links: 10, bytes: 0 }), digests);
  t.equal(tip.parentFor(SIZE, limits), null, 'an 11th is not');
  tip.remember(generation({ links: 1, bytes: SIZE / 4 - 1 }), digests);
  t.ok(tip.parentFor(SIZE, limits), 'deltas holding just under a quarter of the image: still allowed');
  tip.remember(generation({ links: 1, bytes: SIZE / 4 }), digests);
  t.equal(tip.parentFor(SIZE, limits), null, 'a quarter reached: full');
  tip.remember(generation(), digests);
  t.equal(tip.parentFor(SIZE, { maxChain: 10, maxChainRatio: 0 }), null, 'maxChainRatio 0: full, even on a full parent');
  t.equal(tip.parentFor(SIZE, { maxChain: 0, maxChainRatio: 10 }), null, 'maxChain 0: every generation full');
});

t.test('the chain is known: a full generation\'s, a delta\'s written against the tip, or one given (a restore\'s)', async (t) => {
  const digests = new ChunkDigests(SIZE, IMAGE_CHUNK_SIZE, true);
  const link = (sequence: number, parent: number | null): Generation => ({
    sequence, imagePath: `/d/gen-${sequence}`, manifestPath: `/d/gen-${sequence}.json`,
    manifest: { kind: parent === null ? 'full' : 'delta', parent, imageSize: SIZE, chain: { links: 0, bytes: 0 }, checksum: { algorithm: IMAGE_CHECKSUM_ALGORITHM, value: '0' } },
  } as unknown as Generation);
  const [full, d1, d2, other] = [link(1, null), link(2, 1), link(3, 2), link(9, 8)];
  const tip = new DeltaTip();
  tip.remember(full, digests);
  t.same(tip.parentFor(SIZE, limits)?.chain, [full], 'a full generation: itself');
  tip.remember(d1, digests);
  tip.remember(d2, digests);
  t.same(tip.parentFor(SIZE, limits)?.chain?.map((g) => g.sequence), [3, 2, 1], 'deltas written one on another: their parent\'s chain and themselves');
  tip.remember(other, digests);
  t.equal(tip.parentFor(SIZE, limits)?.chain, null, 'a delta of another parent: not known (its manifests are read)');
  tip.remember(d2, digests, null, [d2, d1, full]);
  t.same(tip.parentFor(SIZE, limits)?.chain?.map((g) => g.sequence), [3, 2, 1], 'given with it (a restore)');
  tip.remember(d2, digests, null, [d1, full]);
  t.equal(tip.parentFor(SIZE, limits)?.chain, null, 'given, but not starting with it: ignored');
});
