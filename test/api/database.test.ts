import type { DatabaseContent } from '../../firmware/foundation/model';
import { eventually, sampleDatabase, startTestReader, type TestReader, rejection } from './harness';

type Mutation = (db: Record<string, unknown[]> & DatabaseContent) => void;

describe('database push over the host API', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader();
  });
  afterAll(() => reader.close());

  it('full push replaces the database and returns the new version', async () => {
    const first = await reader.client.push(sampleDatabase(3));
    expect(first.counts).toEqual({
      users: 3,
      credentials: 3,
      schedules: 1,
      holidays: 1,
      accessPoints: 2,
    });
    const second = await reader.client.push(sampleDatabase(5, 'v'));
    expect(second.version).toBeGreaterThan(first.version);
    const { version, content } = await reader.client.content();
    expect(version).toBe(second.version);
    expect(content.users.map((u) => u.id).sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(content.credentials).toHaveLength(5);
    const status = await reader.client.status();
    expect((status.database as { version: number }).version).toBe(second.version);
  });

  // Each malformed body names its field; none changes anything.
  const malformed: [string, Mutation | unknown, string][] = [
    ['not an object', '"nope"', '/'],
    [
      'missing table',
      (db: DatabaseContent) => delete (db as Partial<DatabaseContent>).holidays,
      '/holidays',
    ],
    ['unknown table', (db: Record<string, unknown>) => (db.doors = []), '/doors'],
    [
      'user without name',
      (db: DatabaseContent) => delete (db.users[1] as Partial<DatabaseContent['users'][0]>).name,
      '/users/1/name',
    ],
    [
      'enabled as a string',
      (db: DatabaseContent) =>
        ((db.users[0] as unknown as Record<string, unknown>).enabled = 'yes'),
      '/users/0/enabled',
    ],
    [
      'unknown credential field',
      (db: DatabaseContent) =>
        ((db.credentials[2] as unknown as Record<string, unknown>).colour = 'red'),
      '/credentials/2/colour',
    ],
    [
      'unknown kind',
      (db: DatabaseContent) =>
        ((db.credentials[0] as unknown as Record<string, unknown>).kind = 'retina'),
      '/credentials/0/kind',
    ],
    [
      'empty value',
      (db: DatabaseContent) => (db.credentials[1]!.value = ''),
      '/credentials/1/value',
    ],
    [
      'negative use limit',
      (db: DatabaseContent) => (db.credentials[1]!.useLimit = -1),
      '/credentials/1/useLimit',
    ],
    [
      'fractional start',
      (db: DatabaseContent) => (db.credentials[0]!.start = 1.5),
      '/credentials/0/start',
    ],
    [
      'end before start',
      (db: DatabaseContent) => Object.assign(db.credentials[0]!, { start: 2000, end: 1000 }),
      '/credentials/0/end',
    ],
    [
      'bad weekday',
      (db: DatabaseContent) => (db.schedules[0]!.windows[0]!.days = [7]),
      '/schedules/0/windows/0/days/0',
    ],
    [
      'bad time of day',
      (db: DatabaseContent) => (db.schedules[0]!.windows[0]!.end = '25:00'),
      '/schedules/0/windows/0/end',
    ],
    [
      'unknown time zone',
      (db: DatabaseContent) => (db.schedules[0]!.timeZone = 'Mars/Olympus'),
      '/schedules/0',
    ],
    [
      'bad holiday date',
      (db: DatabaseContent) => (db.holidays[0]!.date = '2026-13-01'),
      '/holidays/0/date',
    ],
    ['duplicate user id', (db: DatabaseContent) => (db.users[2]!.id = 'm0'), '/users/2/id'],
    [
      'duplicate credential id',
      (db: DatabaseContent) => (db.credentials[1]!.id = 'mc0'),
      '/credentials/1/id',
    ],
    [
      'duplicate badge value',
      (db: DatabaseContent) => (db.credentials[2]!.value = '10000'),
      '/credentials/2/value',
    ],
    [
      'credential of an unknown user',
      (db: DatabaseContent) => (db.credentials[1]!.userId = 'ghost'),
      '/credentials/1/userId',
    ],
    [
      'unknown schedule',
      (db: DatabaseContent) => (db.credentials[0]!.scheduleId = 'night'),
      '/credentials/0/scheduleId',
    ],
    [
      'unknown access point',
      (db: DatabaseContent) => (db.credentials[2]!.accessPoints = ['*', 'door-9']),
      '/credentials/2/accessPoints/1',
    ],
    [
      'access point with unknown schedule',
      (db: DatabaseContent) => (db.accessPoints[0]!.unlockScheduleId = 'x'),
      '/accessPoints/0/unlockScheduleId',
    ],
  ];

  it.each(malformed)(
    '%s -> 400 naming the field, nothing changes',
    async (_name, mutate, field) => {
      const before = await reader.client.content();
      let body: unknown;
      if (typeof mutate === 'function') {
        const db = sampleDatabase(3, 'm') as Record<string, unknown[]> & DatabaseContent;
        (mutate as Mutation)(db);
        body = db;
      } else {
        body = mutate;
      }
      const err = await rejection(reader.client.request('PUT', '/database', body));
      expect(err.status).toBe(400);
      expect(err.body.error).toBe('bad_request');
      expect(err.body.field).toBe(field);
      expect(err.body.message).toContain(field === '/' ? 'body' : field);
      expect(await reader.client.content()).toEqual(before);
    },
  );

  it('rejects invalid JSON and a body over the size limit, changing nothing', async () => {
    const before = await reader.client.content();
    const bad = await rejection(reader.client.push('{"users": ['));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('bad_request');
    const huge = await rejection(
      reader.client.request('PATCH', '/config', { readerId: 'x'.repeat(70_000) }),
    );
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe('body_too_large');
    expect(await reader.client.content()).toEqual(before);
  });

  it('applies a delta against its base version and refuses a stale base with 409', async () => {
    const base = await reader.client.push(sampleDatabase(3));
    const next = await reader.client.patch({
      baseVersion: base.version,
      upsert: {
        users: [{ id: 'u9', name: 'New', enabled: true }],
        credentials: [
          {
            id: 'uc9',
            userId: 'u9',
            kind: 'badge',
            value: '99999',
            enabled: true,
            accessPoints: ['door-1'],
          },
          {
            id: 'uc0',
            userId: 'u0',
            kind: 'badge',
            value: '10000',
            enabled: false,
            accessPoints: ['*'],
          },
        ],
      },
      delete: { credentials: ['uc2'], users: ['u2'] },
    });
    expect(next.version).toBeGreaterThan(base.version);
    const { content } = await reader.client.content();
    expect(content.users.map((u) => u.id).sort()).toEqual(['u0', 'u1', 'u9']);
    expect(content.credentials.find((c) => c.id === 'uc0')!.enabled).toBe(false);
    expect(content.credentials.find((c) => c.id === 'uc2')).toBeUndefined();

    const stale = await rejection(
      reader.client.patch({ baseVersion: base.version, delete: { credentials: ['uc9'] } }),
    );
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      error: 'version_conflict',
      field: '/baseVersion',
      currentVersion: next.version,
    });
    expect((await reader.client.content()).content).toEqual(content);
  });

  const badDeltas: [string, (v: number) => unknown, string][] = [
    ['no base version', () => ({ delete: { users: [] } }), '/baseVersion'],
    ['unknown section', (v) => ({ baseVersion: v, insert: {} }), '/insert'],
    [
      'credential of a deleted user',
      (v) => ({
        baseVersion: v,
        upsert: {
          credentials: [
            {
              id: 'k',
              userId: 'u1',
              kind: 'badge',
              value: '5',
              enabled: true,
              accessPoints: ['*'],
            },
          ],
        },
        delete: { users: ['u1'], credentials: ['uc1'] },
      }),
      '/upsert/credentials/0/userId',
    ],
    [
      'deleting a user still in use',
      (v) => ({ baseVersion: v, delete: { users: ['u0'] } }),
      '/delete/users/0',
    ],
    [
      'deleting a schedule still in use',
      (v) => ({ baseVersion: v, delete: { schedules: ['office'] } }),
      '/delete/schedules/0',
    ],
    [
      'a badge value another credential holds',
      (v) => ({
        baseVersion: v,
        upsert: {
          credentials: [
            {
              id: 'k',
              userId: 'u1',
              kind: 'badge',
              value: '10000',
              enabled: true,
              accessPoints: ['*'],
            },
          ],
        },
      }),
      '/upsert/credentials/0/value',
    ],
    [
      'upsert and delete of one id',
      (v) => ({
        baseVersion: v,
        upsert: { users: [{ id: 'u1', name: 'x', enabled: true }] },
        delete: { users: ['u1'] },
      }),
      '/upsert/users/0',
    ],
  ];

  it.each(badDeltas)(
    'delta with %s -> 400 naming the field, nothing changes',
    async (_name, make, field) => {
      const before = await reader.client.content();
      const err = await rejection(
        reader.client.request('PATCH', '/database', make(before.version)),
      );
      expect(err.status).toBe(400);
      expect(err.body.field).toBe(field);
      expect(await reader.client.content()).toEqual(before);
    },
  );
});

describe('PIN-only credentials pushed as digits', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader();
  });
  afterAll(() => reader.close());

  const withPin = (value: string, id = 'u0-pin'): DatabaseContent => {
    const db = sampleDatabase(1);
    db.credentials.push({
      id,
      userId: 'u0',
      kind: 'pin',
      value,
      enabled: true,
      accessPoints: ['*'],
    });
    return db;
  };

  /** Types `digits#` on the reader's keypad; resolves with the access event's reason. */
  async function typePin(digits: string): Promise<string | undefined> {
    const { lastSeq } = (await reader.client.status()).events as { lastSeq: number };
    await reader.client.sim.keypad(`${digits}#`);
    const event = await eventually(async () =>
      (await reader.client.events(lastSeq, 100)).events.find((e) => e.type === 'access'),
    );
    return event.reason;
  }

  it('stores a keyed hash, never the digits, and the keypad opens with them', async () => {
    await reader.client.push(withPin('80417'));
    const { content } = await reader.client.content();
    const pin = content.credentials.find((c) => c.id === 'u0-pin')!;
    expect(pin.value).toMatch(/^hmac:[0-9a-f]{64}$/);
    expect(JSON.stringify(content)).not.toContain('80417');
    expect(await typePin('80417')).toBe('granted');
    expect(await typePin('80418')).toBe('unknown_credential');
  });

  it('takes the hmac value back as it was given out (a host re-pushing what it read)', async () => {
    const before = await reader.client.content();
    const stored = before.content.credentials.find((c) => c.id === 'u0-pin')!.value;
    await reader.client.push(withPin(stored));
    const after = await reader.client.content();
    expect(after.content.credentials.find((c) => c.id === 'u0-pin')!.value).toBe(stored);
    expect(await typePin('80417')).toBe('granted');
  });

  it('a delta upsert seals the digits too, and two users cannot share a PIN', async () => {
    const { version } = await reader.client.content();
    await reader.client.request('PATCH', '/database', {
      baseVersion: version,
      upsert: {
        credentials: [
          {
            id: 'u0-pin',
            userId: 'u0',
            kind: 'pin',
            value: '246810',
            enabled: true,
            accessPoints: ['*'],
          },
        ],
      },
    });
    expect(await typePin('246810')).toBe('granted');
    expect(await typePin('80417')).toBe('unknown_credential');
    const clash = withPin('246810');
    clash.credentials.push({ ...clash.credentials[1]!, id: 'other-pin' });
    const err = await rejection(reader.client.push(clash));
    expect(err.status).toBe(400);
    expect(err.body.field).toBe('/credentials/2/value');
  });

  it.each([
    ['letters', '12a4'],
    ['too short', '123'],
    ['too long', '1234567890123'],
    ['a malformed hash', 'hmac:1234'],
  ])('a pin value with %s -> 400 naming it, nothing changes', async (_name, value) => {
    const before = await reader.client.content();
    const err = await rejection(reader.client.push(withPin(value)));
    expect(err.status).toBe(400);
    expect(err.body.field).toBe('/credentials/1/value');
    expect(await reader.client.content()).toEqual(before);
  });
});
