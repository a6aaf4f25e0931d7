// The export file's framing: header, trailer and embedded manifest, each refused in one line when wrong.
import t from 'tap';
import {
  EXPORT_HEADER_SIZE, ExportFormatError, MAX_EXPORT_IMAGE_BYTES, MAX_EXPORT_MANIFEST_BYTES, TRAILER_SIZE,
  checkTrailer, decodeExportHeader, encodeExportHeader, encodeTrailer, exportFileSize, exportHash, looksLikeExport, parseEmbeddedManifest,
} from '../../src/store/export-format.js';

const refuses = (t: Tap.Test, f: () => unknown, pattern: RegExp): void => {
  try {
    f();
    t.fail(`expected an ExportFormatError matching ${pattern}`);
  } catch (err) {
    t.ok(err instanceof ExportFormatError, 'an ExportFormatError');
    t.equal((err as ExportFormatError).code, 'BAD_EXPORT');
    t.match((err as Error).message, pattern);
  }
};

t.test('a header round-trips and sizes the file', async (t) => {
  const header = { manifestLength: 300, imageLength: 65536 };
  const bytes = encodeExportHeader(header);
  t.equal(bytes.length, EXPORT_HEADER_SIZE);
  t.ok(looksLikeExport(bytes));
  t.same(decodeExportHeader(bytes), header);
  t.equal(exportFileSize(header), 48 + 300 + 65536 + 40);
});

t.test('every damaged header field is named', async (t) => {
  const good = (): Buffer => Buffer.from(encodeExportHeader({ manifestLength: 10, imageLength: 10 }));
  refuses(t, () => decodeExportHeader(new Uint8Array(0)), /empty/);
  refuses(t, () => decodeExportHeader(good().subarray(0, 20)), /less than the 48-byte header/);
  const magic = good(); magic[0] = 0x41;
  t.notOk(looksLikeExport(magic));
  refuses(t, () => decodeExportHeader(magic), /export magic/);
  const version = good(); version.writeUInt32LE(2, 8);
  refuses(t, () => decodeExportHeader(version), /unsupported export version 2/);
  const size = good(); size.writeUInt32LE(64, 12);
  refuses(t, () => decodeExportHeader(size), /header size 64/);
  const noManifest = good(); noManifest.writeBigUInt64LE(0n, 16);
  refuses(t, () => decodeExportHeader(noManifest), /a manifest of 0 bytes/);
  const hugeManifest = good(); hugeManifest.writeBigUInt64LE(BigInt(MAX_EXPORT_MANIFEST_BYTES + 1), 16);
  refuses(t, () => decodeExportHeader(hugeManifest), /a manifest of 65537 bytes/);
  const hugeImage = good(); hugeImage.writeBigUInt64LE(BigInt(MAX_EXPORT_IMAGE_BYTES) + 1n, 24);
  refuses(t, () => decodeExportHeader(hugeImage), /at most 1 TiB/);
  const reserved = good(); reserved[40] = 1;
  refuses(t, () => decodeExportHeader(reserved), /reserved bytes/);
});

t.test('the trailer carries the SHA-256 of everything before it', async (t) => {
  const digest = exportHash().update('contents').digest();
  const trailer = encodeTrailer(digest);
  t.equal(trailer.length, TRAILER_SIZE);
  t.doesNotThrow(() => checkTrailer(trailer, digest));
  refuses(t, () => checkTrailer(trailer.subarray(0, 39), digest), /truncated or damaged/);
  const other = exportHash().update('Contents').digest();
  refuses(t, () => checkTrailer(trailer, other), /SHA-256 does not match/);
});

t.test('the embedded manifest is checked like a stored one', async (t) => {
  const manifest = {
    format: 1, sequence: 4, time: '2026-01-01T00:00:00.000Z', reason: 'interval', imageSize: 65536,
    checksum: { algorithm: 'xxh3-64/chunks-1MiB', value: '0123456789abcdef' }, configured: true, records: 0, latest: null, writeOffset: '0',
  };
  t.equal(parseEmbeddedManifest(Buffer.from(JSON.stringify(manifest))).sequence, 4);
  refuses(t, () => parseEmbeddedManifest(Buffer.from('{')), /not valid JSON/);
  refuses(t, () => parseEmbeddedManifest(Buffer.from(JSON.stringify({ ...manifest, sequence: 0 }))), /no valid sequence/);
  refuses(t, () => parseEmbeddedManifest(Buffer.from(JSON.stringify({ ...manifest, records: 2 }))), /the export is damaged: .*records/);
});
