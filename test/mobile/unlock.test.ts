/**
 * The how-to's whole story through the real stacks: the host API puts the reader in enroll
 * mode, a phone (noble) enrolls over BLE (bleno on the virtual controller), the host pushes
 * the credential, the phone unlocks; then each way to be refused. One reader, one air,
 * scenarios in order; reader time is a virtual clock (exact LED/relay timelines).
 */
import { DeviceKey, createDeviceKey, rawDataOf } from '../../ble/device-key';
import { describeState, PhoneState, VirtualPhone } from '../../ble/phone';
import type { Credential, DatabaseContent, EventRecord } from '../../firmware/foundation/model';
import { MobileRig, startMobileRig } from './harness';

// Monday 1 June 2026, 10:00 in Denver (the office schedule is open).
const START = Date.UTC(2026, 5, 1, 16, 0, 0);
const HOUR = 3_600_000;
/** Longer than the unlock time (5 s) and the phone cooldown (3 s): each attempt starts idle. */
const PAUSE = 6_000;

let rig: MobileRig;
let alice: DeviceKey;
let alicePhone: VirtualPhone;
let publicKey: string;

function database(credential?: Partial<Credential>): DatabaseContent {
  return {
    users: [
      { id: 'alice', name: 'Alice', enabled: true },
      { id: 'olga', name: 'Officer', enabled: true, lockdownOverride: true },
    ],
    credentials: credential
      ? [
          {
            id: 'alice-phone',
            userId: 'alice',
            kind: 'mobile',
            value: alice.deviceId,
            publicKey,
            enabled: true,
            accessPoints: ['*'],
            ...credential,
          },
        ]
      : [],
    schedules: [
      {
        id: 'office',
        timeZone: 'America/Denver',
        windows: [{ days: [1, 2, 3, 4, 5], start: '07:00', end: '18:00' }],
      },
      {
        id: 'night',
        timeZone: 'America/Denver',
        windows: [{ days: [0, 1, 2, 3, 4, 5, 6], start: '22:00', end: '23:00' }],
      },
    ],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}

function watch(phone: VirtualPhone): string[] {
  const states: string[] = [];
  phone.on('state', (s: PhoneState) => states.push(describeState(s)));
  return states;
}

async function accessEvents(): Promise<EventRecord[]> {
  const page = await rig.client.events(0, 1000);
  return page.events.filter((e) => e.type === 'access');
}

/** One unlock attempt after a pause (the previous one's LED, relay and cooldown are over). */
async function attempt(phone: VirtualPhone): Promise<string> {
  await rig.clock.advanceAsync(PAUSE);
  const result = await phone.unlock();
  return result.status === 'granted' ? 'granted' : `${result.status}: ${result.reason}`;
}

beforeAll(async () => {
  rig = await startMobileRig(START);
  alice = createDeviceKey('alice-pixel-8');
  publicKey = rawDataOf(alice).publicKey;
  alicePhone = rig.phone({ key: alice, distance: 1 }).phone;
  await rig.client.push(database());
});

afterAll(async () => {
  await rig?.close();
});

describe('enrollment over BLE into the host API', () => {
  it('captures the phone as Raw Data for the user, reports it, shows it, and returns to access mode', async () => {
    const enrollment = await rig.client.enroll('alice');
    expect(enrollment.state).toBe('pending');
    expect(rig.radio.gatt.advertisedMode).toBe('enroll');
    const states = watch(alicePhone);
    rig.led.clear();
    const at = rig.clock.now();

    const result = await alicePhone.enroll({ name: 'Pixel 8' });

    expect(result).toEqual({ status: 'enrolled', led: 'green' });
    expect(states).toEqual([
      'scanning',
      'in range (-40 dBm)',
      'connecting',
      'enroll sent',
      'enrolled',
    ]);
    expect(await rig.client.enrollment(enrollment.id)).toMatchObject({
      state: 'captured',
      userId: 'alice',
      rawData: { deviceId: 'alice-pixel-8', publicKey },
      capturedAt: at,
    });
    const page = await rig.client.events(0, 1000);
    expect(page.events).toContainEqual(
      expect.objectContaining({
        type: 'enroll',
        userId: 'alice',
        detail: { rawData: { deviceId: 'alice-pixel-8', publicKey } },
      }),
    );
    // Amber (the enroll blink, then the connection), green flashing 3 times with one beep.
    await rig.clock.advanceAsync(2_000);
    expect(rig.led.relativeTimeline(at)).toEqual([
      { at: 0, color: 'green', buzzer: true },
      { at: 200, color: 'off', buzzer: false },
      { at: 400, color: 'green', buzzer: false },
      { at: 600, color: 'off', buzzer: false },
      { at: 800, color: 'green', buzzer: false },
      { at: 1000, color: 'off', buzzer: false },
      { at: 1200, color: 'red', buzzer: false },
    ]);
    expect(rig.radio.gatt.advertisedMode).toBe('access');
    expect(await rig.client.status()).toMatchObject({ accessPoint: { enroll: false } });
  });

  it('is not a credential until the host pushes it', async () => {
    expect(await attempt(alicePhone)).toBe('denied: unknown_credential');
  });

  it('refuses an enroll write outside enroll mode, changing nothing', async () => {
    const before = (await rig.client.events(0, 1000)).events.length;
    const link = await alicePhone.connect(await alicePhone.find());
    await link.writeEnroll(alicePhone.enrollRecord());
    expect(await link.result()).toEqual({ status: 'error', reason: 'not_enroll_mode' });
    await link.disconnect();
    expect((await rig.client.events(0, 1000)).events.length).toBe(before);
  });
});

describe('unlocking with the phone', () => {
  it('grants once pushed with start/end and a use limit: amber, green + beep, relay for the unlock time', async () => {
    await rig.client.push(database({ start: START - HOUR, end: START + 24 * HOUR, useLimit: 2 }));
    await rig.clock.advanceAsync(PAUSE);
    const states = watch(alicePhone);
    rig.led.clear();
    const relayBefore = rig.relay.length;
    const t = rig.clock.now();

    const result = await alicePhone.unlock();
    await rig.clock.advanceAsync(PAUSE);

    expect(result).toEqual({ status: 'granted', led: 'green' });
    expect(states).toEqual([
      'scanning',
      'in range (-40 dBm)',
      'connecting',
      'credential sent',
      'granted',
    ]);
    expect(rig.led.relativeTimeline(t)).toEqual([
      { at: 0, color: 'amber', buzzer: false }, // connected
      { at: 0, color: 'green', buzzer: true }, // granted, one short beep
      { at: 100, color: 'green', buzzer: false },
      { at: 5000, color: 'red', buzzer: false }, // unlock time over: idle
    ]);
    // Fail-secure lock (default): energized = unlocked, for unlockMs.
    expect(rig.relay.slice(relayBefore).map((s) => ({ ...s, at: s.at - t }))).toEqual([
      { at: 0, energized: true },
      { at: 5000, energized: false },
    ]);
    const events = await accessEvents();
    expect(events[events.length - 1]).toMatchObject({
      ts: t,
      decision: 'grant',
      reason: 'granted',
      kind: 'mobile',
      credentialId: 'alice-phone',
      userId: 'alice',
      detail: { source: 'ble', rssi: -40, presented: 'alice-pixel-8' },
    });
  });

  it('answers a lingering phone with a cooldown error and no decision', async () => {
    await rig.clock.advanceAsync(PAUSE);
    await alicePhone.unlock();
    const before = (await accessEvents()).length;
    const again = await alicePhone.unlock(); // same instant: within the 3 s cooldown
    expect(again).toEqual({ status: 'error', reason: 'cooldown' });
    expect((await accessEvents()).length).toBe(before);
  });

  it('refuses once the use limit is reached', async () => {
    expect(await attempt(alicePhone)).toBe('denied: use_limit_reached');
  });

  it('refuses an expired and a not-yet-valid credential', async () => {
    await rig.client.push(database({ end: rig.clock.now() + PAUSE - 1 }));
    expect(await attempt(alicePhone)).toBe('denied: expired');
    await rig.client.push(database({ start: rig.clock.now() + HOUR }));
    expect(await attempt(alicePhone)).toBe('denied: not_yet_valid');
  });

  it('refuses a phone that never enrolled', async () => {
    await rig.client.push(database({}));
    const stranger = rig.phone({ distance: 1 }).phone;
    expect(await attempt(stranger)).toBe('denied: unknown_credential');
    expect(await attempt(alicePhone)).toBe('granted');
  });

  it('refuses a presentation signed with another key (a cloned device id)', async () => {
    const clone = rig.phone({ key: { ...createDeviceKey(), deviceId: alice.deviceId } }).phone;
    expect(await attempt(clone)).toBe('denied: bad_signature');
  });

  it('refuses a recorded presentation replayed on a new connection, and a second one on the same', async () => {
    await rig.clock.advanceAsync(PAUSE);
    const first = await alicePhone.connect(await alicePhone.find());
    const recorded = alicePhone.presentation(await first.challenge());
    await first.writeCredential(recorded);
    expect(await first.result()).toMatchObject({ status: 'granted' });
    await rig.clock.advanceAsync(3_000); // past the cooldown, within the nonce's 5 s
    await first.writeCredential(recorded); // nonce already used on this connection
    expect(await first.result()).toMatchObject({ status: 'denied', reason: 'replay' });
    await first.disconnect();

    await rig.clock.advanceAsync(PAUSE);
    const second = await alicePhone.connect(await alicePhone.find());
    await second.challenge(); // a fresh nonce, not the recorded one
    await second.writeCredential(recorded);
    expect(await second.result()).toEqual({ status: 'denied', reason: 'replay', led: 'red' });
    await second.disconnect();
  });

  it('refuses an expired challenge (replay) and a stale timestamp (stale_timestamp), accepts ts within the skew', async () => {
    await rig.clock.advanceAsync(PAUSE);
    let link = await alicePhone.connect(await alicePhone.find());
    let challenge = await link.challenge();
    await rig.clock.advanceAsync(5_001); // past the 5 s nonce life
    await link.writeCredential(alicePhone.presentation(challenge));
    expect(await link.result()).toMatchObject({ status: 'denied', reason: 'replay' });
    await link.disconnect();

    await rig.clock.advanceAsync(PAUSE);
    link = await alicePhone.connect(await alicePhone.find());
    challenge = await link.challenge();
    await link.writeCredential(
      alicePhone.presentation(challenge, { ts: rig.clock.now() - 60_001 }),
    );
    expect(await link.result()).toMatchObject({ status: 'denied', reason: 'stale_timestamp' });
    await link.disconnect();

    await rig.clock.advanceAsync(PAUSE);
    link = await alicePhone.connect(await alicePhone.find());
    challenge = await link.challenge();
    await link.writeCredential(
      alicePhone.presentation(challenge, { ts: rig.clock.now() + 59_000 }),
    );
    expect(await link.result()).toMatchObject({ status: 'granted' });
    await link.disconnect();
  });

  it('refuses a phone too far for the activation range, with the red flashing LED', async () => {
    const far = rig.phone({ key: alice, distance: 20 }).phone; // -73 dBm < far (-60)
    const states = watch(far);
    await rig.clock.advanceAsync(PAUSE);
    rig.led.clear();
    const t = rig.clock.now();
    expect((await far.unlock()).reason).toBe('too_far');
    await rig.clock.advanceAsync(2_000);
    expect(states).toContain('in range (-73 dBm)');
    expect(states[states.length - 1]).toBe('denied: too_far');
    expect(rig.led.relativeTimeline(t)).toEqual([
      { at: 0, color: 'amber', buzzer: false },
      { at: 0, color: 'red', buzzer: true },
      { at: 100, color: 'red', buzzer: false },
      { at: 200, color: 'off', buzzer: false },
      { at: 400, color: 'red', buzzer: true },
      { at: 500, color: 'red', buzzer: false },
      { at: 600, color: 'off', buzzer: false },
      { at: 800, color: 'red', buzzer: true },
      { at: 900, color: 'red', buzzer: false },
      { at: 1000, color: 'off', buzzer: false },
      { at: 1200, color: 'red', buzzer: false },
    ]);
    // A custom activation threshold lets the same phone in.
    await rig.client.patchConfig({ bleRange: 'custom', bleCustomRssi: -80 });
    expect(await attempt(far)).toBe('granted');
    await rig.client.patchConfig({ bleRange: 'far' });
  });

  it('refuses during lockdown', async () => {
    await rig.client.setAccessPointState('lockdown');
    expect(await attempt(alicePhone)).toBe('denied: lockdown');
    await rig.client.setAccessPointState('schedule');
    expect(await attempt(alicePhone)).toBe('granted');
  });

  it('refuses outside the credential schedule', async () => {
    await rig.client.push(database({ scheduleId: 'night' }));
    expect(await attempt(alicePhone)).toBe('denied: outside_schedule');
    await rig.client.push(database({ scheduleId: 'office' }));
    expect(await attempt(alicePhone)).toBe('granted');
  });

  it('kept the reader consistent: every decision logged once, stacks answered cleanly', async () => {
    const events = await accessEvents();
    const reasons = events.map((e) => e.reason);
    expect(reasons).toEqual([
      'unknown_credential',
      'granted',
      'granted',
      'use_limit_reached',
      'expired',
      'not_yet_valid',
      'unknown_credential',
      'granted',
      'bad_signature',
      'granted',
      'replay',
      'replay',
      'replay',
      'stale_timestamp',
      'granted',
      'too_far',
      'granted',
      'lockdown',
      'granted',
      'outside_schedule',
      'granted',
    ]);
    expect(rig.radio.controller!.stats).toMatchObject({
      unknownCommands: 0,
      invalidCommands: 0,
      aclDropped: 0,
    });
  });

  it('serves reader info, and advertises a new reader id at once', async () => {
    let link = await alicePhone.connect(await alicePhone.find('reader-1'));
    expect(await link.readerInfo()).toEqual({
      v: 1,
      readerId: 'reader-1',
      siteId: 'door-1',
      mode: 'access',
      minRssi: -60,
      fw: expect.any(String),
    });
    await link.disconnect();
    await rig.client.patchConfig({ readerId: 'lobby-2' });
    await rig.clock.advanceAsync(PAUSE);
    link = await alicePhone.connect(await alicePhone.find('lobby-2'));
    expect(await link.readerInfo()).toMatchObject({ readerId: 'lobby-2' });
    const challenge = await link.challenge();
    expect(challenge.readerId).toBe('lobby-2');
    await link.writeCredential(alicePhone.presentation(challenge));
    expect(await link.result()).toMatchObject({ status: 'granted' });
    await link.disconnect();
  });

  it('keeps serving across a power cycle: the radio outlives the firmware', async () => {
    const before = rig.reader();
    await rig.client.request('POST', '/sim/power-cycle', {});
    expect(rig.reader()).not.toBe(before);
    expect(await attempt(alicePhone)).toBe('granted');
  });

  it('serves two phones at once, each on its own connection and nonce', async () => {
    const olga = createDeviceKey('olga-iphone');
    const db = database({});
    db.credentials.push({
      id: 'olga-phone',
      userId: 'olga',
      kind: 'mobile',
      value: olga.deviceId,
      publicKey: rawDataOf(olga).publicKey,
      enabled: true,
      accessPoints: ['*'],
    });
    await rig.client.push(db);
    const olgaPhone = rig.phone({ key: olga, distance: 2 }).phone;
    await rig.clock.advanceAsync(PAUSE);
    const before = (await accessEvents()).length;
    const results = await Promise.all([alicePhone.unlock(), olgaPhone.unlock()]);
    expect(results.map((r) => r.status)).toEqual(['granted', 'granted']);
    const events = (await accessEvents()).slice(before);
    expect(events.map((e) => e.credentialId).sort()).toEqual(['alice-phone', 'olga-phone']);
  });
});
