import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HostClient, type StreamMessage } from '../../../firmware/api/client';
import { SystemClock } from '../../../firmware/foundation/clock';
import { serveReader } from '../../../firmware/profiles/serve';
import { testDrivers } from '../../../firmware/profiles/test';
import type { RunningReader } from '../../../firmware/running-reader';
import { transpiledTree } from '../transpiled';
import { above, below, BenchOptions, BenchRow, BenchSuite, percentile, rowsFor } from './suite';

const row = rowsFor('host');

/**
 * A full push as the management system would send it, generated as it is sent (the client
 * holds a few hundred rows at a time, not the whole body). One user per badge credential, one
 * schedule, one access point.
 */
export function* fullPushChunks(credentials: number, rowsPerChunk = 500): Generator<Buffer> {
  const table = function* (name: string, row: (i: number) => string, first: boolean) {
    yield Buffer.from(`${first ? '{' : ','}"${name}":[`);
    for (let i = 0; i < credentials; i += rowsPerChunk) {
      const rows: string[] = [];
      for (let j = i; j < Math.min(credentials, i + rowsPerChunk); j++) rows.push(row(j));
      yield Buffer.from((i === 0 ? '' : ',') + rows.join(','));
    }
    yield Buffer.from(']');
  };
  yield* table('users', (i) => `{"id":"u${i}","name":"User ${i}","enabled":true}`, true);
  yield* table(
    'credentials',
    (i) =>
      `{"id":"c${i}","userId":"u${i}","kind":"badge","value":"${100000 + i}","enabled":true,"accessPoints":["*"],"scheduleId":"office"}`,
    false,
  );
  yield Buffer.from(
    `,"schedules":[{"id":"office","timeZone":"America/Denver","windows":[{"days":[1,2,3,4,5],"start":"07:00","end":"18:00"}]}],` +
      `"holidays":[],"accessPoints":[{"id":"door-1","name":"Front door"}]}`,
  );
}

/** A reader in a process of its own, and its peak resident memory so far. */
interface ChildReader {
  url: string;
  token: string;
  /** VmHWM: the most resident memory the process has had, in MB. */
  peakRssMb(): number;
  close(): Promise<void>;
}

function readerScript(): string[] {
  const dir = __filename.endsWith('.js')
    ? __dirname
    : path.join(transpiledTree(), 'scripts', 'dev', 'bench');
  return [process.execPath, path.join(dir, 'push-reader.js')];
}

async function startChildReader(imageBytes: number): Promise<ChildReader> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-bench-push-'));
  const [node, script] = readerScript();
  const child = spawn(node!, [script!, dataDir, String(imageBytes)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const close = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const first = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve(out.slice(0, nl));
      });
      void exited.then(() => reject(new Error(`bench reader exited: ${stderr}`)));
    });
    const { url, token } = JSON.parse(first) as { url: string; token: string };
    return {
      url,
      token,
      peakRssMb: () => {
        const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Sends a body from chunks with backpressure; resolves with the status and the answer. */
export function streamRequest(
  url: string,
  token: string,
  chunks: Iterable<Buffer>,
  method = 'PUT',
): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const request = http.request(url, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (c: Buffer) => (body += c.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, sent }));
    });
    request.on('error', reject);
    const iterator = chunks[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        const next = iterator.next();
        if (next.done) return void request.end();
        sent += next.value.length;
        if (!request.write(next.value)) return void request.once('drain', pump);
      }
    };
    pump();
  });
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
  const imageBytes = Math.max(1024, Math.ceil((n * 700) / 4096)) * 4096;
  const reader = await startChildReader(imageBytes);
  try {
    progress(`host: PUT /database with ${label} credentials, streamed to a reader process`);
    const started = process.hrtime.bigint();
    const result = await streamRequest(
      `${reader.url}/api/v1/database`,
      reader.token,
      fullPushChunks(n),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const counts = (JSON.parse(result.body) as { counts?: { credentials: number } }).counts;
    if (result.status !== 200 || counts?.credentials !== n) {
      throw new Error(`push of ${label} answered ${result.status}: ${result.body.slice(0, 300)}`);
    }
    const mb = (result.sent / 1e6).toFixed(0);
    return [
      row(`full push ${label} credentials`, seconds, 's', {
        bounds: [below(target)],
        note: `HTTP PUT ${mb} MB JSON: streamed parse, schema, checks, atomic flash write`,
      }),
      row(`full push ${label} throughput`, Math.round(n / seconds), 'credentials/s'),
      row(`full push ${label} reader peak RSS`, Math.round(reader.peakRssMb()), 'MB', {
        note: `VmHWM of the reader process (file flash image, ${mb} MB body)`,
      }),
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
      rows.push(...(await pushRows(64_000, '64,000', 10, progress)));
    } else {
      rows.push(...(await pushRows(64_000, '64,000', 5, progress)));
      rows.push(...(await pushRows(1_000_000, '1,000,000', 90, progress)));
    }
    rows.push(...(await eventRows(quick ? 500 : 5000, quick ? 50 : 200, progress)));
    return rows;
  },
};
