import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Air, createAir } from '../../ble/controller';
import { createDeviceKey, DeviceKey, rawDataOf } from '../../ble/device-key';
import { startPhoneRadio, PhoneRadio } from '../../ble/phone-radio';
import { startReaderRadio, ReaderRadio } from '../../ble/reader-radio';
import { Board } from '../../firmware/board';
import { HostClient } from '../../firmware/api/client';
import { Enrollments } from '../../firmware/api/enrollments';
import { bootReaderFirmware, ReaderFirmware } from '../../firmware/api/reader-firmware';
import { RunningApi, startApi } from '../../firmware/api/server';
import { loadOrCreateToken } from '../../firmware/api/token';
import { VirtualClock } from '../../firmware/foundation/clock';
import { RecordingIndicatorDriver } from '../../led';
import { MemoryFlash } from '../../storage';
import type { DatabaseContent } from '../../firmware/foundation/model';

export interface RelayStep {
  at: number;
  energized: boolean;
}

/**
 * A real reader (firmware on an in-memory flash part, virtual clock) behind the real host
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
  firmware(): ReaderFirmware;
  phone(options?: { key?: DeviceKey; distance?: number }): PhoneRadio;
  close(): Promise<void>;
}

export async function startMobileRig(startMs: number): Promise<MobileRig> {
  const clock = new VirtualClock(startMs);
  const air = createAir({ timing: 'fast' });
  const flash = new MemoryFlash({ geometry: { sectorCount: 128 } });
  const enrollments = new Enrollments();
  const led = new RecordingIndicatorDriver();
  const relay: RelayStep[] = [];
  const radio = await startReaderRadio({ air });
  let current: ReaderFirmware | undefined;
  const board = await Board.powerOn({
    flash,
    boot: async () => {
      current = bootReaderFirmware({
        clock,
        store: { device: flash },
        indicatorDrivers: [led],
        relay: { set: (energized) => relay.push({ at: clock.now(), energized }) },
        enrollments,
      });
      radio.gatt.attach(current.running);
      return current;
    },
  });
  const stopWatch = board.watchPower((state) => {
    if (state === 'off') radio.gatt.detach();
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-mobile-'));
  const token = loadOrCreateToken(dataDir);
  const api: RunningApi = await startApi({ device: board, token, clock, port: 0, ble: radio.gatt });
  const client = new HostClient(api.url, token);
  const phones: PhoneRadio[] = [];
  return {
    clock,
    air,
    radio,
    client,
    apiUrl: api.url,
    token,
    led,
    relay,
    firmware: () => current!,
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
      stopWatch();
      await api.close();
      await board.shutdown();
      radio.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Alice with one phone (key) that opens every door, and a front door: the usual fixture. */
export function onePhoneDatabase(key: DeviceKey): DatabaseContent {
  return {
    users: [{ id: 'alice', name: 'Alice', enabled: true }],
    credentials: [
      {
        id: 'c1',
        userId: 'alice',
        kind: 'mobile',
        value: key.deviceId,
        publicKey: rawDataOf(key).publicKey,
        enabled: true,
        accessPoints: ['*'],
      },
    ],
    schedules: [],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}
