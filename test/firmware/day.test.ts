import { runSimulatedDay } from '../../scripts/dev/bench/core-day';

describe('a full simulated day (2026-03-08, America/Denver, the DST jump)', () => {
  test('runs on the virtual clock and gives the identical timeline on every run', async () => {
    const first = await runSimulatedDay();
    const second = await runSimulatedDay();
    expect(second.timeline).toEqual(first.timeline);
    expect(first.presentations).toBeGreaterThan(300);
    expect(first.grants).toBeGreaterThan(50);
    // The lobby schedule opens at the jump (02:00 MST -> 03:00 MDT) and closes at 03:30 MDT.
    expect(first.timeline).toContain('09:00:00.000 relay on');
    expect(first.timeline).toContain('09:30:00.000 relay off');
    const reasons = new Set(first.timeline.map((line) => line.split(' ')[2]));
    for (const r of [
      'granted',
      'unknown_credential',
      'disabled',
      'outside_schedule',
      'wrong_pin',
      'use_limit_reached',
    ]) {
      expect([r, reasons.has(r)]).toEqual([r, true]);
    }
    // Another seed is another day: the timeline really depends on the scenario.
    expect((await runSimulatedDay(7)).timeline).not.toEqual(first.timeline);
  });
});
