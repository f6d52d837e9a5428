import type { Credential, DatabaseContent, DatabaseDelta } from '../../foundation/model';
import { isPinDigits } from '../../pin';
import { checkDelta, withEpochDates } from '../database-checks';
import { FullPushRows, StagedPush } from '../full-push';
import { ApiError } from '../errors';
import { VersionConflictError } from '../../../storage/errors';
import type { RunningReader } from '../../running-reader';
import type { ApiRoute } from '../route';
import { DatabaseContentSchema, DatabaseDeltaSchema } from '../schemas';
import { DatabaseContentResponseSchema, DatabaseSummarySchema } from '../responses';

const PIN_LOOKUP = /^hmac:[0-9a-f]{64}$/;

/**
 * A host pushes a PIN-only credential's digits (or the `hmac:` value the reader answered
 * with before); the reader stores only the keyed hash. New rows, the body is left as it was.
 */
function sealPins(credentials: Credential[], reader: RunningReader, table: string): Credential[] {
  return credentials.map((c, i) => {
    if (c.kind !== 'pin' || PIN_LOOKUP.test(c.value)) return c;
    if (!isPinDigits(c.value)) {
      throw new ApiError(
        'bad_request',
        `body /${table}/${i}/value of a pin credential must be its 4 to 12 digits or an "hmac:" lookup value`,
        `/${table}/${i}/value`,
        { part: 'body' },
      );
    }
    return { ...c, value: reader.pinLookup(c.value) };
  });
}

function conflict(base: number, current: number): ApiError {
  return new ApiError(
    'version_conflict',
    `baseVersion ${base} is not the live database version ${current}; fetch the status and push again`,
    '/baseVersion',
    { currentVersion: current },
  );
}

export const databaseRoutes: ApiRoute[] = [
  {
    method: 'GET',
    path: '/database',
    summary: 'Database version and row counts.',
    tag: 'database',
    access: 'host',
    response: DatabaseSummarySchema,
    handle: ({ reader }) => ({
      version: reader.store.database.version(),
      counts: reader.store.database.counts(),
    }),
  },
  {
    method: 'GET',
    path: '/database/content',
    summary:
      'The whole database as stored (for small databases and checks), and the uses so far of each credential that has any.',
    tag: 'database',
    access: 'host',
    response: DatabaseContentResponseSchema,
    handle: ({ reader }) => {
      const { database } = reader.store;
      const content = database.content();
      // Beside the content, not in it: the content can be pushed back as it is.
      const uses: Record<string, number> = {};
      for (const c of content.credentials) {
        const n = database.usesOf(c.id);
        if (n > 0) uses[c.id] = n;
      }
      return { version: database.version(), content, uses };
    },
  },
  {
    method: 'PUT',
    path: '/database',
    summary:
      'Full "Update Access Points": replaces the whole database atomically (old or new, even across power loss); returns the new version.',
    tag: 'database',
    access: 'host',
    body: DatabaseContentSchema,
    bodyLimit: 'database',
    response: DatabaseSummarySchema,
    errors: ['store_full', 'power_lost'],
    // Rows are checked and staged as they arrive (full-push.ts): bounded by records, not objects.
    bodyRows: (reader) => new FullPushRows((digits) => reader.pinLookup(digits)),
    handle: ({ reader, body }) => {
      const push =
        body instanceof StagedPush
          ? body
          : FullPushRows.of(body as DatabaseContent, (digits) => reader.pinLookup(digits));
      const version = reader.replaceDatabase(push.staged);
      return { version, counts: reader.store.database.counts() };
    },
  },
  {
    method: 'PATCH',
    path: '/database',
    summary:
      'Delta push (upserts, deletes) against baseVersion, atomic; 409 version_conflict when the base is stale.',
    tag: 'database',
    access: 'host',
    body: DatabaseDeltaSchema,
    bodyLimit: 'database',
    response: DatabaseSummarySchema,
    errors: ['version_conflict', 'store_full', 'power_lost'],
    handle: ({ reader, body }) => {
      const pushed = body as DatabaseDelta;
      const upserted = pushed.upsert?.credentials;
      const delta: DatabaseDelta = upserted
        ? {
            ...pushed,
            upsert: {
              ...pushed.upsert,
              credentials: sealPins(
                withEpochDates(upserted, 'upsert/credentials'),
                reader,
                'upsert/credentials',
              ),
            },
          }
        : pushed;
      const current = reader.store.database.version();
      if (delta.baseVersion !== current) throw conflict(delta.baseVersion, current);
      checkDelta(delta, reader.store);
      let version: number;
      try {
        version = reader.patchDatabase(delta);
      } catch (err) {
        if (err instanceof VersionConflictError) {
          throw conflict(delta.baseVersion, reader.store.database.version());
        }
        throw err;
      }
      return { version, counts: reader.store.database.counts() };
    },
  },
];
