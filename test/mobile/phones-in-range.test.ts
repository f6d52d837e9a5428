/**
 * Phones in range, as the reader reports them: a phone (noble) links to the reader's GATT
 * service (bleno) on the virtual air at a distance; GET /status and the panel stream show it
 * with the link RSSI the air's path-loss model gives for that distance, its deviceId once it
 * presented, the session state, then `gone` after it left and nothing after the retention.
 */
import { meanRssi } from '../../ble/controller/radio-model';
import type { PhoneLink } from '../../ble/phone';
import { GONE_RETENTION_MS } from '../../ble/phones-in-range';
import { RSSI_REFRESH_MS } from '../../ble/reader-gatt';
import { readEventStream } from '../../firmware/api/client';
import type { PhoneInRange } from '../../firmware/ports';
import type { PhoneRadio } from '../../ble/phone-radio';
import { MobileRig, startMobileRig } from './harness';
import { until } from '../poll';

const START = Date.UTC(2026, 5, 1, 16, 0, 0);
/** The controllers' transmit power (ble/controller: txPowerDbm default). */
const TX_POWER_DBM = 0;

interface Message {
  type: string;
  data: { phones?: PhoneInRange[] };
}

/** Reads the panel stream into `messages` until aborted. */
async function follow(url: string, messages: Message[], signal: AbortSignal): Promise<void> {
  const response = await fetch(url, { signal });
  if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
  await readEventStream(response.body, (m) => messages.push(m as Message), signal);
}

describe('phones in range (GATT links, HCI Read RSSI, /status and the panel stream)', () => {
  let rig: MobileRig;
  let radio: PhoneRadio;
  let link: PhoneLink;
  const messages: Message[] = [];
  const abort = new AbortController();
  let streaming: Promise<void>;

  const phones = async () =>
    ((await rig.client.status()) as { ble?: { phones: PhoneInRange[] } }).ble?.phones;
  const expectedRssi = (meters: number) =>
    Math.round(meanRssi(TX_POWER_DBM, meters, rig.air.pathLoss));

  beforeAll(async () => {
    rig = await startMobileRig(START);
    streaming = follow(
      `${rig.apiUrl}/api/v1/panel/stream?token=${encodeURIComponent(rig.token)}`,
      messages,
      abort.signal,
    );
  });
  afterAll(async () => {
    abort.abort();
    await streaming;
    await link?.disconnect().catch(() => undefined);
    await rig.close();
  });

  it('reports an empty list, in /status and in the stream state, before any phone links', async () => {
    expect(await phones()).toEqual([]);
    await until(() => messages.some((m) => m.type === 'state'));
    expect(messages.find((m) => m.type === 'state')!.data.phones).toEqual([]);
  });

  it('lists a linked phone with the RSSI the path-loss model gives for its distance', async () => {
    radio = rig.phone({ distance: 4 });
    link = await radio.phone.connect(await radio.phone.find());
    const address = radio.controller!.address.toLowerCase();
    await until(async () => (await phones())?.[0]?.rssi !== undefined);
    const [phone, ...others] = (await phones())!;
    expect(others).toEqual([]);
    expect(phone).toMatchObject({ address, state: 'connected', rssi: expectedRssi(4) });
    expect(phone!.deviceId).toBeUndefined();
    expect(phone!.rssi).toBeLessThan(expectedRssi(1));

    await link.challenge();
    expect((await phones())![0]).toMatchObject({ address, state: 'challenged' });
  });

  it('names it by deviceId once it presented, with the session state', async () => {
    const challenge = await link.challenge();
    await link.writeCredential(radio.phone.presentation(challenge));
    // Nobody enrolled this phone: the reader denies it, and now knows who it is.
    expect(await link.result()).toMatchObject({ status: 'denied', reason: 'unknown_credential' });
    expect((await phones())![0]).toMatchObject({
      deviceId: radio.phone.key.deviceId,
      state: 'answered',
      rssi: expectedRssi(4),
    });
  });

  it('reads the RSSI again every refresh period of the reader clock', async () => {
    radio.controller!.setPosition(1.5);
    // Reader time stands still: the list keeps the last reading until the next refresh.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await phones())![0]!.rssi).toBe(expectedRssi(4));
    await rig.clock.advanceAsync(RSSI_REFRESH_MS);
    await until(async () => (await phones())![0]!.rssi === expectedRssi(1.5));
  });

  it('shows it gone after it left, then drops it after the retention', async () => {
    await link.disconnect();
    await until(async () => (await phones())![0]?.state === 'gone');
    const goneAt = rig.clock.now();
    expect((await phones())![0]).toMatchObject({
      deviceId: radio.phone.key.deviceId,
      rssi: expectedRssi(1.5),
      lastSeen: goneAt,
    });
    await rig.clock.advanceAsync(GONE_RETENTION_MS - RSSI_REFRESH_MS);
    expect((await phones())!.map((p) => p.state)).toEqual(['gone']);
    await rig.clock.advanceAsync(RSSI_REFRESH_MS);
    expect(await phones()).toEqual([]);
  });

  it('streamed every change to the panel as phones messages, ending with the empty list', async () => {
    await until(() => messages.at(-1)?.type === 'phones');
    const lists = messages.filter((m) => m.type === 'phones').map((m) => m.data.phones!);
    const states = lists.map((list) => list[0]?.state ?? 'none');
    expect(states).toEqual(expect.arrayContaining(['connected', 'challenged', 'answered', 'gone']));
    expect(states.at(-1)).toBe('none');
    const named = lists.find((list) => list[0]?.deviceId !== undefined);
    expect(named![0]).toMatchObject({ deviceId: radio.phone.key.deviceId });
  });
});
