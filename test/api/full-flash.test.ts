import { parsePresentation } from '../../firmware/foundation/presentation';
import type { PresentationResult } from '../../firmware/reader';
import {
  eventually,
  rejection,
  sampleDatabase,
  settle,
  startTestReader,
  type TestReader,
} from './harness';

/**
 * A 1 MiB flash filled with credentials, then with badge presentations until the log has
 * no room: the host still gets its way back, presentations are refused visibly (log_full),
 * refused ones cost no erases, and the reader restarts full.
 */
describe('a full flash still answers', () => {
  let reader: TestReader;
  afterAll(() => reader?.close());

  const running = () => reader.board.reader()!;
  let presented = 0;
  const present = async (value: string): Promise<PresentationResult> => {
    // Let the sockets' timers run between presentations (this loop is the whole event loop).
    if (++presented % 50 === 0) await settle();
    const { reader: decider, config } = running();
    const accessPointId = config.get().accessPointId;
    return decider.present(
      parsePresentation({
        kind: 'badge',
        value,
        source: 'sim',
        accessPointId,
        at: reader.clock.now(),
      }),
    );
  };
  type Flash = { maxEraseCount: number; refusedEvents: number; erasedSectors: number };
  const flash = async () => (await reader.client.status()).flash as Flash;

  it('refuses what it cannot log, keeps the host reserve, restarts, and comes back', async () => {
    reader = await startTestReader({ sectorCount: 256 });
    await reader.client.push(sampleDatabase(6000));

    // Fill the rest with presentations (a known badge: grants, debits) until one is refused.
    let refused: PresentationResult | undefined;
    let logged = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 20_000 && !refused; i++) {
      const result = await present(i % 2 ? '10001' : '777');
      if (result.error) refused = result;
      else logged++;
      if (!result.error && 'reason' in result.decision) seen.add(result.decision.reason);
      // A grant is never given unless its event is on flash.
      if (result.decision.outcome === 'grant') expect(result.event).toBeDefined();
    }
    expect(logged).toBeGreaterThan(100);
    expect([...seen].sort()).toEqual(['granted', 'unknown_credential']);
    expect(refused?.decision).toMatchObject({ outcome: 'deny', reason: 'log_full' });
    const full = await flash();
    // Restart while full: it boots, and still refuses visibly.
    await reader.client.sim.powerCycle();
    await eventually(async () => (await reader.client.health()).state === 'running');
    expect((await present('10001')).decision).toMatchObject({ reason: 'log_full' });

    // Thousands more: each refused before anything is written, no collection reruns.
    const reasons = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const result = await present(i % 2 ? '10001' : '777');
      expect(result.event).toBeUndefined();
      reasons.add('reason' in result.decision ? result.decision.reason : result.decision.outcome);
    }
    expect([...reasons]).toEqual(['log_full']);
    const after = await flash();
    expect(after.maxEraseCount).toBeLessThanOrEqual(full.maxEraseCount + 1);
    expect(after.refusedEvents).toBeGreaterThanOrEqual(2000);
    // Visible at the door: the LED shows the refusal.
    expect((await reader.client.status()).led).toMatchObject({ situation: 'denied' });

    // The simulator's touch says so instead of a 202 that is never logged.
    const touch = await rejection(reader.client.sim.badge('10001'));
    expect(touch.status).toBe(507);
    expect(touch.body.error).toBe('store_full');

    // The host's way back: ack, delete, config, lockdown and back, a one-credential push.
    const { lastSeq } = await reader.client.events(0);
    const mark = lastSeq;
    expect(await reader.client.ack(lastSeq)).toMatchObject({ ackedSeq: lastSeq });
    const { version } = await reader.client.database();
    await reader.client.patch({ baseVersion: version, delete: { credentials: ['uc5'] } });
    await reader.client.patchConfig({ unlockMs: 4000 });
    expect(await reader.client.setAccessPointState('lockdown')).toMatchObject({
      state: 'lockdown',
    });
    expect(await reader.client.setAccessPointState('schedule')).toMatchObject({
      state: 'schedule',
    });
    const small = sampleDatabase(1, 'n');
    await reader.client.push(small);
    expect((await reader.client.database()).counts).toMatchObject({ credentials: 1 });

    // Room again: the next logged event is preceded by the overflow notice of the refusals.
    const before = (await reader.client.events(0)).lastSeq;
    const granted = await present(small.credentials[0]!.value);
    expect(granted.decision).toMatchObject({ outcome: 'grant', reason: 'granted' });
    const { events } = await reader.client.events(before);
    expect(events.map((e) => e.type)).toEqual(['access']);
    expect(events[0]).toMatchObject({ reason: 'granted', credentialId: 'nc0' });
    // The push's own event was the first logged after the refusals: the notice precedes it.
    const since = (await reader.client.events(mark)).events;
    const notice = since.findIndex((e) => e.type === 'overflow');
    expect(since[notice + 1]).toMatchObject({ type: 'system' });
    expect(since.filter((e) => e.type === 'overflow')).toHaveLength(1);
    expect(since[notice]!.detail).toMatchObject({ dropped: 0 });
    expect((since[notice]!.detail as { refused: number }).refused).toBeGreaterThanOrEqual(2000);
    expect((await flash()).maxEraseCount).toBeLessThan(full.maxEraseCount + 20);
  }, 60_000);
});
