import { ShmHostError } from '../errors.js';

/**
 * Something read from a shared file or image breaks the layout. Such bytes
 * are untrusted input: the message says what is wrong in words a person can
 * act on, and `code` lets callers branch without parsing it.
 */
export class FormatError extends ShmHostError {
  declare readonly code: FormatErrorCode;

  constructor(code: FormatErrorCode, message: string) {
    super(code, message);
    this.name = 'FormatError';
  }
}

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
