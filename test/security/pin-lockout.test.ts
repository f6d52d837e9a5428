/**
 * PIN brute force at the door, through the reader's real inputs (the host API's keypad and
 * badge controls drive the same Keypad and badge source the hardware does) on a virtual
 * clock: N wrong PINs lock the keypad with `keypad_locked_out`, the right PIN is refused
 * during the lockout, it ends after keypadLockoutMs, wrong second factors count too, and
 * pulling the power neither resets the count nor lifts the lockout.
 */
import { hashSecondFactorPin, pinLookupValue } from '../../firmware/pin';
import type { DatabaseContent, EventRecord } from '../../firmware/foundation/model';
import { eventually, startTestReader, type TestReader } from '../api/harness';

const PIN_ONLY = '4711';
const BADGE = '2001';
const BADGE_PIN = '2580';
const EXPIRED_PIN = '1357';
const LOCKOUT_MS = 60_000;

let reader: TestReader;

function running() {
  return reader.board.reader()!;
}

function database(pinKey: string): DatabaseContent {
  const credential = (id: string, userId: string, kind: 'pin' | 'badge', value: string) => ({
    id,
    userId,
    kind,
    value,
    enabled: true,
    accessPoints: ['*'],
  });
  return {
    users: [
      { id: 'ann', name: 'Ann', enabled: true },
      { id: 'bob', name: 'Bob', enabled: true },
      { id: 'eve', name: 'Eve (left the company)', enabled: true },
    ],
    credentials: [
      credential('ann-pin', 'ann', 'pin', pinLookupValue(PIN_ONLY, pinKey)),
      {
        ...credential('bob-badge', 'bob', 'badge', BADGE),
        pinHash: hashSecondFactorPin(BADGE_PIN),
      },
      { ...credential('eve-pin', 'eve', 'pin', pinLookupValue(EXPIRED_PIN, pinKey)), end: 1 },
    ],
    schedules: [],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}

async function lastSeq(): Promise<number> {
  return ((await reader.client.status()) as { events: { lastSeq: number } }).events.lastSeq;
}

/** The access events committed after `after`, once there are `count` of them. */
async function accessAfter(after: number, count: number): Promise<EventRecord[]> {
  return eventually(async () => {
    const page = await reader.client.events(after, 1000);
    const access = page.events.filter((e) => e.type === 'access');
    return access.length >= count ? access : undefined;
  });
}

/** Types `digits#` on the keypad; resolves with the decision's reason. */
async function typePin(digits: string): Promise<string> {
  const after = await lastSeq();
  await reader.client.sim.keypad(`${digits}#`);
  const [event] = await accessAfter(after, 1);
  return event!.reason!;
}

/** Presents Bob's badge, then (when the reader waits for it) the PIN; resolves with the reason. */
async function badgeThenPin(digits: string): Promise<string> {
  const after = await lastSeq();
  await reader.client.sim.badge(BADGE);
  const decided = await eventually(async () => {
    if (running().reader.awaitingPin) return 'waiting';
    const page = await reader.client.events(after, 10);
    return page.events.find((e) => e.type === 'access')?.reason;
  });
  if (decided !== 'waiting') return decided; // refused before asking for a PIN
  await reader.client.sim.keypad(`${digits}#`);
  const [event] = await accessAfter(after, 1);
  return event!.reason!;
}

async function pause(ms = 6_000): Promise<void> {
  await reader.clock.advanceAsync(ms);
}

beforeEach(async () => {
  reader = await startTestReader();
  reader.clock.set(Date.UTC(2026, 5, 1, 16, 0, 0));
  await reader.client.push(database(running().config.get().pinKey));
  expect(await reader.client.config()).toMatchObject({
    pinAttemptsBeforeLockout: 5,
    keypadLockoutMs: LOCKOUT_MS,
  });
});

afterEach(() => reader.close());

describe('PIN brute force at the keypad', () => {
  it('locks after 5 wrong PINs in a row, refuses the right PIN meanwhile, opens after keypadLockoutMs', async () => {
    const seen: string[] = [];
    for (const guess of ['0000', '1111', '2222', '3333', '4444']) seen.push(await typePin(guess));
    seen.push(await typePin(PIN_ONLY)); // right PIN, locked keypad
    seen.push(await badgeThenPin(BADGE_PIN)); // the badge's second factor is locked too
    await reader.clock.advanceAsync(LOCKOUT_MS - 1);
    seen.push(await typePin(PIN_ONLY)); // 1 ms before the end
    await reader.clock.advanceAsync(1);
    seen.push(await typePin(PIN_ONLY));
    expect(seen).toEqual([
      ...Array(5).fill('unknown_credential'),
      'keypad_locked_out',
      'keypad_locked_out',
      'keypad_locked_out',
      'granted',
    ]);
  });

  it('counts wrong second-factor PINs and unknown PINs together', async () => {
    const seen = [
      await typePin('0000'),
      await badgeThenPin('0001'),
      await typePin('0002'),
      await badgeThenPin('0003'),
      await typePin('0004'),
      await badgeThenPin(BADGE_PIN),
    ];
    expect(seen).toEqual([
      'unknown_credential',
      'wrong_pin',
      'unknown_credential',
      'wrong_pin',
      'unknown_credential',
      'keypad_locked_out',
    ]);
    // Five wrong second factors alone lock it as well.
    await reader.clock.advanceAsync(LOCKOUT_MS);
    for (let i = 0; i < 5; i++) expect(await badgeThenPin(`900${i}`)).toBe('wrong_pin');
    expect(await typePin(PIN_ONLY)).toBe('keypad_locked_out');
  });

  it('a granted PIN ends the run; a known but refused PIN does not', async () => {
    for (let i = 0; i < 4; i++) expect(await typePin(`000${i}`)).toBe('unknown_credential');
    expect(await typePin(EXPIRED_PIN)).toBe('expired'); // Eve's old PIN: no reset
    expect(await typePin('0009')).toBe('unknown_credential'); // the 5th wrong one
    expect(await typePin(PIN_ONLY)).toBe('keypad_locked_out');

    await reader.clock.advanceAsync(LOCKOUT_MS);
    for (let i = 0; i < 4; i++) expect(await typePin(`111${i}`)).toBe('unknown_credential');
    expect(await typePin(PIN_ONLY)).toBe('granted'); // resets the run
    await pause();
    for (let i = 0; i < 4; i++) expect(await typePin(`222${i}`)).toBe('unknown_credential');
    expect(await typePin(PIN_ONLY)).toBe('granted');
  });

  it('survives a power cycle: the lockout holds and the count goes on', async () => {
    for (let i = 0; i < 5; i++) expect(await typePin(`000${i}`)).toBe('unknown_credential');
    const lockedAt = reader.clock.now();
    await reader.client.sim.powerCycle();
    expect(await typePin(PIN_ONLY)).toBe('keypad_locked_out');
    // The lockout ends keypadLockoutMs after the 5th wrong PIN, not after the boot.
    await reader.clock.advanceAsync(lockedAt + LOCKOUT_MS - reader.clock.now());
    expect(await typePin(PIN_ONLY)).toBe('granted');

    // Three wrong, a power cut, two more: still five in a row.
    await pause();
    for (let i = 0; i < 3; i++) expect(await typePin(`111${i}`)).toBe('unknown_credential');
    await reader.client.sim.powerCycle();
    for (let i = 0; i < 2; i++) expect(await typePin(`222${i}`)).toBe('unknown_credential');
    expect(await typePin(PIN_ONLY)).toBe('keypad_locked_out');
  });

  it('follows the configured attempts and lockout length', async () => {
    await reader.client.patchConfig({ pinAttemptsBeforeLockout: 2, keypadLockoutMs: 5_000 });
    expect(await typePin('0000')).toBe('unknown_credential');
    expect(await typePin('0001')).toBe('unknown_credential');
    expect(await typePin(PIN_ONLY)).toBe('keypad_locked_out');
    await reader.clock.advanceAsync(5_000);
    expect(await typePin(PIN_ONLY)).toBe('granted');
  });

  it('never writes the typed digits into the event log', async () => {
    const typed = ['864209', '975318', PIN_ONLY];
    for (const guess of typed) await typePin(guess);
    // Every string in the log (numbers like timestamps may contain any digits).
    const strings: string[] = [];
    JSON.stringify((await reader.client.events(0, 1000)).events, (_k, v: unknown) => {
      if (typeof v === 'string') strings.push(v);
      return v;
    });
    for (const digits of typed) expect(strings.filter((s) => s.includes(digits))).toEqual([]);
  });
});
