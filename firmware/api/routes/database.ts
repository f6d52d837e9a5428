import type { DatabaseContent, DatabaseDelta } from '../../../storage/model';
import { checkContent, checkDelta } from '../database-checks';
import { ApiError } from '../errors';
import type { ApiRoute } from '../route';
import { DatabaseContentSchema, DatabaseDeltaSchema } from '../schemas';

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
    handle: ({ firmware }) => ({
      version: firmware.store.database.version(),
      counts: firmware.store.database.counts(),
    }),
  },
  {
    method: 'GET',
    path: '/database/content',
    summary: 'The whole database as stored (for small databases and checks).',
    tag: 'database',
    access: 'host',
    handle: ({ firmware }) => ({
      version: firmware.store.database.version(),
      content: firmware.store.database.content(),
    }),
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
    handle: ({ firmware, body }) => {
      const content = body as DatabaseContent;
      checkContent(content);
      const version = firmware.store.database.replace(content);
      firmware.databaseUpdated(version);
      return { version, counts: firmware.store.database.counts() };
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
    handle: ({ firmware, body }) => {
      const delta = body as DatabaseDelta;
      const current = firmware.store.database.version();
      if (delta.baseVersion !== current) throw conflict(delta.baseVersion, current);
      checkDelta(delta, firmware.store);
      let version: number;
      try {
        version = firmware.store.database.patch(delta);
      } catch (err) {
        if (err instanceof Error && err.name === 'VersionConflictError') {
          throw conflict(delta.baseVersion, firmware.store.database.version());
        }
        throw err;
      }
      firmware.databaseUpdated(version);
      return { version, counts: firmware.store.database.counts() };
    },
  },
];
