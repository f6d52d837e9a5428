import { DatabaseContentSchema, DatabaseDeltaSchema } from '../../firmware/api/schemas';
import { eventually, sampleDatabase, startTestReader, type TestReader, rejection } from './harness';

type Status = {
  relay: string;
  led: { color: string; situation?: string };
  door: { position: string; tamper: boolean };
  accessPoint: { state: string; enroll: boolean };
};

describe('reader controls over the host API', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader();
    await reader.client.push(sampleDatabase(3));
  });
  afterAll(() => reader.close());
  const status = async () => (await reader.client.status()) as unknown as Status;

  it('reports status: reader, database, outputs, flash health', async () => {
    const s = await reader.client.status();
    expect(s).toMatchObject({
      readerId: expect.any(String),
      database: { counts: { users: 3, credentials: 3 } },
      relay: 'locked',
      door: { position: 'closed' },
      accessPoint: { state: 'schedule' },
      hostLink: { state: 'up' },
      led: { color: 'red' },
    });
    expect(s.flash).toEqual(expect.objectContaining({ freeBytes: expect.any(Number) }));
    const db = await reader.client.database();
    expect(db).toEqual({
      version: (s.database as { version: number }).version,
      counts: expect.objectContaining({ users: 3 }),
    });
    expect(await reader.client.sim.link()).toMatchObject({ state: 'up' });
  });

  it('grants a known badge and denies an unknown one, through the real reader', async () => {
    const { lastSeq } = await reader.client.events(0);
    await reader.client.sim.badge('10001');
    const granted = await eventually(async () =>
      (await reader.client.events(lastSeq)).events.find((e) => e.type === 'access'),
    );
    expect(granted).toMatchObject({ decision: 'grant', reason: 'granted', credentialId: 'uc1' });
    expect((await status()).relay).toBe('unlocked');
    reader.clock.advance(6000);
    expect((await status()).relay).toBe('locked');

    const { lastSeq: mark } = await reader.client.events(0);
    await reader.client.sim.badge('4242');
    const denied = await eventually(async () =>
      (await reader.client.events(mark)).events.find((e) => e.type === 'access'),
    );
    expect(denied).toMatchObject({ decision: 'deny', reason: 'unknown_credential' });
  });

  it('sets the access-point state: unlock, lockdown, admit, schedule', async () => {
    expect(await reader.client.setAccessPointState('unlock')).toMatchObject({ state: 'unlock' });
    expect((await status()).relay).toBe('unlocked');
    expect(await reader.client.setAccessPointState('lockdown')).toMatchObject({
      state: 'lockdown',
    });
    reader.clock.advance(2000); // let an earlier temporary LED pattern end
    expect(await status()).toMatchObject({ relay: 'locked', led: { situation: 'lockdown' } });
    expect((await reader.client.accessPointState()).state).toBe('lockdown');
    // The state is persisted: it survives a power cycle.
    await reader.client.sim.powerCycle();
    expect((await reader.client.accessPointState()).state).toBe('lockdown');
    await reader.client.setAccessPointState('schedule');
    expect(await reader.client.setAccessPointState('admit')).toMatchObject({ state: 'schedule' });
    expect((await status()).relay).toBe('unlocked');
    reader.clock.advance(6000);
    expect((await status()).relay).toBe('locked');
    const bad = await rejection(reader.client.setAccessPointState('party'));
    expect(bad.body).toMatchObject({ error: 'bad_request', field: '/state' });
  });

  it('drives the door contact, REX and tamper inputs', async () => {
    expect(await reader.client.sim.door('open')).toMatchObject({ position: 'forced-open' });
    expect(await reader.client.sim.door('close')).toMatchObject({ position: 'closed' });
    expect(await reader.client.sim.tamper(true)).toMatchObject({ tamper: true });
    expect(await reader.client.sim.tamper(false)).toMatchObject({ tamper: false });
    const { lastSeq } = await reader.client.events(0);
    await reader.client.sim.rex();
    expect((await status()).relay).toBe('unlocked');
    reader.clock.advance(6000);
    const kinds = (await reader.client.events(lastSeq)).events.map((e) => e.detail);
    expect(kinds).toContainEqual({ rex: true });
    const bad = await rejection(reader.client.request('POST', '/sim/tamper', { active: 'yes' }));
    expect(bad.body.field).toBe('/active');
  });

  it('types keys on the keypad', async () => {
    const { lastSeq } = await reader.client.events(0);
    await reader.client.sim.keypad('1234#');
    const denied = await eventually(async () =>
      (await reader.client.events(lastSeq)).events.find((e) => e.type === 'access'),
    );
    expect(denied).toMatchObject({ kind: 'pin', decision: 'deny', reason: 'unknown_credential' });
    const bad = await rejection(reader.client.sim.keypad('12a#'));
    expect(bad.body.field).toBe('/keys');
  });

  it('sets the time and the config, rejecting bad values by name', async () => {
    expect(await reader.client.time()).toEqual({
      time: new Date(reader.clock.now()).toISOString(),
      epochMs: reader.clock.now(),
    });
    const t = await reader.client.setTime('2026-06-01T12:00:00+02:00');
    expect(t).toEqual({ time: '2026-06-01T10:00:00.000Z', epochMs: Date.UTC(2026, 5, 1, 10) });
    expect(reader.clock.now()).toBe(Date.UTC(2026, 5, 1, 10));
    expect((await rejection(reader.client.setTime('tomorrow'))).body.field).toBe('/time');

    const changed = await reader.client.patchConfig({ unlockMs: 8000, relockOnClose: false });
    expect(changed.changed.sort()).toEqual(['relockOnClose', 'unlockMs']);
    expect(await reader.client.config()).toMatchObject({ unlockMs: 8000, relockOnClose: false });
    expect(await reader.client.config()).not.toHaveProperty('pinKey');
    for (const [patch, field] of [
      [{ unlockMs: 10 }, '/unlockMs'],
      [{ unlockMs: '5000' }, '/unlockMs'],
      [{ bleRange: 'moon' }, '/bleRange'],
      [{ pinKey: 'x' }, '/pinKey'],
      [{}, '/'],
    ] as const) {
      const err = await rejection(reader.client.patchConfig(patch));
      expect(err.body.field).toBe(field);
    }
    expect(await reader.client.config()).toMatchObject({ unlockMs: 8000 });
    await reader.client.patchConfig({ unlockMs: 5000, relockOnClose: true });
  });

  it('enrolls: pending, Raw Data captured through the sim, then a timeout', async () => {
    const unknownUser = await rejection(reader.client.enroll('nobody'));
    expect(unknownUser.body.field).toBe('/userId');
    const captureIdle = await rejection(
      reader.client.sim.enrollCapture({ deviceId: 'phone-1', publicKey: 'QUJD' }),
    );
    expect(captureIdle.body.error).toBe('not_in_enroll_mode');

    const e = await reader.client.enroll('u1');
    expect(e).toMatchObject({ state: 'pending', userId: 'u1' });
    reader.clock.advance(2000); // let the earlier denials' LED pattern end
    expect(await status()).toMatchObject({
      accessPoint: { enroll: true },
      led: { situation: 'enroll' },
    });
    await reader.client.sim.enrollCapture({ deviceId: 'phone-1', publicKey: 'QUJD' });
    const captured = await eventually(async () => {
      const now = await reader.client.enrollment(e.id);
      return now.state === 'captured' ? now : undefined;
    });
    expect(captured).toMatchObject({ rawData: { deviceId: 'phone-1', publicKey: 'QUJD' } });
    const raw = (await reader.client.events(0)).events.find((x) => x.type === 'enroll');
    expect(raw).toMatchObject({ userId: 'u1', detail: { rawData: { deviceId: 'phone-1' } } });

    const second = await reader.client.enroll('u2');
    reader.clock.advance(61_000);
    expect(await reader.client.enrollment(second.id)).toMatchObject({ state: 'timed_out' });
    expect((await status()).accessPoint.enroll).toBe(false);

    // A per-request timeout overrides the configured 60 s.
    const third = await reader.client.enroll('u2', 5_000);
    reader.clock.advance(4_999);
    expect(await reader.client.enrollment(third.id)).toMatchObject({ state: 'pending' });
    expect((await status()).accessPoint.enroll).toBe(true);
    reader.clock.advance(1);
    expect(await reader.client.enrollment(third.id)).toMatchObject({ state: 'timed_out' });
    expect((await status()).accessPoint.enroll).toBe(false);
    expect((await rejection(reader.client.enrollment('nope'))).status).toBe(404);
  });

  it('publishes an OpenAPI document built from the validation schemas', async () => {
    const doc = (await reader.client.openApi()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const db = doc.paths['/api/v1/database']!;
    expect(db.put!.requestBody!.content['application/json']!.schema).toEqual(DatabaseContentSchema);
    expect(db.patch!.requestBody!.content['application/json']!.schema).toEqual(DatabaseDeltaSchema);
    for (const path of [
      '/api/v1/status',
      '/api/v1/enroll/{id}',
      '/api/v1/events/stream',
      '/api/v1/sim/power-cycle',
      '/api/v1/accesspoint/state/{state}',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });
});
