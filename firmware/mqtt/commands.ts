import type { Board } from '../board';
import type { Clock } from '../foundation/clock';
import type { RunningReader } from '../running-reader';
import { ApiError, domainProblem, type ApiErrorBody } from '../api/errors';
import type { HostLink } from '../api/host-link';
import type { ApiRoute, RouteCall } from '../api/route';
import { accessPointRoutes } from '../api/routes/access-point';
import { databaseRoutes } from '../api/routes/database';
import { enrollRoutes } from '../api/routes/enroll';
import { eventRoutes } from '../api/routes/events';
import { settingsRoutes } from '../api/routes/settings';
import type { JsonSchema } from '../api/schemas';
import { DEFAULT_BODY_LIMIT, DEFAULT_DATABASE_BODY_LIMIT } from '../api/server';
import { DEFAULT_STREAM_LIMITS, StreamingBody } from '../api/streaming-body';

/**
 * The commands a management system sends over MQTT, each the host API route that does the
 * same thing: its JSON schema checks the payload and its handler runs it, so a push over MQTT
 * and a PUT /database are one code path with one set of errors. `state` carries in its
 * payload ({"state": "unlock"}) what HTTP carries in its path.
 */
interface MqttCommand {
  /** The payload's schema: the route's body, or its path parameters for `state`. */
  schema: JsonSchema;
  /** Whether the payload is a database push (the large limit). */
  database: boolean;
  /** The status a success answers with (the route's). */
  status: number;
  run(target: CommandTarget, payload: Record<string, unknown>): unknown;
}

/** A host API route run without HTTP: it reads only the reader, board, body and params. */
function viaRoute(
  r: ApiRoute,
  schema: JsonSchema,
  call: (payload: Record<string, unknown>) => Pick<RouteCall, 'body' | 'params'>,
): MqttCommand {
  return {
    schema,
    database: r.bodyLimit === 'database',
    status: r.status ?? 200,
    run: (target, payload) =>
      r.handle({ ...target, ...call(payload), query: {} } as unknown as RouteCall),
  };
}

function route(routes: ApiRoute[], method: ApiRoute['method'], path: string): ApiRoute {
  const found = routes.find((r) => r.method === method && r.path === path);
  // A renamed route must fail at load, not at the first command a broker delivers.
  if (!found) throw new Error(`the MQTT link needs the API route ${method} ${path}`);
  return found;
}

function withBody(r: ApiRoute): MqttCommand {
  return viaRoute(r, r.body!, (payload) => ({ body: payload, params: {} }));
}

const state = route(accessPointRoutes, 'POST', '/accesspoint/state/:state');

export const MQTT_COMMANDS: Record<string, MqttCommand> = {
  push: withBody(route(databaseRoutes, 'PUT', '/database')),
  delta: withBody(route(databaseRoutes, 'PATCH', '/database')),
  state: viaRoute(state, state.params!, (payload) => ({
    body: {},
    params: payload as Record<string, string>,
  })),
  enroll: withBody(route(enrollRoutes, 'POST', '/enroll')),
  ack: withBody(route(eventRoutes, 'POST', '/events/ack')),
  time: withBody(route(settingsRoutes, 'PUT', '/time')),
  // The link's own command, no HTTP twin: a management system that found a gap (its broker
  // lost a queue while the reader stayed connected) asks for the events after its last one.
  resend: {
    schema: {
      type: 'object',
      properties: { after: { type: 'integer', minimum: 0 } },
      additionalProperties: false,
    },
    database: false,
    status: 200,
    run: (target, payload) => {
      if (!target.resend) throw new ApiError('not_found', 'resend needs a connected link');
      return target.resend(typeof payload.after === 'number' ? payload.after : 0);
    },
  },
};

export const MQTT_COMMAND_NAMES = Object.keys(MQTT_COMMANDS);

export interface PayloadLimits {
  /** Every command but the database pushes (default: the host API's small-body limit). */
  bodyLimit: number;
  /** push and delta (default: the host API's database limit). */
  databaseBodyLimit: number;
}

export const DEFAULT_PAYLOAD_LIMITS: PayloadLimits = {
  bodyLimit: DEFAULT_BODY_LIMIT,
  databaseBodyLimit: DEFAULT_DATABASE_BODY_LIMIT,
};

export interface CommandTarget {
  reader: RunningReader;
  board: Board;
  link: HostLink;
  clock: Clock;
  /** Publishes again the unacknowledged events after `after` (the link's `resend`). */
  resend?: (after: number) => { from: number; to: number };
}

export type CommandOutcome =
  | { ok: true; status: number; result: unknown }
  | { ok: false; status: number; error: ApiErrorBody };

/**
 * Checks and runs one command payload; never throws. A refused payload (unknown command, bad
 * JSON, a schema fault, over its limit) reaches no handler, so it changes nothing.
 */
export function runCommand(
  target: CommandTarget,
  name: string,
  payload: Buffer,
  limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS,
): CommandOutcome {
  try {
    const command = Object.hasOwn(MQTT_COMMANDS, name) ? MQTT_COMMANDS[name] : undefined;
    if (!command) {
      throw new ApiError(
        'not_found',
        `no command ${JSON.stringify(name)}; commands: ${MQTT_COMMAND_NAMES.join(', ')}`,
      );
    }
    const limit = command.database ? limits.databaseBodyLimit : limits.bodyLimit;
    if (payload.length > limit) {
      throw new ApiError(
        'body_too_large',
        `the payload (${payload.length} bytes) is larger than its limit of ${limit} bytes`,
      );
    }
    if (payload.length === 0) {
      throw new ApiError('bad_request', 'body is empty; send a JSON document', '/', {
        part: 'body',
      });
    }
    // The HTTP database push's own parser: strict UTF-8, no __proto__, each row checked.
    const body = new StreamingBody(command.schema, { ...DEFAULT_STREAM_LIMITS, maxBytes: limit });
    body.write(payload);
    const parsed = body.end() as Record<string, unknown>;
    const result = command.run(target, parsed);
    return { ok: true, status: command.status, result };
  } catch (err) {
    const problem = err instanceof ApiError ? err : (domainProblem(err) ?? internal(err));
    return { ok: false, status: problem.status, error: problem.body() };
  }
}

function internal(err: unknown): ApiError {
  return new ApiError('internal', err instanceof Error ? err.message : String(err));
}
