// Shared by the format tests. Not a test itself.
import type { Test } from 'tap';
import { FormatError } from '../../src/format/index.js';

/** Asserts that `fn` throws a FormatError with `code` and a message matching `message`. */
export function throwsFormatError(t: Test, fn: () => unknown, code: string, message: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof FormatError, `throws a FormatError (${code})`);
  t.match(caught, { code, message }, `${code}: ${message}`);
}
