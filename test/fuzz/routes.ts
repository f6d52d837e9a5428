import type { FastifyInstance } from 'fastify';
import type { Schema } from './schema-arbitrary';

/** One method + URL the server answers, with what the OpenAPI document says it takes. */
export interface FuzzRoute {
  method: string;
  /** fastify syntax: /api/v1/enroll/:id */
  url: string;
  /** Listed in the OpenAPI document (panel routes are not). */
  documented: boolean;
  body?: Schema;
  query?: Schema;
  params?: Record<string, Schema>;
  /** Server-sent events: a 2xx answer is a stream the client closes. */
  stream: boolean;
}

/**
 * The routes fastify registered, read back from `printRoutes({ commonPrefix: false })`: a
 * tree whose lines are `├── /api/v1/time (GET, HEAD, PUT)` and whose children continue
 * their parent's path four columns further in.
 */
export function registeredRoutes(app: FastifyInstance): { method: string; url: string }[] {
  const out: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    const url = (stack[depth - 1] ?? '') + match[2]!;
    stack.push(url);
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) out.push({ method, url });
  }
  return out;
}

interface OpenApiOperation {
  parameters?: { name: string; in: string; schema: Schema; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses?: Record<string, { description?: string }>;
}

/**
 * Every route the server answers (HEAD twins left out: fastify derives them from GET), each
 * with the schemas of its OpenAPI operation when the document lists it.
 */
export function fuzzRoutes(
  app: FastifyInstance,
  openapi: { paths: Record<string, Record<string, OpenApiOperation>> },
): FuzzRoute[] {
  return registeredRoutes(app)
    .filter((r) => r.method !== 'HEAD')
    .map((r) => {
      const docPath = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
      const op = openapi.paths[docPath]?.[r.method.toLowerCase()];
      const route: FuzzRoute = {
        method: r.method,
        url: r.url,
        documented: op !== undefined,
        stream: /stream/.test(r.url) || op?.responses?.['200']?.description === 'text/event-stream',
      };
      if (!op) return route;
      const body = op.requestBody?.content['application/json']?.schema;
      if (body) route.body = body;
      const query = (op.parameters ?? []).filter((p) => p.in === 'query');
      if (query.length) {
        route.query = {
          type: 'object',
          properties: Object.fromEntries(query.map((p) => [p.name, p.schema])),
          required: query.filter((p) => p.required).map((p) => p.name),
        };
      }
      const params = (op.parameters ?? []).filter((p) => p.in === 'path');
      if (params.length) route.params = Object.fromEntries(params.map((p) => [p.name, p.schema]));
      return route;
    });
}
