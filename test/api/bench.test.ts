import { host } from '../../scripts/dev/bench/host';

describe('reader-sim bench host --quick', () => {
  it('pushes, fetches and streams through the real server and reports each figure', async () => {
    const rows = await host.run({ quick: true, progress: () => undefined });
    expect(rows.map((r) => r.metric)).toEqual([
      'full push 2,000 credentials',
      'full push 2,000 throughput',
      'event fetch, pages of 100',
      'event fetch, pages of 1000',
      'event stream backlog',
      'GET /status latency p50',
      'GET /status latency p99',
    ]);
    for (const row of rows) {
      expect(row.suite).toBe('host');
      expect(Number.isFinite(row.value) && row.value > 0).toBe(true);
      if (row.target !== undefined) expect(typeof row.met).toBe('boolean');
    }
  });
});
