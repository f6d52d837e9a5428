import { boot } from '../../../firmware/boot';
import { VirtualClock } from '../../../firmware/foundation/clock';
import { CheckedPresentation, parsePresentation } from '../../../firmware/foundation/presentation';
import { MemoryFlash } from '../../../storage';
import { Credential, DatabaseContent, User } from '../../../firmware/foundation/model';
import { seededRandom } from '../../../firmware/foundation/random';
import { runSimulatedDay } from './core-day';
import { above, below, BenchRow, BenchSuite, percentile, rowsFor } from './suite';
import { testDrivers } from '../../../firmware/profiles/test';

const coreRow = rowsFor('core');

const USERS = 1000;

/** n badge credentials over USERS users; a tenth with a use limit, a tenth on a schedule. */
function database(n: number): DatabaseContent {
  const users: User[] = [];
  for (let u = 0; u < USERS; u++) users.push({ id: `u${u}`, name: `User ${u}`, enabled: true });
  const credentials: Credential[] = new Array(n);
  for (let i = 0; i < n; i++) {
    credentials[i] = {
      id: `c${i}`,
      userId: `u${i % USERS}`,
      kind: 'badge',
      value: String(10_000_000 + i),
      enabled: true,
      accessPoints: ['door-1'],
      ...(i % 10 === 1 ? { useLimit: 1_000_000 } : {}),
      ...(i % 10 === 2 ? { scheduleId: 'always' } : {}),
    };
  }
  return {
    users,
    credentials,
    schedules: [
      {
        id: 'always',
        timeZone: 'America/Denver',
        windows: [{ days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '24:00' }],
      },
    ],
    holidays: [],
    accessPoints: [{ id: 'door-1', name: 'Front door' }],
  };
}

/** Flash big enough for n credentials plus room for GC (about 200 bytes a credential). */
function flashFor(n: number): MemoryFlash {
  const bytes = Math.max(8 << 20, n * 400);
  return new MemoryFlash({ geometry: { sectorCount: Math.ceil(bytes / 4096) } });
}

export const core: BenchSuite = {
  name: 'core',
  summary:
    'decision latency, grant latency with the durable commit, presentations/s, a simulated day',
  async run({ quick, progress }) {
    const n = quick ? 20_000 : 1_000_000;
    const samples = quick ? 20_000 : 200_000;
    const grantsToTime = quick ? 500 : 5000;
    const rows: BenchRow[] = [];
    const row = (...args: Parameters<typeof coreRow>) => rows.push(coreRow(...args));

    progress(`core: building ${n.toLocaleString()} credentials`);
    const clock = new VirtualClock();
    const running = boot(testDrivers({ clock, flash: flashFor(n), eventCapacity: 5000 }));
    let t = performance.now();
    running.store.database.replace(database(n));
    row('full push', (performance.now() - t) / 1000, 's', {
      note: `${n.toLocaleString()} credentials`,
    });

    const { reader } = running;
    const at = clock.now();
    // Parsed at the edge, as an input does, outside the timed part.
    const presentation = (i: number, known: boolean): CheckedPresentation =>
      parsePresentation({
        kind: 'badge',
        value: String((known ? 10_000_000 : 90_000_000) + i),
        source: 'sim',
        accessPointId: 'door-1',
        at,
      });

    progress(`core: decision latency (${samples.toLocaleString()} samples)`);
    // Lookup + context + pure decision, as the reader does it before the commit.
    const rand = seededRandom(12345);
    const pool = Array.from({ length: 4096 }, (_, i) => presentation((i * 7919) % n, i % 5 !== 0));
    for (let i = 0; i < 20_000; i++) reader.evaluate(pool[i % pool.length]!); // warm-up
    const decide: number[] = new Array(samples);
    const mix = new Map<string, number>();
    for (let i = 0; i < samples; i++) {
      const p = presentation(Math.floor(rand() * n), rand() < 0.875);
      const t0 = process.hrtime.bigint();
      const { decision } = reader.evaluate(p);
      decide[i] = Number(process.hrtime.bigint() - t0) / 1000;
      const key = decision.outcome === 'capture' ? 'capture' : decision.reason;
      mix.set(key, (mix.get(key) ?? 0) + 1);
    }
    const mixNote = [...mix].map(([k, v]) => `${k} ${Math.round((100 * v) / samples)}%`).join(', ');
    row('decision p50', percentile(decide, 50), 'us', { note: mixNote });
    const p99 = percentile(decide, 99);
    row('decision p99', p99, 'us', {
      bounds: [below(50)],
      note: `${n.toLocaleString()} credentials, 10% on a schedule (Intl)`,
    });

    progress(`core: grant latency (${grantsToTime} grants, durable commit)`);
    const grant: number[] = [];
    for (let i = 0; i < grantsToTime; i++) {
      const p = presentation((i * 104729) % n, true);
      const t0 = process.hrtime.bigint();
      const result = await reader.present(p);
      grant.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (result.decision.outcome !== 'grant')
        throw new Error(`bench: expected a grant, got ${JSON.stringify(result.decision)}`);
      clock.advance(6000);
    }
    row('grant p50', percentile(grant, 50), 'us', {
      note: 'present -> event + debit durable -> relay',
    });
    row('grant p99', percentile(grant, 99), 'us', {
      note: 'MemoryFlash, no flash timing model',
    });

    progress('core: throughput');
    const burst = quick ? 2000 : 20_000;
    t = performance.now();
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < burst; i++)
      all.push(reader.present(presentation((i * 31) % n, i % 2 === 0)));
    await Promise.all(all);
    const perSecond = burst / ((performance.now() - t) / 1000);
    row('presentations/s', perSecond, '/s', {
      bounds: [above(1000)],
      note: `${burst.toLocaleString()} queued, half grants`,
    });
    await running.shutdown();

    progress('core: simulated day (3 runs)');
    const days = [await runSimulatedDay(), await runSimulatedDay(), await runSimulatedDay()];
    const dayMs = days.map((d) => d.wallMs).sort((a, b) => a - b)[1]!;
    const day = days[0]!;
    row('simulated day', dayMs, 'ms', {
      bounds: [below(1000)],
      note: `median of 3; ${day.presentations} presentations incl. ${day.pinChecks} scrypt PIN checks, DST day`,
    });
    const heap = process.memoryUsage().heapUsed / 2 ** 20;
    row('heap used', heap, 'MiB', { bounds: [below(250)], note: 'after the run' });
    return rows;
  },
};
