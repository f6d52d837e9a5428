import { boot } from '../../firmware/boot';
import { RunningReader } from '../../firmware/running-reader';
import { VirtualClock } from '../../firmware/foundation/clock';
import { BadgeSerialInput, Keypad } from '../../firmware/inputs';
import { hashSecondFactorPin, pinLookupValue } from '../../firmware/pin';
import type { RecordingIndicatorDriver } from '../../led';
import { testDrivers } from '../../firmware/profiles/test';
import { RecordingRelayDriver } from '../../firmware/relay-drivers';
import { MemoryFlash } from '../../storage';
import { DatabaseContent } from '../../firmware/foundation/model';

/** Monday 2026-01-05 08:00 in Denver (MST, UTC-7). */
export const MONDAY_0800 = Date.UTC(2026, 0, 5, 15, 0);
export const PIN_KEY = 'c0ffee'.repeat(10) + 'c0ff';
export const BADGE_PIN = '2580';
// A fixed salt keeps the fixture identical on every run (determinism of the whole scenario).
const BADGE_PIN_HASH = hashSecondFactorPin(BADGE_PIN, Buffer.alloc(16, 7));

/** A small site: every kind of credential one rule can catch. */
export function siteDatabase(): DatabaseContent {
  const ap = ['door-1'];
  return {
    users: [
      { id: 'ada', name: 'Ada', enabled: true },
      { id: 'bob', name: 'Bob', enabled: false },
      { id: 'chief', name: 'Chief', enabled: true, lockdownOverride: true },
      { id: 'dee', name: 'Dee', enabled: true, extendedUnlock: true },
    ],
    credentials: [
      {
        id: 'ada-badge',
        userId: 'ada',
        kind: 'badge',
        value: '1001',
        enabled: true,
        accessPoints: ap,
      },
      {
        id: 'ada-off',
        userId: 'ada',
        kind: 'badge',
        value: '1002',
        enabled: false,
        accessPoints: ap,
      },
      {
        id: 'bob-badge',
        userId: 'bob',
        kind: 'badge',
        value: '1003',
        enabled: true,
        accessPoints: ap,
      },
      {
        id: 'later',
        userId: 'ada',
        kind: 'badge',
        value: '1004',
        enabled: true,
        accessPoints: ap,
        start: MONDAY_0800 + 86400_000,
      },
      {
        id: 'gone',
        userId: 'ada',
        kind: 'badge',
        value: '1005',
        enabled: true,
        accessPoints: ap,
        end: MONDAY_0800,
      },
      {
        id: 'elsewhere',
        userId: 'ada',
        kind: 'badge',
        value: '1006',
        enabled: true,
        accessPoints: ['door-2'],
      },
      {
        id: 'nights',
        userId: 'ada',
        kind: 'badge',
        value: '1007',
        enabled: true,
        accessPoints: ['*'],
        scheduleId: 'nights',
      },
      {
        id: 'chief-badge',
        userId: 'chief',
        kind: 'badge',
        value: '1008',
        enabled: true,
        accessPoints: ap,
      },
      {
        id: 'twice',
        userId: 'ada',
        kind: 'badge',
        value: '1009',
        enabled: true,
        accessPoints: ap,
        useLimit: 2,
      },
      {
        id: 'two-factor',
        userId: 'ada',
        kind: 'badge',
        value: '1010',
        enabled: true,
        accessPoints: ap,
        pinHash: BADGE_PIN_HASH,
      },
      {
        id: 'dee-badge',
        userId: 'dee',
        kind: 'badge',
        value: '1011',
        enabled: true,
        accessPoints: ap,
      },
      {
        id: 'ada-pin',
        userId: 'ada',
        kind: 'pin',
        value: pinLookupValue('4711', PIN_KEY),
        enabled: true,
        accessPoints: ap,
      },
      {
        id: 'ada-phone',
        userId: 'ada',
        kind: 'mobile',
        value: 'phone-ada',
        enabled: true,
        accessPoints: ap,
      },
    ],
    schedules: [
      {
        id: 'nights',
        timeZone: 'America/Denver',
        windows: [{ days: [0, 1, 2, 3, 4, 5, 6], start: '20:00', end: '24:00' }],
      },
      {
        id: 'lobby',
        timeZone: 'America/Denver',
        windows: [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '12:00' }],
      },
    ],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}

export interface Rig {
  clock: VirtualClock;
  device: MemoryFlash;
  running: RunningReader;
  led: RecordingIndicatorDriver;
  /** "at+ms relay on|off" relative to the rig start, with the debited uses at that moment. */
  relay: Array<{ at: number; energized: boolean; usesOfAda: number; lastSeq: number }>;
  keypad: Keypad;
  badge: BadgeSerialInput;
  /** Swipes a card on the ISONAS serial reader (wire bytes through the real parser). */
  swipe(digits: string): void;
  start: number;
}

/** A 1 MiB in-memory flash: small enough for fast tests, real NOR semantics. */
export function smallFlash(): MemoryFlash {
  return new MemoryFlash({ geometry: { sectorCount: 256 } });
}

export function bootRig(
  options: {
    start?: number;
    device?: MemoryFlash;
    database?: DatabaseContent;
    config?: Record<string, unknown>;
  } = {},
): Rig {
  const start = options.start ?? MONDAY_0800;
  const clock = new VirtualClock(start);
  const device = options.device ?? smallFlash();
  const keypad = new Keypad({ clock });
  const badge = new BadgeSerialInput({ path: '/dev/ttyBADGE', format: 'isonas-ascii', clock });
  const relay: Rig['relay'] = [];
  // The door drives the relay during boot, before boot() returns: read the store lazily.
  const booted: { running?: RunningReader } = {};
  const drivers = testDrivers({
    clock,
    flash: device,
    badgeInputs: [badge],
    // Each coil write with what was durable at that instant (a grant debits before it unlocks).
    relay: new RecordingRelayDriver(clock, ({ at, energized }) => {
      const store = booted.running?.store;
      relay.push({
        at: at - start,
        energized,
        usesOfAda: store ? store.database.usesOf('ada-badge') : -1,
        lastSeq: store ? store.events.stats().lastSeq : -1,
      });
    }),
  });
  const { led } = drivers;
  const running = (booted.running = boot({ ...drivers, keypad }));
  if (!options.device || options.database)
    running.store.database.replace(options.database ?? siteDatabase());
  running.config.update({ pinKey: PIN_KEY, ...options.config });
  running.accessPoint.refresh();
  led.clear();
  relay.length = 0;
  return {
    clock,
    device,
    running,
    led,
    relay,
    keypad,
    badge,
    swipe: (digits) => badge.receive(Buffer.from(`${digits}\r\n`, 'ascii')),
    start,
  };
}

/** Lets the queue run (it awaits between steps) without moving the clock. */
export async function drain(rig: Rig): Promise<void> {
  await rig.clock.advanceAsync(0);
}
