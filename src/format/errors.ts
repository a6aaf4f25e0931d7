import { ShmHostError } from '../errors.js';

/**
 * Something read from a shared file or image breaks the layout. Such bytes
 * are untrusted input: the message says what is wrong in words a person can
 * act on, and `code` lets callers branch without parsing it.
 */
export class FormatError extends ShmHostError {
  declare readonly code: FormatErrorCode;
  /**
   * What is wrong, without the `invalid layout: ` a broken layout's message
   * starts with: a caller that words the problem its own way (a capture's
   * `child wrote an invalid layout: ...`) takes this field.
   */
  readonly detail: string;

  constructor(code: FormatErrorCode, message: string, detail: string = message) {
    super(code, message);
    this.name = 'FormatError';
    this.detail = detail;
  }
}

/** A FormatError for bytes that break the layout: message `invalid layout: <detail>`. */
export const invalidLayoutError = (code: FormatErrorCode, detail: string): FormatError => new FormatError(code, `invalid layout: ${detail}`, detail);

export type FormatErrorCode =
  | 'TOO_SMALL'
  | 'BAD_MAGIC'
  | 'BAD_ENTRY_MASK'
  | 'BAD_DATA_MASK'
  | 'RINGS_DO_NOT_FIT'
  | 'BAD_SLOT'
  | 'BAD_RECORD_SET'
  | 'BAD_CONFIG'
  | 'BAD_DOUBLE_BUFFER';

export const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
