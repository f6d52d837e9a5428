import fs from 'node:fs';
import path from 'node:path';
import { API_ERRORS } from './errors';
import { fleetRoutes } from './fleet';
import { API_PREFIX, type ApiRoute } from './route';
import { apiRoutes, DEFAULT_BODY_LIMIT, DEFAULT_DATABASE_BODY_LIMIT } from './server';

const ACCESS_TEXT = { public: 'none', host: 'token, link up', local: 'token' } as const;

/**
 * The endpoint and error tables of docs/API.md, rendered from the route table and the error
 * codes so the doc cannot drift from the server (test/api/docs.test.ts compares them).
 */
export function endpointTable(routes: ApiRoute[]): string {
  const rows = routes.map((r) => {
    const fields = Object.keys((r.body?.properties ?? {}) as object).length;
    const required = ((r.body?.required ?? []) as string[]).length;
    const body =
      fields === 0
        ? r.querystring
          ? 'query'
          : ''
        : required
          ? 'JSON body'
          : 'JSON body (optional)';
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
  method_not_allowed: 'a known path with a method it does not take; `Allow` lists the ones it does',
  request_timeout: 'the request (headers and body) did not arrive within the time limits',
  header_too_large: 'the request headers are larger than 16 KiB',
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
  not_supported:
    'this board or firmware cannot do it (e.g. a power cut inside a flash write on a board without fault injection)',
};

/** Rewrites the generated sections of docs/API.md in place. */
export function renderApiDoc(doc: string, routes: ApiRoute[]): string {
  const sections: [string, string][] = [
    ['endpoints', endpointTable(routes)],
    ['errors', errorTable(ERROR_MEANINGS)],
    ['fleet-endpoints', endpointTable(fleetRoutes)],
  ];
  let out = doc;
  for (const [name, table] of sections) {
    out = out.replace(
      new RegExp(`(<!-- ${name}:begin[^>]*-->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`),
      (_match, begin: string, end: string) => begin + table + end,
    );
  }
  return out;
}

// `node -r ts-node/register/transpile-only firmware/api/doc.ts` regenerates docs/API.md.
if (require.main === module) {
  const file = path.join(__dirname, '..', '..', 'docs', 'API.md');
  fs.writeFileSync(file, renderApiDoc(fs.readFileSync(file, 'utf8'), apiRoutes()));
}
