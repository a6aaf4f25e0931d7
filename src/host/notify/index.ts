// Talking to systemd as the unit's main process: sd_notify messages, the
// watchdog and the file descriptor store.
export { Notifier, type NotifierOptions, type NotifyFailure, type NotifyResult } from './notifier.js';
export { NOTIFY_VARIABLES, readNotifyEnvironment, withoutNotifyVariables, type NotifyEnvironment } from './environment.js';
export { MAX_STATUS_LENGTH, hostStatus, statusLine } from './messages.js';
export { takeHandover, type ClosedFd, type Handover } from './handover.js';
export { ServiceManagerLink, type ServiceManagerLinkOptions } from './link.js';
