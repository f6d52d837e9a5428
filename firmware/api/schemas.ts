import { CONFIG_SPEC, CONFIG_KEYS, type ReaderConfigValues } from '../config';
import { MAX_VALUE_LENGTH } from '../foundation/presentation';
import { CREDENTIAL_KINDS } from '../foundation/model';
import { TORN_WRITE_MODELS } from '../../storage/power-cut';
import { ACCESS_POINT_COMMANDS } from '../access-point';

/**
 * One JSON schema per host-API body and query, defined once: fastify validates with them
 * and openapi.ts publishes them (GET /api/v1/openapi.json). Shapes follow firmware/foundation/model.ts.
 * Every object is closed (additionalProperties: false) so a misspelt field is a 400 naming
 * it, not a silently ignored key.
 */

export type JsonSchema = Record<string, unknown>;

const id = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'Identifier: 1-128 printable ASCII characters, no spaces.',
};
const text = { type: 'string', maxLength: 200 };
const epochMs = {
  type: 'integer',
  minimum: 0,
  maximum: 8.64e15,
  description: 'Epoch milliseconds.',
};
/**
 * A credential's start/end: epoch ms, or an ISO 8601 date-time with its zone, stored as ms.
 * The string is checked by database-checks.ts (isoToEpochMs), whose 400 says what is wrong
 * with it; a pattern here would only say "must be integer".
 */
const instant = {
  anyOf: [
    epochMs,
    {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'ISO 8601 date-time with an explicit zone: 2026-01-01T08:00:00Z, ...+01:00.',
    },
  ],
  description:
    'Epoch milliseconds, or an ISO 8601 date-time with a zone (Z or +hh:mm); stored and answered as epoch milliseconds.',
};
const hhmm = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$' };

function closed(properties: Record<string, unknown>, required: string[]): JsonSchema {
  return { type: 'object', additionalProperties: false, required, properties };
}

export const UserSchema = closed(
  {
    id,
    name: text,
    enabled: { type: 'boolean' },
    lockdownOverride: { type: 'boolean' },
    extendedUnlock: { type: 'boolean' },
  },
  ['id', 'name', 'enabled'],
);

export const CredentialSchema = closed(
  {
    id,
    userId: id,
    kind: { type: 'string', enum: [...CREDENTIAL_KINDS] },
    value: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_VALUE_LENGTH,
      pattern: '^[\\x21-\\x7e]+$',
      description:
        'badge: card number ("12345", "18:4411", "hex:0A1B2C"); pin: the PIN digits (4 to 12; the reader stores only their keyed "hmac:" hash) or that "hmac:..." value as the reader gives it back; mobile: device id.',
    },
    enabled: { type: 'boolean' },
    start: instant,
    end: instant,
    useLimit: { type: 'integer', minimum: 0, maximum: 4294967295 },
    accessPoints: {
      type: 'array',
      maxItems: 256,
      uniqueItems: true,
      items: id,
      description: "Access point ids this credential opens; '*' opens all.",
    },
    scheduleId: id,
    pinHash: { type: 'string', pattern: '^scrypt\\$[A-Za-z0-9_-]+\\$[A-Za-z0-9_-]+$' },
    publicKey: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9+/=]+$' },
  },
  ['id', 'userId', 'kind', 'value', 'enabled', 'accessPoints'],
);

export const TimeWindowSchema = closed(
  {
    days: {
      type: 'array',
      minItems: 1,
      maxItems: 7,
      uniqueItems: true,
      items: { type: 'integer', minimum: 0, maximum: 6 },
      description: '0 = Sunday .. 6 = Saturday.',
    },
    start: hhmm,
    end: hhmm,
  },
  ['days', 'start', 'end'],
);

export const ScheduleSchema = closed(
  {
    id,
    name: text,
    timeZone: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA time zone.' },
    windows: { type: 'array', maxItems: 64, items: TimeWindowSchema },
    holidayWindows: { type: 'array', maxItems: 64, items: TimeWindowSchema },
  },
  ['id', 'timeZone', 'windows'],
);

export const HolidaySchema = closed(
  {
    date: {
      type: 'string',
      pattern: '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$',
      description: 'A calendar date, YYYY-MM-DD (2026-02-31 is refused).',
    },
    name: text,
  },
  ['date'],
);

export const AccessPointSchema = closed({ id, name: text, unlockScheduleId: id }, ['id', 'name']);

const tables = {
  users: UserSchema,
  credentials: CredentialSchema,
  schedules: ScheduleSchema,
  holidays: HolidaySchema,
  accessPoints: AccessPointSchema,
};
export const TABLES = Object.keys(tables) as (keyof typeof tables)[];

export const DatabaseContentSchema = closed(
  Object.fromEntries(TABLES.map((t) => [t, { type: 'array', items: tables[t] }])),
  [...TABLES],
);

export const DatabaseDeltaSchema = closed(
  {
    baseVersion: { type: 'integer', minimum: 0, description: 'The version this delta applies to.' },
    upsert: closed(
      Object.fromEntries(TABLES.map((t) => [t, { type: 'array', items: tables[t] }])),
      [],
    ),
    delete: closed(
      Object.fromEntries(
        TABLES.map((t) => [
          t,
          {
            type: 'array',
            items: t === 'holidays' ? { type: 'string' } : id,
            description: t === 'holidays' ? 'Holiday dates.' : 'Ids.',
          },
        ]),
      ),
      [],
    ),
  },
  ['baseVersion'],
);

/**
 * Config keys the host may change here; the access-point state has its own endpoint, and the
 * role is picked when the reader starts (its OSDP link is wired then).
 */
const NOT_HOST_KEYS = ['pinKey', 'pkocSiteKey', 'osdpScbk', 'role', 'accessPointState'] as const;
export const HOST_CONFIG_KEYS = CONFIG_KEYS.filter(
  (k): k is Exclude<keyof ReaderConfigValues, (typeof NOT_HOST_KEYS)[number]> =>
    !(NOT_HOST_KEYS as readonly string[]).includes(k),
);

function configKeySchema(key: keyof ReaderConfigValues): JsonSchema {
  const spec = CONFIG_SPEC[key];
  switch (spec.type) {
    case 'int':
      return {
        type: 'integer',
        minimum: spec.min,
        maximum: spec.max,
        description: `${spec.doc} (${spec.unit})`,
      };
    case 'boolean':
      return { type: 'boolean', description: spec.doc };
    case 'enum':
      return { type: 'string', enum: [...spec.values], description: spec.doc };
    case 'string':
      return { type: 'string', pattern: spec.pattern.source, description: spec.doc };
  }
}

export const ConfigPatchSchema: JsonSchema = {
  ...closed(Object.fromEntries(HOST_CONFIG_KEYS.map((k) => [k, configKeySchema(k)])), []),
  minProperties: 1,
};

const enrollTimeout = CONFIG_SPEC.enrollTimeoutMs;
export const EnrollRequestSchema = closed(
  {
    userId: id,
    timeoutMs: {
      type: 'integer',
      minimum: enrollTimeout.min,
      maximum: enrollTimeout.max,
      description: `Default: the reader's enrollTimeoutMs (${enrollTimeout.default} ms).`,
    },
  },
  ['userId'],
);

export const EnrollParamsSchema = closed({ id }, ['id']);

const seqText = { type: 'string', pattern: '^[0-9]{1,15}$' };
export const EventsQuerySchema = closed(
  {
    after: { ...seqText, description: 'Return events with seq > after (default 0).' },
    limit: { type: 'string', pattern: '^([1-9][0-9]{0,3}|10000)$', description: '1-10000.' },
  },
  [],
);
export const EventStreamQuerySchema = closed(
  {
    after: {
      ...seqText,
      description: 'Replay events with seq > after first (default: everything unacknowledged).',
    },
  },
  [],
);

export const AckRequestSchema = closed(
  {
    upTo: { type: 'integer', minimum: 0, description: 'Acknowledge every event with seq <= upTo.' },
  },
  ['upTo'],
);

export const AccessPointStateParamsSchema = closed(
  { state: { type: 'string', enum: [...ACCESS_POINT_COMMANDS] } },
  ['state'],
);

export const TimeRequestSchema = closed(
  {
    time: {
      type: 'string',
      format: 'date-time',
      // A zone is required (Z or ±hh:mm), and the year must lie in 2000..2100.
      pattern: '^(20[0-9]{2}|2100)-[^Tt]+[Tt][^Zz+-]+([Zz]|[+-][0-9]{2}:[0-9]{2})$',
      description: 'ISO 8601 with a zone (Z or ±hh:mm), years 2000 to 2100.',
    },
  },
  ['time'],
);

export const BadgeRequestSchema = closed(
  {
    value: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_VALUE_LENGTH,
      pattern: '^[\\x21-\\x7e]+$',
      description: 'The card number as the badge reader would send it.',
    },
  },
  ['value'],
);

export const KeypadRequestSchema = closed(
  {
    keys: {
      type: 'string',
      pattern: '^[0-9*#]{1,32}$',
      description: "Keys in order: digits, '#' = enter, '*' = clear.",
    },
  },
  ['keys'],
);

export const DoorParamsSchema = closed({ position: { type: 'string', enum: ['open', 'close'] } }, [
  'position',
]);

export const TamperRequestSchema = closed({ active: { type: 'boolean' } }, ['active']);

export const LinkParamsSchema = closed({ action: { type: 'string', enum: ['cut', 'restore'] } }, [
  'action',
]);

export const PowerCycleRequestSchema = closed(
  {
    afterFlashOps: {
      type: 'integer',
      minimum: 1,
      maximum: 100000000,
      description:
        'Instead of cycling now, cut power during the Nth flash program/erase from now (a brown-out in the middle of the next write); the reader then boots again by itself.',
    },
    model: {
      type: 'string',
      enum: [...TORN_WRITE_MODELS],
      description:
        "What the torn write leaves (storage/power-cut.ts; default 'prefix'). Needs afterFlashOps.",
    },
  },
  [],
);

export const RawDataSchema = closed(
  {
    deviceId: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_VALUE_LENGTH,
      pattern: '^[\\x21-\\x7e]+$',
    },
    publicKey: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9+/=]+$' },
    name: text,
    app: text,
  },
  ['deviceId', 'publicKey'],
);

/** Controls that take no input: an absent body or {}; any field is a 400. */
export const EmptyBodySchema = closed({}, []);
