// The replica options `list --replica` and `restore --from` share with
// `run --replica`: where the object storage is. Credentials come only from
// the AWS SDK's default chain (environment, shared files, instance roles).
import type { Argv } from 'yargs';
import type { ReplicaClient } from '../replica/index.js';
import { ShmHostError } from '../errors.js';
import { CommandFailure, UsageError } from './errors.js';
import { cliHint } from './hints.js';

/** Where the object storage is (run, list, restore); `run` parses them on its fast path too. */
export const REPLICA_CONNECTION_OPTIONS = {
  'replica-endpoint': { type: 'string', requiresArg: true, defaultDescription: 'AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or AWS\'s own', describe: 'S3 endpoint URL (Ceph, MinIO, R2...)' },
  'replica-region': { type: 'string', requiresArg: true, defaultDescription: 'AWS_REGION or the shared config', describe: 'S3 region' },
  'replica-path-style': { type: 'boolean', describe: 'Path-style S3 addressing, for gateways without virtual-host buckets' },
} as const;

/** --replica-endpoint, --replica-region, --replica-path-style. */
export function withReplicaConnection<T>(yargs: Argv<T>) {
  return yargs.options(REPLICA_CONNECTION_OPTIONS);
}

/** Checks a replica URL as the user typed it (one line, exit 2 when wrong). */
export function checkReplicaUrl(option: string, url: string): string {
  if (!/^s3:\/\/[^/]+/.test(url) && !/^file:\/\/\//.test(url)) throw new UsageError(`${option} ${url}: not a replica URL`, 'use s3://BUCKET/PREFIX or file:///absolute/path');
  return url;
}

/** The client of replica `url` with the connection options parsed by withReplicaConnection. */
export async function openReplicaFromArgs(option: string, url: string, args: { 'replica-endpoint'?: string; 'replica-region'?: string; 'replica-path-style'?: boolean }): Promise<ReplicaClient> {
  const { openReplicaClient } = await import('../replica/index.js');
  try {
    return openReplicaClient(checkReplicaUrl(option, url), {
      ...(args['replica-endpoint'] === undefined ? {} : { endpoint: args['replica-endpoint'] }),
      ...(args['replica-region'] === undefined ? {} : { region: args['replica-region'] }),
      ...(args['replica-path-style'] === true ? { forcePathStyle: true } : {}),
    });
  } catch (err) {
    throw replicaFailure(err);
  }
}

/**
 * A replica failure as the command's one line, its code prefixed `REPLICA_`
 * for --json: exit 2 for a URL that cannot be used (the command line is
 * wrong, as for a URL that is not s3:// or file:///), else 1.
 */
export function replicaFailure(err: unknown): unknown {
  // By name: importing the replica's class here would load the AWS SDK for every command.
  if (!(err instanceof ShmHostError) || err.name !== 'ReplicaError') return err;
  return new CommandFailure(`REPLICA_${err.code}`, err.problem, cliHint(err) ?? null, { cause: err, exitCode: err.code === 'BAD_URL' ? 2 : 1 });
}
