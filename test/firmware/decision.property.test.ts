import fc from 'fast-check';
import { DecisionContext, decide } from '../../firmware/decision';
import { CheckedPresentation, parsePresentation } from '../../firmware/foundation/presentation';
import { REASON_CODES } from '../../firmware/foundation/reasons';
import { Credential, Schedule, User } from '../../firmware/foundation/model';

const NOW = Date.UTC(2026, 0, 5, 15, 0); // Monday 08:00 in Denver
const open: Schedule = {
  id: 's',
  timeZone: 'America/Denver',
  windows: [{ days: [1], start: '07:00', end: '09:00' }],
};
const closed: Schedule = {
  id: 's',
  timeZone: 'America/Denver',
  windows: [{ days: [2], start: '07:00', end: '09:00' }],
};

/** One arbitrary situation: each rule independently passes or fails. */
const situation = fc.record({
  kind: fc.constantFrom('badge', 'mobile', 'pin' as const),
  source: fc.constantFrom('badge-serial', 'keypad', 'ble', 'sim' as const),
  malformed: fc.boolean(),
  proof: fc.option(
    fc.record(
      {
        signatureValid: fc.boolean(),
        challengeFresh: fc.boolean(),
        timestampFresh: fc.boolean(),
      },
      { requiredKeys: ['signatureValid', 'challengeFresh'] },
    ),
    {
      nil: undefined,
    },
  ),
  rssi: fc.option(fc.integer({ min: -100, max: -20 }), { nil: undefined }),
  known: fc.boolean(),
  credentialEnabled: fc.boolean(),
  user: fc.constantFrom('enabled', 'disabled', 'missing' as const),
  start: fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: undefined }),
  end: fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: undefined }),
  here: fc.boolean(),
  schedule: fc.constantFrom('none', 'open', 'closed', 'missing' as const),
  lockdown: fc.boolean(),
  override: fc.boolean(),
  useLimit: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  uses: fc.integer({ min: 0, max: 4 }),
  pinHash: fc.boolean(),
  pinCheck: fc.constantFrom(undefined, 'match', 'mismatch', 'timeout' as const),
  keypadLocked: fc.boolean(),
  enrollMode: fc.boolean(),
});
type Situation = typeof situation extends fc.Arbitrary<infer T> ? T : never;

function build(s: Situation): { p: CheckedPresentation; c: DecisionContext } {
  const value = s.kind === 'pin' ? '4711' : 'v1';
  const p = parsePresentation({
    kind: s.kind,
    value: s.malformed ? '' : value,
    source: s.source,
    accessPointId: 'door-1',
    at: NOW,
    ...(s.proof ? { proof: s.proof } : {}),
    ...(s.rssi !== undefined ? { rssi: s.rssi } : {}),
  });
  const credential: Credential = {
    id: 'c',
    userId: 'u',
    kind: s.kind,
    value,
    enabled: s.credentialEnabled,
    accessPoints: s.here ? ['door-1'] : ['door-9'],
    ...(s.start !== undefined ? { start: NOW + s.start } : {}),
    ...(s.end !== undefined ? { end: NOW + s.end } : {}),
    ...(s.schedule !== 'none' ? { scheduleId: 's' } : {}),
    ...(s.useLimit !== undefined ? { useLimit: s.useLimit } : {}),
    ...(s.pinHash ? { pinHash: 'scrypt$a$b' } : {}),
  };
  const user: User = {
    id: 'u',
    name: 'U',
    enabled: s.user === 'enabled',
    lockdownOverride: s.override,
  };
  const c: DecisionContext = {
    now: NOW,
    credential: s.known ? credential : undefined,
    user: s.user === 'missing' ? undefined : user,
    schedule: s.schedule === 'open' ? open : s.schedule === 'closed' ? closed : undefined,
    holidays: [],
    usesSoFar: s.uses,
    lockdown: s.lockdown,
    enrollMode: s.enrollMode,
    minRssi: -60,
    keypadLockedUntil: s.keypadLocked ? NOW + 1 : 0,
    pinCheck: s.pinCheck,
  };
  return { p, c };
}

/** The rules of BEHAVIOR.md written out again, independently, as (reason, fails) in order. */
function expected(s: Situation): string {
  if (s.enrollMode && s.kind === 'mobile') return 'capture';
  const needsProof = s.source === 'ble' && s.kind === 'mobile' && !s.proof;
  const rules: Array<[string, boolean]> = [
    ['bad_request', s.malformed || needsProof],
    ['bad_signature', s.proof !== undefined && !s.proof.signatureValid],
    ['replay', s.proof !== undefined && !s.proof.challengeFresh],
    ['stale_timestamp', s.proof?.timestampFresh === false],
    ['too_far', s.rssi !== undefined && s.rssi < -60],
    ['keypad_locked_out', s.source === 'keypad' && s.keypadLocked],
    ['unknown_credential', !s.known],
    ['disabled', !s.credentialEnabled || s.user !== 'enabled'],
    ['not_yet_valid', s.start !== undefined && s.start > 0],
    ['expired', s.end !== undefined && s.end <= 0],
    ['no_access_here', !s.here],
    ['outside_schedule', s.schedule === 'closed' || s.schedule === 'missing'],
    ['lockdown', s.lockdown && !s.override],
    ['use_limit_reached', s.useLimit !== undefined && s.uses >= s.useLimit],
    ['keypad_locked_out', s.pinHash && s.kind !== 'pin' && s.keypadLocked],
    ['need_pin', s.pinHash && s.kind !== 'pin' && s.pinCheck === undefined],
    ['pin_required', s.pinHash && s.kind !== 'pin' && s.pinCheck === 'timeout'],
    ['wrong_pin', s.pinHash && s.kind !== 'pin' && s.pinCheck === 'mismatch'],
  ];
  return rules.find(([, fails]) => fails)?.[0] ?? 'granted';
}

describe('decide against an independent model of the rules (fast-check)', () => {
  test('first failing rule wins, for every combination', () => {
    fc.assert(
      fc.property(situation, (s) => {
        const { p, c } = build(s);
        const d = decide(p, c);
        const got =
          d.outcome === 'capture' ? 'capture' : d.outcome === 'need_pin' ? 'need_pin' : d.reason;
        expect(got).toBe(expected(s));
        if (d.outcome !== 'capture') expect(REASON_CODES).toContain(d.reason);
        // Pure: the same input gives the same decision.
        expect(decide(p, c)).toEqual(d);
      }),
      { numRuns: 3000, seed: 20260308 },
    );
  });
});
