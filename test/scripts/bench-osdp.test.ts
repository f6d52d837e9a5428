import { osdp } from '../../scripts/dev/bench/osdp';

describe('reader-sim bench osdp --quick', () => {
  it('reports POLL/LED reply percentiles over a pty and secure polls per second, each with its target', async () => {
    const rows = await osdp.run({ quick: true, progress: () => undefined });
    expect(rows.map((r) => [r.metric, r.unit, r.target])).toEqual([
      ['POLL reply p50', 'ms', undefined],
      ['POLL reply p99', 'ms', '< 5 ms'],
      ['LED reply p50', 'ms', undefined],
      ['LED reply p99', 'ms', '< 5 ms'],
      ['LED reply p99, secure channel', 'ms', '< 5 ms'],
      ['PD reply time p99, POLL', 'ms', '< 5 ms'],
      ['PD reply time p99, secure LED', 'ms', '< 5 ms'],
      ['POLLs/s sustained, secure channel', 'polls/s', '> 200 polls/s'],
    ]);
    for (const row of rows) expect(Number.isFinite(row.value) && row.value > 0).toBe(true);
  });
});
