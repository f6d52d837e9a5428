import cron from 'node-cron';
import { AccessPointController } from '../../firmware/access-point';
import { SystemClock, VirtualClock } from '../../firmware/foundation/clock';
import { DoorController, RelayDriver } from '../../firmware/door';
import { isScheduleOpen, nextScheduleEdge, scheduleProblem } from '../../firmware/schedule';
import { ClockEdges, CronEdges, EdgeSet } from '../../firmware/schedule-edges';
import { IndicatorEngine, RecordingIndicatorDriver } from '../../led';
import { Holiday, Schedule } from '../../firmware/foundation/model';

const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];
const denver: Schedule = {
  id: 'lobby',
  timeZone: 'America/Denver',
  windows: [{ days: EVERY_DAY, start: '02:30', end: '08:00' }],
};
const iso = (t: number | undefined) => (t === undefined ? 'none' : new Date(t).toISOString());

function edges(schedule: Schedule, holidays: Holiday[], from: number, count: number): string[] {
  const out: string[] = [];
  let t = from;
  for (let i = 0; i < count; i++) {
    const e = nextScheduleEdge(schedule, holidays, t);
    out.push(
      `${iso(e)} ${e === undefined ? '' : isScheduleOpen(schedule, holidays, e) ? 'open' : 'closed'}`,
    );
    if (e === undefined) break;
    t = e;
  }
  return out;
}

describe('schedule windows in an IANA zone', () => {
  test('weekday windows, start inclusive, end exclusive, holidays', () => {
    const office: Schedule = {
      id: 'o',
      timeZone: 'America/Denver',
      windows: [{ days: [1, 2, 3, 4, 5], start: '07:00', end: '18:00' }],
      holidayWindows: [{ days: EVERY_DAY, start: '10:00', end: '12:00' }],
    };
    const mon0700 = Date.UTC(2026, 0, 5, 14, 0); // MST = UTC-7
    expect(isScheduleOpen(office, [], mon0700 - 1)).toBe(false);
    expect(isScheduleOpen(office, [], mon0700)).toBe(true);
    expect(isScheduleOpen(office, [], mon0700 + 11 * 3600_000 - 1)).toBe(true);
    expect(isScheduleOpen(office, [], mon0700 + 11 * 3600_000)).toBe(false);
    expect(isScheduleOpen(office, [], Date.UTC(2026, 0, 4, 17))).toBe(false); // Sunday
    const holiday = [{ date: '2026-01-05' }];
    expect(isScheduleOpen(office, holiday, mon0700)).toBe(false);
    expect(isScheduleOpen(office, holiday, mon0700 + 3 * 3600_000)).toBe(true); // 10:00 holiday window
    expect(edges(office, holiday, Date.UTC(2026, 0, 5, 12), 3)).toEqual([
      '2026-01-05T17:00:00.000Z open',
      '2026-01-05T19:00:00.000Z closed',
      '2026-01-06T14:00:00.000Z open',
    ]);
  });

  test('spring forward (America/Denver 2026-03-08): 02:30 does not exist, the window opens at the jump', () => {
    expect(edges(denver, [], Date.UTC(2026, 2, 7, 12), 4)).toEqual([
      '2026-03-07T15:00:00.000Z closed', // 08:00 MST
      '2026-03-08T09:00:00.000Z open', // 02:00 MST jumps to 03:00 MDT, inside 02:30-08:00
      '2026-03-08T14:00:00.000Z closed', // 08:00 MDT
      '2026-03-09T08:30:00.000Z open', // 02:30 MDT
    ]);
  });

  test('fall back (America/Denver 2026-11-01): the repeated hour is walked twice', () => {
    const early: Schedule = { ...denver, windows: [{ days: [0], start: '01:00', end: '01:30' }] };
    expect(edges(early, [], Date.UTC(2026, 9, 31, 12), 4)).toEqual([
      '2026-11-01T07:00:00.000Z open', // 01:00 MDT
      '2026-11-01T07:30:00.000Z closed',
      '2026-11-01T08:00:00.000Z open', // 01:00 MST again
      '2026-11-01T08:30:00.000Z closed',
    ]);
    expect(edges(denver, [], Date.UTC(2026, 9, 31, 20), 2)).toEqual([
      '2026-11-01T09:30:00.000Z open', // 02:30 MST (UTC-7 now)
      '2026-11-01T15:00:00.000Z closed', // 08:00 MST
    ]);
  });

  test('a schedule that never changes has no edge; a bad one is reported and closed', () => {
    expect(nextScheduleEdge({ ...denver, windows: [] }, [], Date.UTC(2026, 0, 1))).toBeUndefined();
    expect(scheduleProblem({ ...denver, timeZone: 'Mars/Olympus' })).toContain('unknown time zone');
    expect(
      scheduleProblem({ ...denver, windows: [{ days: [1], start: '09:00', end: '08:00' }] }),
    ).toContain('start < end');
    expect(
      isScheduleOpen({ ...denver, timeZone: 'Mars/Olympus' }, [], Date.UTC(2026, 2, 8, 12)),
    ).toBe(false);
  });
});

class RecordingRelay implements RelayDriver {
  readonly steps: string[] = [];
  constructor(private readonly clock: VirtualClock) {}
  set(energized: boolean): void {
    this.steps.push(`${iso(this.clock.now())} ${energized ? 'on' : 'off'}`);
  }
}

function accessPoint(start: number, schedule: Schedule | undefined, holidays: Holiday[] = []) {
  const clock = new VirtualClock(start);
  const relay = new RecordingRelay(clock);
  const door = new DoorController(clock, relay, {
    unlockMs: 5000,
    extendedUnlockMs: 15000,
    relockOnClose: true,
    failSafe: false,
    heldOpenMs: 30000,
  });
  const led = new RecordingIndicatorDriver();
  const indicator = new IndicatorEngine(clock, [led]);
  const ap = new AccessPointController(
    clock,
    door,
    indicator,
    () => ({ schedule, holidays }),
    new ClockEdges(clock),
  );
  return { clock, relay, door, led, indicator, ap };
}

describe('access point on a virtual clock', () => {
  test('a simulated DST day: the door follows the windows, relay and LED exactly', () => {
    const run = () => {
      const { clock, relay, led, ap } = accessPoint(Date.UTC(2026, 2, 7, 12), denver);
      ap.start('schedule');
      clock.advance(48 * 3600_000);
      ap.stop();
      return { relay: relay.steps, led: led.timeline().map((s) => `${iso(s.at)} ${s.color}`) };
    };
    const first = run();
    expect(first.relay).toEqual([
      '2026-03-07T12:00:00.000Z off', // boot: drive locked
      '2026-03-07T12:00:00.000Z on', // 05:00 MST is inside the window: held unlocked
      '2026-03-07T15:00:00.000Z off',
      '2026-03-08T09:00:00.000Z on', // DST jump
      '2026-03-08T14:00:00.000Z off',
      '2026-03-09T08:30:00.000Z on',
    ]);
    expect(first.led).toEqual([
      '2026-03-07T12:00:00.000Z green',
      '2026-03-07T15:00:00.000Z red',
      '2026-03-08T09:00:00.000Z green',
      '2026-03-08T14:00:00.000Z red',
      '2026-03-09T08:30:00.000Z green',
    ]);
    expect(run()).toEqual(first); // same scenario, same timeline
  });

  test('fall back (2026-11-01): a Sunday 01:00-01:30 window unlocks twice, once per 01:00', () => {
    const early: Schedule = { ...denver, windows: [{ days: [0], start: '01:00', end: '01:30' }] };
    const { clock, relay, ap } = accessPoint(Date.UTC(2026, 9, 31, 12), early);
    ap.start('schedule');
    clock.advance(24 * 3600_000);
    ap.stop();
    expect(relay.steps).toEqual([
      '2026-10-31T12:00:00.000Z off',
      '2026-11-01T07:00:00.000Z on', // 01:00 MDT
      '2026-11-01T07:30:00.000Z off',
      '2026-11-01T08:00:00.000Z on', // 01:00 MST, the hour again
      '2026-11-01T08:30:00.000Z off',
    ]);
  });

  test('a clock set recomputes the state from the windows, not from the last tick', () => {
    const { clock, door, ap } = accessPoint(Date.UTC(2026, 2, 7, 12), denver);
    ap.start('schedule');
    expect(door.status().heldUnlocked).toBe(true);
    clock.set(Date.UTC(2026, 2, 7, 20)); // 13:00 MST: host time sync jumps past the edge
    expect(door.status().heldUnlocked).toBe(false);
    expect(ap.status()).toEqual({ state: 'schedule', scheduleOpen: false, enroll: false });
    clock.set(Date.UTC(2026, 2, 8, 10)); // 04:00 MDT
    expect(door.status().heldUnlocked).toBe(true);
    ap.stop();
  });

  test('unlock, lockdown and admit', () => {
    const { clock, door, indicator, ap } = accessPoint(Date.UTC(2026, 2, 7, 20), denver);
    ap.start('schedule');
    expect(door.status().relay).toBe('locked');
    ap.setState('unlock');
    expect(door.status().relay).toBe('unlocked');
    expect(indicator.current().color).toBe('green');
    ap.setState('lockdown');
    expect(door.status()).toMatchObject({ relay: 'locked', lockdown: true });
    expect(ap.isLockdown()).toBe(true);
    ap.setState('admit'); // admit never opens a locked-down door
    expect(door.status().relay).toBe('locked');
    ap.setState('schedule');
    ap.setState('admit');
    expect(door.status().relay).toBe('unlocked');
    expect(ap.status().state).toBe('schedule');
    clock.advance(5000);
    expect(door.status().relay).toBe('locked');
    expect(() => ap.setState('open' as never)).toThrow('access point state must be one of');
    expect(ap.status().state).toBe('schedule');
    ap.stop();
  });

  test('a full simulated week of edges runs fast and leaves one timer', () => {
    const { clock, relay, ap } = accessPoint(Date.UTC(2026, 0, 5, 0), denver);
    ap.start('schedule');
    clock.advance(7 * 24 * 3600_000);
    expect(relay.steps.filter((s) => s.endsWith('on'))).toHaveLength(7);
    expect(clock.pendingCount).toBe(1);
    ap.stop();
    expect(clock.pendingCount).toBe(0);
  });
});

describe('cron edges (SystemClock driver)', () => {
  test('one node-cron job per window boundary in the schedule zone, plus the hourly safety tick', async () => {
    const before = cron.getTasks().size;
    const edges = new CronEdges();
    let woken = 0;
    edges.arm(
      {
        ...denver,
        windows: [{ days: [1, 2], start: '07:15', end: '18:00' }],
        holidayWindows: [{ days: [3], start: '10:00', end: '24:00' }],
      },
      [],
      () => woken++,
    );
    const mine = [...cron.getTasks().values()].filter((t) => t.name?.startsWith('schedule lobby'));
    expect(mine.map((t) => t.getPattern()).sort()).toEqual([
      '0 * * * *',
      '0 0 * * *',
      '0 10 * * *',
      '0 18 * * *',
      '15 7 * * *',
    ]);
    await mine[0]!.execute();
    expect(woken).toBe(1);
    // Re-arming with the same windows (every tick does) keeps the jobs and takes the new callback.
    let rearmed = 0;
    edges.arm(
      {
        ...denver,
        windows: [{ days: [1, 2], start: '07:15', end: '18:00' }],
        holidayWindows: [{ days: [3], start: '10:00', end: '24:00' }],
      },
      [],
      () => rearmed++,
    );
    const again = [...cron.getTasks().values()].filter((t) => t.name?.startsWith('schedule lobby'));
    expect(again.map((t) => t.id)).toEqual(mine.map((t) => t.id));
    await again[0]!.execute();
    expect([woken, rearmed]).toEqual([1, 1]);
    edges.disarm();
    expect(cron.getTasks().size).toBe(before);
  });
});

describe('edges on the SystemClock after a host time sync', () => {
  test('an edge in the reader time wakes the access point although the system clock is elsewhere', async () => {
    const clock = new SystemClock();
    // 07:15 in Denver on a Monday, which the system clock is nowhere near: cron alone would
    // wake at the system's 07:15, not the reader's.
    const edge = Date.UTC(2026, 0, 5, 14, 15);
    clock.set(edge - 40);
    const edges = new EdgeSet([new CronEdges(), new ClockEdges(clock)]);
    const woke = new Promise<number>((resolve) =>
      edges.arm({ ...denver, windows: [{ days: [1], start: '07:15', end: '18:00' }] }, [], () =>
        resolve(clock.now()),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const at = await Promise.race([
      woke,
      new Promise<number>((r) => (timer = setTimeout(() => r(-1), 30_000))),
    ]);
    clearTimeout(timer);
    edges.disarm();
    expect(at).toBeGreaterThanOrEqual(edge);
    // The system's own 07:15 is hours away: waking within seconds can only be the reader's
    // clock, however late a busy machine runs the timer.
    expect(at).toBeLessThan(edge + 10_000);
  });
});
