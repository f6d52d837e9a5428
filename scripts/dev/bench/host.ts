import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostClient, type StreamMessage } from '../../../firmware/api/client';
import { SystemClock } from '../../../firmware/foundation/clock';
import { serveReader } from '../../../firmware/profiles/serve';
import { testDrivers } from '../../../firmware/profiles/test';
import type { RunningReader } from '../../../firmware/running-reader';
import { above, below, BenchOptions, BenchRow, BenchSuite, percentile, rowsFor } from './suite';

const row = rowsFor('host');

/**
 * A full push as the management system would send it, serialized once up front so the
 * figure is the reader's work (HTTP, parse, validate, check, flash), not the client's.
 * One user per badge credential, one schedule, one access point.
 */
function fullPushJson(credentials: number): string {
  const users: string[] = [];
  const creds: string[] = [];
  for (let i = 0; i < credentials; i++) {
    users.push(`{"id":"u${i}","name":"User ${i}","enabled":true}`);
    creds.push(
      `{"id":"c${i}","userId":"u${i}","kind":"badge","value":"${100000 + i}","enabled":true,"accessPoints":["*"],"scheduleId":"office"}`,
    );
  }
  return (
    `{"users":[${users.join(',')}],"credentials":[${creds.join(',')}],` +
    `"schedules":[{"id":"office","timeZone":"America/Denver","windows":[{"days":[1,2,3,4,5],"start":"07:00","end":"18:00"}]}],` +
    `"holidays":[],"accessPoints":[{"id":"door-1","name":"Front door"}]}`
  );
}

interface BenchReader {
  client: HostClient;
  reader(): RunningReader;
  close(): Promise<void>;
}

/** The test profile's reader on the system clock (real time is what the bench measures). */
async function startBenchReader(sectorCount: number, eventCapacity?: number): Promise<BenchReader> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-bench-'));
  const drivers = testDrivers({ clock: new SystemClock(), flash: { sectorCount }, eventCapacity });
  const served = await serveReader({ drivers, dataDir, apiPort: 0 });
  return {
    client: new HostClient(served.api.url, served.token),
    reader: () => served.reader()!,
    async close() {
      await served.shutdown();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function pushRows(
  n: number,
  label: string,
  target: number,
  progress: BenchOptions['progress'],
): Promise<BenchRow[]> {
  // Room for the live generation and the new one beside it, plus garbage collection.
  const sectorCount = Math.max(1024, Math.ceil((n * 700) / 4096));
  const reader = await startBenchReader(sectorCount);
  try {
    progress(`host: serializing a full push of ${label} credentials`);
    const body = fullPushJson(n);
    progress(
      `host: PUT /database with ${label} credentials (${(body.length / 1e6).toFixed(0)} MB)`,
    );
    const started = process.hrtime.bigint();
    const result = await reader.client.push(body);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.counts.credentials !== n) {
      throw new Error(`push stored ${result.counts.credentials} credentials, expected ${n}`);
    }
    return [
      row(`full push ${label} credentials`, seconds, 's', {
        bounds: [below(target)],
        note: `HTTP PUT ${(body.length / 1e6).toFixed(0)} MB JSON: parse, schema, checks, atomic flash write`,
      }),
      row(`full push ${label} throughput`, Math.round(n / seconds), 'credentials/s'),
    ];
  } finally {
    await reader.close();
  }
}

async function eventRows(
  count: number,
  statusRequests: number,
  progress: BenchOptions['progress'],
): Promise<BenchRow[]> {
  const reader = await startBenchReader(1024, count);
  try {
    progress(`host: filling the event log with ${count} events`);
    const { store, clock } = reader.reader();
    for (let i = 0; i < count; i++) {
      store.events.append({
        ts: clock.now(),
        type: 'access',
        decision: 'deny',
        reason: 'unknown_credential',
        accessPointId: 'door-1',
        kind: 'badge',
        detail: { source: 'badge-serial', presented: String(100000 + i) },
      });
    }
    const rows: BenchRow[] = [];
    for (const pageSize of [100, 1000]) {
      const started = process.hrtime.bigint();
      let fetched = 0;
      for (let after = 0, more = true; more;) {
        const page = await reader.client.events(after, pageSize);
        fetched += page.events.length;
        after = page.next;
        more = page.more;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rows.push(
        row(`event fetch, pages of ${pageSize}`, Math.round(fetched / seconds), 'events/s', {
          bounds: [above(10_000)],
          note: `GET /events over ${fetched} events`,
        }),
      );
    }

    const controller = new AbortController();
    let streamed = 0;
    const started = process.hrtime.bigint();
    await reader.client.stream(
      (m: StreamMessage) => {
        if (m.type === 'event' && ++streamed >= count) controller.abort();
      },
      { after: 0, signal: controller.signal },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rows.push(
      row('event stream backlog', Math.round(streamed / seconds), 'events/s', {
        bounds: [above(10_000)],
        note: `server-sent events, ${streamed} events`,
      }),
    );

    const latencies: number[] = [];
    for (let i = 0; i < statusRequests; i++) {
      const t0 = process.hrtime.bigint();
      await reader.client.status();
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const p99 = percentile(latencies, 99);
    rows.push(
      row('GET /status latency p50', percentile(latencies, 50), 'ms', {
        note: `${statusRequests} requests, keep-alive`,
      }),
      row('GET /status latency p99', p99, 'ms', { bounds: [below(20)] }),
    );
    return rows;
  } finally {
    await reader.close();
  }
}

export const host: BenchSuite = {
  name: 'host',
  summary: 'host API: full push of 64,000 and 1,000,000 credentials over HTTP, event fetch',
  async run({ quick, progress }) {
    const rows: BenchRow[] = [];
    if (quick) {
      rows.push(...(await pushRows(2_000, '2,000', 2, progress)));
    } else {
      rows.push(...(await pushRows(64_000, '64,000', 5, progress)));
      rows.push(...(await pushRows(1_000_000, '1,000,000', 90, progress)));
    }
    rows.push(...(await eventRows(quick ? 500 : 5000, quick ? 50 : 200, progress)));
    return rows;
  },
};
