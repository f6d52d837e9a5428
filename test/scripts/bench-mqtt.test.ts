import { mqtt } from '../../scripts/dev/bench/mqtt';

describe('reader-sim bench mqtt --quick', () => {
  it('reports events per second through a real Mosquitto, PUBACKed and received', async () => {
    const rows = await mqtt.run({ quick: true, progress: () => undefined });
    expect(rows.map((r) => [r.suite, r.metric, r.unit])).toEqual([
      ['mqtt', 'events PUBACKed by the broker', 'events/s'],
      ['mqtt', 'events received by a subscriber', 'events/s'],
    ]);
    for (const r of rows) expect(r.value).toBeGreaterThan(0);
    expect(rows[0]!.note).toMatch(/^1001 events/);
  });
});
