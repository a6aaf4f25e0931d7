// The live channel between a running host and `shm-host status` / `shm-host snapshot`.
export { startControlServer, type ControlServer, type ControlHandlers, type ControlServerOptions } from './server.js';
export { requestHost, fetchStatus, requestSnapshot } from './client.js';
export { ControlError, type ControlErrorCode } from './errors.js';
export { socketPath, socketAddress, MAX_SOCKET_ADDRESS_BYTES } from './socket-path.js';
export {
  SOCKET_NAME, PROTOCOL_VERSION, MAX_REQUEST_BYTES, MAX_REPLY_BYTES, decodeRequest, encodeLine,
  type HostStatus, type ExitRecord, type RestartTimelineRecord, type CaptureRecord, type SnapshotResult, type ControlRequest, type ControlReply,
} from './protocol.js';
