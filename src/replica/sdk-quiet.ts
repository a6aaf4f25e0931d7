// The AWS SDK's own notices, kept out of the host's one-line logs.

/**
 * Runs `make` (an S3Client constructor) without the SDK's Node 20 support
 * notice: a warning about SDK versions we do not use yet, printed over the
 * host's one-line logs. The variable is the SDK's own switch, set only for
 * the synchronous constructor, so the child's environment stays as it was.
 */
export function quietly<T>(make: () => T): T {
  const key = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  const before = process.env[key];
  process.env[key] = 'true';
  try {
    return make();
  } finally {
    if (before === undefined) delete process.env[key];
    else process.env[key] = before;
  }
}
