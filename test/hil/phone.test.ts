import {
  createPhone,
  eventsAfter,
  FAST_DOOR,
  markEvents,
  mobileCredential,
  type Credential,
  type DeviceKey,
  type Rig,
  type Schedule,
} from '../../firmware/testkit';
import { database, hilScenarios } from './scenario';

/** The scenario database plus these phones, and the fast door timings; returns the last seq. */
async function preparePhones(
  rig: Rig,
  phones: Credential[],
  schedules: Schedule[] = [],
): Promise<number> {
  const base = database();
  await rig.api.push({
    ...base,
    credentials: [...base.credentials, ...phones],
    schedules,
  });
  await rig.api.patchConfig(FAST_DOOR);
  return markEvents(rig);
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
  await expect(rig).toHaveDecided(reason, { kind: 'mobile' });
  await expect(rig).not.toHaveRelayEnergized();
  await expect(rig).toBlinkLed(['red', 'off'], 1000);
  await expect(rig).not.toHaveRelayEnergized();
  const access = (await eventsAfter(rig, seq)).filter((e) => e.type === 'access');
  expect(access.map((e) => e.decision)).toEqual(['deny']);
}

hilScenarios('phone', (scenario) => {
  scenario(
    'phone grant: an enrolled phone unlocks, LED green, relocks after the unlock time',
    async (rig) => {
      const phone = createPhone('hil-phone-enrolled');
      await preparePhones(rig, [mobileCredential('m0', phone)]);
      await expect(rig).toShowLed('red');
      await expect(rig).not.toHaveRelayEnergized();
      const answer = await rig.phoneUnlock(phone);
      expect(answer).toEqual({ status: 'granted', led: 'green' });
      await expect(rig).toHaveDecided('granted', { credentialId: 'm0', kind: 'mobile' });
      // Fail-secure (the default): energized = unlocked, for the unlock time.
      await expect(rig).toHaveRelayEnergized();
      await expect(rig).toShowLed('green');
      await rig.wait(FAST_DOOR.unlockMs + 300);
      await expect(rig).not.toHaveRelayEnergized();
      await expect(rig).toShowLed('red');
    },
  );

  scenario(
    'phone deny: an unknown phone is refused, red flashing, relay never moves',
    async (rig) => {
      const seq = await preparePhones(rig, [
        mobileCredential('m0', createPhone('hil-phone-enrolled')),
      ]);
      await expectRefused(rig, createPhone('hil-phone-stranger'), seq, 'unknown_credential');
    },
  );

  scenario('phone outside its schedule: refused with outside_schedule', async (rig) => {
    const schedule = await closedNow(rig);
    const phone = createPhone('hil-phone-day-shift');
    const seq = await preparePhones(
      rig,
      [mobileCredential('m0', phone, { scheduleId: schedule.id })],
      [schedule],
    );
    await expectRefused(rig, phone, seq, 'outside_schedule');
  });

  scenario('phone after its end date: refused with expired', async (rig) => {
    const now = (await rig.api.time()).epochMs;
    const phone = createPhone('hil-phone-contractor');
    const seq = await preparePhones(rig, [
      mobileCredential('m0', phone, { start: now - 30 * 86_400_000, end: now - 3_600_000 }),
    ]);
    await expectRefused(rig, phone, seq, 'expired');
  });
});
