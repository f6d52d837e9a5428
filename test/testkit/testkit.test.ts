import { AssertionError } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import {
  assertDecided,
  assertLed,
  assertRelay,
  badgeCredential,
  FAST_DOOR,
  markEvents,
  oneDoorDatabase,
  registerRigMatchers,
  SimRig,
  waitForEvent,
} from '../../firmware/testkit';
import '../../firmware/testkit/jest';
import { startReader } from '../../firmware/testkit/reader';

const ROOT = path.join(__dirname, '..', '..');

describe('the testkit on the sim rig', () => {
  let rig: SimRig;
  beforeEach(async () => {
    rig = await SimRig.open();
    await rig.api.push(oneDoorDatabase([badgeCredential('staff', '4411', { useLimit: 1 })]));
    await rig.api.patchConfig(FAST_DOOR);
    await markEvents(rig);
  });
  afterEach(() => rig.close());

  it('plain checks throw an AssertionError naming what the rig saw', async () => {
    await assertLed(rig, 'red');
    const failure = await assertLed(rig, 'green').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(AssertionError);
    expect((failure as Error).message).toBe(
      "expected the sim rig's LED to show green, it shows red",
    );
    await expect(assertRelay(rig, true)).rejects.toThrow(
      "expected the sim rig's lock relay to be energized, it is released",
    );
  });

  it('decisions are consumed in order; a wrong one says what it was', async () => {
    await rig.presentBadge('4411');
    await rig.wait(FAST_DOOR.unlockMs + 300);
    await rig.presentBadge('4411');
    await rig.presentBadge('0000');
    const first = rig.cursor;
    await expect(rig).toHaveDecided('granted', { credentialId: 'staff', kind: 'badge' });
    expect(rig.cursor).toBeGreaterThan(first);
    await expect(expect(rig).toHaveDecided('granted')).rejects.toThrow(
      /^expected the reader's next decision after seq \d+ to be granted, it was: deny use_limit_reached \(badge credential staff\) at seq \d+$/,
    );
    await assertDecided(rig, 'unknown_credential');
    // Nothing left: the next check waits its budget and says so.
    await expect(assertDecided(rig, 'granted')).rejects.toThrow(
      /^expected the reader to decide granted: no access decision after seq \d+ within 5000 ms$/,
    );
  }, 20_000);

  it('.not and bad arguments', async () => {
    await expect(rig).not.toShowLed('green');
    await expect(expect(rig).not.toShowLed('red')).rejects.toThrow(
      "expected the sim rig's LED not to show red, and it does",
    );
    await expect(expect(rig).toShowLed('blue' as 'red')).rejects.toThrow(
      'toShowLed: the colour must be one of off, red, green, amber, got "blue"',
    );
    await expect(expect({}).toShowLed('red')).rejects.toThrow(
      'toShowLed: expect() needs a rig from openRig(), got object',
    );
  });
});

test('registerRigMatchers hands the five matchers to the expect it is given', () => {
  const names: string[] = [];
  registerRigMatchers({ extend: (m) => names.push(...Object.keys(m)) });
  expect(names.sort()).toEqual([
    'toBlinkLed',
    'toHaveDecided',
    'toHaveRelayEnergized',
    'toShowLed',
    'toSoundBuzzer',
  ]);
});

test('startReader: the firmware and API in-process, on a clock only the test moves', async () => {
  const reader = await startReader();
  try {
    await reader.api.push(oneDoorDatabase([badgeCredential('staff', '4411')]));
    await reader.api.patchConfig(FAST_DOOR);
    const from = (await reader.api.events(0)).lastSeq;
    reader.board.touch.badge('4411');
    const decided = await waitForEvent(
      { api: reader.api, eventTimeoutMs: 5000 },
      (e) => e.type === 'access',
      { after: from },
    );
    expect(decided).toMatchObject({ decision: 'grant', reason: 'granted' });
    const started = reader.clock.now();
    await reader.clock.advanceAsync(FAST_DOOR.unlockMs + 100);
    expect(reader.drivers.relay.writes().map((w) => [w.at - started, w.energized])).toEqual(
      expect.arrayContaining([[FAST_DOOR.unlockMs, false]]),
    );
  } finally {
    await reader.close();
  }
});

test('docs/TESTKIT.md shows the install check consumer suite as it is', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'TESTKIT.md'), 'utf8');
  for (const file of ['door.hil.ts', 'jest.config.js', 'tsconfig.json']) {
    const text = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'consumer', file), 'utf8');
    expect(doc).toContain(text.trim());
  }
});
