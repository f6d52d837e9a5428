import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyError,
} from 'fastify';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import type { Clock } from '../foundation/clock';
import { ApiError, domainProblem, schemaProblem, type SchemaError } from './errors';
import type { Board } from '../board';
import type { BleRadioStatus } from '../ports';
import {
  fleetRoutes,
  perReaderRoute,
  READER_SCOPE,
  unknownReader,
  type FleetDirectory,
} from './fleet';
import { HostLink } from './host-link';
import { openApiDocument } from './openapi';
import { OpenApiSchema } from './responses';
import { API_PREFIX, type ApiRoute, type RouteAccess } from './route';
import type { JsonSchema } from './schemas';
import { accessPointRoutes } from './routes/access-point';
import { databaseRoutes } from './routes/database';
import { enrollRoutes } from './routes/enroll';
import { eventRoutes } from './routes/events';
import { settingsRoutes } from './routes/settings';
import { simRoutes } from './routes/sim';
import { statusRoutes } from './routes/status';
import { DEFAULT_STREAM_LIMITS, StreamingBody, type RowSink } from './streaming-body';
import { bearerMatches } from './token';
import { registerPanel } from '../panel/routes';
import { registerSitePanel } from '../panel/site-page';

import { DEFAULT_API_HOST, DEFAULT_API_PORT } from './address';
export { DEFAULT_API_HOST, DEFAULT_API_PORT };
/**
 * A full push of 1,000,000 credentials is about 180 MB of JSON (docs/API.md); the limit
 * leaves room for long names and many access points. It is read as a stream
 * (streaming-body.ts), so the limit bounds time on the wire, not memory.
 */
export const DEFAULT_DATABASE_BODY_LIMIT = 256 * 1024 * 1024;
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/**
 * Slow and idle clients are cut off (docs/API.md "Limits"). The whole request, body
 * included, must arrive within REQUEST_TIMEOUT_MS: a 1M push over loopback takes well under a
 * minute even on a busy machine, so five leave a wide margin. Event streams are responses,
 * not requests, and are not cut.
 */
export const API_TIMEOUTS = {
  headersMs: 10_000,
  requestMs: 300_000,
  keepAliveMs: 5_000,
  /** A socket with no traffic either way. */
  idleMs: 60_000,
} as const;

/**
 * The methods each API path takes, as an Allow header value, by concrete path; undefined for
 * a path the API does not have. Paths use fastify's ":param" segments.
 */
function allowedMethods(routes: ApiRoute[]): (path: string) => string | undefined {
  const table = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  for (const route of routes) {
    const url = API_PREFIX + route.path;
    let entry = table.get(url);
    if (!entry) {
      const source = url
        .split('/')
        .map((part) =>
          part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/');
      entry = { pattern: new RegExp(`^${source}/?$`), methods: new Set() };
      table.set(url, entry);
    }
    entry.methods.add(route.method);
    if (route.method === 'GET') entry.methods.add('HEAD');
  }
  return (path) => {
    const found = [...table.values()].filter((e) => e.pattern.test(path));
    if (!found.length) return undefined;
    return [...new Set(found.flatMap((e) => [...e.methods]))].join(', ');
  };
}

/** PEM certificate (chain) and private key: with them the API speaks HTTPS only. */
export interface ApiTls {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface ApiServerOptions {
  board: Board;
  /** Serve HTTPS with this certificate and key (`reader-sim start --tls-cert/--tls-key`). */
  tls?: ApiTls;
  /** The bearer token (see token.ts: loadOrCreateToken). */
  token: string;
  /** The board's clock: stream heartbeats and host-link timestamps. */
  clock: Clock;
  link?: HostLink;
  /** The reader's BLE radio (phones in range in /status and the panel), when it has one. */
  ble?: BleRadioStatus;
  databaseBodyLimit?: number;
  bodyLimit?: number;
  /** The reader's pino logger; default: no request logging. */
  logger?: FastifyBaseLogger;
  /**
   * A site's readers (`start --readers/--site`): every per-reader route is mounted again under
   * /readers/:readerId, beside the fleet routes; the unscoped paths stay those of `board`.
   */
  fleet?: FleetDirectory;
}

/** One method + URL the server answers, as fastify registered it (HEAD twins included). */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** public: no token asked before the handler (health, the panel's static files and its
   * token-checking streams); anything else is refused 401 without the token. */
  access: RouteAccess;
}

export interface ApiServer {
  app: FastifyInstance;
  link: HostLink;
  routes: ApiRoute[];
  /** Every route the server registered, from fastify's onRoute hook (security tests). */
  registered: RegisteredRoute[];
}

/** Every route of the API, in the order the OpenAPI document lists them. */
export function apiRoutes(options: { fleet?: boolean } = {}): ApiRoute[] {
  const readerRoutes: ApiRoute[] = [
    ...statusRoutes,
    ...databaseRoutes,
    ...enrollRoutes,
    ...eventRoutes,
    ...accessPointRoutes,
    ...settingsRoutes,
    ...simRoutes,
  ];
  const routes = options.fleet
    ? [
        ...readerRoutes,
        ...fleetRoutes,
        // Health is the process's, not a reader's.
        ...readerRoutes.filter((r) => r.path !== '/health').map(perReaderRoute),
      ]
    : readerRoutes;
  const document = openApiDocument(routes);
  routes.push({
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document, generated from the validation schemas.',
    tag: 'status',
    access: 'local',
    needsFirmware: false,
    response: OpenApiSchema,
    handle: () => document,
  });
  return routes;
}

interface RouteConfig {
  access: RouteAccess;
  needsFirmware: boolean;
  /** A fleet route: each reader's host link is checked per reader, not the first one's. */
  fleetWide?: boolean;
  /** The body schema a streamed body is checked against as it arrives. */
  streamedBody?: JsonSchema;
  /** Where a streamed body's rows go instead of arrays (route.ts `bodyRows`). */
  bodyRows?: () => RowSink | undefined;
}

/**
 * The small bodies' JSON: valid UTF-8 (not bytes silently turned into U+FFFD) and no
 * "__proto__" key, each refused with its own message.
 */
function parseSmallBody(body: Buffer): unknown {
  const refuse = (message: string) =>
    new ApiError('bad_request', `body ${message}`, '/', { part: 'body' });
  if (body.length === 0) throw refuse('is empty; send a JSON document or no content-type');
  if (!isUtf8(body)) throw refuse('is not valid UTF-8');
  let text = body.toString('utf8');
  // A byte order mark is not JSON, but some clients send one.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let poisoned = false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, function (key, value: unknown) {
      if (key === '__proto__') poisoned = true;
      return value;
    });
  } catch (err) {
    throw refuse(`is not valid JSON: ${(err as Error).message}`);
  }
  if (poisoned) throw refuse('has a "__proto__" key, which is not allowed');
  return parsed;
}

/** Body bytes a streamed request has read so far. */
const bodyBytesRead = new WeakMap<IncomingMessage, number>();
/**
 * A refused body with at most this much left is read to its end (and the connection kept),
 * so the client reads the answer instead of a reset; a bigger or unknown rest is not read.
 */
const DRAIN_LIMIT = 1024 * 1024;

function unreadBytes(request: IncomingMessage): number {
  const declared = request.headers['content-length'];
  if (declared === undefined || !/^[0-9]+$/.test(declared)) return Infinity;
  return Number(declared) - (bodyBytesRead.get(request) ?? 0);
}

/** Reads a database push as it arrives; refuses it at its first fault, before the end. */
function streamBody(
  config: Partial<RouteConfig>,
  payload: IncomingMessage,
  limit: number,
  done: (err: Error | null, body?: unknown) => void,
): void {
  const schema = config.streamedBody;
  if (!schema) return done(new ApiError('internal', 'no body schema for this route'));
  const declared = payload.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    // Refused before one byte of it is read.
    return done(
      new ApiError(
        'body_too_large',
        `the body (${declared} bytes) is larger than its limit of ${limit} bytes`,
      ),
    );
  }
  const body = new StreamingBody(
    schema,
    { ...DEFAULT_STREAM_LIMITS, maxBytes: limit },
    config.bodyRows?.(),
  );
  let finished = false;
  const finish = (err: Error | null, value?: unknown) => {
    if (finished) return;
    finished = true;
    payload.off('data', onData);
    payload.off('end', onEnd);
    payload.off('error', onError);
    if (err) payload.pause();
    done(err, value);
  };
  const onData = (chunk: Buffer) => {
    bodyBytesRead.set(payload, (bodyBytesRead.get(payload) ?? 0) + chunk.length);
    try {
      body.write(chunk);
    } catch (err) {
      finish(err as Error);
    }
  };
  const onEnd = () => {
    try {
      finish(null, body.end());
    } catch (err) {
      finish(err as Error);
    }
  };
  const onError = (err: Error) => finish(err);
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
}

/**
 * Fastify's answer to a client error before routing (a header block over the limit, a
 * malformed content-length, a request too slow), in the API's error shape; the socket then ends.
 */
function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let problem: ApiError;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    problem = new ApiError('header_too_large', 'the request headers are larger than 16 KiB');
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    problem = new ApiError('request_timeout', 'the request did not arrive in time');
  } else {
    const what = /content-length/i.test(error.message) ? 'content-length' : 'request';
    problem = new ApiError('bad_request', `malformed HTTP ${what}: ${error.message}`, '/', {
      part: 'headers',
    });
  }
  if (socket.writable) {
    const body = JSON.stringify(problem.body());
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.code}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  const { board, token, clock, ble, fleet } = options;
  const link = options.link ?? new HostLink(() => clock.now());
  // The reader a request is for: the one this server fronts, or the site's reader its path names.
  const scoped = new WeakMap<object, { board: Board; link: HostLink; ble?: BleRadioStatus }>();
  const readerOf = (request: object) => scoped.get(request) ?? { board, link, ble };
  const settings = {
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Strict bodies: no type coercion, no silently dropped fields, no injected defaults.
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: false,
      },
    },
    // One log line per request would drown the reader's own log; errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    // A URL that does not decode or an over-long path parameter is refused before routing.
    frameworkErrors: frameworkError,
    // Path parameters as long as the schemas' ids (128), not fastify's 100.
    routerOptions: { maxParamLength: 256 },
    return503OnClosing: true,
    requestTimeout: API_TIMEOUTS.requestMs,
    keepAliveTimeout: API_TIMEOUTS.keepAliveMs,
    connectionTimeout: API_TIMEOUTS.idleMs,
    // Refusals before any request exists (a header block too large, a bad content-length).
    clientErrorHandler,
    // Event streams never go idle: close them with the server instead of waiting forever.
    forceCloseConnections: true,
  } as const;
  // With a certificate the same app is served over TLS only (no plain-HTTP listener beside it).
  // A bad PEM or a key that does not match the certificate throws here, before listening.
  const app = (options.tls
    ? Fastify({ ...settings, https: { cert: options.tls.cert, key: options.tls.key } })
    : Fastify(settings)) as unknown as FastifyInstance;
  app.server.headersTimeout = API_TIMEOUTS.headersMs;
  const registered: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const access = (route.config as Partial<RouteConfig> | undefined)?.access ?? 'local';
    for (const method of [route.method].flat()) registered.push({ method, url: route.url, access });
  });
  const routes = apiRoutes({ fleet: fleet !== undefined });
  // The API speaks JSON only: any other body type is 415, not a string to misvalidate.
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseSmallBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // Order matters: a wrong token is 401 before anything else is looked at or parsed.
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config as Partial<RouteConfig>;
    const access = config.access ?? 'local';
    if (access !== 'public' && !bearerMatches(request.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer');
      // Nothing more is read from a client without the token: its body is not drained and
      // the connection ends with the 401, so it cannot hold a socket by trickling bytes.
      reply.header('connection', 'close');
      throw new ApiError('unauthorized', 'missing or wrong bearer token');
    }
    if (fleet && request.routeOptions.url?.startsWith(API_PREFIX + READER_SCOPE + '/')) {
      const id = (request.params as { readerId: string }).readerId;
      const member = fleet.member(id);
      if (!member) throw unknownReader(id);
      scoped.set(request, member);
    }
    const { board, link } = readerOf(request);
    if (access === 'host' && !config.fleetWide && !link.isUp()) {
      throw new ApiError('host_link_down', 'the host link is cut (sim); events stay buffered');
    }
    if (config.needsFirmware && !board.reader()) throw booting();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = asApiError(error);
    if (problem.status >= 500 && problem.code === 'internal') {
      request.log.error({ err: error }, 'host API request failed');
    }
    if (problem.code === 'booting' || problem.code === 'power_lost')
      reply.header('retry-after', '1');
    // A body refused half-read is not drained: the connection ends with the answer.
    if (!request.raw.complete && unreadBytes(request.raw) > DRAIN_LIMIT) {
      reply.header('connection', 'close');
    }
    return reply.code(problem.status).send(problem.body());
  });
  const methodsOf = allowedMethods(routes);
  app.setNotFoundHandler((request, reply) => {
    // A known path with a method it does not take: 405 naming the ones it does.
    const allow = methodsOf(request.url.split('?')[0]!);
    if (allow) {
      reply.header('allow', allow);
      const problem = new ApiError(
        'method_not_allowed',
        `${request.method} is not allowed here; allowed: ${allow}`,
      );
      return reply.code(problem.status).send(problem.body());
    }
    const problem = new ApiError('not_found', `no route ${request.method} ${request.url}`);
    return reply.code(404).send(problem.body());
  });

  const databaseBodyLimit = options.databaseBodyLimit ?? DEFAULT_DATABASE_BODY_LIMIT;
  const register = (scope: FastifyInstance, route: ApiRoute, streamed: boolean) => {
    const config: RouteConfig = {
      access: route.access,
      needsFirmware: route.needsFirmware !== false,
      ...(fleetRoutes.includes(route) ? { fleetWide: true } : {}),
      ...(streamed && route.body ? { streamedBody: route.body } : {}),
    };
    const bodyRows = route.bodyRows;
    if (streamed && bodyRows) {
      // Without a running reader the body is parsed whole; the handler answers `booting`.
      config.bodyRows = () => {
        const reader = board.reader();
        return reader ? bodyRows(reader) : undefined;
      };
    }
    const bodyOptional = route.body && ((route.body.required ?? []) as string[]).length === 0;
    scope.route({
      method: route.method,
      url: API_PREFIX + route.path,
      config,
      schema: {
        // A streamed body is checked row by row as it is read (streaming-body.ts).
        ...(route.body && !streamed ? { body: route.body } : {}),
        ...(route.querystring ? { querystring: route.querystring } : {}),
        ...(route.params ? { params: route.params } : {}),
      },
      ...(route.bodyLimit === 'database' ? { bodyLimit: databaseBodyLimit } : {}),
      // A control whose fields are all optional may be posted without a body.
      preValidation: async (request) => {
        if (bodyOptional && request.body === undefined) request.body = {};
        // No body at all never reached the streaming parser: the answer its schema gives.
        if (streamed && request.body === undefined) {
          throw new ApiError('bad_request', 'body must be object', '/', { part: 'body' });
        }
      },
      handler: async (request, reply) => {
        const { board, link, ble } = readerOf(request);
        const reader = board.reader();
        if (!reader && config.needsFirmware) throw booting();
        const result = await route.handle({
          reader: reader!,
          board,
          link,
          clock,
          ble,
          fleet,
          body: request.body,
          query: (request.query ?? {}) as Record<string, string>,
          params: (request.params ?? {}) as Record<string, string>,
          request,
          reply,
        });
        if (route.stream) return reply;
        return reply.code(route.status ?? 200).send(result);
      },
    });
  };
  for (const route of routes) if (route.bodyLimit !== 'database') register(app, route, false);
  // The database pushes have a JSON parser of their own: a stream, not a string.
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', (request, payload, done) =>
      streamBody(
        request.routeOptions.config as Partial<RouteConfig>,
        payload,
        databaseBodyLimit,
        done,
      ),
    );
    for (const route of routes) if (route.bodyLimit === 'database') register(scope, route, true);
  });
  // The front panel page, its live stream and timelines (docs/PANEL.md).
  registerPanel(app, { board, token, clock, ble });
  // A site's grid of readers, with one in detail (docs/PANEL.md "A site").
  if (fleet) registerSitePanel(app);
  return { app, link, routes, registered };
}

function booting(): ApiError {
  return new ApiError('booting', 'the reader is booting (power cycle); retry shortly');
}

/**
 * Fastify's own refusals before routing (a bad percent escape in the path, a path parameter
 * over its length limit) in the API's error shape, like every other answer.
 */
function frameworkError(
  error: FastifyError,
  _request: unknown,
  reply: import('fastify').FastifyReply,
): void {
  const problem = new ApiError('bad_request', `url: ${error.message}`, '/', { part: 'url' });
  reply.code(problem.status).send(problem.body());
}

function asApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
  if (error.validation) {
    return schemaProblem(error.validation as SchemaError[], error.validationContext ?? 'body');
  }
  const domain = domainProblem(error);
  if (domain) return domain;
  switch (error.statusCode) {
    case 413:
      return new ApiError('body_too_large', error.message);
    case 415:
      return new ApiError('unsupported_media_type', error.message);
    case 400:
      return new ApiError('bad_request', `body: ${error.message}`, '/', { part: 'body' });
  }
  return new ApiError('internal', error.message || 'internal error');
}

export interface RunningApi extends ApiServer {
  url: string;
  port: number;
  /** The address it is bound to (127.0.0.1 unless told otherwise). */
  address: string;
  /** Whether it speaks HTTPS. */
  tls: boolean;
  close(): Promise<void>;
}

/** Creates the server and listens (port 0 = any free port, for tests). */
export async function startApi(
  options: ApiServerOptions & { host?: string; port?: number },
): Promise<RunningApi> {
  const server = createApiServer(options);
  await server.app.listen({
    host: options.host ?? DEFAULT_API_HOST,
    port: options.port ?? DEFAULT_API_PORT,
  });
  const address = server.app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    ...server,
    port: address.port,
    address: address.address,
    tls: options.tls !== undefined,
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    close: () => server.app.close(),
  };
}

/**
 * Whether an address is reachable from this machine only: 127.0.0.0/8, ::1, an IPv4-mapped
 * loopback, or the name localhost. Anything else (0.0.0.0, ::, a LAN address) is the network.
 */
export function isLoopback(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./.test(bare);
  return false;
}
