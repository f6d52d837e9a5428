import { VirtualClock } from '../../firmware/foundation/clock';
import {
  DEFAULT_DOOR_CONFIG,
  DoorController,
  type DoorAlarm,
  type DoorConfig,
  type RelayState,
} from '../../firmware/door';
import { RecordingRelayDriver } from '../../firmware/relay-drivers';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

const BASE: DoorConfig = {
  unlockMs: 5000,
  extendedUnlockMs: 15_000,
  relockOnClose: true,
  failSafe: false,
  heldOpenMs: 30_000,
};

/** A door on a virtual clock with every relay write and event recorded (times relative to T0). */
function rig(config: Partial<DoorConfig> = {}) {
  const clock = new VirtualClock(T0);
  const coil: Array<[number, boolean]> = [];
  const relay = { set: (energized: boolean) => coil.push([clock.now() - T0, energized]) };
  const door = new DoorController(clock, relay, { ...BASE, ...config });
  const events: Array<[number, string, unknown?]> = [];
  door.on('relay', (state: RelayState, at: number) => events.push([at - T0, 'relay', state]));
  door.on('door', (position: string, at: number) => events.push([at - T0, 'door', position]));
  door.on('alarm', (alarm: DoorAlarm, at: number) =>
    events.push([at - T0, 'alarm', `${alarm.kind}:${alarm.active ? 'on' : 'off'}`]),
  );
  door.on('rex', (at: number) => events.push([at - T0, 'rex']));
  door.on('aux', (active: boolean, at: number) => events.push([at - T0, 'aux', active]));
  const relayTimes = () => events.filter(([, kind]) => kind === 'relay');
  const alarms = () => events.filter(([, kind]) => kind === 'alarm');
  return { clock, door, coil, events, relayTimes, alarms };
}

describe('DoorController: relay polarity', () => {
  test('fail-secure (strike): energized = unlocked; the coil is driven locked at boot', () => {
    const { clock, door, coil } = rig({ failSafe: false });
    door.momentaryUnlock();
    clock.advance(5000);
    expect(coil).toEqual([
      [0, false],
      [0, true],
      [5000, false],
    ]);
  });

  test('fail-safe (mag lock): energized = locked', () => {
    const { clock, door, coil } = rig({ failSafe: true });
    door.momentaryUnlock();
    clock.advance(5000);
    expect(coil).toEqual([
      [0, true],
      [0, false],
      [5000, true],
    ]);
  });

  test('changing the polarity re-drives the coil at once without a relay event', () => {
    const { door, coil, relayTimes } = rig({ failSafe: false });
    door.configure({ failSafe: true });
    expect(coil).toEqual([
      [0, false],
      [0, true],
    ]);
    expect(relayTimes()).toEqual([]);
    expect(door.status().relay).toBe('locked');
  });
});

describe('DoorController: momentary unlock (grant)', () => {
  test('unlocks for exactly the unlock time when the door is not used', () => {
    const { clock, door, relayTimes } = rig();
    door.momentaryUnlock();
    expect(door.status()).toMatchObject({ relay: 'unlocked', momentaryUntil: T0 + 5000 });
    clock.advance(4999);
    expect(door.status().relay).toBe('unlocked');
    clock.advance(1);
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [5000, 'relay', 'locked'],
    ]);
    expect(door.status().momentaryUntil).toBeUndefined();
  });

  test('extended unlock uses the extended unlock time', () => {
    const { clock, door, relayTimes } = rig();
    door.momentaryUnlock({ extended: true });
    clock.advance(20_000);
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [15_000, 'relay', 'locked'],
    ]);
  });

  test('relocks as soon as the door closes after opening', () => {
    const { clock, door, events } = rig();
    door.momentaryUnlock();
    clock.advance(1000);
    door.doorContact(true);
    clock.advance(1500);
    door.doorContact(false);
    clock.advance(10_000);
    expect(events).toEqual([
      [0, 'relay', 'unlocked'],
      [1000, 'door', 'open'],
      [2500, 'door', 'closed'],
      [2500, 'relay', 'locked'],
    ]);
  });

  test('with relockOnClose off the unlock time runs out even after the door closed', () => {
    const { clock, door, relayTimes } = rig({ relockOnClose: false });
    door.momentaryUnlock();
    clock.advance(1000);
    door.doorContact(true);
    door.doorContact(false);
    clock.advance(10_000);
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [5000, 'relay', 'locked'],
    ]);
  });

  test('a second grant restarts the unlock time', () => {
    const { clock, door, relayTimes } = rig();
    door.momentaryUnlock();
    clock.advance(3000);
    door.momentaryUnlock();
    clock.advance(10_000);
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [8000, 'relay', 'locked'],
    ]);
  });

  test('grants in a row keep one timer, and the door relocks exactly one unlock time after the last', () => {
    const { clock, door, relayTimes } = rig();
    for (let i = 0; i < 10; i++) {
      door.momentaryUnlock();
      expect(clock.pendingCount).toBe(1);
      clock.advance(700);
    }
    // The last grant came at 6300 ms; a clock set in between moves nothing.
    clock.set(clock.now() + 3_600_000);
    clock.advance(4299);
    expect(door.status().relay).toBe('unlocked');
    clock.advance(1);
    expect(relayTimes().map(([, , state]) => state)).toEqual(['unlocked', 'locked']);
    expect(door.status().momentaryUntil).toBeUndefined();
    expect(clock.pendingCount).toBe(0);
  });

  test("a panel's shorter unlock during a grant ends at its own time, a longer one at its own", () => {
    const { clock, door } = rig();
    door.momentaryUnlock(); // 5 s
    clock.advance(1000);
    door.unlockFor(500);
    clock.advance(499);
    expect(door.status().relay).toBe('unlocked');
    clock.advance(1);
    expect(door.status().relay).toBe('locked');
    door.unlockFor(1000);
    clock.advance(100);
    door.momentaryUnlock({ extended: true }); // 15 s from here
    clock.advance(14_999);
    expect(door.status().relay).toBe('unlocked');
    clock.advance(1);
    expect(door.status().relay).toBe('locked');
  });

  test('a grant while the door is already open relocks when it closes', () => {
    const { clock, door, relayTimes } = rig();
    door.doorContact(true); // forced
    clock.advance(1000);
    door.momentaryUnlock();
    clock.advance(1000);
    door.doorContact(false);
    expect(relayTimes()).toEqual([
      [1000, 'relay', 'unlocked'],
      [2000, 'relay', 'locked'],
    ]);
  });
});

describe('DoorController: door contact alarms', () => {
  test('door forced open: opened while locked; the alarm clears when it closes', () => {
    const { clock, door, events } = rig();
    clock.advance(1000);
    door.doorContact(true);
    expect(door.status()).toMatchObject({ door: 'open', forced: true, position: 'forced-open' });
    clock.advance(60_000); // no held-open alarm on top of a forced one
    door.doorContact(false);
    expect(events).toEqual([
      [1000, 'door', 'open'],
      [1000, 'alarm', 'forced:on'],
      [61_000, 'door', 'closed'],
      [61_000, 'alarm', 'forced:off'],
    ]);
    expect(door.status()).toMatchObject({ door: 'closed', forced: false });
  });

  test('door opened during a grant is not forced, even after the relay relocks', () => {
    const { clock, door, alarms } = rig();
    door.momentaryUnlock();
    door.doorContact(true);
    clock.advance(10_000);
    expect(door.status()).toMatchObject({ relay: 'locked', door: 'open', forced: false });
    door.doorContact(false);
    expect(alarms()).toEqual([]);
  });

  test('door held open: open longer than heldOpenMs after a grant; clears on close', () => {
    const { clock, door, alarms } = rig();
    door.momentaryUnlock();
    clock.advance(2000);
    door.doorContact(true);
    clock.advance(29_999);
    expect(door.status().heldOpen).toBe(false);
    clock.advance(1);
    expect(door.status()).toMatchObject({ heldOpen: true, position: 'held-open' });
    clock.advance(5000);
    door.doorContact(false);
    expect(alarms()).toEqual([
      [32_000, 'alarm', 'held:on'],
      [37_000, 'alarm', 'held:off'],
    ]);
  });

  test('a door closed in time raises nothing, and the next opening has a fresh held clock', () => {
    const { clock, door, alarms } = rig({ heldOpenMs: 10_000 });
    door.momentaryUnlock();
    door.doorContact(true);
    clock.advance(9000);
    door.doorContact(false);
    door.momentaryUnlock();
    door.doorContact(true);
    clock.advance(9000);
    expect(alarms()).toEqual([]);
    clock.advance(1000);
    expect(alarms()).toEqual([[19_000, 'alarm', 'held:on']]);
  });

  test('contact reports that repeat the current state change nothing', () => {
    const { door, events } = rig();
    door.doorContact(false);
    door.momentaryUnlock();
    door.doorContact(true);
    door.doorContact(true);
    expect(events).toEqual([
      [0, 'relay', 'unlocked'],
      [0, 'door', 'open'],
    ]);
  });

  test('tamper raises and clears its own alarm', () => {
    const { clock, door, alarms } = rig();
    door.tamper(true);
    door.tamper(true);
    clock.advance(500);
    door.tamper(false);
    expect(alarms()).toEqual([
      [0, 'alarm', 'tamper:on'],
      [500, 'alarm', 'tamper:off'],
    ]);
    expect(door.status().tamper).toBe(false);
  });
});

describe('DoorController: REX', () => {
  test("REX unlocks for the unlock time, says 'rex', and the door opening is not forced", () => {
    const { clock, door, events } = rig();
    door.rex();
    clock.advance(500);
    door.doorContact(true);
    clock.advance(1000);
    door.doorContact(false);
    expect(events).toEqual([
      [0, 'rex'],
      [0, 'relay', 'unlocked'],
      [500, 'door', 'open'],
      [1500, 'door', 'closed'],
      [1500, 'relay', 'locked'],
    ]);
  });

  test('REX during lockdown unlocks by default (free egress)', () => {
    const { door } = rig();
    door.setLockdown(true);
    door.rex();
    expect(door.status().relay).toBe('unlocked');
  });

  test('with rexInLockdown off, REX during lockdown is reported but does not unlock', () => {
    const { door, events } = rig({ rexInLockdown: false });
    door.setLockdown(true);
    door.rex();
    door.doorContact(true);
    expect(events).toEqual([
      [0, 'rex'],
      [0, 'door', 'open'],
      [0, 'alarm', 'forced:on'],
    ]);
  });
});

describe('DoorController: held unlocked, lockdown, AUX', () => {
  test('held unlocked (schedule/host) keeps the relay unlocked with no held-open alarm', () => {
    const { clock, door, relayTimes, alarms } = rig();
    door.setHeldUnlocked(true);
    door.doorContact(true);
    clock.advance(3_600_000);
    expect(alarms()).toEqual([]);
    // A grant inside the window and the door closing do not relock a held-unlocked door.
    door.momentaryUnlock();
    door.doorContact(false);
    expect(door.status().relay).toBe('unlocked');
    door.setHeldUnlocked(false);
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [3_600_000, 'relay', 'locked'],
    ]);
  });

  test('a door left open when the window ends gets a held clock from that moment', () => {
    const { clock, door, alarms } = rig();
    door.setHeldUnlocked(true);
    door.doorContact(true);
    clock.advance(60_000);
    door.setHeldUnlocked(false);
    expect(door.status()).toMatchObject({ relay: 'locked', forced: false });
    clock.advance(30_000);
    expect(alarms()).toEqual([[90_000, 'alarm', 'held:on']]);
  });

  test('a window ending during a grant leaves the grant to finish', () => {
    const { clock, door, relayTimes } = rig();
    door.setHeldUnlocked(true);
    clock.advance(1000);
    door.momentaryUnlock();
    clock.advance(1000);
    door.setHeldUnlocked(false);
    clock.advance(10_000);
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [6000, 'relay', 'locked'],
    ]);
  });

  test('lockdown relocks at once, ends a running unlock, and hides the held-unlocked state', () => {
    const { clock, door, relayTimes } = rig();
    door.setHeldUnlocked(true);
    door.momentaryUnlock();
    clock.advance(1000);
    door.setLockdown(true);
    expect(door.status()).toMatchObject({
      relay: 'locked',
      lockdown: true,
      heldUnlocked: true,
      momentaryUntil: undefined,
    });
    clock.advance(10_000);
    door.setLockdown(false); // the window still holds: unlocked again
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [1000, 'relay', 'locked'],
      [11_000, 'relay', 'unlocked'],
    ]);
  });

  test('a grant during lockdown (lockdown-override credential) unlocks', () => {
    const { clock, door, relayTimes } = rig();
    door.setLockdown(true);
    door.momentaryUnlock();
    clock.advance(5000);
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [5000, 'relay', 'locked'],
    ]);
  });

  test('AUX in local mode holds the door unlocked while active, with no held-open alarm', () => {
    const { clock, door, events } = rig();
    door.aux(true);
    door.doorContact(true);
    clock.advance(120_000);
    door.doorContact(false);
    door.aux(false);
    expect(events).toEqual([
      [0, 'aux', true],
      [0, 'relay', 'unlocked'],
      [0, 'door', 'open'],
      [120_000, 'door', 'closed'],
      [120_000, 'aux', false],
      [120_000, 'relay', 'locked'],
    ]);
  });

  test('with auxUnlocks off AUX is only reported', () => {
    const { door } = rig({ auxUnlocks: false });
    door.aux(true);
    expect(door.status()).toMatchObject({ aux: true, relay: 'locked' });
  });

  test('lockdown wins over AUX unless auxInLockdown', () => {
    const plain = rig();
    plain.door.setLockdown(true);
    plain.door.aux(true);
    expect(plain.door.status().relay).toBe('locked');
    const release = rig({ auxInLockdown: true });
    release.door.setLockdown(true);
    release.door.aux(true);
    expect(release.door.status().relay).toBe('unlocked');
  });
});

describe('DoorController: configuration', () => {
  test('a shorter unlock time applies to the running unlock, counted from its start', () => {
    const { clock, door, relayTimes } = rig();
    door.momentaryUnlock();
    clock.advance(2000);
    door.configure({ unlockMs: 3000 });
    clock.advance(999);
    expect(door.status().relay).toBe('unlocked');
    clock.advance(1);
    door.momentaryUnlock();
    clock.advance(3000);
    expect(relayTimes()).toEqual([
      [0, 'relay', 'unlocked'],
      [3000, 'relay', 'locked'],
      [3000, 'relay', 'unlocked'],
      [6000, 'relay', 'locked'],
    ]);
  });

  test('an unlock time already exceeded relocks at once', () => {
    const { clock, door } = rig();
    door.momentaryUnlock();
    clock.advance(4000);
    door.configure({ unlockMs: 2000 });
    expect(door.status().relay).toBe('locked');
  });

  test('a new heldOpenMs re-times a running held-open clock', () => {
    const { clock, door, alarms } = rig();
    door.momentaryUnlock();
    door.doorContact(true);
    clock.advance(10_000);
    door.configure({ heldOpenMs: 12_000 });
    clock.advance(2000);
    expect(alarms()).toEqual([[12_000, 'alarm', 'held:on']]);
  });

  test('relockOnClose can be switched off at run time', () => {
    const { clock, door } = rig();
    door.configure({ relockOnClose: false });
    door.momentaryUnlock();
    door.doorContact(true);
    clock.advance(100);
    door.doorContact(false);
    expect(door.status().relay).toBe('unlocked');
  });

  test.each<[string, Partial<DoorConfig>]>([
    ['unlock time below 1 s', { unlockMs: 999 }],
    ['unlock time above 60 s', { unlockMs: 60_001 }],
    ['fractional ms', { heldOpenMs: 1000.5 }],
    ['a string time', { extendedUnlockMs: '5000' as unknown as number }],
    ['a non-boolean flag', { failSafe: 'yes' as unknown as boolean }],
    ['an unknown field', { unlockSeconds: 5 } as unknown as Partial<DoorConfig>],
  ])('bad config (%s) throws and changes nothing', (_name, bad) => {
    const { door, coil } = rig();
    const before = door.currentConfig();
    expect(() => door.configure({ unlockMs: 9000, ...bad })).toThrow(RangeError);
    expect(door.currentConfig()).toEqual(before);
    expect(coil).toHaveLength(1);
  });

  test('the constructor rejects an incomplete config', () => {
    const clock = new VirtualClock(T0);
    const { heldOpenMs: _omit, ...partial } = BASE;
    expect(() => new DoorController(clock, { set: () => {} }, partial as DoorConfig)).toThrow(
      /heldOpenMs/,
    );
  });

  test('optional fields default from DEFAULT_DOOR_CONFIG', () => {
    const { door } = rig();
    expect(door.currentConfig()).toEqual({ ...DEFAULT_DOOR_CONFIG, ...BASE });
  });

  test("a relay driver that throws is reported as 'driver-error'; state stays consistent", () => {
    const clock = new VirtualClock(T0);
    let fail = false;
    const door = new DoorController(
      clock,
      {
        set: () => {
          if (fail) throw new Error('relay board gone');
        },
      },
      BASE,
    );
    const errors: unknown[] = [];
    door.on('driver-error', (error) => errors.push(error));
    fail = true;
    door.momentaryUnlock();
    expect(errors).toHaveLength(1);
    expect(door.status().relay).toBe('unlocked');
  });

  test('stop() leaves no timers behind', () => {
    const { clock, door } = rig();
    door.momentaryUnlock();
    door.doorContact(true);
    expect(clock.pendingCount).toBe(2);
    door.stop();
    expect(clock.pendingCount).toBe(0);
  });

  test('RecordingRelayDriver keeps every coil write with its clock time', () => {
    const clock = new VirtualClock(T0);
    const relay = new RecordingRelayDriver(clock);
    expect(relay.energized).toBeUndefined();
    const door = new DoorController(clock, relay, { ...BASE, failSafe: true });
    clock.advance(10);
    door.momentaryUnlock();
    expect(relay.writes()).toEqual([
      { at: T0, energized: true },
      { at: T0 + 10, energized: false },
    ]);
    expect(relay.energized).toBe(false);
  });
});

describe('DoorController: wall-clock changes (host time sync)', () => {
  test('a clock set back during an unlock neither stretches nor cuts it', () => {
    const { clock, door } = rig();
    door.momentaryUnlock();
    clock.advance(2000);
    clock.set(clock.now() - 3_600_000);
    expect(door.status().momentaryUntil).toBe(clock.now() + 3000);
    door.configure({ heldOpenMs: 20_000 }); // re-timing after the jump keeps the same end
    clock.advance(2999);
    expect(door.status().relay).toBe('unlocked');
    clock.advance(1);
    expect(door.status().relay).toBe('locked');
  });

  test('a clock set forward does not raise the held-open alarm early', () => {
    const { clock, door } = rig();
    door.momentaryUnlock();
    door.doorContact(true);
    clock.advance(10_000);
    clock.set(clock.now() + 86_400_000);
    door.configure({ heldOpenMs: 25_000 });
    clock.advance(14_999);
    expect(door.status().heldOpen).toBe(false);
    clock.advance(1);
    expect(door.status().heldOpen).toBe(true);
  });
});

test('non-boolean inputs are refused and change nothing', () => {
  const { door, events } = rig();
  const before = door.status();
  const calls: Array<(d: DoorController) => void> = [
    (d) => d.doorContact('open' as unknown as boolean),
    (d) => d.setLockdown(1 as unknown as boolean),
    (d) => d.setHeldUnlocked(undefined as unknown as boolean),
    (d) => d.tamper('true' as unknown as boolean),
    (d) => d.aux(null as unknown as boolean),
  ];
  for (const call of calls) expect(() => call(door)).toThrow(TypeError);
  expect(door.status()).toEqual(before);
  expect(events).toEqual([]);
});
