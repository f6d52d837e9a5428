import { VirtualClock } from '../../firmware/foundation/clock';
import { seededRandom } from '../../firmware/foundation/random';
import { ConnectionPacer, ReconnectBackoff } from '../../firmware/mqtt';

describe('reconnect backoff', () => {
  it('doubles up to its cap, with jitter in the upper half, and starts over after a success', () => {
    const backoff = new ReconnectBackoff(seededRandom(1), 1_000, 8_000);
    const delays = Array.from({ length: 6 }, () => backoff.next());
    const ceilings = [1_000, 2_000, 4_000, 8_000, 8_000, 8_000];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(ceilings[i]! / 2);
      expect(d).toBeLessThanOrEqual(ceilings[i]!);
    });
    // Jittered: two readers with different seeds do not retry in step.
    const other = new ReconnectBackoff(seededRandom(2), 1_000, 8_000);
    expect(Array.from({ length: 6 }, () => other.next())).not.toEqual(delays);
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(1_000);
    expect(() => new ReconnectBackoff(Math.random, 0, 10)).toThrow(RangeError);
  });
});

describe('connection pacer', () => {
  it('starts at most N connections per second, in the order asked; a cancelled one never starts', async () => {
    const clock = new VirtualClock(0);
    const pacer = new ConnectionPacer(clock, 4);
    const started: Array<[number, number]> = [];
    const cancels = Array.from({ length: 10 }, (_, i) =>
      pacer.schedule(() => started.push([i, clock.monotonic()])),
    );
    cancels[5]!();
    expect(started).toEqual([[0, 0]]);
    await clock.advanceAsync(3_000);
    expect(started.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9]);
    expect(started.map(([, at]) => at)).toEqual([0, 250, 500, 750, 1000, 1500, 1750, 2000, 2250]);
    expect(() => new ConnectionPacer(clock, 0)).toThrow(RangeError);
  });
});
