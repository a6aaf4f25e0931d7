// The supervisor: shared file hand-off, child processes, signals, restarts,
// the interval schedule and the live channel (control/).
export { Supervisor, supervise } from './supervisor.js';
export { validateSupervisorOptions, type SupervisorOptions } from './options.js';
export { HostState } from './host-state.js';
export {
  RestartPolicy, restartPolicyOptions, MAX_RESTART_DELAY_MS, STABLE_AFTER_MS,
  type RestartMode, type RestartPolicyOptions, type RestartDecision,
} from './restart-policy.js';
export { createLogger, type Logger, type LogFormat, type LogLevel } from './logger.js';
export {
  CommandNotFoundError, MissingToolError, describeExit, exitStatus, resolveCommand, startChild, childEnvironment, trampoline,
  type ChildExit, type StartedChild,
} from './child-process.js';
export { killGroupAndWait, signalGroup } from './process-group.js';
export { inheritedSharedFile } from './inherited-file.js';
export { captureBackoffMs, MAX_CAPTURE_BACKOFF_MS } from './interval.js';
export { createSharedFile } from '../live/index.js';
