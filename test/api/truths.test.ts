import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostApiError, HostClient } from '../../firmware/api/client';
import { serveReader, type ServedReader } from '../../firmware/profiles/serve';
import { testDrivers } from '../../firmware/profiles/test';
import { batteryBackedClock, RTC_FILE } from '../../firmware/rtc';
import { sampleDatabase } from './harness';

/**
 * What the API promises, on a board like `reader-sim start`'s: a file flash image (no part
 * to cut power in), the system clock kept by the data directory's RTC.
 */
describe('API truths on a file-backed board', () => {
  let dataDir: string;
  let served: ServedReader | undefined;
  let client: HostClient;

  async function serve(): Promise<void> {
    const { clock } = batteryBackedClock(dataDir);
    const drivers = testDrivers({ clock });
    drivers.store = { dir: dataDir };
    served = await serveReader({ drivers, dataDir, apiPort: 0 });
    client = new HostClient(served.api.url, served.token);
  }

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-truths-'));
    await serve();
  });
  afterEach(async () => {
    await served?.shutdown();
    served = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a refusal');
      },
      (err: unknown) => err as HostApiError,
    );

  it('answers 501 not_supported for a brown-out the board cannot make', async () => {
    const err = await refusal(client.request('POST', '/sim/power-cycle', { afterFlashOps: 1 }));
    expect(err.status).toBe(501);
    expect(err.body).toMatchObject({ error: 'not_supported' });
    expect((await client.health()).state).toBe('running');
  });

  it('takes a time only with a zone and within 2000..2100', async () => {
    const before = await client.time();
    for (const time of [
      '1955-11-05T06:00:00Z',
      '2101-01-01T00:00:00Z',
      '1999-12-31T23:59:59+00:00',
      '2026-01-01T10:00:00',
      '2026-01-01 10:00:00',
    ]) {
      const err = await refusal(client.setTime(time));
      expect([time, err.status, err.body.field]).toEqual([time, 400, '/time']);
    }
    expect((await client.time()).epochMs).toBeGreaterThanOrEqual(before.epochMs);
    const set = await client.setTime('2100-06-01T12:00:00-05:00');
    // The system clock runs on between the set and the answer.
    expect(set.epochMs - Date.parse('2100-06-01T17:00:00Z')).toBeGreaterThanOrEqual(0);
    expect(set.epochMs - Date.parse('2100-06-01T17:00:00Z')).toBeLessThan(60_000);
  });

  it('refuses a holiday that is not a calendar date, in a push and in a delta', async () => {
    const db = sampleDatabase(2);
    db.holidays = [{ date: '2026-02-31', name: 'no such day' }];
    const full = await refusal(client.push(db));
    expect(full.status).toBe(400);
    expect(full.body).toMatchObject({ error: 'bad_request', field: '/holidays/0/date' });
    const { version } = await client.push(sampleDatabase(2));
    const delta = await refusal(
      client.patch({ baseVersion: version, upsert: { holidays: [{ date: '2027-02-29' }] } }),
    );
    expect(delta.body).toMatchObject({ field: '/upsert/holidays/0/date' });
    const leap = await client.patch({
      baseVersion: version,
      upsert: { holidays: [{ date: '2028-02-29' }] },
    });
    expect(leap.counts.holidays).toBe(2);
  });

  it('refuses invalid UTF-8 and "__proto__" keys in a small body, in the error shape', async () => {
    const send = (bytes: Buffer) =>
      fetch(client.url('/config'), {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${served!.token}`,
          'content-type': 'application/json',
        },
        body: bytes,
      });
    const before = await client.config();
    const invalid = Buffer.from('{"readerId":"lobby-?"}');
    invalid[invalid.indexOf('?')] = 0xfe;
    const a = await send(invalid);
    expect(a.status).toBe(400);
    expect(await a.json()).toMatchObject({
      error: 'bad_request',
      message: expect.stringContaining('UTF-8'),
    });
    const b = await send(Buffer.from('{"__proto__":{"readerId":"x"},"readerId":"y"}'));
    expect(b.status).toBe(400);
    expect(await b.json()).toMatchObject({
      error: 'bad_request',
      message: expect.stringContaining('__proto__'),
    });
    expect(await client.config()).toEqual(before);
  });

  it('keeps a time the host set through a power cycle and a restart, as an RTC does', async () => {
    await client.setTime('2031-03-04T05:06:07Z');
    const soon = (epochMs: number) =>
      epochMs - Date.parse('2031-03-04T05:06:07Z') >= 0 &&
      epochMs - Date.parse('2031-03-04T05:06:07Z') < 10 * 60_000;

    await client.request('POST', '/sim/power-cycle', {});
    expect(soon((await client.time()).epochMs)).toBe(true);

    // A restart: everything in the process goes; only the data directory stays.
    await served!.shutdown();
    served = undefined;
    expect(fs.statSync(path.join(dataDir, RTC_FILE)).mode & 0o777).toBe(0o600);
    await serve();
    expect(soon((await client.time()).epochMs)).toBe(true);
    const boots = (await client.events(0, 1000)).events.filter(
      (e) =>
        e.type === 'system' && (e.detail as { action?: string } | undefined)?.action === 'boot',
    );
    expect(soon(boots.at(-1)!.ts)).toBe(true);
  });
});
