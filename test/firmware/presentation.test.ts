import { decide, DecisionContext } from '../../firmware/decision';
import {
  CheckedPresentation,
  isValidPresentation,
  MAX_VALUE_LENGTH,
  parsePresentation,
  PresentationProblem,
} from '../../firmware/foundation/presentation';
import { badgePresentation } from '../../firmware/inputs';

const NOW = Date.UTC(2026, 0, 5, 15, 0);
const badge = {
  kind: 'badge',
  value: '12345',
  source: 'badge-serial',
  accessPointId: 'door-1',
  at: NOW,
};
const context: DecisionContext = {
  now: NOW,
  credential: {
    id: 'c1',
    userId: 'u1',
    kind: 'badge',
    value: '12345',
    enabled: true,
    accessPoints: ['door-1'],
  },
  user: { id: 'u1', name: 'Ada', enabled: true },
  holidays: [],
  usesSoFar: 0,
  lockdown: false,
  enrollMode: false,
  minRssi: -60,
  keypadLockedUntil: 0,
};

function problemOf(value: unknown): string | undefined {
  const checked = parsePresentation(value);
  return checked instanceof PresentationProblem ? checked.problem : undefined;
}

describe('parsePresentation: untrusted values become a validated presentation once', () => {
  test('a sound value comes back frozen, without fields it does not know, and is decided', () => {
    const p = parsePresentation({ ...badge, rssi: -40, extra: 'dropped', proof: undefined });
    expect(isValidPresentation(p)).toBe(true);
    expect(p).toEqual({ ...badge, rssi: -40 });
    expect(Object.isFrozen(p)).toBe(true);
    expect(decide(p, context)).toMatchObject({ outcome: 'grant', reason: 'granted' });
  });

  test('each malformation is named, and what can be trusted (kind, source) is kept', () => {
    expect(problemOf(null)).toBe('not an object');
    expect(problemOf({ ...badge, kind: 'retina' })).toBe('unknown kind');
    expect(problemOf({ ...badge, source: 'x' })).toBe('unknown source');
    expect(problemOf({ ...badge, value: '' })).toBe(
      `value must be 1..${MAX_VALUE_LENGTH} characters`,
    );
    expect(problemOf({ ...badge, value: '1'.repeat(MAX_VALUE_LENGTH + 1) })).toBe(
      `value must be 1..${MAX_VALUE_LENGTH} characters`,
    );
    expect(problemOf({ ...badge, value: '12 45' })).toBe(
      'value must be printable ASCII without spaces',
    );
    expect(problemOf({ ...badge, kind: 'mobile', source: 'sim', value: 'ph\u00f6ne' })).toBe(
      'value must be printable ASCII without spaces',
    );
    expect(problemOf({ ...badge, kind: 'pin', value: '12a4' })).toBe('PIN must be 4 to 12 digits');
    expect(problemOf({ ...badge, pin: 1234 })).toBe('PIN must be 4 to 12 digits');
    expect(problemOf({ ...badge, accessPointId: '' })).toBe('no access point');
    expect(problemOf({ ...badge, at: '2026-01-05' })).toBe('no time');
    expect(problemOf({ ...badge, rssi: Number.NaN })).toBe('rssi must be a number');
    expect(problemOf({ ...badge, proof: { signatureValid: 'yes', challengeFresh: true } })).toBe(
      'proof must be two booleans',
    );
    expect(problemOf({ ...badge, kind: 'mobile', source: 'ble' })).toBe(
      'mobile credential without proof',
    );
    expect(problemOf({ ...badge, kind: 'mobile', publicKey: 'not base64!' })).toBe(
      'publicKey must be base64 (at most 1024 characters)',
    );

    const refused = parsePresentation({ ...badge, kind: 'pin', source: 'keypad', value: '12' });
    expect(refused).toBeInstanceOf(PresentationProblem);
    expect(refused).toMatchObject({ kind: 'pin', source: 'keypad' });
    expect(parsePresentation({ kind: 7, source: {} })).toMatchObject({
      kind: undefined,
      source: undefined,
    });
    expect(decide(refused, context)).toEqual({ outcome: 'deny', reason: 'bad_request' });
  });

  test('a look-alike built without the parser is not valid, however right its fields', () => {
    const valid = parsePresentation(badge);
    const copy = { ...valid } as CheckedPresentation;
    expect(isValidPresentation(valid)).toBe(true);
    expect(isValidPresentation(copy)).toBe(false);
    expect(decide(copy, context)).toEqual({ outcome: 'deny', reason: 'bad_request' });
  });

  test('a badge read from the serial edge is parsed where it comes in', () => {
    const read = badgePresentation(
      { value: '18:4411', format: 'isonas-ascii', at: NOW - 5 },
      { accessPointId: 'door-2', now: NOW },
    );
    expect(isValidPresentation(read)).toBe(true);
    expect(read).toEqual({
      kind: 'badge',
      value: '18:4411',
      source: 'badge-serial',
      accessPointId: 'door-2',
      at: NOW - 5,
    });
    const untimed = badgePresentation(
      { value: '777', format: 'rdm6300' },
      { accessPointId: 'door-2', now: NOW },
    );
    expect(untimed).toMatchObject({ at: NOW });
  });
});
