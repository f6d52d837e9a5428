/**
 * Fuzzing the host API: every route the server registered (read back from fastify, with its
 * schemas from the OpenAPI document it serves, so a new route is fuzzed without a change
 * here) gets arbitrary and mutated-valid JSON bodies, wrong content types, raw bytes, odd
 * query strings and path parameters, all with the valid token. Every answer is a 4xx in the
 * API's error shape or a 2xx (a body that happens to be valid), never a 5xx and never a hang;
 * a refused request (and any GET) leaves the reader exactly as it was: database, events,
 * config, door, clock, host link, and not one flash operation. /health answers throughout.
 */
import fc from 'fast-check';
import { API_ERRORS } from '../../firmware/api/errors';
import { sampleDatabase, startTestReader, type TestReader } from '../api/harness';
import { send, type RawRequest, type RawResponse } from './http-client';
import { fuzzParams, fuzzTimeout } from './params';
import { fuzzRoutes, type FuzzRoute } from './routes';
import { mutated, mutatedValid, valid, type Schema } from './schema-arbitrary';

jest.setTimeout(fuzzTimeout(120_000));

/** Cases per route in CI; an HTTP round trip is ~10x a parser call in long mode. */
const RUNS_PER_ROUTE = 24;
const COST = 10;

let reader: TestReader;
let routes: FuzzRoute[];

beforeAll(async () => {
  // 128 sectors: a valid random push still fits, and a full flash would be a 507 by design.
  reader = await startTestReader({ sectorCount: 128 });
  await reader.client.push(sampleDatabase(3));
  const openapi = (await reader.client.request('GET', '/openapi.json')) as Parameters<
    typeof fuzzRoutes
  >[1];
  routes = fuzzRoutes(reader.api.app, openapi);
});

afterAll(async () => {
  await reader?.close();
});

/** Everything a request could change, read in process (no HTTP, so reading changes nothing). */
function snapshot(): string {
  const fw = reader.board.reader();
  if (!fw) return JSON.stringify({ board: reader.board.state() });
  const status = fw.status();
  return JSON.stringify({
    version: fw.store.database.version(),
    content: fw.store.database.content(),
    // Counts and sequence numbers catch any append or ack (listing them all grows too slow).
    events: fw.store.events.stats(),
    config: fw.visibleConfig(),
    accessPoint: status.accessPoint,
    door: status.door,
    relay: status.relay,
    led: status.led,
    bootedAt: status.bootedAt,
    clock: fw.clock.now(),
    link: reader.api.link.state(),
    flashOps: reader.flash.stats.operations,
  });
}

/**
 * A valid request may have flipped a simulator control that would make later answers 503 by
 * design (host link cut, a brown-out armed inside the next flash write): put them back, as
 * an operator would.
 */
function restoreSimControls(): void {
  reader.api.link.restore();
  reader.flash.armPowerCut(undefined);
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const percentBytes = bytes(40).map((b) =>
  [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join(''),
);

/** A path segment: a valid value, or anything at all, percent-encoded so nothing normalises it. */
function segment(schema: Schema | undefined): fc.Arbitrary<string> {
  return fc.oneof(
    ...(schema ? [valid(schema).map((v) => encodeURIComponent(String(v)))] : []),
    fc.string({ maxLength: 30, unit: 'binary' }).map(encodeURIComponent),
    percentBytes,
    fc.constantFrom('%zz', '%', '%2e%2e', '..', '%00', '%C0%AE', 'x'.repeat(3000), ''),
  );
}

function queryString(schema: Schema | undefined): fc.Arbitrary<string> {
  const asParams = (value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? new URLSearchParams(
          Object.entries(value).flatMap(([k, v]): [string, string][] =>
            Array.isArray(v) ? v.map((x) => [k, String(x)]) : [[k, String(v)]],
          ),
        ).toString()
      : encodeURIComponent(JSON.stringify(value) ?? '');
  const names = Object.keys((schema?.properties ?? {}) as object);
  return fc
    .oneof(
      fc.constant(''),
      ...(schema ? [valid(schema).map(asParams), mutatedValid(schema).map(asParams)] : []),
      fc
        .dictionary(
          fc.oneof(fc.constantFrom(...names, 'token', 'since', 'until'), fc.string()),
          fc.oneof(fc.string({ unit: 'binary' }), fc.integer().map(String)),
          { maxKeys: 4 },
        )
        .map(asParams),
      percentBytes,
      fc.constantFrom(
        'after=1&after=2',
        'limit=1e3',
        'after=-0',
        'since=0&until=1',
        'since=0',
        'until=999999999999999',
        'until=-999999999h',
        'since=-999999999h&until=1ms',
        'since=999999999ms',
        'since=1h&until=-2h',
        'since=0001-01-01T00:00:00Z',
        '%',
        '=&&=',
        'a[b]=1',
        '__proto__[x]=1',
      ),
    )
    .map((q) => (q === '' ? '' : `?${q}`));
}

const WRONG_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=utf-16',
  'application/jsonx',
  'application/json, text/plain',
  '',
];

/**
 * Known-good bodies for the routes whose random schema-valid bodies almost never pass the
 * handler's own checks (referential integrity, the live version, a user that exists), so
 * mutations also start from deep inside the handler.
 */
function examples(route: FuzzRoute): fc.Arbitrary<unknown> | undefined {
  switch (`${route.method} ${route.url}`) {
    case 'PUT /api/v1/database':
      return fc.integer({ min: 1, max: 4 }).map((n) => sampleDatabase(n));
    case 'PATCH /api/v1/database':
      return fc.constantFrom('u8', 'u9').map((id) => ({
        baseVersion: reader.board.reader()?.store.database.version() ?? 0,
        upsert: { users: [{ id, name: `User ${id}`, enabled: true }] },
        delete: { credentials: ['uc0'] },
      }));
    case 'POST /api/v1/enroll':
      return fc.constantFrom({ userId: 'u0' }, { userId: 'u1', timeoutMs: 60_000 });
    case 'POST /api/v1/sim/enroll/capture':
      return fc.constant({ deviceId: 'phone-1', publicKey: 'BAAA', name: 'Phone' });
    case 'POST /api/v1/events/ack':
      return fc.constant(0).map(() => ({
        upTo: reader.board.reader()?.store.events.stats().lastSeq ?? 0,
      }));
  }
  return undefined;
}

function body(
  schema: Schema | undefined,
  known: fc.Arbitrary<unknown> | undefined,
): fc.Arbitrary<{ type?: string; bytes?: Buffer }> {
  const json = (v: unknown) => ({
    type: 'application/json',
    bytes: Buffer.from(JSON.stringify(v) ?? 'null'),
  });
  return fc.oneof(
    { arbitrary: fc.constant({}), weight: 1 },
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map(json), weight: 2 },
    ...(schema
      ? [
          { arbitrary: valid(schema).map(json), weight: 2 },
          { arbitrary: mutatedValid(schema).map(json), weight: 5 },
        ]
      : []),
    ...(known
      ? [
          { arbitrary: known.map(json), weight: 2 },
          { arbitrary: mutated(known).map(json), weight: 4 },
        ]
      : []),
    { arbitrary: bytes(200).map((b) => ({ type: 'application/json', bytes: b })), weight: 1 },
    {
      arbitrary: fc
        .tuple(fc.constantFrom(...WRONG_TYPES), fc.oneof(bytes(100), fc.jsonValue().map(json)))
        .map(([type, b]) => ({ type, bytes: Buffer.isBuffer(b) ? b : b.bytes })),
      weight: 2,
    },
    {
      arbitrary: fc
        .constantFrom(
          '{"__proto__":{"admin":true}}',
          '{"constructor":{"prototype":{"admin":true}}}',
          '['.repeat(60_000),
          '{"a":'.repeat(10_000),
          '1e999999',
          '"\\ud800"',
          '{"a":1,"a":2}',
          '\ufeff{}',
          '',
          ' ',
          'null',
        )
        .map((text) => ({ type: 'application/json', bytes: Buffer.from(text) })),
      weight: 1,
    },
  );
}

function requests(route: FuzzRoute): fc.Arbitrary<RawRequest> {
  const names = [...route.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
  return fc
    .tuple(
      fc.tuple(...names.map((n) => segment(route.params?.[n]))),
      queryString(route.query),
      body(route.body, examples(route)),
      fc.option(fc.string({ maxLength: 20, unit: 'grapheme-ascii' }), { nil: undefined }),
    )
    .map(([values, query, b, lastEventId]) => {
      let path = route.url;
      names.forEach((n, i) => (path = path.replace(`:${n}`, values[i]!)));
      const headers: Record<string, string> = { authorization: `Bearer ${reader.token}` };
      if (b.type !== undefined && b.type !== '') headers['content-type'] = b.type;
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      return { method: route.method, path: path + query, headers, body: b.bytes };
    });
}

/** A refusal: 4xx with { error: a documented code, message, field? }. */
function expectApiError(response: RawResponse): string {
  expect(response.contentType).toMatch(/^application\/json/);
  const parsed = JSON.parse(response.body) as Record<string, unknown>;
  expect(Object.keys(API_ERRORS)).toContain(parsed.error);
  expect(typeof parsed.message).toBe('string');
  if ('field' in parsed) expect(typeof parsed.field).toBe('string');
  return parsed.error as string;
}

/** Refusals that may come before a handler runs (parsing, the schema). */
const SHALLOW = new Set(['bad_request', 'unsupported_media_type', 'body_too_large']);

async function expectHealthy(): Promise<void> {
  const health = await send(reader.api.url, {
    method: 'GET',
    path: '/api/v1/health',
    headers: {},
  });
  expect(health.status).toBe(200);
  expect(JSON.parse(health.body)).toMatchObject({ ok: true, state: 'running' });
}

describe('fuzzing the host API, every route', () => {
  it('finds every route the server registered, documented ones with their schemas', () => {
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    // A few known ones prove the discovery works; everything found is fuzzed below.
    expect(keys).toEqual(
      expect.arrayContaining([
        'PUT /api/v1/database',
        'POST /api/v1/sim/door/:position',
        'GET /api/v1/events/stream',
        'GET /api/v1/panel/timeline.svg',
      ]),
    );
    const documented = routes.filter((r) => r.documented);
    expect(documented.length).toBeGreaterThanOrEqual(25);
    expect(routes.find((r) => r.url === '/api/v1/database' && r.method === 'PUT')?.body).toEqual(
      expect.objectContaining({ required: expect.arrayContaining(['users', 'credentials']) }),
    );
    expect(routes.find((r) => r.url === '/api/v1/events')?.query).toBeDefined();
  });

  it('answers 4xx (API error shape, nothing changed) or 2xx, never 5xx or a hang', async () => {
    const tally: Record<string, Record<string, number>> = {};
    for (const route of routes) {
      const name = `${route.method} ${route.url}`;
      const seen: Record<string, number> = (tally[name] = {});
      try {
        await fc.assert(
          fc.asyncProperty(requests(route), async (req) => {
            const before = snapshot();
            const response = await send(reader.api.url, req);
            const kind = `${Math.floor(response.status / 100)}xx`;
            seen[kind] = (seen[kind] ?? 0) + 1;
            if (response.status < 300) seen.deep = (seen.deep ?? 0) + 1;
            expect(response.status).toBeGreaterThanOrEqual(200);
            expect(response.status).toBeLessThan(500);
            if (response.status >= 400) {
              const code = expectApiError(response);
              if (!SHALLOW.has(code)) seen.deep = (seen.deep ?? 0) + 1;
              expect(snapshot()).toBe(before);
            } else if (route.method === 'GET') {
              expect(snapshot()).toBe(before);
            }
            restoreSimControls();
          }),
          fuzzParams(RUNS_PER_ROUTE, { seed: 9001, cost: COST }),
        );
      } catch (err) {
        // Name the route: the fast-check report below it has the seed and path to replay.
        throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
      } finally {
        restoreSimControls();
      }
      await expectHealthy();
    }
    // Every route was exercised, and the fuzz reached past validation somewhere.
    for (const route of routes) {
      const seen = tally[`${route.method} ${route.url}`]!;
      expect(Object.values(seen).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
    const total = (kind: string) =>
      Object.values(tally).reduce((sum, seen) => sum + (seen[kind] ?? 0), 0);
    expect(total('4xx')).toBeGreaterThan(0);
    // Bodies got past the schema into the handlers of every route that takes one.
    const shallow = routes.filter((r) => r.body && !tally[`${r.method} ${r.url}`]!.deep);
    expect(shallow.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it('answers unknown paths and methods with 404/405-style API errors', async () => {
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods),
        fc.array(segment(undefined), { minLength: 1, maxLength: 4 }),
        async (method, segments) => {
          const path = `/api/v1/${segments.join('/')}`;
          const before = snapshot();
          const response = await send(reader.api.url, {
            method,
            path,
            headers: { authorization: `Bearer ${reader.token}` },
          });
          expect(response.status).toBeLessThan(500);
          if (response.status >= 400) {
            expectApiError(response);
            expect(snapshot()).toBe(before);
          }
          restoreSimControls();
        },
      ),
      fuzzParams(60, { seed: 9002, cost: COST }),
    );
    await expectHealthy();
  });
});
