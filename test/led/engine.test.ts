import { DEFAULT_DOOR_CONFIG } from '../../firmware/door';
import { VirtualClock } from '../../firmware/foundation/clock';
import { IndicatorEngine, type IndicatorChange } from '../../led/engine';
import { RecordingIndicatorDriver } from '../../led/drivers/recording';
import { SITUATIONS, redGreenLines, type Situation } from '../../led/model';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function rig() {
  const clock = new VirtualClock(T0);
  const recording = new RecordingIndicatorDriver();
  const engine = new IndicatorEngine(clock, [recording]);
  /** Timeline relative to T0, as [ms, colour, buzzer] triples for compact expectations. */
  const steps = () => recording.relativeTimeline(T0).map((s) => [s.at, s.color, s.buzzer] as const);
  return { clock, recording, engine, steps };
}

describe('IndicatorEngine: the BEHAVIOR.md defaults', () => {
  test('idle is red steady with no buzzer and no timer', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    clock.advance(60_000);
    expect(steps()).toEqual([[0, 'red', false]]);
    expect(clock.pendingCount).toBe(0);
  });

  test('denied: red 200/200 ms three times with three short beeps, then back to idle', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    clock.advance(1000);
    engine.showTemporary('denied');
    clock.advance(10_000);
    expect(steps()).toEqual([
      [0, 'red', false],
      [1000, 'red', true],
      [1100, 'red', false],
      [1200, 'off', false],
      [1400, 'red', true],
      [1500, 'red', false],
      [1600, 'off', false],
      [1800, 'red', true],
      [1900, 'red', false],
      [2000, 'off', false],
      [2200, 'red', false],
    ]);
    expect(engine.status().temporary).toBeUndefined();
    expect(clock.pendingCount).toBe(0);
  });

  test('granted: green for exactly the unlock time given, one short beep', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.showTemporary('granted', 7000);
    clock.advance(6999);
    expect(engine.current()).toEqual({ color: 'green', buzzer: false });
    clock.advance(1);
    expect(steps()).toEqual([
      [0, 'red', false],
      [0, 'green', true],
      [100, 'green', false],
      [7000, 'red', false],
    ]);
  });

  test('granted without a duration lasts the default unlock time', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.showTemporary('granted');
    clock.advance(20_000);
    expect(steps().at(-1)).toEqual([DEFAULT_DOOR_CONFIG.unlockMs, 'red', false]);
  });

  test('enroll blinks amber 500/500; enrolled flashes green 3 times with one beep', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('enroll');
    clock.advance(1200);
    engine.showTemporary('enrolled');
    clock.advance(1200);
    engine.setPermanent('idle');
    expect(steps()).toEqual([
      [0, 'amber', false],
      [500, 'off', false],
      [1000, 'amber', false],
      [1200, 'green', true],
      [1400, 'off', false],
      [1600, 'green', false],
      [1800, 'off', false],
      [2000, 'green', false],
      [2200, 'off', false],
      // enrolled ends at 2400: enroll's own phase (started at 0) is amber at 2400
      [2400, 'amber', false],
      [2400, 'red', false],
    ]);
  });

  test('lockdown blinks red 100/100, unlocked is green steady', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('lockdown');
    clock.advance(450);
    engine.setPermanent('unlocked');
    clock.advance(5000);
    expect(steps()).toEqual([
      [0, 'red', false],
      [100, 'off', false],
      [200, 'red', false],
      [300, 'off', false],
      [400, 'red', false],
      [450, 'green', false],
    ]);
  });

  test('processing is amber until answered; its safety timer ends a forgotten one', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.showTemporary('processing');
    clock.advance(300);
    engine.clearTemporary();
    engine.showTemporary('processing');
    clock.advance(SITUATIONS.processing.durationMs! + 1);
    expect(steps()).toEqual([
      [0, 'red', false],
      [0, 'amber', false],
      [300, 'red', false],
      [300, 'amber', false],
      [300 + SITUATIONS.processing.durationMs!, 'red', false],
    ]);
  });

  test('door alarm: red/amber alternating with a continuous buzzer', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.setAlarm(true);
    clock.advance(1000);
    engine.setAlarm(false);
    expect(steps()).toEqual([
      [0, 'red', false],
      [0, 'red', true],
      [250, 'amber', true],
      [500, 'red', true],
      [750, 'amber', true],
      // the alarm's own edge at 1000 fires before the call made at 1000
      [1000, 'red', true],
      [1000, 'red', false],
    ]);
  });
});

describe('IndicatorEngine: priorities alarm > temporary > permanent', () => {
  test('a temporary hides permanent changes; the new permanent shows when it ends', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.showTemporary('granted', 5000);
    clock.advance(1000);
    engine.setPermanent('lockdown'); // hidden under green
    clock.advance(4200);
    expect(steps()).toEqual([
      [0, 'red', false],
      [0, 'green', true],
      [100, 'green', false],
      // lockdown's phase counts from 1000: at 5000 it is 4000 ms in, an "on" edge
      [5000, 'red', false],
      [5100, 'off', false],
      [5200, 'red', false],
    ]);
  });

  test('a newer temporary replaces the one on show (processing -> denied)', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.showTemporary('processing');
    clock.advance(250);
    engine.showTemporary('denied');
    clock.advance(250);
    expect(steps().slice(0, 4)).toEqual([
      [0, 'red', false],
      [0, 'amber', false],
      [250, 'red', true],
      [350, 'red', false],
    ]);
    expect(engine.status()).toMatchObject({ temporary: 'denied', visible: 'denied' });
  });

  test('the alarm outranks a temporary; the temporary resumes if it has time left', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.showTemporary('granted', 5000);
    clock.advance(1000);
    engine.setAlarm(true);
    clock.advance(300);
    engine.showTemporary('granted', 3000); // a badge read during the alarm: not shown
    clock.advance(700);
    engine.setAlarm(false); // at 2000: the second grant runs until 4300
    clock.advance(10_000);
    expect(steps()).toEqual([
      [0, 'red', false],
      [0, 'green', true],
      [100, 'green', false],
      [1000, 'red', true],
      [1250, 'amber', true],
      [1500, 'red', true],
      [1750, 'amber', true],
      [2000, 'red', true],
      [2000, 'green', false],
      [4300, 'red', false],
    ]);
  });

  test('a temporary that expires under the alarm is gone when the alarm clears', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.setAlarm(true);
    engine.showTemporary('denied');
    clock.advance(5000);
    expect(engine.status().temporary).toBeUndefined();
    engine.setAlarm(false);
    expect(steps().at(-1)).toEqual([5000, 'red', false]);
    expect(engine.status()).toMatchObject({ alarm: false, visible: 'idle' });
  });

  test("a permanent 'alarm' also outranks temporaries", () => {
    const { clock, engine } = rig();
    engine.setPermanent('alarm');
    engine.showTemporary('granted', 5000);
    expect(engine.current()).toEqual({ color: 'red', buzzer: true });
    clock.advance(250);
    expect(engine.current()).toEqual({ color: 'amber', buzzer: true });
    engine.setPermanent('idle');
    expect(engine.current()).toEqual({ color: 'green', buzzer: false });
  });

  test('setting the same permanent again keeps its blink phase', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('enroll');
    clock.advance(700);
    engine.setPermanent('enroll');
    clock.advance(400);
    expect(steps()).toEqual([
      [0, 'amber', false],
      [500, 'off', false],
      [1000, 'amber', false],
    ]);
  });
});

describe('IndicatorEngine: bad input changes nothing', () => {
  test.each([
    ['unknown situation', (e: IndicatorEngine) => e.setPermanent('party' as Situation)],
    ['unknown temporary', (e: IndicatorEngine) => e.showTemporary('party' as Situation)],
    ['zero duration', (e: IndicatorEngine) => e.showTemporary('granted', 0)],
    ['negative duration', (e: IndicatorEngine) => e.showTemporary('granted', -5)],
    ['NaN duration', (e: IndicatorEngine) => e.showTemporary('granted', Number.NaN)],
    ['permanent-only situation with no timer', (e: IndicatorEngine) => e.showTemporary('idle')],
  ])('%s throws a RangeError', (_name, act) => {
    const { engine, recording } = rig();
    engine.setPermanent('idle');
    const before = engine.status();
    expect(() => act(engine)).toThrow(RangeError);
    expect(engine.status()).toEqual(before);
    expect(recording.timeline()).toHaveLength(1);
  });

  test('a permanent-only situation can be shown temporarily with a duration', () => {
    const { clock, engine, steps } = rig();
    engine.setPermanent('idle');
    engine.showTemporary('unlocked', 2000);
    clock.advance(2000);
    expect(steps()).toEqual([
      [0, 'red', false],
      [0, 'green', false],
      [2000, 'red', false],
    ]);
  });
});

describe('IndicatorEngine: drivers and events', () => {
  test("every change goes to every driver and as a 'change' event, stamped with clock time", () => {
    const clock = new VirtualClock(T0);
    const a = new RecordingIndicatorDriver();
    const b = new RecordingIndicatorDriver();
    const engine = new IndicatorEngine(clock, [a, b]);
    const events: IndicatorChange[] = [];
    engine.on('change', (change: IndicatorChange) => events.push(change));
    engine.setPermanent('idle');
    engine.showTemporary('denied');
    clock.advance(2000);
    expect(b.timeline()).toEqual(a.timeline());
    expect(events).toEqual(a.timeline());
    expect(events.slice(0, 2)).toEqual([
      { at: T0, color: 'red', buzzer: false },
      { at: T0, color: 'red', buzzer: true },
    ]);
  });

  test("a throwing driver is reported as 'driver-error' and the others still get the output", () => {
    const clock = new VirtualClock(T0);
    const good = new RecordingIndicatorDriver();
    const broken = {
      show: () => {
        throw new Error('gpio gone');
      },
    };
    const engine = new IndicatorEngine(clock, [broken, good]);
    const errors: unknown[] = [];
    engine.on('driver-error', (error) => errors.push(error));
    engine.setPermanent('idle');
    expect(good.timeline()).toEqual([{ at: T0, color: 'red', buzzer: false }]);
    expect(errors).toHaveLength(1);
  });

  test('stop() cancels the pending pattern timer', () => {
    const { clock, engine } = rig();
    engine.setPermanent('lockdown');
    expect(clock.pendingCount).toBe(1);
    engine.stop();
    expect(clock.pendingCount).toBe(0);
  });

  test('two-LED hardware shows amber as red + green', () => {
    expect(redGreenLines('amber')).toEqual({ red: true, green: true });
    expect(redGreenLines('red')).toEqual({ red: true, green: false });
    expect(redGreenLines('green')).toEqual({ red: false, green: true });
    expect(redGreenLines('off')).toEqual({ red: false, green: false });
  });
});

describe('IndicatorEngine: wall-clock changes (host time sync)', () => {
  test.each([
    ['back an hour', -3_600_000],
    ['forward a day', 86_400_000],
  ])('setting the clock %s neither stretches nor cuts a temporary or a blink', (_name, jump) => {
    const { clock, engine, recording } = rig();
    engine.setPermanent('lockdown');
    engine.showTemporary('granted', 5000);
    clock.advance(2000);
    clock.set(clock.now() + jump);
    const origin = clock.now() - 2000; // the grant began 2000 ms before, in the new time
    const before = recording.timeline().length;
    clock.advance(3100);
    const after = recording.relativeTimeline(origin).slice(before);
    // granted ends 5000 ms after it began; lockdown's 100/100 phase carries on from its start
    expect(after.map((step) => [step.at, step.color])).toEqual([
      [5000, 'red'],
      [5100, 'off'],
    ]);
  });

  test('after a clock set forward, a sooner change still gets its own timer', () => {
    const { clock, engine, recording } = rig();
    engine.setPermanent('idle');
    engine.showTemporary('granted', 5000); // its timer: 5000 ms of delay from here
    clock.advance(1000);
    clock.set(clock.now() + 3_600_000);
    const origin = clock.now();
    const before = recording.timeline().length;
    engine.showTemporary('denied'); // first edge after 100 ms: sooner than the grant's end
    clock.advance(150);
    expect(
      recording
        .relativeTimeline(origin)
        .slice(before)
        .map((step) => [step.at, step.color, step.buzzer]),
    ).toEqual([
      [0, 'red', true],
      [100, 'red', false],
    ]);
  });

  test('stop() also detaches from clock changes', () => {
    const { clock, engine, recording } = rig();
    engine.setPermanent('lockdown');
    engine.stop();
    clock.set(clock.now() + 150);
    expect(recording.timeline()).toHaveLength(1);
    expect(clock.listenerCount('change')).toBe(0);
  });
});
