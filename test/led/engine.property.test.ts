import fc from 'fast-check';
import { VirtualClock } from '../../firmware/foundation/clock';
import { IndicatorEngine, type IndicatorOutput } from '../../led/engine';
import { RecordingIndicatorDriver } from '../../led/drivers/recording';
import { SITUATIONS, type LedColor, type Situation } from '../../led/model';

type Op =
  | { op: 'permanent'; situation: Situation }
  | { op: 'temporary'; situation: Situation; durationMs?: number }
  | { op: 'clear' }
  | { op: 'alarm'; active: boolean }
  | { op: 'advance'; ms: number }
  | { op: 'setClock'; jumpMs: number };

const permanentSituations: Situation[] = ['idle', 'processing', 'enroll', 'unlocked', 'lockdown'];
const temporarySituations: Situation[] = ['processing', 'granted', 'denied', 'enrolled'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('permanent' as const),
    situation: fc.constantFrom(...permanentSituations),
  }),
  fc.record(
    {
      op: fc.constant('temporary' as const),
      situation: fc.constantFrom(...temporarySituations),
      durationMs: fc.integer({ min: 1, max: 6000 }),
    },
    { requiredKeys: ['op', 'situation'] },
  ),
  fc.record({ op: fc.constant('clear' as const) }),
  fc.record({ op: fc.constant('alarm' as const), active: fc.boolean() }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
  fc.record({
    op: fc.constant('setClock' as const),
    jumpMs: fc.integer({ min: -86_400_000, max: 86_400_000 }),
  }),
);

/**
 * An independent reference: remembers what was asked and when, and computes the output
 * at any instant straight from the BEHAVIOR table, with no timers.
 */
class Reference {
  permanent?: { situation: Situation; at: number };
  temporary?: { situation: Situation; at: number; end: number };
  alarmAt?: number;

  apply(op: Op, now: number): void {
    if (op.op === 'permanent' && this.permanent?.situation !== op.situation) {
      this.permanent = { situation: op.situation, at: now };
    }
    if (op.op === 'temporary') {
      const entry = SITUATIONS[op.situation];
      const cycle = entry.led.onMs + entry.led.offMs;
      const length =
        op.durationMs ?? (entry.ledCount ? entry.ledCount * cycle : (entry.durationMs as number));
      this.temporary = { situation: op.situation, at: now, end: now + length };
    }
    if (op.op === 'clear') this.temporary = undefined;
    if (op.op === 'setClock') {
      // Layers are timed in wall-clock ms and move with a clock set.
      if (this.permanent) this.permanent.at += op.jumpMs;
      if (this.temporary) {
        this.temporary.at += op.jumpMs;
        this.temporary.end += op.jumpMs;
      }
      if (this.alarmAt !== undefined) this.alarmAt += op.jumpMs;
    }
    if (op.op === 'alarm') {
      if (!op.active) this.alarmAt = undefined;
      else this.alarmAt ??= now;
    }
  }

  output(now: number): IndicatorOutput {
    if (this.temporary && this.temporary.end <= now) this.temporary = undefined;
    let shown: { situation: Situation; at: number } | undefined;
    if (this.alarmAt !== undefined) shown = { situation: 'alarm', at: this.alarmAt };
    else shown = this.temporary ?? this.permanent;
    if (!shown) return { color: 'off', buzzer: false };
    const entry = SITUATIONS[shown.situation];
    const t = now - shown.at;
    let color: LedColor = entry.led.onColor;
    if (entry.led.offMs > 0 && t % (entry.led.onMs + entry.led.offMs) >= entry.led.onMs) {
      color = entry.led.offColor;
    }
    let buzzer = false;
    const b = entry.buzzer;
    if (b) {
      const period = b.onMs + b.offMs;
      const beep = Math.floor(t / period);
      buzzer =
        (b.count === 0 || beep < b.count) &&
        (b.offMs === 0 && b.count === 0 ? true : t % period < b.onMs);
    }
    return { color, buzzer };
  }
}

function run(ops: Op[]) {
  const clock = new VirtualClock(0);
  const recording = new RecordingIndicatorDriver();
  const engine = new IndicatorEngine(clock, [recording]);
  const reference = new Reference();
  const mismatches: string[] = [];
  const check = () => {
    const want = reference.output(clock.now());
    const got = engine.current();
    if (want.color !== got.color || want.buzzer !== got.buzzer) {
      mismatches.push(`${clock.now()}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}`);
    }
  };
  for (const op of ops) {
    if (op.op === 'advance') {
      // Step 50 ms at a time: every pattern edge is a multiple of 50 ms past an op time.
      for (let left = op.ms; left > 0; left -= Math.min(50, left)) {
        clock.advance(Math.min(50, left));
        check();
      }
      continue;
    }
    if (op.op === 'permanent') engine.setPermanent(op.situation);
    if (op.op === 'temporary') engine.showTemporary(op.situation, op.durationMs);
    if (op.op === 'clear') engine.clearTemporary();
    if (op.op === 'alarm') engine.setAlarm(op.active);
    if (op.op === 'setClock') clock.set(clock.now() + op.jumpMs);
    reference.apply(op, clock.now());
    check();
  }
  return { timeline: recording.timeline(), mismatches, final: engine.current() };
}

describe('IndicatorEngine properties', () => {
  test('the output always equals the reference computed from the table', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        expect(run(ops).mismatches).toEqual([]);
      }),
      { numRuns: 200, seed: 20260105 },
    );
  });

  test('the same inputs give the same timeline; every recorded step is a change', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const first = run(ops);
        expect(run(ops).timeline).toEqual(first.timeline);
        let previous: IndicatorOutput = { color: 'off', buzzer: false };
        let previousAt = -Infinity;
        for (const step of first.timeline) {
          // Time only runs backwards when the wall clock is set back.
          if (!ops.some((op) => op.op === 'setClock')) {
            expect(step.at).toBeGreaterThanOrEqual(previousAt);
          }
          expect(step.color !== previous.color || step.buzzer !== previous.buzzer).toBe(true);
          previous = step;
          previousAt = step.at;
        }
        if (first.timeline.length > 0) {
          const last = first.timeline[first.timeline.length - 1];
          expect(first.final).toEqual({ color: last.color, buzzer: last.buzzer });
        }
      }),
      { numRuns: 100, seed: 20260105 },
    );
  });
});
