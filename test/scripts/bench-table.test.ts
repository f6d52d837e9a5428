import { above, atMost, below, formatTable, judged, rowsFor } from '../../scripts/dev/bench/suite';

describe('bench targets', () => {
  it('an upper bound reports the share of the budget used', () => {
    expect(judged(5, 'us', [below(20)])).toEqual({ target: '< 20 us', met: true, ratio: 0.25 });
    expect(judged(30, 'us', [below(20)])).toMatchObject({ met: false, ratio: 1.5 });
  });

  it('a lower bound reports limit over value, so below 1 is headroom there too', () => {
    expect(judged(40_000, 'events/s', [above(10_000)])).toEqual({
      target: '> 10000 events/s',
      met: true,
      ratio: 0.25,
    });
    expect(judged(5_000, 'events/s', [above(10_000)])).toMatchObject({ met: false, ratio: 2 });
  });

  it('<= holds at the limit, < does not', () => {
    expect(judged(2, 'cycles', [atMost(2)]).met).toBe(true);
    expect(judged(2, 'cycles', [below(2)]).met).toBe(false);
  });

  it('several bounds: all must hold, the tightest sets the ratio, a baseline shows by name', () => {
    const j = judged(5, 'us', [below(20), below(10, 'SQLite')]);
    expect(j).toEqual({ target: '< 20 us, < SQLite', met: true, ratio: 0.5 });
    expect(judged(15, 'us', [below(20), below(10, 'SQLite')]).met).toBe(false);
  });

  it('a row without bounds has no target, verdict or ratio', () => {
    const row = rowsFor('core')('heap used', 12.5, 'MiB', { note: 'after the run' });
    expect(row).toEqual({
      suite: 'core',
      metric: 'heap used',
      value: 12.5,
      unit: 'MiB',
      note: 'after the run',
    });
  });

  it('the table ends with one line counting targets met and naming each miss', () => {
    const row = rowsFor('storage');
    const text = formatTable([
      row('mount', 800, 'ms', { bounds: [below(1500)] }),
      row('lookup p99', 25, 'us', { bounds: [below(20)] }),
      row('lookup p50', 3, 'us'),
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^suite\s+metric\s+value\s+unit\s+target\s+of target\s+note$/);
    expect(lines.find((l) => l.includes('mount'))).toMatch(/< 1500 ms\s+0\.53x\s+ok/);
    expect(lines.find((l) => l.includes('lookup p99'))).toMatch(/< 20 us\s+1\.25x\s+MISS/);
    expect(lines.at(-1)).toBe('3 figures, 2 with a target: 1 met, 1 missed (storage: lookup p99)');
  });
});
