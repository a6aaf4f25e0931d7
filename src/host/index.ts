// The supervisor: shared file, child processes, signals, restarts.
export { Supervisor, supervise, type SupervisorOptions } from './supervisor.js';
export { HostState } from './host-state.js';
export { RestartPolicy, type RestartMode, type RestartPolicyOptions, type RestartDecision } from './restart-policy.js';
export { createLogger, type Logger, type LogFormat, type LogLevel } from './logger.js';
export {
  CommandNotFoundError, MissingToolError, describeExit, exitStatus, resolveCommand, startChild, childEnvironment, trampoline,
  type ChildExit, type StartedChild,
} from './child-process.js';
export { killGroupAndWait, signalGroup } from './process-group.js';
export { inheritedSharedFile } from './inherited-file.js';
export { createSharedFile } from '../live/index.js';
