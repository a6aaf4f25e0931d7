import { MAGIC, MAGIC_AT, PAGE_SIZE, WRITE_OFFSET_AT, readExtension, wordsOf, type Extension } from '../format/index.js';
import { Mapping } from '../sys/index.js';

/**
 * A read-only view of a shared file's header page, to tell cheaply whether
 * the child committed since the last capture (write_offset moved) without
 * mapping or scanning the whole file.
 */
export class HeaderWatch {
  #mapping: Mapping;

  constructor(fd: number) {
    this.#mapping = Mapping.map(fd, PAGE_SIZE);
  }

  /** The live write_offset, or null while no writer configured the file. */
  writeOffset(): bigint | null {
    const words = wordsOf(this.#mapping.bytes);
    if (words.load(MAGIC_AT) !== MAGIC) return null;
    return words.load(WRITE_OFFSET_AT);
  }

  /**
   * durable_offset and snapshot_seq as the child reads them from this
   * header (docs/FORMAT.md section 5), or null while no writer configured
   * the file: the one source of what is durable, for the host's status too.
   */
  durable(): Extension | null {
    const bytes = this.#mapping.bytes;
    if (wordsOf(bytes).load(MAGIC_AT) !== MAGIC) return null;
    return readExtension(bytes);
  }

  close(): void {
    this.#mapping.close();
  }
}
