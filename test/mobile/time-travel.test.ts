/**
 * Moving the reader's clock (a host time sync) tells the truth to both phone profiles:
 * past a credential's end a phone is answered `expired`, before its start `not_yet_valid`,
 * and neither the nonce life nor the phone cooldown follows the jump (they run on the
 * monotonic clock), so a phone is never stuck on `cooldown` after the clock went back.
 */
import { createDeviceKey, DeviceKey, rawDataOf } from '../../ble/device-key';
import { credentialNumber, uncompressedOf } from '../../ble/pkoc/messages';
import { pkocPresent } from '../../ble/pkoc/phone';
import type { VirtualPhone } from '../../ble/phone';
import { PhoneRadio, startPhoneRadio } from '../../ble/phone-radio';
import { VirtualClock } from '../../firmware/foundation/clock';
import type { DatabaseContent } from '../../firmware/foundation/model';
import { MobileRig, startMobileRig } from './harness';

jest.setTimeout(30_000);

const START = Date.UTC(2026, 5, 1, 16, 0, 0);
const DAY = 86_400_000;
/** Longer than the unlock time and the cooldown. */
const PAUSE = 6_000;

let rig: MobileRig;
let key: DeviceKey;
let phone: VirtualPhone;
let radio: PhoneRadio;

const profiles: Array<[string, () => Promise<string>]> = [
  [
    'reader-sim',
    async () => {
      const r = await phone.unlock();
      return r.status === 'granted' ? 'granted' : `${r.status}: ${r.reason}`;
    },
  ],
  [
    'pkoc',
    async () => {
      const r = await pkocPresent(phone, key);
      return r.status === 'granted' ? 'granted' : `${r.status}: ${r.reason}`;
    },
  ],
];

function database(): DatabaseContent {
  const publicKey = rawDataOf(key).publicKey;
  const window = { enabled: true, accessPoints: ['*'], start: START - DAY, end: START + DAY };
  return {
    users: [{ id: 'carol', name: 'Carol', enabled: true }],
    credentials: [
      { id: 'sim', userId: 'carol', kind: 'mobile', value: key.deviceId, publicKey, ...window },
      {
        id: 'pkoc',
        userId: 'carol',
        kind: 'mobile',
        value: credentialNumber(uncompressedOf(key.publicKey), 64),
        publicKey,
        ...window,
      },
    ],
    schedules: [],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}

async function setReaderTime(ms: number): Promise<void> {
  await rig.client.setTime(new Date(ms).toISOString());
}

beforeAll(async () => {
  rig = await startMobileRig(START);
  key = createDeviceKey('carol-phone');
  // The phone keeps its own clock (the host's), which no time sync moves.
  radio = startPhoneRadio({ air: rig.air, key, clock: new VirtualClock(START) });
  phone = radio.phone;
  await rig.client.push(database());
});

afterAll(async () => {
  radio?.close();
  await rig?.close();
});

describe.each(profiles)('time travel, %s profile', (_name, unlock) => {
  it('grants now, expired after the clock moves past the end, not_yet_valid before the start', async () => {
    await setReaderTime(START);
    await rig.clock.advanceAsync(PAUSE);
    expect(await unlock()).toBe('granted');

    // Three days ahead, straight after a grant: the cooldown (monotonic) is over by the PAUSE
    // alone, and the phone stamps its presentation with the reader's time, not the host's.
    await rig.clock.advanceAsync(PAUSE);
    await setReaderTime(START + 3 * DAY);
    expect(await unlock()).toBe('denied: expired');

    await rig.clock.advanceAsync(PAUSE);
    await setReaderTime(START - 3 * DAY);
    expect(await unlock()).toBe('denied: not_yet_valid');
  });

  it('is never stuck on cooldown after the clock goes back', async () => {
    await setReaderTime(START);
    await rig.clock.advanceAsync(PAUSE);
    expect(await unlock()).toBe('granted');
    // Back an hour at once: a cooldown on the settable clock would now last an hour.
    await setReaderTime(START - 3_600_000);
    await rig.clock.advanceAsync(PAUSE);
    expect(await unlock()).toBe('granted');
  });
});
