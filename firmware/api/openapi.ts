import { API_ERRORS, type ApiErrorCode } from './errors';
import { ErrorResponseSchema } from './responses';
import { API_PREFIX, type ApiRoute } from './route';
import { FIRMWARE_VERSION } from '../version';

/** fastify ":id" -> OpenAPI "{id}". */
function openApiPath(path: string): string {
  return API_PREFIX + path.replace(/:([A-Za-z]+)/g, '{$1}');
}

function parameters(route: ApiRoute): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.querystring],
  ] as const) {
    if (!schema) continue;
    const props = (schema.properties ?? {}) as Record<string, unknown>;
    const required = (schema.required ?? []) as string[];
    for (const [name, s] of Object.entries(props)) {
      out.push({
        name,
        in: where,
        required: where === 'path' || required.includes(name),
        schema: s,
      });
    }
  }
  return out;
}

/** What each group of routes is for, in the document's tag list. */
const TAG_DESCRIPTIONS: Record<string, string> = {
  status: 'Liveness, the reader at a glance, and this document.',
  database: '"Update Access Points": the credential database, full and delta pushes.',
  enroll: 'Enrollment: enroll mode for a user, and the Raw Data a phone sent.',
  events: 'The event log: pages, acknowledgement, and a live stream.',
  'access point': "The door's lasting state (schedule, unlock, lockdown) and one-time admit.",
  time: "The reader's clock (host time sync).",
  config: 'Reader settings (docs/CONFIG.md), read and patched with the same keys.',
  simulator: "The simulator's hands on the reader: inputs, host link, power.",
};

/** The errors every route of a kind can answer (the route adds its own in `errors`). */
function errorCodesOf(route: ApiRoute): ApiErrorCode[] {
  const codes: ApiErrorCode[] = [];
  if (route.access !== 'public') codes.push('unauthorized');
  if (route.body || route.params || route.querystring) codes.push('bad_request');
  if (route.body) codes.push('body_too_large', 'unsupported_media_type');
  if (route.needsFirmware !== false) codes.push('booting');
  if (route.access === 'host') codes.push('host_link_down');
  codes.push(...(route.errors ?? []));
  return [...new Set(codes)];
}

/** One response per HTTP status, its `error` narrowed to the codes that status carries here. */
function errorResponses(codes: ApiErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes)
    byStatus.set(API_ERRORS[code], [...(byStatus.get(API_ERRORS[code]) ?? []), code]);
  const out: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: `Error: ${list.join(', ')} (docs/API.md).`,
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Error' },
              { type: 'object', properties: { error: { type: 'string', enum: list } } },
            ],
          },
        },
      },
    };
  }
  out.default = {
    description: 'Error: internal (docs/API.md).',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  return out;
}

/** `POST /accesspoint/state/:state` -> `postAccesspointStateByState`: an identifier. */
export function operationId(route: Pick<ApiRoute, 'method' | 'path'>): string {
  const words = route.path
    .split('/')
    .filter(Boolean)
    .map((segment) =>
      segment.startsWith(':') ? `By-${segment.slice(1)}` : segment.replace(/\./g, '-'),
    )
    .flatMap((segment) => segment.split('-'))
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1));
  return route.method.toLowerCase() + words.join('');
}

function successResponse(route: ApiRoute): Record<string, unknown> {
  if (route.stream) {
    return {
      description: 'Server-sent events (id: seq, event: the event type, data: the event JSON).',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    };
  }
  return {
    description: 'OK',
    ...(route.response ? { content: { 'application/json': { schema: route.response } } } : {}),
  };
}

/**
 * The OpenAPI 3.1 document, built from the same route table and schemas that fastify
 * validates with, so the document cannot drift from what the server accepts.
 */
export function openApiDocument(routes: ApiRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: [route.tag],
      operationId: operationId(route),
      parameters: parameters(route),
      responses: {
        [String(route.status ?? 200)]: successResponse(route),
        ...errorResponses(errorCodesOf(route)),
      },
    };
    if (route.access === 'public') operation.security = [];
    if (route.body) {
      const required = ((route.body.required ?? []) as string[]).length > 0;
      operation.requestBody = { required, content: { 'application/json': { schema: route.body } } };
    }
    (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'reader-sim host API',
      version: FIRMWARE_VERSION,
      description:
        'The management-system API of an ISONAS-style reader. Bearer token from the data directory (api-token).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: 'http://{host}:{port}',
        description: 'A reader (`reader-sim start`; https with --tls-cert).',
        variables: { host: { default: '127.0.0.1' }, port: { default: '8080' } },
      },
    ],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({
      name,
      description: TAG_DESCRIPTIONS[name] ?? name,
    })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ErrorResponseSchema },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
