import type { Board } from '../board';
import type { EventRecord } from '../foundation/model';
import type { BleRadioStatus } from '../ports';
import { ApiError } from './errors';
import type { HostLink } from './host-link';
import { DatabaseSummarySchema, EventSchema, EventStatsSchema } from './responses';
import type { ApiRoute, RouteCall } from './route';
import { databaseRoutes } from './routes/database';
import type { JsonSchema } from './schemas';

/**
 * Many readers behind one host API (`reader-sim start --readers N | --site FILE`). Every
 * per-reader route is mounted again under /readers/:readerId; the fleet routes below list
 * the readers, push to several at once and gather their events.
 */

/** One reader of a served fleet, as the API reaches it. */
export interface FleetMember {
  id: string;
  name: string;
  accessPoint: string;
  position: { x: number; y: number };
  board: Board;
  /** Its own host link: cutting one reader's cable leaves the others up. */
  link: HostLink;
  ble?: BleRadioStatus;
}

export interface FleetDirectory {
  members(): readonly FleetMember[];
  member(id: string): FleetMember | undefined;
}

/** The path segment every per-reader route is mounted under. */
export const READER_SCOPE = '/readers/:readerId';

const readerIdParam = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description: 'A reader of the site (GET /readers lists them).',
};

/** The same route, for one reader of the fleet: `/readers/:readerId` + its path. */
export function perReaderRoute(route: ApiRoute): ApiRoute {
  const params = route.params ?? { type: 'object', properties: {}, required: [] };
  return {
    ...route,
    path: READER_SCOPE + route.path,
    params: {
      ...params,
      properties: { readerId: readerIdParam, ...(params.properties as object) },
      required: ['readerId', ...((params.required ?? []) as string[])],
    } as JsonSchema,
  };
}

export function unknownReader(id: string): ApiError {
  return new ApiError('not_found', `reader '${id}' not found (GET /api/v1/readers lists them)`);
}

/** The readers a fleet call names (`readers=a,b` or none: all), each checked to exist. */
function targets(call: RouteCall): FleetMember[] {
  const fleet = call.fleet!;
  const wanted = call.query.readers;
  if (wanted === undefined) return [...fleet.members()];
  const ids = wanted.split(',');
  return ids.map((id, i) => {
    const member = fleet.member(id);
    if (!member) {
      throw new ApiError(
        'not_found',
        `readers: '${id}' (item ${i}) is not a reader of this site`,
        '/readers',
        {
          part: 'querystring',
        },
      );
    }
    return member;
  });
}

const string = { type: 'string' };
const integer = { type: 'integer' };
const position = {
  type: 'object',
  required: ['x', 'y'],
  properties: { x: { type: 'number' }, y: { type: 'number' } },
};

const ReaderSummarySchema: JsonSchema = {
  type: 'object',
  required: ['id', 'name', 'accessPoint', 'position', 'state', 'hostLink'],
  properties: {
    id: string,
    name: string,
    accessPoint: string,
    position,
    state: { type: 'string', enum: ['booting', 'running', 'failed'] },
    error: string,
    hostLink: { type: 'string', enum: ['up', 'down'] },
    led: {
      type: 'object',
      required: ['color', 'buzzer'],
      properties: { color: string, buzzer: { type: 'boolean' }, situation: string },
    },
    relay: { type: 'string', enum: ['locked', 'unlocked'] },
    door: string,
    accessPointState: string,
    databaseVersion: integer,
    events: EventStatsSchema,
    phones: integer,
  },
};

const ReaderListSchema: JsonSchema = {
  type: 'object',
  required: ['readers'],
  properties: { readers: { type: 'array', items: ReaderSummarySchema } },
};

const readersQuery = {
  type: 'string',
  pattern: '^[^,]+(,[^,]+)*$',
  maxLength: 65536,
  description: 'Comma-separated reader ids (default: every reader of the site).',
};

const FleetPushResultSchema: JsonSchema = {
  type: 'object',
  required: ['results'],
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['readerId', 'ok'],
        properties: {
          readerId: string,
          ok: { type: 'boolean' },
          version: integer,
          counts: (DatabaseSummarySchema.properties as Record<string, unknown>).counts,
          error: string,
          message: string,
        },
      },
    },
  },
};

const FleetEventsSchema: JsonSchema = {
  type: 'object',
  required: ['events'],
  properties: {
    events: {
      type: 'array',
      items: {
        ...EventSchema,
        required: ['readerId', ...((EventSchema.required ?? []) as string[])],
        properties: { readerId: string, ...(EventSchema.properties as object) },
      },
    },
  },
};

const fullPush = databaseRoutes.find((r) => r.method === 'PUT' && r.path === '/database')!;

/** The fleet's own routes (mounted only when the API serves a fleet). */
export const fleetRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/readers',
    summary:
      'The readers of the site: id, name, access point, position on the air, boot state, LED, relay, door, database version, event counts.',
    tag: 'fleet',
    access: 'local',
    needsFirmware: false,
    response: ReaderListSchema,
    handle: ({ fleet }) => ({ readers: fleet!.members().map(summaryOf) }),
  },
  {
    method: 'PUT',
    path: '/fleet/database',
    summary:
      'Full push of one database to several readers (readers=a,b) or all: each reader replaces its database atomically; one answer per reader, in order.',
    tag: 'fleet',
    access: 'host',
    needsFirmware: false,
    body: fullPush.body,
    bodyLimit: 'database',
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { readers: readersQuery },
    },
    response: FleetPushResultSchema,
    handle: async (call) => {
      const results = [];
      for (const member of targets(call)) {
        const reader = member.board.reader();
        if (!reader) {
          results.push({
            readerId: member.id,
            ok: false,
            error: 'booting',
            message: 'the reader is booting',
          });
          continue;
        }
        if (!member.link.isUp()) {
          results.push({
            readerId: member.id,
            ok: false,
            error: 'host_link_down',
            message: 'the host link is cut',
          });
          continue;
        }
        try {
          const summary = (await fullPush.handle({
            ...call,
            reader,
            board: member.board,
            link: member.link,
          })) as object;
          results.push({ readerId: member.id, ok: true, ...summary });
        } catch (err) {
          const code =
            err instanceof ApiError ? err.code : ((err as { code?: string }).code ?? 'internal');
          results.push({
            readerId: member.id,
            ok: false,
            error: code,
            message: (err as Error).message,
          });
        }
      }
      return { results };
    },
  },
  {
    method: 'GET',
    path: '/fleet/events',
    summary:
      'Unacknowledged events of several readers (readers=a,b) or all, each with its readerId, oldest first by time; acknowledge per reader (POST /readers/{readerId}/events/ack).',
    tag: 'fleet',
    access: 'host',
    needsFirmware: false,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        readers: readersQuery,
        limit: {
          type: 'string',
          pattern: '^([1-9][0-9]{0,3}|10000)$',
          description: 'Per reader, 1-10000 (default 500).',
        },
      },
    },
    response: FleetEventsSchema,
    handle: (call) => {
      const limit = Number(call.query.limit ?? 500);
      const events: Array<EventRecord & { readerId: string }> = [];
      for (const member of targets(call)) {
        const reader = member.board.reader();
        if (!reader || !member.link.isUp()) continue;
        const { ackedSeq } = reader.store.events.stats();
        for (const e of reader.store.events.list(ackedSeq, limit))
          events.push({ readerId: member.id, ...e });
      }
      events.sort(
        (a, b) =>
          a.ts - b.ts ||
          (a.readerId < b.readerId ? -1 : a.readerId > b.readerId ? 1 : a.seq - b.seq),
      );
      return { events };
    },
  },
];

function summaryOf(member: FleetMember): Record<string, unknown> {
  const { state, error } = member.board.state();
  const base = {
    id: member.id,
    name: member.name,
    accessPoint: member.accessPoint,
    position: member.position,
    state,
    ...(error !== undefined ? { error } : {}),
    hostLink: member.link.state().state,
  };
  const reader = member.board.reader();
  if (!reader) return base;
  const s = reader.status();
  return {
    ...base,
    led: s.led,
    relay: s.relay,
    door: s.door.position,
    accessPointState: s.accessPoint.state,
    databaseVersion: reader.store.database.version(),
    events: reader.store.events.stats(),
    ...(member.ble ? { phones: member.ble.phones().length } : {}),
  };
}
