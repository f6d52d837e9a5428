/**
 * Child process of the storage benchmark: mounts an image and looks credentials up, so
 * mount time, RSS and heap are measured in a clean process (no push data, no compiler).
 * Prints one JSON line.
 */
import { openStore } from '../../../storage';
import { credentialValue } from './storage-data';

function main(): void {
  const [dir, nText, lookupsText] = process.argv.slice(2);
  const n = Number(nText);
  const lookups = Number(lookupsText ?? 100000);
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const store = openStore({ dir: dir! });
  const mountMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const mountCpuMs = (cpu.user + cpu.system) / 1000;
  const counts = store.database.counts();
  const samples = new Float64Array(lookups);
  let seed = 12345;
  let misses = 0;
  for (let k = 0; k < lookups; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const { kind, value } = credentialValue(seed % n);
    const s = process.hrtime.bigint();
    const c = store.database.findCredential(kind, value);
    samples[k] = Number(process.hrtime.bigint() - s) / 1000;
    if (!c) misses++;
  }
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
      misses,
      p50us: samples[Math.floor(lookups * 0.5)],
      p99us: samples[Math.floor(lookups * 0.99)],
      rssMB: memory.rss / 1048576,
      rssBeforeGcMB: before.rss / 1048576,
      heapMB: memory.heapUsed / 1048576,
      arrayBuffersMB: memory.arrayBuffers / 1048576,
    })}\n`,
  );
  store.close();
}

if (require.main === module) main();
