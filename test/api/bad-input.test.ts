import { HostApiError } from '../../firmware/api/client';
import { sampleDatabase, startTestReader, type TestReader } from './harness';

/** Everything a bad request could have changed, read back through the API. */
async function snapshot(reader: TestReader) {
  const status = await reader.client.status();
  return {
    database: await reader.client.content(),
    events: (await reader.client.events(0, 10000)).events,
    config: await reader.client.config(),
    accessPoint: status.accessPoint,
    door: status.door,
    relay: status.relay,
    clock: status.clock,
    link: status.hostLink,
    bootedAt: status.bootedAt,
  };
}

describe('bad input to every other body, query and path', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader();
    await reader.client.push(sampleDatabase(2));
  });
  afterAll(() => reader.close());

  const cases: [string, string, string, unknown, string][] = [
    ['POST', '/enroll', 'user id not a string', { userId: 5 }, '/userId'],
    ['POST', '/enroll', 'unknown field', { userId: 'u1', mode: 'fast' }, '/mode'],
    ['POST', '/enroll', 'timeout too short', { userId: 'u1', timeoutMs: 10 }, '/timeoutMs'],
    ['POST', '/events/ack', 'negative seq', { upTo: -1 }, '/upTo'],
    ['POST', '/events/ack', 'seq as text', { upTo: '1' }, '/upTo'],
    ['POST', '/events/ack', 'missing seq', {}, '/upTo'],
    ['GET', '/events?limit=0', 'zero limit', undefined, '/limit'],
    ['GET', '/events?limit=20000', 'limit too big', undefined, '/limit'],
    ['GET', '/events/stream?after=-1', 'negative cursor', undefined, '/after'],
    ['PUT', '/time', 'epoch number', { time: 1767600000000 }, '/time'],
    ['PUT', '/time', 'no zone', { time: '2026-01-01T10:00:00' }, '/time'],
    ['PATCH', '/config', 'secret key', { pinKey: '' }, '/pinKey'],
    [
      'PATCH',
      '/config',
      'state through config',
      { accessPointState: 'unlock' },
      '/accessPointState',
    ],
    ['PATCH', '/config', 'bad reader id', { readerId: 'has space' }, '/readerId'],
    ['POST', '/sim/badge', 'empty badge', { value: '' }, '/value'],
    ['POST', '/sim/badge', 'badge with a newline', { value: '123\n456' }, '/value'],
    ['POST', '/sim/keypad', 'letters', { keys: 'abc' }, '/keys'],
    ['POST', '/sim/tamper', 'no flag', {}, '/active'],
    ['POST', '/sim/enroll/capture', 'no public key', { deviceId: 'p' }, '/publicKey'],
    ['POST', '/sim/power-cycle', 'zero ops', { afterFlashOps: 0 }, '/afterFlashOps'],
    ['POST', '/sim/door/ajar', 'door position', undefined, '/position'],
    ['POST', '/sim/link/unplug', 'link action', undefined, '/action'],
    ['POST', '/accesspoint/state/open', 'state', undefined, '/state'],
    ['POST', '/accesspoint/state/unlock', 'a body where none is taken', { force: true }, '/force'],
    ['POST', '/sim/rex', 'a body where none is taken', { times: 2 }, '/times'],
  ];

  it.each(cases)(
    '%s %s (%s) -> 400 naming the field, nothing changes',
    async (method, path, _name, body, field) => {
      const before = await snapshot(reader);
      const err = await reader.client.request(method, path, body).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostApiError);
      expect((err as HostApiError).status).toBe(400);
      expect((err as HostApiError).body).toMatchObject({ error: 'bad_request', field });
      expect(await snapshot(reader)).toEqual(before);
    },
  );

  it('refuses a body that is not JSON with 415, changing nothing', async () => {
    const before = await snapshot(reader);
    const response = await fetch(reader.client.url('/database'), {
      method: 'PUT',
      headers: { authorization: `Bearer ${reader.token}`, 'content-type': 'text/plain' },
      body: 'users=all',
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: 'unsupported_media_type' });
    expect(await snapshot(reader)).toEqual(before);
  });

  it('acknowledging an older seq again is a harmless no-op', async () => {
    const { lastSeq } = await reader.client.events(0);
    await reader.client.ack(lastSeq);
    expect((await reader.client.ack(0)).ackedSeq).toBe(lastSeq);
  });
});

describe('a push bigger than the flash', () => {
  it('is refused with 507 store_full and leaves the database as it was', async () => {
    const reader = await startTestReader({ sectorCount: 64 });
    try {
      await reader.client.push(sampleDatabase(5));
      const before = await reader.client.content();
      const err = await reader.client.push(sampleDatabase(4000, 'big')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostApiError);
      expect((err as HostApiError).status).toBe(507);
      expect((err as HostApiError).body.error).toBe('store_full');
      expect(await reader.client.content()).toEqual(before);
      expect((await reader.client.health()).state).toBe('running');
    } finally {
      await reader.close();
    }
  });
});
