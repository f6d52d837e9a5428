import { API_ERRORS } from './errors';
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

const errorResponse = {
  description: 'Error: { error, message, field? } (see docs/API.md for the codes).',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['error', 'message'],
        properties: {
          error: { type: 'string', enum: Object.keys(API_ERRORS) },
          message: { type: 'string' },
          field: { type: 'string', description: 'JSON pointer to the offending field.' },
        },
      },
    },
  },
};

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
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[/:-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      parameters: parameters(route),
      responses: {
        [String(route.status ?? 200)]: {
          description: route.stream ? 'text/event-stream' : 'OK',
        },
        default: errorResponse,
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
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
