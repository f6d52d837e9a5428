import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Credential, Schedule, User } from '../../firmware/foundation/model';
import { Decision, DecisionContext, decide } from '../../firmware/decision';
import {
  CheckedPresentation,
  parsePresentation,
  Presentation,
} from '../../firmware/foundation/presentation';
import { REASON_CODES, REASONS } from '../../firmware/foundation/reasons';

const NOW = Date.UTC(2026, 0, 5, 15, 0); // Monday 08:00 in Denver
const user: User = { id: 'u1', name: 'Ada', enabled: true };
const badge: Credential = {
  id: 'c1',
  userId: 'u1',
  kind: 'badge',
  value: '12345',
  enabled: true,
  accessPoints: ['door-1'],
};
const officeHours: Schedule = {
  id: 's1',
  timeZone: 'America/Denver',
  windows: [{ days: [1, 2, 3, 4, 5], start: '07:00', end: '18:00' }],
};

function present(over: Partial<Presentation> = {}): CheckedPresentation {
  return parsePresentation({
    kind: 'badge',
    value: '12345',
    source: 'badge-serial',
    accessPointId: 'door-1',
    at: NOW,
    ...over,
  });
}

function ctx(over: Partial<DecisionContext> = {}): DecisionContext {
  return {
    now: NOW,
    credential: badge,
    user,
    holidays: [],
    usesSoFar: 0,
    lockdown: false,
    enrollMode: false,
    minRssi: -60,
    keypadLockedUntil: 0,
    ...over,
  };
}

const reached = new Set<string>();
function reason(d: Decision): string {
  const r = d.outcome === 'capture' ? 'capture' : d.reason;
  reached.add(r);
  return r;
}

describe('decide: one reason per rule, first failing rule wins', () => {
  test('rule 1: enroll mode captures a phone, judges a badge', () => {
    expect(decide(present({ kind: 'mobile', source: 'sim' }), ctx({ enrollMode: true }))).toEqual({
      outcome: 'capture',
    });
    expect(reason(decide(present(), ctx({ enrollMode: true })))).toBe('granted');
  });

  test('rule 2: malformed, bad signature, replay, too far', () => {
    expect(reason(decide(present({ value: '' }), ctx()))).toBe('bad_request');
    expect(reason(decide(present({ kind: 'nfc' as never }), ctx()))).toBe('bad_request');
    expect(reason(decide(present({ kind: 'pin', value: '12a4', source: 'keypad' }), ctx()))).toBe(
      'bad_request',
    );
    expect(reason(decide(present({ kind: 'mobile', source: 'ble' }), ctx()))).toBe('bad_request');
    expect(reason(decide(present({ rssi: Number.NaN }), ctx()))).toBe('bad_request');
    expect(reason(decide(parsePresentation(null), ctx()))).toBe('bad_request');
    const proof = { signatureValid: false, challengeFresh: false };
    expect(reason(decide(present({ proof, rssi: -90 }), ctx({ credential: undefined })))).toBe(
      'bad_signature',
    );
    expect(
      reason(decide(present({ proof: { ...proof, signatureValid: true }, rssi: -90 }), ctx())),
    ).toBe('replay');
    const fresh = { signatureValid: true, challengeFresh: true };
    expect(
      reason(decide(present({ proof: { ...fresh, timestampFresh: false }, rssi: -90 }), ctx())),
    ).toBe('stale_timestamp');
    expect(reason(decide(present({ proof: { ...fresh, timestampFresh: true } }), ctx()))).toBe(
      'granted',
    );
    expect(reason(decide(present({ rssi: -61 }), ctx()))).toBe('too_far');
    expect(reason(decide(present({ rssi: -60 }), ctx()))).toBe('granted');
  });

  test('rule 3: unknown, disabled credential or user', () => {
    expect(reason(decide(present(), ctx({ credential: undefined })))).toBe('unknown_credential');
    expect(reason(decide(present({ kind: 'mobile' }), ctx()))).toBe('unknown_credential');
    expect(reason(decide(present(), ctx({ credential: { ...badge, enabled: false } })))).toBe(
      'disabled',
    );
    expect(reason(decide(present(), ctx({ user: { ...user, enabled: false } })))).toBe('disabled');
    expect(reason(decide(present(), ctx({ user: undefined })))).toBe('disabled');
  });

  test('rule 4: start inclusive, end exclusive', () => {
    expect(reason(decide(present(), ctx({ credential: { ...badge, start: NOW + 1 } })))).toBe(
      'not_yet_valid',
    );
    expect(reason(decide(present(), ctx({ credential: { ...badge, start: NOW } })))).toBe(
      'granted',
    );
    expect(reason(decide(present(), ctx({ credential: { ...badge, end: NOW } })))).toBe('expired');
    expect(reason(decide(present(), ctx({ credential: { ...badge, end: NOW + 1 } })))).toBe(
      'granted',
    );
  });

  test('rule 5: access point and credential schedule', () => {
    expect(reason(decide(present({ accessPointId: 'door-2' }), ctx()))).toBe('no_access_here');
    expect(
      reason(
        decide(
          present({ accessPointId: 'door-2' }),
          ctx({ credential: { ...badge, accessPoints: ['*'] } }),
        ),
      ),
    ).toBe('granted');
    const scheduled = { ...badge, scheduleId: 's1' };
    expect(reason(decide(present(), ctx({ credential: scheduled, schedule: officeHours })))).toBe(
      'granted',
    );
    expect(
      reason(
        decide(
          present(),
          ctx({ credential: scheduled, schedule: officeHours, now: NOW - 3600_001 }),
        ),
      ),
    ).toBe('outside_schedule');
    expect(reason(decide(present(), ctx({ credential: scheduled, schedule: undefined })))).toBe(
      'outside_schedule',
    );
    expect(
      reason(
        decide(
          present(),
          ctx({ credential: scheduled, schedule: officeHours, holidays: [{ date: '2026-01-05' }] }),
        ),
      ),
    ).toBe('outside_schedule');
  });

  test('rule 6: lockdown unless the user overrides it', () => {
    expect(reason(decide(present(), ctx({ lockdown: true })))).toBe('lockdown');
    expect(
      reason(decide(present(), ctx({ lockdown: true, user: { ...user, lockdownOverride: true } }))),
    ).toBe('granted');
  });

  test('rule 7: use limit', () => {
    expect(
      reason(decide(present(), ctx({ credential: { ...badge, useLimit: 2 }, usesSoFar: 2 }))),
    ).toBe('use_limit_reached');
    expect(
      reason(decide(present(), ctx({ credential: { ...badge, useLimit: 2 }, usesSoFar: 1 }))),
    ).toBe('granted');
  });

  test('rule 8: second-factor PIN and keypad lockout', () => {
    const withPin = { ...badge, pinHash: 'scrypt$x$y' };
    expect(decide(present(), ctx({ credential: withPin }))).toEqual({
      outcome: 'need_pin',
      reason: 'pin_required',
      credentialId: 'c1',
      userId: 'u1',
    });
    expect(reason(decide(present(), ctx({ credential: withPin, pinCheck: 'timeout' })))).toBe(
      'pin_required',
    );
    expect(reason(decide(present(), ctx({ credential: withPin, pinCheck: 'mismatch' })))).toBe(
      'wrong_pin',
    );
    expect(reason(decide(present(), ctx({ credential: withPin, pinCheck: 'match' })))).toBe(
      'granted',
    );
    expect(
      reason(decide(present(), ctx({ credential: withPin, keypadLockedUntil: NOW + 1 }))),
    ).toBe('keypad_locked_out');
    expect(
      reason(
        decide(present(), ctx({ credential: withPin, keypadLockedUntil: NOW, pinCheck: 'match' })),
      ),
    ).toBe('granted');
    // A locked keypad takes no digits: checked before the lookup so it reveals nothing.
    const pinEntry = present({ kind: 'pin', value: '1234', source: 'keypad' });
    expect(
      reason(decide(pinEntry, ctx({ credential: undefined, keypadLockedUntil: NOW + 1 }))),
    ).toBe('keypad_locked_out');
  });

  test('first failing rule wins when several fail', () => {
    const bad: Credential = { ...badge, enabled: false, end: NOW, accessPoints: [], useLimit: 0 };
    expect(reason(decide(present(), ctx({ credential: bad, lockdown: true })))).toBe('disabled');
    expect(
      reason(decide(present(), ctx({ credential: { ...bad, enabled: true }, lockdown: true }))),
    ).toBe('expired');
    expect(
      reason(
        decide(
          present(),
          ctx({ credential: { ...bad, enabled: true, end: undefined }, lockdown: true }),
        ),
      ),
    ).toBe('no_access_here');
    expect(
      reason(decide(present(), ctx({ credential: { ...badge, useLimit: 0 }, lockdown: true }))),
    ).toBe('lockdown');
  });

  test('rule 9: a grant the log cannot take is refused as log_full', () => {
    expect(decide(present(), ctx({ logFull: true }))).toEqual({
      outcome: 'deny',
      reason: 'log_full',
      credentialId: 'c1',
      userId: 'u1',
    });
    expect(reason(decide(present(), ctx({ logFull: true })))).toBe('log_full');
    // Earlier rules still win: a denial is a denial whatever the log can take.
    expect(reason(decide(present(), ctx({ logFull: true, lockdown: true })))).toBe('lockdown');
  });

  test('grant carries the extended unlock flag', () => {
    const d = decide(present(), ctx({ user: { ...user, extendedUnlock: true } }));
    expect(d).toEqual({
      outcome: 'grant',
      reason: 'granted',
      credentialId: 'c1',
      userId: 'u1',
      extendedUnlock: true,
    });
  });

  test('every reason code in the table is reachable, and the table is in rule order', () => {
    for (const code of REASON_CODES) expect([code, reached.has(code)]).toEqual([code, true]);
    const rules = REASON_CODES.map((c) => REASONS[c].rule);
    expect([...rules].sort((a, b) => a - b)).toEqual(rules);
  });
});

describe('docs/READER.md', () => {
  test('lists every reason code with its rule and outcome', () => {
    const doc = readFileSync(join(__dirname, '../../docs/READER.md'), 'utf8');
    for (const code of REASON_CODES) {
      expect(doc).toContain(
        `| \`${code}\` | ${REASONS[code].rule} | ${REASONS[code].outcome} | ${REASONS[code].text} |`,
      );
    }
  });
});
