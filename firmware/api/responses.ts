import { ACCESS_POINT_COMMANDS } from '../access-point';
import { EVENT_TYPES } from '../foundation/model';
import { API_ERRORS } from './errors';
import { DatabaseContentSchema, RawDataSchema, type JsonSchema } from './schemas';

/**
 * One JSON schema per host-API answer, defined once: openapi.ts publishes them (clients are
 * generated from them) and test/api/openapi.test.ts validates real answers against them.
 * Answers are open objects (a newer reader may add a field); what is listed is always there.
 */

function object(properties: Record<string, unknown>, required: string[] = []): JsonSchema {
  return { type: 'object', required, properties };
}

const integer = { type: 'integer' };
const string = { type: 'string' };
const boolean = { type: 'boolean' };
const isoTime = { type: 'string', format: 'date-time' };

export const ErrorResponseSchema = object(
  {
    error: { type: 'string', enum: Object.keys(API_ERRORS) },
    message: string,
    field: { type: 'string', description: 'JSON pointer to the offending field or parameter.' },
    part: {
      type: 'string',
      enum: ['body', 'querystring', 'params', 'headers', 'url'],
      description: 'Which part of the request `field` points into.',
    },
    currentVersion: {
      type: 'integer',
      description: 'version_conflict: the live database version to rebase a delta on.',
    },
  },
  ['error', 'message'],
);

export const EventStatsSchema = object(
  {
    firstSeq: integer,
    lastSeq: integer,
    ackedSeq: integer,
    count: integer,
    capacity: integer,
    dropped: integer,
  },
  ['firstSeq', 'lastSeq', 'ackedSeq', 'count', 'capacity', 'dropped'],
);

export const EventSchema = object(
  {
    seq: integer,
    ts: integer,
    type: { type: 'string', enum: [...EVENT_TYPES] },
    accessPointId: string,
    decision: { type: 'string', enum: ['grant', 'deny'] },
    reason: string,
    credentialId: string,
    userId: string,
    kind: string,
    detail: { type: 'object' },
  },
  ['seq', 'ts', 'type'],
);

export const EventsPageSchema = {
  ...EventStatsSchema,
  required: [...(EventStatsSchema.required as string[]), 'events', 'next', 'more'],
  properties: {
    ...(EventStatsSchema.properties as object),
    events: { type: 'array', items: EventSchema },
    next: { ...integer, description: 'The `after` of the next page.' },
    more: boolean,
  },
};

const counts = object(
  {
    users: integer,
    credentials: integer,
    schedules: integer,
    holidays: integer,
    accessPoints: integer,
  },
  ['users', 'credentials', 'schedules', 'holidays', 'accessPoints'],
);

export const DatabaseSummarySchema = object({ version: integer, counts }, ['version', 'counts']);

export const DatabaseContentResponseSchema = object(
  {
    version: integer,
    content: DatabaseContentSchema,
    uses: {
      type: 'object',
      additionalProperties: integer,
      description: 'Grants so far per credential id (only those used at least once).',
    },
  },
  ['version', 'content', 'uses'],
);

export const AccessPointStatusSchema = object(
  {
    state: { type: 'string', enum: ACCESS_POINT_COMMANDS.filter((s) => s !== 'admit') },
    scheduleOpen: boolean,
    enroll: boolean,
  },
  ['state', 'scheduleOpen', 'enroll'],
);

const door = object({ position: string, forced: boolean, heldOpen: boolean, tamper: boolean }, [
  'position',
  'forced',
  'heldOpen',
  'tamper',
]);
export const DoorStatusSchema = door;

export const StatusSchema = object(
  {
    readerId: string,
    accessPointId: string,
    firmware: string,
    clock: object({ time: isoTime, epochMs: integer }, ['time', 'epochMs']),
    bootedAt: isoTime,
    database: object({ version: integer, counts }, ['version', 'counts']),
    accessPoint: AccessPointStatusSchema,
    led: object({ color: string, buzzer: boolean, situation: string }, ['color', 'buzzer']),
    relay: { type: 'string', enum: ['locked', 'unlocked'] },
    door,
    events: EventStatsSchema,
    hostLink: object({ state: { type: 'string', enum: ['up', 'down'] }, since: isoTime }, [
      'state',
      'since',
    ]),
    flash: object(
      {
        sectors: integer,
        erasedSectors: integer,
        freeBytes: integer,
        liveBytes: integer,
        deadBytes: integer,
        maxEraseCount: integer,
        minEraseCount: integer,
        refusedEvents: integer,
        retiredSectors: integer,
      },
      ['sectors', 'freeBytes'],
    ),
    ble: object(
      {
        phones: {
          type: 'array',
          items: object(
            {
              address: string,
              deviceId: string,
              profile: { type: 'string', enum: ['reader-sim', 'pkoc'] },
              rssi: { type: 'number' },
              state: string,
              lastSeen: integer,
            },
            ['address', 'state'],
          ),
        },
      },
      ['phones'],
    ),
    osdp: object(
      {
        role: { type: 'string', enum: ['osdp-pd'] },
        transport: string,
        address: integer,
        online: boolean,
        secure: boolean,
        installMode: boolean,
        lastPoll: integer,
        counters: object(
          {
            commands: integer,
            replies: integer,
            naks: integer,
            badCheck: integer,
            malformed: integer,
            garbageBytes: integer,
            macFailures: integer,
            internalErrors: integer,
          },
          ['commands', 'replies', 'naks'],
        ),
      },
      ['role', 'transport', 'address', 'online', 'secure', 'installMode', 'counters'],
    ),
  },
  [
    'readerId',
    'accessPointId',
    'firmware',
    'clock',
    'bootedAt',
    'database',
    'accessPoint',
    'led',
    'relay',
    'door',
    'events',
    'hostLink',
    'flash',
  ],
);

export const HealthSchema = object(
  { ok: boolean, state: { type: 'string', enum: ['running', 'booting'] } },
  ['ok', 'state'],
);

export const EnrollmentSchema = {
  oneOf: [
    object({ id: string, userId: string, state: { const: 'pending' }, expiresAt: integer }, [
      'id',
      'userId',
      'state',
      'expiresAt',
    ]),
    object(
      {
        id: string,
        userId: string,
        state: { const: 'captured' },
        rawData: RawDataSchema,
        capturedAt: integer,
      },
      ['id', 'userId', 'state', 'rawData', 'capturedAt'],
    ),
    object({ id: string, userId: string, state: { const: 'timed_out' }, expiredAt: integer }, [
      'id',
      'userId',
      'state',
      'expiredAt',
    ]),
    object({ id: string, userId: string, state: { const: 'cancelled' } }, [
      'id',
      'userId',
      'state',
    ]),
  ],
};

export const TimeSchema = object({ time: isoTime, epochMs: integer }, ['time', 'epochMs']);

export const ConfigSchema = { type: 'object', additionalProperties: true };

export const ConfigUpdateSchema = object(
  { changed: { type: 'array', items: string }, config: ConfigSchema },
  ['changed', 'config'],
);

export const AcceptedSchema = object({ accepted: { const: true } }, ['accepted']);

export const LinkStateSchema = object(
  { state: { type: 'string', enum: ['up', 'down'] }, since: isoTime },
  ['state', 'since'],
);

export const PowerCycleSchema = {
  oneOf: [
    object({ booted: { const: true }, bootMs: { type: 'number' } }, ['booted', 'bootMs']),
    object({ armed: { const: true }, afterFlashOps: integer, model: string }, [
      'armed',
      'afterFlashOps',
      'model',
    ]),
  ],
};

export const OpenApiSchema = object({ openapi: string, paths: { type: 'object' } }, [
  'openapi',
  'paths',
]);
