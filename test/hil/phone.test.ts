import { createDeviceKey, rawDataOf, type DeviceKey } from '../../ble/device-key';
import type { Credential, Schedule } from '../../firmware/foundation/model';
import type { Rig } from './rig';
import { database, eventsAfter, FAST_DOOR, hilScenarios, nextEvent } from './scenario';

/** A mobile credential as the host pushes it after enrollment: the phone's id and public key. */
function mobileCredential(id: string, phone: DeviceKey, extra: Partial<Credential> = {}) {
  return {
    id,
    userId: 'u0',
    kind: 'mobile' as const,
    value: phone.deviceId,
    publicKey: rawDataOf(phone).publicKey,
    enabled: true,
    accessPoints: ['*'],
    ...extra,
  };
}

/** The scenario database plus these phones, and the fast door timings; returns the last seq. */
async function preparePhones(
  rig: Rig,
  phones: ReturnType<typeof mobileCredential>[],
  schedules: Schedule[] = [],
): Promise<number> {
  const base = database();
  await rig.api.push({
    ...base,
    credentials: [...base.credentials, ...phones],
    schedules,
  });
  await rig.api.patchConfig(FAST_DOOR);
  return (await rig.api.events(0)).lastSeq;
}

/**
 * A schedule that is closed now whatever the rig's clock says (virtual on the sim, real on
 * the Pi): one hour a day, twelve hours from the reader's present hour, in UTC.
 */
async function closedNow(rig: Rig): Promise<Schedule> {
  const hour = new Date((await rig.api.time()).epochMs).getUTCHours();
  const from = (hour + 12) % 24;
  const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;
  return {
    id: 'closed-now',
    timeZone: 'UTC',
    windows: [{ days: [0, 1, 2, 3, 4, 5, 6], start: hh(from), end: hh(from + 1) }],
  };
}

/**
 * A refused phone: the phone is told the reason, the reader logs the same reason, the LED
 * flashes red and the relay never moves (checked while the deny pattern runs).
 */
async function expectRefused(rig: Rig, phone: DeviceKey, seq: number, reason: string) {
  const answer = await rig.phoneUnlock(phone);
  expect(answer).toEqual({ status: 'denied', reason, led: 'red' });
  const event = await nextEvent(rig, seq, (e) => e.type === 'access');
  expect(event).toMatchObject({ decision: 'deny', reason, kind: 'mobile' });
  expect(await rig.relayEnergized()).toBe(false);
  expect(await rig.ledDuring(1000)).toEqual(new Set(['red', 'off']));
  expect(await rig.relayEnergized()).toBe(false);
  const access = (await eventsAfter(rig, seq)).filter((e) => e.type === 'access');
  expect(access.map((e) => e.decision)).toEqual(['deny']);
}

hilScenarios('phone', (scenario) => {
  scenario(
    'phone grant: an enrolled phone unlocks, LED green, relocks after the unlock time',
    async (rig) => {
      const phone = createDeviceKey('hil-phone-enrolled');
      const seq = await preparePhones(rig, [mobileCredential('m0', phone)]);
      expect(await rig.led()).toBe('red');
      expect(await rig.relayEnergized()).toBe(false);
      const answer = await rig.phoneUnlock(phone);
      expect(answer).toEqual({ status: 'granted', led: 'green' });
      const event = await nextEvent(rig, seq, (e) => e.type === 'access');
      expect(event).toMatchObject({
        decision: 'grant',
        reason: 'granted',
        credentialId: 'm0',
        kind: 'mobile',
      });
      // Fail-secure (the default): energized = unlocked, for the unlock time.
      expect(await rig.relayEnergized()).toBe(true);
      expect(await rig.led()).toBe('green');
      await rig.wait(FAST_DOOR.unlockMs + 300);
      expect(await rig.relayEnergized()).toBe(false);
      expect(await rig.led()).toBe('red');
    },
  );

  scenario(
    'phone deny: an unknown phone is refused, red flashing, relay never moves',
    async (rig) => {
      const seq = await preparePhones(rig, [
        mobileCredential('m0', createDeviceKey('hil-phone-enrolled')),
      ]);
      await expectRefused(rig, createDeviceKey('hil-phone-stranger'), seq, 'unknown_credential');
    },
  );

  scenario('phone outside its schedule: refused with outside_schedule', async (rig) => {
    const schedule = await closedNow(rig);
    const phone = createDeviceKey('hil-phone-day-shift');
    const seq = await preparePhones(
      rig,
      [mobileCredential('m0', phone, { scheduleId: schedule.id })],
      [schedule],
    );
    await expectRefused(rig, phone, seq, 'outside_schedule');
  });

  scenario('phone after its end date: refused with expired', async (rig) => {
    const now = (await rig.api.time()).epochMs;
    const phone = createDeviceKey('hil-phone-contractor');
    const seq = await preparePhones(rig, [
      mobileCredential('m0', phone, { start: now - 30 * 86_400_000, end: now - 3_600_000 }),
    ]);
    await expectRefused(rig, phone, seq, 'expired');
  });
});
