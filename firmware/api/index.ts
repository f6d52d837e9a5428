/**
 * The host management API (docs/API.md): an edge in front of a Board. A profile
 * (firmware/profiles/serve.ts) starts it; the routes ask the board for the running reader.
 */
export { ApiError, API_ERRORS, type ApiErrorCode } from './errors';
export { HostLink, type LinkState } from './host-link';
export {
  createApiServer,
  startApi,
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  type ApiServerOptions,
  type ApiTls,
  type RunningApi,
} from './server';
export { loadOrCreateToken, readToken, TOKEN_FILE } from './token';
