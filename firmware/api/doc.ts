import { API_ERRORS } from './errors';
import { API_PREFIX, type ApiRoute } from './route';
import { DEFAULT_BODY_LIMIT, DEFAULT_DATABASE_BODY_LIMIT } from './server';

const ACCESS_TEXT = { public: 'none', host: 'token, link up', local: 'token' } as const;

/**
 * The endpoint and error tables of docs/API.md, rendered from the route table and the error
 * codes so the doc cannot drift from the server (test/api/docs.test.ts compares them).
 */
export function endpointTable(routes: ApiRoute[]): string {
  const rows = routes.map((r) => {
    const body = r.body ? 'JSON body' : r.querystring ? 'query' : '';
    return `| \`${r.method} ${API_PREFIX}${r.path}\` | ${ACCESS_TEXT[r.access]} | ${body} | ${r.summary} |`;
  });
  return ['| endpoint | auth | input | what it does |', '|---|---|---|---|', ...rows].join('\n');
}

export function errorTable(meanings: Record<keyof typeof API_ERRORS, string>): string {
  const rows = (Object.keys(API_ERRORS) as (keyof typeof API_ERRORS)[]).map(
    (code) => `| \`${code}\` | ${API_ERRORS[code]} | ${meanings[code]} |`,
  );
  return ['| error | status | when |', '|---|---|---|', ...rows].join('\n');
}

/** What each error code means, for the doc. */
export const ERROR_MEANINGS: Record<keyof typeof API_ERRORS, string> = {
  bad_request:
    'a body, query or path value fails its schema or a referential check; `field` is the JSON pointer',
  unauthorized: 'no `Authorization: Bearer TOKEN` header, or the wrong token',
  not_found: 'no such route, or no such enrollment id',
  version_conflict:
    'PATCH /database baseVersion is not the live version (`currentVersion` says which is)',
  not_in_enroll_mode: 'sim enroll capture while the reader is not in enroll mode',
  body_too_large: `the body is over the limit (${DEFAULT_BODY_LIMIT / 1024} KiB; ${DEFAULT_DATABASE_BODY_LIMIT / 2 ** 20} MiB for the database)`,
  unsupported_media_type: 'a body that is not `application/json`',
  internal: 'a bug: the request changed nothing that was not already durable; see the reader log',
  store_full:
    'the flash image has no room for the write even after garbage collection (nothing changed)',
  booting: 'the firmware is restarting after a power cycle; retry (Retry-After: 1)',
  host_link_down: 'the simulated host link is cut; events stay buffered in flash',
  power_lost:
    'power was cut during this write (sim brown-out); the reader reboots with the old or the new state',
  not_supported: 'this board or firmware cannot do it (e.g. a per-request enroll timeout)',
};
