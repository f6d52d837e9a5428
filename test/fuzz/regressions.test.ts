/**
 * Findings of the fuzz tests in test/fuzz/, each kept as a named case so it stays fixed.
 */
import { API_ERRORS } from '../../firmware/api/errors';
import { startTestReader, type TestReader } from '../api/harness';
import { send } from './http-client';

describe('regressions found by fuzzing the host API', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader({ sectorCount: 64 });
  });
  afterAll(() => reader.close());

  // Found by http.test.ts: fastify refused these before routing with its own body
  // { statusCode, error: 'Bad Request', code: 'FST_ERR_BAD_URL' } (and 414 for a long
  // parameter), not the API's { error, message, field } (fix: firmware/api/server.ts frameworkErrors).
  it.each([
    ['a bad percent escape in a path parameter', 'POST', '/api/v1/sim/door/%80'],
    ['a percent sign that escapes nothing', 'GET', '/api/v1/enroll/%zz'],
    ['an over-long path parameter', 'GET', `/api/v1/enroll/${'x'.repeat(3000)}`],
    ['a bad escape in an unknown path', 'GET', '/api/v1/%zz'],
  ])(
    'regression: %s is a 400 in the API error shape, not fastify’s own',
    async (_name, method, path) => {
      const response = await send(reader.api.url, {
        method,
        path,
        headers: { authorization: `Bearer ${reader.token}` },
      });
      expect(response.status).toBe(400);
      expect(response.contentType).toMatch(/^application\/json/);
      const body = JSON.parse(response.body) as Record<string, unknown>;
      expect(body).toMatchObject({ error: 'bad_request', field: '/' });
      expect(Object.keys(API_ERRORS)).toContain(body.error);
      expect(body).not.toHaveProperty('statusCode');
      expect((await reader.client.health()).state).toBe('running');
    },
  );
});
