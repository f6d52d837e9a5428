import { isoToEpochMs } from '../../firmware/api/database-checks';
import { eventually, sampleDatabase, startTestReader, type TestReader, rejection } from './harness';

describe('credential dates as ISO 8601, and uses so far', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader();
  });
  afterAll(() => reader.close());

  it('reads ISO 8601 date-times with a zone, strictly', () => {
    expect(isoToEpochMs('2026-01-01T08:00:00Z')).toBe(Date.UTC(2026, 0, 1, 8));
    expect(isoToEpochMs('2026-01-01T09:00+01:00')).toBe(Date.UTC(2026, 0, 1, 8));
    expect(isoToEpochMs('2025-12-31T21:30:00.5-10:30')).toBe(Date.UTC(2026, 0, 1, 8, 0, 0, 500));
    expect(isoToEpochMs('2026-02-30T00:00:00Z')).toBe('is not a real date and time of day');
    expect(isoToEpochMs('2026-01-01T08:00:00')).toMatch(
      /^is not an ISO 8601 date-time with a zone/,
    );
    expect(isoToEpochMs('1969-12-31T23:59:59Z')).toBe('is before 1970 or too far ahead');
  });

  it('a push takes start/end as ISO 8601 or epoch ms and stores epoch ms', async () => {
    const db = sampleDatabase(3, 'd');
    Object.assign(db.credentials[0]!, {
      start: '2026-01-01T00:00:00Z',
      end: '2026-12-31T17:00:00-07:00',
    });
    Object.assign(db.credentials[1]!, { start: 1767225600000 });
    await reader.client.push(db);
    const { content } = await reader.client.content();
    const byId = new Map(content.credentials.map((c) => [c.id, c]));
    expect(byId.get('dc0')).toMatchObject({
      start: Date.UTC(2026, 0, 1),
      end: Date.UTC(2027, 0, 1),
    });
    expect(byId.get('dc1')).toMatchObject({ start: 1767225600000 });
    expect(byId.get('dc2')!.start).toBeUndefined();

    const { version } = await reader.client.content();
    // A JSON body: the model's type has the stored form (ms), the wire takes either.
    const patched = await reader.client.patch(
      JSON.stringify({
        baseVersion: version,
        upsert: { credentials: [{ ...byId.get('dc2')!, end: '2030-06-01T12:00:00+02:00' }] },
      }),
    );
    const after = await reader.client.content();
    expect(after.version).toBe(patched.version);
    expect(after.content.credentials.find((c) => c.id === 'dc2')!.end).toBe(
      Date.UTC(2030, 5, 1, 10),
    );
  });

  it.each([
    ['no zone', '2026-01-01T08:00:00', /is not an ISO 8601 date-time with a zone/],
    ['no such day', '2026-02-30T08:00:00Z', /is not a real date and time of day/],
    ['a date only', '2026-01-01', /is not an ISO 8601 date-time with a zone/],
  ])('a start with %s is a 400 naming it, and changes nothing', async (_, start, message) => {
    const before = await reader.client.content();
    const db = sampleDatabase(2, 'x');
    Object.assign(db.credentials[1]!, { start });
    const err = await rejection(reader.client.push(db));
    expect(err.status).toBe(400);
    expect(err.body.field).toBe('/credentials/1/start');
    expect(err.message).toMatch(message);
    expect((await reader.client.content()).version).toBe(before.version);
  });

  it('ISO end before ISO start is refused like epoch ms', async () => {
    const db = sampleDatabase(1, 'y');
    Object.assign(db.credentials[0]!, {
      start: '2026-02-01T00:00:00Z',
      end: '2026-01-01T00:00:00Z',
    });
    const err = await rejection(reader.client.push(db));
    expect(err.body.field).toBe('/credentials/0/end');
  });

  it('uses so far are in the database content; a re-push keeps them for the ids that stay', async () => {
    const db = sampleDatabase(2, 'k');
    db.credentials[0]!.useLimit = 5;
    await reader.client.push(db);
    expect((await reader.client.content()).uses).toEqual({});
    for (const expected of [1, 2]) {
      await reader.client.sim.badge('10000');
      await eventually(
        async () => (await reader.client.content()).uses.kc0 === expected || undefined,
      );
    }
    // The same credential id pushed again (even with another limit) keeps its count.
    db.credentials[0]!.useLimit = 3;
    await reader.client.push(db);
    expect((await reader.client.content()).uses).toEqual({ kc0: 2 });
    // Pushed without it, then back: a new credential, counted from zero.
    await reader.client.push({ ...db, credentials: db.credentials.slice(1) });
    await reader.client.push(db);
    expect((await reader.client.content()).uses).toEqual({});
  });
});
