/**
 * Child process of the storage benchmark: mounts an image and looks credentials up, so
 * mount time, RSS and heap are measured in a clean process (no push data, no compiler).
 * Prints one JSON line.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { openStore } from '../../../storage';
import { holdYoungGeneration } from '../../commands/start-memory';
import { credentialValue } from './storage-data';

/** Lookups before the measured ones, on other keys: the measured run sees optimised code. */
const WARM_UP = 20000;
/** The first lookups after mount, timed apart: they read the index pages they probe. */
const COLD_LOOKUPS = 10000;
let pagesAfterCold = 0;
let pageInMs = 0;

async function main(): Promise<void> {
  const [dir, nText, lookupsText] = process.argv.slice(2);
  const n = Number(nText);
  const lookups = Number(lookupsText ?? 100000);
  // The reader's own process settings (reader-sim start), so RSS is the reader's.
  holdYoungGeneration();
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const store = openStore({ dir: dir! });
  const mountMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const mountCpuMs = (cpu.user + cpu.system) / 1000;
  const counts = store.database.counts();
  // Right after mount the index's pages are still on flash: the first lookups read the
  // pages they probe (timed apart), then the reader's idle warm-up reads the rest.
  const pagesAtMount = store.pageIn(0);
  const cold = new Float64Array(COLD_LOOKUPS);
  let seed = 99991;
  for (let k = 0; k < WARM_UP; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const { kind, value } = credentialValue(seed % n);
    const s = performance.now();
    store.database.findCredential(kind, value);
    if (k < COLD_LOOKUPS) cold[k] = (performance.now() - s) * 1000;
    if (k === COLD_LOOKUPS - 1) {
      pagesAfterCold = store.pageIn(0);
      const t = performance.now();
      store.pageIn();
      pageInMs = performance.now() - t;
    }
  }
  cold.sort();
  // Garbage collections during the measured lookups, reported apart from the lookups.
  const pauses: Array<{ start: number; end: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      pauses.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const samples = new Float64Array(lookups);
  const starts = new Float64Array(lookups);
  seed = 12345;
  let misses = 0;
  const runStart = performance.now();
  for (let k = 0; k < lookups; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const { kind, value } = credentialValue(seed % n);
    const s = performance.now();
    const c = store.database.findCredential(kind, value);
    samples[k] = (performance.now() - s) * 1000;
    starts[k] = s;
    if (!c) misses++;
  }
  const runEnd = performance.now();
  // GC entries reach the observer on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const during = pauses.filter((p) => p.end > runStart && p.start < runEnd);
  const outside: number[] = [];
  for (let k = 0; k < lookups; k++) {
    const end = starts[k]! + samples[k]! / 1000;
    if (!during.some((p) => p.start < end && p.end > starts[k]!)) outside.push(samples[k]!);
  }
  outside.sort((a, b) => a - b);
  samples.sort();
  const before = process.memoryUsage();
  // Steady state: collect the garbage of mount (table build scratch) when run with --expose-gc.
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      mountMs,
      mountCpuMs,
      credentials: counts.credentials,
      recordsReplayed: store.mountReport.recordsReplayed,
      pagesAtMount,
      pagesAfterCold,
      pageInMs,
      coldP50us: cold[Math.floor(COLD_LOOKUPS * 0.5)],
      coldP99us: cold[Math.floor(COLD_LOOKUPS * 0.99)],
      fromCheckpoint: store.mountReport.fromCheckpoint,
      misses,
      p50us: samples[Math.floor(lookups * 0.5)],
      p99us: samples[Math.floor(lookups * 0.99)],
      p99OutsideGcUs: outside[Math.floor(outside.length * 0.99)] ?? NaN,
      gcPauses: during.length,
      gcMaxMs: Math.max(0, ...during.map((p) => p.end - p.start)),
      gcTotalMs: during.reduce((sum, p) => sum + p.end - p.start, 0),
      rssMB: memory.rss / 1048576,
      rssBeforeGcMB: before.rss / 1048576,
      heapMB: memory.heapUsed / 1048576,
      arrayBuffersMB: memory.arrayBuffers / 1048576,
    })}\n`,
  );
  store.close();
}

if (require.main === module) void main();
