/**
 * The phone app gives up: when its radio loses the reader mid-exchange (the reader's process
 * killed, the air gone), noble's calls never settle; unlock must still end, with a clear error.
 */
import { createDeviceKey } from '../../ble/device-key';
import type { PhoneState } from '../../ble/phone';
import { MobileRig, onePhoneDatabase, startMobileRig } from './harness';

let rig: MobileRig;
const key = createDeviceKey('deadline-phone');

beforeAll(async () => {
  rig = await startMobileRig(Date.UTC(2026, 5, 1, 16, 0, 0));
  await rig.client.push(onePhoneDatabase(key));
});
afterAll(() => rig.close());

it('unlock rejects within its timeout when the air goes away while connecting', async () => {
  const radio = rig.phone({ key });
  radio.phone.on('state', (s: PhoneState) => {
    if (s.state === 'connecting') radio.controller!.close();
  });
  await expect(radio.phone.unlock({ timeoutMs: 1500 })).rejects.toThrow(
    'connect: no answer from the reader within 1500 ms',
  );
  radio.close();
});

it('unlock ends when the air goes away after the credential was sent', async () => {
  // The reader's answer may already be in (granted) or not (no result); either way the
  // disconnect that can never complete no longer holds the app.
  await rig.clock.advanceAsync(6000);
  const radio = rig.phone({ key });
  radio.phone.on('state', (s: PhoneState) => {
    if (s.state === 'credential sent') radio.controller!.close();
  });
  const outcome = await radio.phone.unlock({ timeoutMs: 1500 }).then(
    (r) => r.status,
    (e: Error) => e.message,
  );
  expect(['granted', 'no result from the reader within 1500 ms']).toContain(outcome);
  radio.close();
});

it('a phone whose air stays up is still granted', async () => {
  const radio = rig.phone({ key });
  await rig.clock.advanceAsync(6000);
  expect((await radio.phone.unlock({ timeoutMs: 1500 })).status).toBe('granted');
  radio.close();
});
