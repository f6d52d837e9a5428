/**
 * The host management API: what the composition root imports to serve it.
 * See docs/API.md for the endpoints and firmware.ts for what it needs from the firmware.
 */
export * from './firmware';
export { Board, type BoardOptions, type BoardState } from '../board';
export { Enrollments } from './enrollments';
export { ApiError, API_ERRORS, type ApiErrorCode } from './errors';
export { HostLink, type LinkState } from './host-link';
export {
  bootReaderFirmware,
  readerFirmware,
  type ReaderFirmware,
  type ReaderFirmwareOptions,
} from './reader-firmware';
export {
  createApiServer,
  startApi,
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  type ApiServerOptions,
  type RunningApi,
} from './server';
export { serveReader, type ServedReader, type ServedReaderOptions } from './serve';
export { loadOrCreateToken, readToken, TOKEN_FILE } from './token';
