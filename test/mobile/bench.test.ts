import { mobile } from '../../scripts/dev/bench/mobile';

jest.setTimeout(60_000);

describe('reader-sim bench mobile --quick', () => {
  it('measures whole unlocks in both timing modes and the signature cost, each row with its unit', async () => {
    const lines: string[] = [];
    const rows = await mobile.run({ quick: true, progress: (l) => lines.push(l) });
    const byMetric = new Map(rows.map((r) => [r.metric, r]));
    for (const row of rows) {
      expect(row.suite).toBe('mobile');
      expect(Number.isFinite(row.value)).toBe(true);
      if (row.target !== undefined) expect(typeof row.met).toBe('boolean');
    }
    expect(byMetric.get('fast: phone-to-green p50')).toMatchObject({
      unit: 'ms',
      target: '< 25 ms',
    });
    // The LED turns green before the phone hears the result, and realistic timing can never
    // beat the radio model's floor (the floor is on the clock's 1 ms grid).
    const value = (m: string) => byMetric.get(m)!.value;
    expect(value('fast: phone-to-green p50')).toBeLessThanOrEqual(
      value('fast: phone-to-granted (result at phone) p50'),
    );
    expect(value('realistic 30 ms: radio-model floor p50')).toBeGreaterThan(60); // >= 2 intervals
    expect(value('realistic 30 ms: phone-to-granted p50')).toBeGreaterThanOrEqual(
      value('realistic 30 ms: radio-model floor p50') - 1,
    );
    expect(value('signature verification per presentation')).toBeGreaterThan(0);
    expect(byMetric.get('pkoc fast: phone-to-green p50')).toMatchObject({
      unit: 'ms',
      target: '< 25 ms',
    });
    expect(value('pkoc fast: phone-to-green p50')).toBeLessThanOrEqual(
      value('pkoc fast: phone-to-green p99'),
    );
    expect(value('pkoc verification per presentation')).toBeGreaterThan(0);
    expect(lines.length).toBe(4);
  });
});
