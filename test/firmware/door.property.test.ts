import fc from 'fast-check';
import { VirtualClock } from '../../firmware/foundation/clock';
import { DoorController, type DoorAlarm, type DoorConfig } from '../../firmware/door';

type Op =
  | { op: 'grant'; extended: boolean }
  | { op: 'rex' }
  | { op: 'held'; on: boolean }
  | { op: 'lockdown'; on: boolean }
  | { op: 'contact'; open: boolean }
  | { op: 'tamper'; on: boolean }
  | { op: 'aux'; on: boolean }
  | { op: 'configure'; config: Partial<DoorConfig> }
  | { op: 'advance'; ms: number }
  | { op: 'setClock'; jumpMs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('grant' as const), extended: fc.boolean() }),
  fc.record({ op: fc.constant('rex' as const) }),
  fc.record({ op: fc.constant('held' as const), on: fc.boolean() }),
  fc.record({ op: fc.constant('lockdown' as const), on: fc.boolean() }),
  fc.record({ op: fc.constant('contact' as const), open: fc.boolean() }),
  fc.record({ op: fc.constant('tamper' as const), on: fc.boolean() }),
  fc.record({ op: fc.constant('aux' as const), on: fc.boolean() }),
  fc.record({
    op: fc.constant('configure' as const),
    config: fc.record(
      {
        unlockMs: fc.integer({ min: 1000, max: 60_000 }),
        heldOpenMs: fc.integer({ min: 1000, max: 60_000 }),
        relockOnClose: fc.boolean(),
        failSafe: fc.boolean(),
        rexInLockdown: fc.boolean(),
        auxUnlocks: fc.boolean(),
        auxInLockdown: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.record({
    op: fc.constant('setClock' as const),
    jumpMs: fc.integer({ min: -86_400_000, max: 86_400_000 }),
  }),
);

function run(ops: Op[]) {
  const clock = new VirtualClock(0);
  let energized: boolean | undefined;
  const door = new DoorController(
    clock,
    { set: (value) => (energized = value) },
    {
      unlockMs: 5000,
      extendedUnlockMs: 15_000,
      relockOnClose: true,
      failSafe: false,
      heldOpenMs: 30_000,
    },
  );
  const log: string[] = [];
  const alarmOn = new Map<string, boolean>();
  const violations: string[] = [];
  door.on('relay', (state, at) => log.push(`${at} relay ${state}`));
  door.on('door', (position, at) => log.push(`${at} door ${position}`));
  door.on('alarm', (alarm: DoorAlarm) => {
    log.push(`${alarm.at} alarm ${alarm.kind} ${alarm.active}`);
    if ((alarmOn.get(alarm.kind) ?? false) === alarm.active)
      violations.push(`repeated ${alarm.kind}`);
    alarmOn.set(alarm.kind, alarm.active);
  });
  const check = () => {
    const s = door.status();
    const config = door.currentConfig();
    const locked = s.relay === 'locked';
    if (energized !== (config.failSafe ? locked : !locked))
      violations.push('coil disagrees with relay');
    if (s.door === 'closed' && (s.forced || s.heldOpen)) violations.push('alarm on a closed door');
    const free = s.lockdown
      ? s.aux && config.auxUnlocks && config.auxInLockdown
      : s.heldUnlocked || (s.aux && config.auxUnlocks);
    const wantUnlocked = s.momentaryUntil !== undefined || free;
    if (wantUnlocked === locked) violations.push(`relay ${s.relay} against the rules`);
    if (s.momentaryUntil !== undefined && s.momentaryUntil <= clock.now())
      violations.push('stale unlock');
  };
  for (const op of ops) {
    switch (op.op) {
      case 'grant':
        door.momentaryUnlock({ extended: op.extended });
        break;
      case 'rex':
        door.rex();
        break;
      case 'held':
        door.setHeldUnlocked(op.on);
        break;
      case 'lockdown':
        door.setLockdown(op.on);
        break;
      case 'contact':
        door.doorContact(op.open);
        break;
      case 'tamper':
        door.tamper(op.on);
        break;
      case 'aux':
        door.aux(op.on);
        break;
      case 'configure':
        door.configure(op.config);
        break;
      case 'advance':
        clock.advance(op.ms);
        break;
      case 'setClock':
        clock.set(clock.now() + op.jumpMs);
        break;
    }
    check();
  }
  return { log, violations };
}

describe('DoorController properties', () => {
  test('relay, coil and alarms obey the rules after any sequence of inputs', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        expect(run(ops).violations).toEqual([]);
      }),
      { numRuns: 300, seed: 20260105 },
    );
  });

  test('the same inputs give the same event timeline', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        expect(run(ops).log).toEqual(run(ops).log);
      }),
      { numRuns: 100, seed: 20260105 },
    );
  });
});
