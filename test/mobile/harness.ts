import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Air, createAir } from '../../ble/controller';
import { createDeviceKey, DeviceKey } from '../../ble/device-key';
import { startPhoneRadio, PhoneRadio } from '../../ble/phone-radio';
import { startReaderRadio, ReaderRadio } from '../../ble/reader-radio';
import { HostClient } from '../../firmware/api/client';
import type { Board } from '../../firmware/board';
import { VirtualClock } from '../../firmware/foundation/clock';
import { radioPort } from '../../firmware/profiles/radio';
import { serveReader } from '../../firmware/profiles/serve';
import { testDrivers } from '../../firmware/profiles/test';
import { RecordingRelayDriver, type RelayWrite } from '../../firmware/relay-drivers';
import type { RunningReader } from '../../firmware/running-reader';
import type { RecordingIndicatorDriver } from '../../led';

export type RelayStep = RelayWrite;

/**
 * A real reader (the test profile: in-memory flash part, virtual clock) behind the real host
 * API, with its GATT service on @stoprocent/bleno over a virtual controller on a `fast` air.
 * Phones are @stoprocent/noble on their own controllers on the same air. Reader time (nonce
 * expiry, ts skew, cooldown, unlock time) is the virtual clock: it stands still while the
 * stacks talk, so timelines are exact.
 */
export interface MobileRig {
  clock: VirtualClock;
  air: Air;
  radio: ReaderRadio;
  client: HostClient;
  /** The host API's base URL and bearer token (for the panel stream). */
  apiUrl: string;
  token: string;
  led: RecordingIndicatorDriver;
  relay: RelayStep[];
  reader(): RunningReader;
  /** The board: power cycles reboot the firmware; the radio outlives them. */
  board: Board;
  phone(options?: { key?: DeviceKey; distance?: number }): PhoneRadio;
  close(): Promise<void>;
}

export async function startMobileRig(startMs: number): Promise<MobileRig> {
  const clock = new VirtualClock(startMs);
  const air = createAir({ timing: 'fast' });
  const relay: RelayStep[] = [];
  const drivers = testDrivers({
    clock,
    flash: { sectorCount: 128 },
    relay: new RecordingRelayDriver(clock, (write) => relay.push(write)),
  });
  const radio = await startReaderRadio({ air });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-mobile-'));
  const served = await serveReader({ drivers, dataDir, apiPort: 0, radio: radioPort(radio) });
  const client = new HostClient(served.api.url, served.token);
  const phones: PhoneRadio[] = [];
  return {
    clock,
    air,
    radio,
    client,
    apiUrl: served.api.url,
    token: served.token,
    led: drivers.led,
    relay,
    reader: () => served.reader()!,
    board: served.board,
    phone(options = {}) {
      const p = startPhoneRadio({
        air,
        key: options.key ?? createDeviceKey(),
        distance: options.distance ?? 1,
        clock,
      });
      phones.push(p);
      return p;
    },
    async close() {
      for (const p of phones) p.close();
      await served.shutdown();
      radio.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { onePhoneDatabase } from '../../firmware/profiles/test';
