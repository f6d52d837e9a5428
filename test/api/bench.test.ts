import { host } from '../../scripts/dev/bench/host';

describe('reader-sim bench host --quick', () => {
  jest.setTimeout(120_000);
  it('pushes, fetches and streams through the real server and reports each figure', async () => {
    const rows = await host.run({ quick: true, progress: () => undefined });
    expect(rows.map((r) => r.metric)).toEqual([
      'full push 64,000 credentials',
      'full push 64,000 throughput',
      'full push 64,000 reader peak RSS',
      'event fetch, pages of 100',
      'event fetch, pages of 1000',
      'event stream backlog',
      'GET /status latency p50',
      'GET /status latency p99',
    ]);
    // The reader ran in a process of its own: its peak is its own, and bounded.
    const rss = rows.find((r) => r.metric.endsWith('peak RSS'))!;
    expect(rss.unit).toBe('MB');
    expect(rss.value).toBeLessThan(1024);
    for (const row of rows) {
      expect(row.suite).toBe('host');
      expect(Number.isFinite(row.value) && row.value > 0).toBe(true);
      if (row.target !== undefined) expect(typeof row.met).toBe('boolean');
    }
  });
});
