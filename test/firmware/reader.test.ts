import { PresentationResult } from '../../firmware/reader';
import {
  CheckedPresentation,
  parsePresentation,
  Presentation,
} from '../../firmware/foundation/presentation';
import { REASON_CODES } from '../../firmware/foundation/reasons';
import { openStore } from '../../storage';
import {
  BADGE_PIN,
  bootRig,
  drain,
  MONDAY_0800,
  Rig,
  siteDatabase,
  smallFlash,
} from './reader-rig';

function decisions(rig: Rig): PresentationResult[] {
  const out: PresentationResult[] = [];
  rig.running.reader.on('decision', ({ result }: { result: PresentationResult }) =>
    out.push(result),
  );
  return out;
}

const reasonOf = (r: PresentationResult) =>
  r.decision.outcome === 'capture' || r.decision.outcome === 'panel'
    ? r.decision.outcome
    : r.decision.reason;

function sim(rig: Rig, over: Partial<Presentation>): Promise<PresentationResult> {
  return rig.running.reader.present(
    parsePresentation({
      kind: 'badge',
      value: '1001',
      source: 'sim',
      accessPointId: 'door-1',
      at: rig.clock.now(),
      ...over,
    }),
  );
}

const ledSteps = (rig: Rig) =>
  rig.led.relativeTimeline(rig.start).map((s) => `${s.at} ${s.color}${s.buzzer ? ' beep' : ''}`);

describe('reader: presentations through the real inputs, store, door and LED', () => {
  test('grant: amber while processing, green for the unlock time, relay only after the durable debit', async () => {
    const rig = bootRig();
    const seen = decisions(rig);
    rig.clock.advance(1000);
    rig.swipe('1001');
    await drain(rig);
    expect(seen.map(reasonOf)).toEqual(['granted']);
    rig.clock.advance(10_000);
    expect(ledSteps(rig)).toEqual([
      '1000 amber', // processing
      '1000 green beep', // granted: one short beep
      '1100 green',
      '6000 red', // unlock time over: idle
    ]);
    expect(rig.relay).toEqual([
      // Energized with the use already debited and the event already in flash.
      { at: 1000, energized: true, usesOfAda: 1, lastSeq: expect.any(Number) },
      { at: 6000, energized: false, usesOfAda: 1, lastSeq: expect.any(Number) },
    ]);
    const events = rig.running.store.events.list(0, 100).filter((e) => e.type === 'access');
    expect(events).toEqual([
      expect.objectContaining({
        decision: 'grant',
        reason: 'granted',
        credentialId: 'ada-badge',
        userId: 'ada',
        kind: 'badge',
      }),
    ]);
    expect(rig.relay[0]!.lastSeq).toBe(events[0]!.seq);
    await rig.running.shutdown();
  });

  test('grant then the door opens and closes: relay and green end together at the close', async () => {
    const rig = bootRig();
    rig.clock.advance(1000);
    rig.swipe('1001');
    await drain(rig);
    rig.clock.advance(1500);
    rig.running.door.doorContact(true);
    rig.clock.advance(1500);
    rig.running.door.doorContact(false); // closed behind the user at 4000: relock
    rig.clock.advance(10_000);
    expect(ledSteps(rig)).toEqual(['1000 amber', '1000 green beep', '1100 green', '4000 red']);
    expect(rig.relay.map((r) => [r.at, r.energized])).toEqual([
      [1000, true],
      [4000, false],
    ]);
    await rig.running.shutdown();
  });

  test('deny: red flashing 3 x 200 ms with three beeps, relay untouched, event durable', async () => {
    const rig = bootRig();
    const seen = decisions(rig);
    rig.swipe('999');
    await drain(rig);
    rig.clock.advance(5000);
    expect(seen.map(reasonOf)).toEqual(['unknown_credential']);
    expect(ledSteps(rig)).toEqual([
      '0 amber',
      '0 red beep',
      '100 red',
      '200 off',
      '400 red beep',
      '500 red',
      '600 off',
      '800 red beep',
      '900 red',
      '1000 off',
      '1200 red', // back to idle
    ]);
    expect(rig.relay).toEqual([]);
    const [event] = rig.running.store.events.list(0, 100).filter((e) => e.type === 'access');
    expect(event).toMatchObject({
      decision: 'deny',
      reason: 'unknown_credential',
      detail: { source: 'badge-serial', presented: '999' },
    });
    await rig.running.shutdown();
  });

  test('every reason code is reached through the reader', async () => {
    const rig = bootRig();
    const seen = decisions(rig);
    const { reader, config } = rig.running;
    const keys = (k: string) => rig.keypad.type(k);

    await sim(rig, { value: '' }); // bad_request
    await sim(rig, {
      kind: 'mobile',
      value: 'phone-ada',
      proof: { signatureValid: false, challengeFresh: true },
    });
    await sim(rig, {
      kind: 'mobile',
      value: 'phone-ada',
      proof: { signatureValid: true, challengeFresh: false },
    });
    await sim(rig, {
      kind: 'mobile',
      value: 'phone-ada',
      proof: { signatureValid: true, challengeFresh: true, timestampFresh: false },
    });
    await sim(rig, { kind: 'mobile', value: 'phone-ada', rssi: -75 }); // too_far (far = -60)
    await sim(rig, { kind: 'mobile', value: 'phone-ada', rssi: -50 }); // granted
    rig.swipe('4242'); // unknown_credential
    rig.swipe('1002'); // disabled credential
    rig.swipe('1003'); // disabled user
    rig.swipe('1004'); // not_yet_valid
    rig.swipe('1005'); // expired
    rig.swipe('1006'); // no_access_here
    rig.swipe('1007'); // outside_schedule (08:00, window 20:00-24:00)
    await drain(rig);
    config.update({ accessPointState: 'lockdown' });
    rig.swipe('1001'); // lockdown
    rig.swipe('1008'); // granted: lockdown override
    await drain(rig);
    config.update({ accessPointState: 'schedule' });
    rig.swipe('1009');
    rig.swipe('1009');
    rig.swipe('1009'); // use_limit_reached on the third
    await drain(rig);
    rig.swipe('1010'); // needs a PIN: no digits in 10 s -> pin_required
    await drain(rig);
    expect(reader.awaitingPin).toBe(true);
    await rig.clock.advanceAsync(10_000);
    rig.swipe('1010');
    await drain(rig);
    keys('0000#'); // wrong_pin
    await drain(rig);
    rig.swipe('1010');
    await drain(rig);
    keys(`${BADGE_PIN}#`); // granted
    await drain(rig);
    keys('4711#'); // PIN-only: granted
    await drain(rig);
    for (let i = 0; i < 5; i++) keys('9999#'); // 5 wrong in a row (unknown PINs)
    await drain(rig);
    keys('4711#'); // keypad_locked_out, even for a good PIN
    await drain(rig);
    rig.swipe('1010'); // a badge that needs the keypad is locked out too
    await drain(rig);
    await rig.clock.advanceAsync(60_000);
    keys('4711#'); // the lockout is over
    keys('12#'); // too short: bad_request
    await drain(rig);

    expect(seen.map(reasonOf)).toEqual([
      'bad_request',
      'bad_signature',
      'replay',
      'stale_timestamp',
      'too_far',
      'granted',
      'unknown_credential',
      'disabled',
      'disabled',
      'not_yet_valid',
      'expired',
      'no_access_here',
      'outside_schedule',
      'lockdown',
      'granted',
      'granted',
      'granted',
      'use_limit_reached',
      'pin_required',
      'wrong_pin',
      'granted',
      'granted',
      'unknown_credential',
      'unknown_credential',
      'unknown_credential',
      'unknown_credential',
      'unknown_credential',
      'keypad_locked_out',
      'keypad_locked_out',
      'granted',
      'bad_request',
    ]);
    // log_full is never logged by definition: test/api/full-flash.test.ts covers it.
    for (const code of REASON_CODES.filter((c) => c !== 'log_full'))
      expect([code, seen.some((r) => reasonOf(r) === code)]).toEqual([code, true]);
    // Every decision is in the durable log with its reason; no PIN digits anywhere.
    const logged = rig.running.store.events.list(0, 1000).filter((e) => e.type === 'access');
    expect(logged.map((e) => e.reason)).toEqual(seen.map(reasonOf));
    expect(JSON.stringify(logged)).not.toMatch(/"(4711|2580|9999|0000|12)"/);
    expect(logged.filter((e) => e.kind === 'pin').map((e) => Object.keys(e.detail ?? {}))).toEqual(
      Array(9).fill(['source']),
    );
    await rig.running.shutdown();
  });

  test('badge + PIN: amber while waiting for the digits, extended unlock for ADA users', async () => {
    const rig = bootRig();
    decisions(rig);
    rig.swipe('1010');
    await drain(rig);
    await rig.clock.advanceAsync(3000);
    rig.keypad.type(`${BADGE_PIN}#`);
    await drain(rig);
    rig.clock.advance(6000);
    expect(ledSteps(rig)).toEqual(['0 amber', '3000 green beep', '3100 green', '8000 red']);
    rig.led.clear();
    rig.relay.length = 0;
    rig.swipe('1011'); // Dee: extended unlock 15 s
    await drain(rig);
    rig.clock.advance(20_000);
    expect(rig.relay.map((r) => [r.at - 9000, r.energized])).toEqual([
      [0, true],
      [15_000, false],
    ]);
    await rig.running.shutdown();
  });

  test('a long PIN timeout keeps the LED amber all the way, then denies pin_required', async () => {
    const rig = bootRig({ config: { pinTimeoutMs: 45_000 } });
    const seen = decisions(rig);
    rig.swipe('1010');
    await drain(rig);
    await rig.clock.advanceAsync(44_999);
    expect(rig.running.indicator.current().color).toBe('amber');
    await rig.clock.advanceAsync(1);
    expect(seen.map(reasonOf)).toEqual(['pin_required']);
    expect(ledSteps(rig).slice(0, 2)).toEqual(['0 amber', '45000 red beep']);
    await rig.running.shutdown();
  });

  test('use limit survives a power cycle; a failed commit never unlocks', async () => {
    const first = bootRig();
    const seen = decisions(first);
    first.swipe('1009');
    await drain(first);
    expect(seen.map(reasonOf)).toEqual(['granted']);
    // Cut power in the next flash operation: the grant's commit fails.
    first.clock.advance(6000);
    first.relay.length = 0;
    first.device.armPowerCut({ at: first.device.stats.operations, model: 'none' });
    first.swipe('1009');
    await drain(first);
    expect(seen[1]!.error).toBeDefined();
    expect(first.relay).toEqual([]); // never energized
    first.device.powerOn();
    const again = openStore({ device: first.device });
    expect(again.database.usesOf('twice')).toBe(1);
    again.close();
    const second = bootRig({ device: first.device, start: MONDAY_0800 + 60_000 });
    const seen2 = decisions(second);
    second.swipe('1009');
    second.swipe('1009');
    await drain(second);
    expect(seen2.map(reasonOf)).toEqual(['granted', 'use_limit_reached']);
    await second.running.shutdown();
  });

  test('a reader booted from an index snapshot decides at once and reads the rest of the index while idle', async () => {
    const device = smallFlash();
    const site = siteDatabase();
    const filler = Array.from({ length: 3000 }, (_, i) => ({
      id: `filler-${i}`,
      userId: 'ada',
      kind: 'badge' as const,
      value: `${900000 + i}`,
      enabled: true,
      accessPoints: ['*'],
    }));
    // A push big enough for a snapshot: the next mount loads it and leaves its pages on flash.
    const pushed = openStore({ device, checkpointBytes: 16384 });
    pushed.database.replace({ ...site, credentials: [...site.credentials, ...filler] });
    pushed.close();
    const rig = bootRig({ device });
    const store = rig.running.store;
    expect(store.mountReport.fromCheckpoint).toBe(true);
    const onFlash = store.pageIn(0);
    expect(onFlash).toBeGreaterThan(30);
    const seen = decisions(rig);
    rig.swipe('1009');
    await drain(rig);
    expect(seen.map(reasonOf)).toEqual(['granted']);
    // Idle turns of the event loop read the rest, a slice at a time.
    for (let turn = 0; turn < 1000 && store.pageIn(0) > 0; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(store.pageIn(0)).toBe(0);
    expect(store.database.findCredential('badge', '902999')?.id).toBe('filler-2999');
    await rig.running.shutdown();
  });

  test('enroll mode captures a phone as raw data and times out on its own', async () => {
    const rig = bootRig();
    const raw: unknown[] = [];
    rig.running.reader.on('raw-data', (r) => raw.push(r));
    rig.running.reader.enroll('ada');
    expect(rig.running.indicator.status().permanent).toBe('enroll');
    const result = await sim(rig, { kind: 'mobile', value: 'new-phone', publicKey: 'AAAA' });
    expect(result.decision).toEqual({ outcome: 'capture' });
    expect(raw).toEqual([
      { userId: 'ada', deviceId: 'new-phone', publicKey: 'AAAA', at: MONDAY_0800 },
    ]);
    expect(rig.running.indicator.status().permanent).toBe('idle');
    rig.running.reader.enroll('ada');
    rig.clock.advance(60_000);
    expect(rig.running.reader.enrolling).toBeUndefined();
    const enrollEvents = rig.running.store.events.list(0, 100).filter((e) => e.type === 'enroll');
    expect(enrollEvents.map((e) => e.detail)).toEqual([
      { rawData: { deviceId: 'new-phone', publicKey: 'AAAA' } },
      { userId: 'ada', result: 'timeout' },
    ]);
    await rig.running.shutdown();
  });

  test('config changes take effect without a restart; bad config changes nothing', async () => {
    const rig = bootRig();
    decisions(rig);
    rig.running.config.update({ unlockMs: 8000 });
    rig.swipe('1001');
    await drain(rig);
    rig.clock.advance(10_000);
    expect(rig.relay.map((r) => [r.at, r.energized])).toEqual([
      [0, true],
      [8000, false],
    ]);
    expect(() => rig.running.config.update({ unlockMs: 0 })).toThrow(
      'config unlockMs: must be 1000..60000 ms, got 0',
    );
    expect(rig.running.config.get().unlockMs).toBe(8000);
    expect(rig.running.door.currentConfig().unlockMs).toBe(8000);
    await rig.running.shutdown();
  });

  test('garbage from any input is denied bad_request, logged, and the reader keeps going', async () => {
    const rig = bootRig();
    const seen = decisions(rig);
    const { reader } = rig.running;
    // Past the types (a cast, plain JavaScript): the reader parses what it was handed.
    await reader.present(null as unknown as CheckedPresentation);
    await reader.present({
      kind: 'retina',
      value: 7,
      source: 'x',
      accessPointId: {},
      at: NaN,
    } as unknown as CheckedPresentation);
    await reader.keypadEntry(undefined as unknown as string);
    await sim(rig, {});
    expect(seen.map(reasonOf)).toEqual(['bad_request', 'bad_request', 'bad_request', 'granted']);
    const logged = rig.running.store.events.list(0, 100).filter((e) => e.type === 'access');
    expect(logged.slice(0, 3).map((e) => [e.reason, e.accessPointId, e.kind])).toEqual([
      ['bad_request', 'door-1', undefined],
      ['bad_request', 'door-1', undefined],
      ['bad_request', 'door-1', 'pin'],
    ]);
    await rig.running.shutdown();
  });

  test('presentations are decided one at a time in arrival order', async () => {
    const rig = bootRig();
    const seen = decisions(rig);
    const order = ['1001', '4242', '1002', '1011', '1006'];
    const results = order.map((value) => sim(rig, { value }));
    await Promise.all(results);
    expect(seen.map((r) => r.decision.outcome === 'capture' || r.event?.detail?.presented)).toEqual(
      order,
    );
    await rig.running.shutdown();
  });

  test('an event watcher gets what was appended after it subscribed, each once, in order', async () => {
    const rig = bootRig();
    // Nobody watches these: the feed reads nothing back, but must not hand them out later.
    await sim(rig, { value: '1001' });
    await sim(rig, { value: '4242' });
    await drain(rig);
    const from = rig.running.store.events.stats().lastSeq;
    const seen: number[] = [];
    const stop = rig.running.watchEvents((e) => seen.push(e.seq));
    await sim(rig, { value: '1002' });
    await sim(rig, { value: '4243' });
    await drain(rig);
    const to = rig.running.store.events.stats().lastSeq;
    expect(to - from).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual(Array.from({ length: to - from }, (_, i) => from + 1 + i));
    stop();
    await rig.running.shutdown();
  });

  test('shutdown during a PIN wait logs pin_required, relocks and closes the flash', async () => {
    const rig = bootRig();
    const seen = decisions(rig);
    rig.running.config.update({ accessPointState: 'unlock' });
    expect(rig.running.door.status().relay).toBe('unlocked');
    rig.swipe('1010');
    await drain(rig);
    await rig.running.shutdown();
    expect(seen.map(reasonOf)).toEqual(['pin_required']);
    expect(rig.running.door.status().relay).toBe('locked');
    await expect(sim(rig, {})).rejects.toThrow('shutting down');
    const after = openStore({ device: rig.device });
    const events = after.events.list(0, 1000);
    expect(events.at(-1)).toMatchObject({ type: 'system', detail: { action: 'shutdown' } });
    expect(events.some((e) => e.reason === 'pin_required')).toBe(true);
    expect(after.config.get()).toMatchObject({ accessPointState: 'unlock' });
    after.close();
  });
});
