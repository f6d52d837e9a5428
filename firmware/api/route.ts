import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../foundation/clock';
import { ApiError, type ApiErrorCode } from './errors';
import type { Board } from '../board';
import type { BleRadioStatus } from '../ports';
import type { RunningReader } from '../running-reader';
import type { FleetDirectory } from './fleet';
import type { HostLink } from './host-link';
import type { JsonSchema } from './schemas';
import type { RowSink } from './streaming-body';

/**
 * Who may call a route:
 * - public: no token (health, for a container HEALTHCHECK);
 * - host:   token, and only while the host link is up (the management system's calls);
 * - local:  token, whatever the link (status, the OpenAPI document, simulator controls:
 *           they stand for someone at the reader, not the network).
 */
export type RouteAccess = 'public' | 'host' | 'local';

export interface RouteCall {
  /** The running reader; the server answers 503 booting before calling when there is none. */
  reader: RunningReader;
  board: Board;
  link: HostLink;
  clock: Clock;
  /** The reader's BLE radio, when it has one. */
  ble?: BleRadioStatus;
  /** The readers behind this API when it serves a site (fleet routes); undefined for one reader. */
  fleet?: FleetDirectory;
  body: unknown;
  query: Record<string, string | undefined>;
  params: Record<string, string>;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** Path below /api/v1, fastify syntax (":id"). */
  path: string;
  summary: string;
  tag: string;
  access: RouteAccess;
  /** false: answers without a running reader (health, power-cycle). Default true. */
  needsFirmware?: boolean;
  body?: JsonSchema;
  querystring?: JsonSchema;
  params?: JsonSchema;
  /** Larger bodies get 413 (default: the server's small-body limit). */
  bodyLimit?: 'database';
  /**
   * A streamed body's top-level tables go row by row to this sink instead of into arrays;
   * the handler's body is what the sink's `end` answers (needs a running reader).
   */
  bodyRows?: (reader: RunningReader) => RowSink;
  /** Success status when not 200. */
  status?: number;
  /** Server-sent events: the handler writes to reply.raw itself. */
  stream?: boolean;
  /** The success answer's schema (responses.ts): published, and checked against real answers. */
  response?: JsonSchema;
  /** Errors this route itself can answer, beyond those every route of its kind can. */
  errors?: ApiErrorCode[];
  handle(call: RouteCall): unknown;
}

export const API_PREFIX = '/api/v1';

export function notFound(what: string): ApiError {
  return new ApiError('not_found', `${what} not found`);
}
