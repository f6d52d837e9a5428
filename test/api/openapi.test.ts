/**
 * The served OpenAPI document is one a back-end team can build on: a typed client generated
 * from it (openapi-typescript) compiles a small client written against it (openapi-fetch,
 * tsc --strict), and the reader's real answers, success and error, match the schemas the
 * document publishes (ajv). GET /config's answer is a valid PATCH /config body.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { sampleDatabase, startTestReader, type TestReader } from './harness';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
/** Inside the checkout, so the generated client resolves openapi-fetch from its node_modules. */
const WORK = path.join(ROOT, 'node_modules', '.cache', 'reader-sim-openapi-test');

type Doc = {
  openapi: string;
  servers: unknown[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};
type Operation = {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};

let reader: TestReader;
let doc: Doc;

beforeAll(async () => {
  reader = await startTestReader();
  doc = (await reader.client.openApi()) as Doc;
});
afterAll(async () => {
  await reader?.close();
});

/** A request through the real server, its status and JSON body. */
async function call(method: string, url: string, body?: unknown, token = reader.token) {
  const res = await fetch(`${reader.api.url}/api/v1${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

describe('the OpenAPI document', () => {
  it('names a server, identifiers for operations, a schema for every JSON answer', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers.length).toBeGreaterThan(0);
    for (const [route, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(`${method} ${route} ${op.operationId}`).toMatch(/ [A-Za-z][A-Za-z0-9]*$/);
        const codes = Object.keys(op.responses);
        if (route !== '/api/v1/health') expect(codes).toContain('401');
        const [success] = codes.filter((c) => /^2/.test(c));
        const content = op.responses[success!]!.content!;
        expect(Object.keys(content)).toEqual([
          route.endsWith('/stream') ? 'text/event-stream' : 'application/json',
        ]);
      }
    }
  });

  it('generates a typed client that compiles against a client written to it', () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    fs.mkdirSync(WORK, { recursive: true });
    fs.writeFileSync(path.join(WORK, 'openapi.json'), JSON.stringify(doc));
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'),
        path.join(WORK, 'openapi.json'),
        '--output',
        path.join(WORK, 'api.d.ts'),
      ],
      { stdio: 'pipe' },
    );
    fs.writeFileSync(
      path.join(WORK, 'client.ts'),
      [
        "import createClient from 'openapi-fetch';",
        "import type { paths } from './api';",
        '',
        "const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:8080' });",
        '',
        'export async function check(): Promise<string> {',
        "  const { data, error } = await client.GET('/api/v1/status');",
        '  if (error) return `${error.error}: ${error.message}`;',
        '  const flash: number = data.flash.freeBytes;',
        "  const relay: 'locked' | 'unlocked' = data.relay;",
        '  return `${data.readerId} ${data.database.version} ${relay} ${flash}`;',
        '}',
        '',
        'export async function push(): Promise<number | undefined> {',
        "  const { data, error } = await client.PATCH('/api/v1/database', {",
        "    body: { baseVersion: 1, upsert: { users: [{ id: 'u', name: 'U', enabled: true }] } },",
        '  });',
        "  if (error?.error === 'version_conflict') return error.currentVersion;",
        '  return data?.version;',
        '}',
        '',
        'export async function events(): Promise<number[]> {',
        "  const { data } = await client.GET('/api/v1/events', { params: { query: { after: '0' } } });",
        '  return (data?.events ?? []).map((e) => e.seq);',
        '}',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(WORK, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          module: 'esnext',
          moduleResolution: 'bundler',
          lib: ['es2022', 'dom'],
          skipLibCheck: true,
          types: [],
        },
        files: ['client.ts'],
      }),
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', WORK], { stdio: 'pipe', encoding: 'utf8' });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe('');
  });

  it('describes the real answers: success and error, route by route', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    /** The document's path template a concrete URL matches ("/enroll/abc" -> "/enroll/{id}"). */
    const templateOf = (url: string) =>
      Object.keys(doc.paths).find((template) =>
        new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(`/api/v1${url}`),
      )!;
    const check = (method: string, url: string, status: number, body: unknown) => {
      const route = url.replace(/\?.*$/, '');
      const op = doc.paths[templateOf(route)]![method.toLowerCase()]!;
      const response = op.responses[String(status)] ?? op.responses.default!;
      const schema = response.content!['application/json']!.schema as object;
      // The document's components ride along, so "#/components/..." resolves as in the document.
      const validate = ajv.compile({ ...schema, components: doc.components });
      const ok = validate(body);
      expect({
        route: `${method} ${route} ${status}`,
        errors: ok ? null : validate.errors,
      }).toEqual({
        route: `${method} ${route} ${status}`,
        errors: null,
      });
    };

    const pushed = await call('PUT', '/database', sampleDatabase(3));
    expect(pushed.status).toBe(200);
    check('PUT', '/database', 200, pushed.body);
    await call('POST', '/sim/badge', { value: '10000' });
    const answers: Array<[string, string, unknown?]> = [
      ['GET', '/health'],
      ['GET', '/status'],
      ['GET', '/database'],
      ['GET', '/database/content'],
      ['GET', '/events?after=0'],
      ['POST', '/events/ack', { upTo: 1 }],
      ['GET', '/time'],
      ['PUT', '/time', { time: '2026-06-01T12:00:00+02:00' }],
      ['GET', '/config'],
      ['GET', '/accesspoint/state'],
      ['POST', '/accesspoint/state/admit'],
      ['POST', '/enroll', { userId: 'u0', timeoutMs: 5000 }],
      ['POST', '/sim/keypad', { keys: '12#' }],
      ['POST', '/sim/rex'],
      ['POST', '/sim/door/open'],
      ['POST', '/sim/door/close'],
      ['POST', '/sim/tamper', { active: false }],
      ['GET', '/sim/link'],
      ['POST', '/sim/power-cycle', { afterFlashOps: 1000000 }],
      // Errors: each in the shape its status publishes.
      ['PATCH', '/database', { baseVersion: 99, upsert: {} }],
      ['GET', '/enroll/no-such-enrollment'],
      ['PUT', '/database', { users: 'nope' }],
      ['POST', '/sim/enroll/capture', { deviceId: 'p', publicKey: 'AAAA' }],
    ];
    for (const [method, url, body] of answers) {
      const answer = await call(method, url, body);
      check(method, url, answer.status, answer.body);
    }
    const denied = await call('GET', '/status', undefined, 'wrong-token');
    expect(denied.status).toBe(401);
    check('GET', '/status', 401, denied.body);
  });

  it('takes back what GET /config gives (a read-modify-write works)', async () => {
    const config = await call('GET', '/config');
    const patched = await call('PATCH', '/config', { ...(config.body as object), unlockMs: 7000 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ changed: ['unlockMs'], config: { unlockMs: 7000 } });
  });
});
