import { ble } from '../../scripts/dev/bench/ble';

jest.setTimeout(60_000);

describe('reader-sim bench ble --quick', () => {
  it('runs the round trip in both timing modes and reports each figure with its target', async () => {
    const lines: string[] = [];
    const rows = await ble.run({ quick: true, progress: (l) => lines.push(l) });
    expect(rows.map((r) => r.metric)).toEqual([
      'fast: connect+discover+write+notify p50',
      'fast: connect+discover+write+notify p99',
      'fast: write+notify on open link p50',
      'realistic: connect+discover+write+notify p50',
      'realistic: radio-model floor p50',
      'realistic: overhead above floor p50',
      'realistic: overhead above floor p99',
    ]);
    for (const row of rows) {
      expect(row.suite).toBe('ble');
      expect(Number.isFinite(row.value)).toBe(true);
      if (row.target !== undefined) expect(typeof row.met).toBe('boolean');
    }
    const byMetric = new Map(rows.map((r) => [r.metric, r.value]));
    // Realistic timing waits on advertising events and anchors: its floor is real radio time,
    // and the measured round trip can never beat it.
    expect(byMetric.get('realistic: radio-model floor p50')).toBeGreaterThan(50);
    // (the floor is on the clock's 1 ms grid, the round trip on performance.now)
    expect(byMetric.get('realistic: connect+discover+write+notify p50')).toBeGreaterThanOrEqual(
      byMetric.get('realistic: radio-model floor p50')! - 1,
    );
    expect(lines.length).toBeGreaterThan(0);
  });
});
