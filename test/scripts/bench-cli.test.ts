import { cli } from '../../scripts/dev/bench/cli';

// The first run transpiles the tree (cached after that); then six short child processes.
jest.setTimeout(5 * 60_000);

describe('reader-sim bench cli --quick', () => {
  it('times --help and host status from the compiled install layout, each against 0.5 s', async () => {
    const rows = await cli.run({ quick: true, progress: () => undefined });
    expect(rows.map((r) => [r.suite, r.metric, r.unit, r.target])).toEqual([
      ['cli', 'reader-sim --help', 'ms', '< 500 ms'],
      ['cli', 'reader-sim host status', 'ms', '< 500 ms'],
    ]);
    for (const row of rows) {
      expect(Number.isFinite(row.value) && row.value > 0).toBe(true);
      expect(typeof row.met).toBe('boolean');
      expect(row.note).toMatch(/compiled install layout/);
    }
  });
});
