// The supervisor: shared file hand-off, child processes, signals, restarts,
// the interval schedule and the live channel (control/). The package's
// `shm-host/host` entry: supervise() and what its options are made of
// (docs/API.md).
export { Supervisor, supervise } from './supervisor.js';
export { validateSupervisorOptions, type OptionName, type SupervisorOptions } from './options.js';
export {
  RestartPolicy, restartPolicyOptions, MAX_RESTART_DELAY_MS, STABLE_AFTER_MS,
  type RestartMode, type RestartPolicyOptions, type RestartDecision,
} from './restart-policy.js';
export { createLogger, type Logger, type LogFormat, type LogLevel } from './logger.js';
export { CommandNotFoundError, MissingToolError, type ChildExit } from './child-process.js';
export { captureBackoffMs, MAX_CAPTURE_BACKOFF_MS } from './interval.js';
export { createSharedFile } from '../live/index.js';
export { ShmHostError, type ShmHostErrorOptions } from '../errors.js';
