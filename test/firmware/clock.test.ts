import { SystemClock, VirtualClock } from '../../firmware/foundation/clock';

describe('VirtualClock', () => {
  it('fires timers in due order, each seeing its own due time', () => {
    const clock = new VirtualClock(1_000);
    const seen: Array<[string, number]> = [];
    clock.setTimeout(() => seen.push(['b', clock.now()]), 20);
    clock.setTimeout(() => seen.push(['a', clock.now()]), 10);
    clock.setTimeout(() => seen.push(['c', clock.now()]), 20);
    clock.advance(15);
    expect(seen).toEqual([['a', 1_010]]);
    clock.advance(100);
    expect(seen).toEqual([
      ['a', 1_010],
      ['b', 1_020],
      ['c', 1_020],
    ]);
    expect(clock.now()).toBe(1_115);
  });

  it('runs timers set by timers within the same advance, and honours clearTimeout', () => {
    const clock = new VirtualClock(0);
    const seen: number[] = [];
    const cancelled = clock.setTimeout(() => seen.push(-1), 5);
    clock.setTimeout(() => {
      seen.push(clock.now());
      clock.setTimeout(() => seen.push(clock.now()), 10);
    }, 10);
    clock.clearTimeout(cancelled);
    clock.advance(30);
    expect(seen).toEqual([10, 20]);
    expect(clock.pendingCount).toBe(0);
  });

  it('lets awaiting code interleave with timers in advanceAsync', async () => {
    const clock = new VirtualClock(0);
    const seen: string[] = [];
    const task = (async () => {
      await clock.sleep(10);
      seen.push(`woke ${clock.now()}`);
      await clock.sleep(10);
      seen.push(`woke ${clock.now()}`);
    })();
    await clock.advanceAsync(25);
    await task;
    expect(seen).toEqual(['woke 10', 'woke 20']);
  });

  it('keeps monotonic time apart from the wall clock: advance moves both, set only the wall', async () => {
    const clock = new VirtualClock(1_000_000);
    const start = clock.monotonic();
    clock.advance(500);
    expect(clock.monotonic() - start).toBe(500);
    clock.set(1_000_000 - 3_600_000); // an hour back
    expect(clock.monotonic() - start).toBe(500);
    clock.set(1_000_000 + 86_400_000); // a day ahead
    expect(clock.monotonic() - start).toBe(500);
    await clock.advanceAsync(250);
    expect(clock.monotonic() - start).toBe(750);

    const system = new SystemClock();
    const before = system.monotonic();
    system.set(Date.now() - 3_600_000);
    expect(system.monotonic()).toBeGreaterThanOrEqual(before);
    expect(system.monotonic() - before).toBeLessThan(60_000);
  });

  it('reports a wall-clock change and keeps pending delays relative', () => {
    const clock = new VirtualClock(0);
    const changes: Array<{ from: number; to: number }> = [];
    clock.on('change', (c) => changes.push(c));
    let fired = -1;
    clock.setTimeout(() => (fired = clock.now()), 100);
    clock.set(3_600_000);
    clock.advance(99);
    expect(fired).toBe(-1);
    clock.advance(1);
    expect(fired).toBe(3_600_100);
    expect(changes).toEqual([{ from: 0, to: 3_600_000 }]);
  });
});
