import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeReport } from '../hil/scenario';
import { saveTimeline, timelineMark } from '../../firmware/testkit/timeline';
import { sampleDatabase, settle, startTestReader, type TestReader } from '../api/harness';

describe('HIL report: one timeline per scenario', () => {
  let reader: TestReader;
  let dir: string;
  beforeAll(async () => {
    reader = await startTestReader();
    await reader.client.push(sampleDatabase(1));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-report-'));
  });
  afterAll(async () => {
    await reader.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('draws the window from the mark to the end of the scenario, linked from report.md', async () => {
    await reader.client.sim.badge('10000');
    await settle();
    await reader.clock.advanceAsync(6000);
    const since = await timelineMark(reader.client);
    expect(since).toBe(reader.clock.now());
    await reader.clock.advanceAsync(500);
    await reader.client.sim.badge('55555');
    await settle();
    await reader.clock.advanceAsync(1500);
    const file = await saveTimeline(reader.client, dir, 'access.deny: unknown badge.sim', since);
    expect(file).toBe(path.join('timelines', 'access.deny-unknown-badge.sim.svg'));
    const svg = fs.readFileSync(path.join(dir, file!), 'utf8');
    // Only this scenario's window: the earlier grant is not in it.
    expect(svg).toContain(`data-from="${since}"`);
    expect(svg).toContain('data-reason="unknown_credential"');
    expect(svg).not.toContain('data-reason="granted"');
    const recording = JSON.parse(
      fs.readFileSync(path.join(dir, file!.replace(/svg$/, 'json')), 'utf8'),
    ) as { from: number; to: number };
    expect(recording).toMatchObject({ from: since, to: since! + 2000 });

    writeReport(
      'access',
      'sim',
      [{ scenario: 'deny', rig: 'sim', file: 'access', status: 'passed', ms: 1, timeline: file }],
      dir,
    );
    expect(fs.readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain(`[svg](${file})`);
  });

  it('gives no timeline (and no failure) when the reader cannot draw one', async () => {
    expect(await saveTimeline(reader.client, dir, 'x', undefined)).toBeUndefined();
    const gone = await startTestReader();
    const { client } = gone;
    await gone.close();
    expect(await timelineMark(client)).toBeUndefined();
    expect(await saveTimeline(client, dir, 'y', 0)).toBeUndefined();
  });
});
