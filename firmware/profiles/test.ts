import { rawDataOf, type DeviceKey } from '../../ble/device-key';
import { RecordingIndicatorDriver, type IndicatorDriver } from '../../led';
import { MemoryFlash } from '../../storage';
import { VirtualClock, type Clock } from '../foundation/clock';
import type { DatabaseContent } from '../foundation/model';
import { RecordingRelayDriver } from '../relay-drivers';
import type { ReaderDrivers } from './drivers';

export interface TestProfileOptions<C extends Clock = VirtualClock> {
  /** The virtual clock's start (epoch ms); ignored when a clock is given. */
  start?: number;
  /** Default: a VirtualClock that only tests move. A bench may pass a SystemClock. */
  clock?: C;
  /** The flash part (keep it across boards to test a remount), or its size in 4 KiB sectors. */
  flash?: MemoryFlash | { sectorCount: number };
  eventCapacity?: number;
  /** Default: one RecordingIndicatorDriver (led). */
  indicatorDrivers?: IndicatorDriver[];
  /** Default: a RecordingRelayDriver on the clock. */
  relay?: RecordingRelayDriver;
  badgeInputs?: ReaderDrivers['badgeInputs'];
  wire?: ReaderDrivers['wire'];
  readerId?: string;
  log?: ReaderDrivers['log'];
}

/** The test profile's drivers, with the recording ones in reach for assertions. */
export interface TestDrivers<C extends Clock = VirtualClock> extends ReaderDrivers {
  clock: C;
  flash: MemoryFlash;
  led: RecordingIndicatorDriver;
  relay: RecordingRelayDriver;
}

/** 2 MiB: room for a few thousand credentials and their garbage collection. */
const DEFAULT_SECTORS = 512;

/**
 * The `test` profile (jest, HIL on the sim rig, benches): a virtual clock, an in-memory flash
 * part with fault injection (power cuts inside a write), recording LED and relay drivers.
 */
export function testDrivers<C extends Clock = VirtualClock>(
  options: TestProfileOptions<C> = {},
): TestDrivers<C> {
  const clock = options.clock ?? (new VirtualClock(options.start) as Clock as C);
  const flash =
    options.flash instanceof MemoryFlash
      ? options.flash
      : new MemoryFlash({
          geometry: { sectorCount: options.flash?.sectorCount ?? DEFAULT_SECTORS },
        });
  const led = new RecordingIndicatorDriver();
  const relay = options.relay ?? new RecordingRelayDriver(clock);
  return {
    clock,
    flash,
    led,
    relay,
    store: { device: flash, eventCapacity: options.eventCapacity },
    indicatorDrivers: options.indicatorDrivers ?? [led],
    badgeInputs: options.badgeInputs,
    wire: options.wire,
    readerId: options.readerId,
    log: options.log,
  };
}

/** Alice with one phone (key) that opens every door, and a front door: the usual fixture of tests and benches. */
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
