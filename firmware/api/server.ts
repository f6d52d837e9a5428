import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyError,
} from 'fastify';
import { isIP, type AddressInfo } from 'node:net';
import type { Clock } from '../foundation/clock';
import { ApiError, domainProblem, schemaProblem, type SchemaError } from './errors';
import type { Board } from '../board';
import type { BleRadioStatus } from '../ports';
import { HostLink } from './host-link';
import { openApiDocument } from './openapi';
import { API_PREFIX, type ApiRoute, type RouteAccess } from './route';
import { accessPointRoutes } from './routes/access-point';
import { databaseRoutes } from './routes/database';
import { enrollRoutes } from './routes/enroll';
import { eventRoutes } from './routes/events';
import { settingsRoutes } from './routes/settings';
import { simRoutes } from './routes/sim';
import { statusRoutes } from './routes/status';
import { bearerMatches } from './token';
import { registerPanel } from '../panel/routes';

import { DEFAULT_API_HOST, DEFAULT_API_PORT } from './address';
export { DEFAULT_API_HOST, DEFAULT_API_PORT };
/** A full push of 1,000,000 credentials is about 160 MB of JSON. */
export const DEFAULT_DATABASE_BODY_LIMIT = 512 * 1024 * 1024;
export const DEFAULT_BODY_LIMIT = 64 * 1024;

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
export function apiRoutes(): ApiRoute[] {
  const routes: ApiRoute[] = [
    ...statusRoutes,
    ...databaseRoutes,
    ...enrollRoutes,
    ...eventRoutes,
    ...accessPointRoutes,
    ...settingsRoutes,
    ...simRoutes,
  ];
  const document = openApiDocument(routes);
  routes.push({
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document, generated from the validation schemas.',
    tag: 'status',
    access: 'local',
    needsFirmware: false,
    handle: () => document,
  });
  return routes;
}

interface RouteConfig {
  access: RouteAccess;
  needsFirmware: boolean;
}

export function createApiServer(options: ApiServerOptions): ApiServer {
  const { board, token, clock, ble } = options;
  const link = options.link ?? new HostLink(() => clock.now());
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
    // Event streams never go idle: close them with the server instead of waiting forever.
    forceCloseConnections: true,
  } as const;
  // With a certificate the same app is served over TLS only (no plain-HTTP listener beside it).
  // A bad PEM or a key that does not match the certificate throws here, before listening.
  const app = (options.tls
    ? Fastify({ ...settings, https: { cert: options.tls.cert, key: options.tls.key } })
    : Fastify(settings)) as unknown as FastifyInstance;
  const registered: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const access = (route.config as Partial<RouteConfig> | undefined)?.access ?? 'local';
    for (const method of [route.method].flat()) registered.push({ method, url: route.url, access });
  });
  const routes = apiRoutes();
  // The API speaks JSON only: any other body type is 415, not a string to misvalidate.
  app.removeContentTypeParser('text/plain');

  // Order matters: a wrong token is 401 before anything else is looked at or parsed.
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config as Partial<RouteConfig>;
    const access = config.access ?? 'local';
    if (access !== 'public' && !bearerMatches(request.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer');
      throw new ApiError('unauthorized', 'missing or wrong bearer token');
    }
    if (access === 'host' && !link.isUp()) {
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
    return reply.code(problem.status).send(problem.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const problem = new ApiError('not_found', `no route ${request.method} ${request.url}`);
    return reply.code(404).send(problem.body());
  });

  const databaseBodyLimit = options.databaseBodyLimit ?? DEFAULT_DATABASE_BODY_LIMIT;
  for (const route of routes) {
    const config: RouteConfig = {
      access: route.access,
      needsFirmware: route.needsFirmware !== false,
    };
    const bodyOptional = route.body && ((route.body.required ?? []) as string[]).length === 0;
    app.route({
      method: route.method,
      url: API_PREFIX + route.path,
      config,
      schema: {
        ...(route.body ? { body: route.body } : {}),
        ...(route.querystring ? { querystring: route.querystring } : {}),
        ...(route.params ? { params: route.params } : {}),
      },
      ...(route.bodyLimit === 'database' ? { bodyLimit: databaseBodyLimit } : {}),
      // A control whose fields are all optional may be posted without a body.
      preValidation: async (request) => {
        if (bodyOptional && request.body === undefined) request.body = {};
      },
      handler: async (request, reply) => {
        const reader = board.reader();
        if (!reader && config.needsFirmware) throw booting();
        const result = await route.handle({
          reader: reader!,
          board,
          link,
          clock,
          ble,
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
  }
  // The front panel page, its live stream and timelines (docs/PANEL.md).
  registerPanel(app, { board, token, clock, ble });
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
