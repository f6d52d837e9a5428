import { MemoryFlash, openStore, ReaderStore } from '../../storage';
import { Credential, DatabaseContent } from '../../firmware/foundation/model';

/** A small part so a short workload wraps the log several times and collects garbage. */
export const SMALL_GEOMETRY = {
  pageSize: 256,
  sectorSize: 512,
  sectorCount: 16,
  writeAlign: 4,
  endurance: 100_000,
};
export const EVENT_CAPACITY = 12;
/** Small enough that the workload writes index snapshots often (and power is cut in them). */
export const CHECKPOINT_BYTES = 2048;

export function smallDevice(): MemoryFlash {
  return new MemoryFlash({ geometry: SMALL_GEOMETRY });
}

export function mount(device: MemoryFlash): ReaderStore {
  return openStore({ device, eventCapacity: EVENT_CAPACITY, checkpointBytes: CHECKPOINT_BYTES });
}

export function credential(n: number, extra: Partial<Credential> = {}): Credential {
  return {
    id: `c${n}`,
    userId: `u${n % 3}`,
    kind: n % 3 === 0 ? 'pin' : n % 3 === 1 ? 'badge' : 'mobile',
    value: `v${n}`,
    enabled: n % 5 !== 0,
    accessPoints: n % 2 ? ['*'] : ['ap1'],
    ...(n % 4 === 0 ? { useLimit: 100 } : {}),
    ...extra,
  };
}

export function content(credentials: number, tag: string): DatabaseContent {
  return {
    users: [0, 1, 2].map((i) => ({ id: `u${i}`, name: `${tag} user ${i}`, enabled: true })),
    credentials: Array.from({ length: credentials }, (_, i) => credential(i + 1)),
    schedules: [
      {
        id: 's1',
        timeZone: 'UTC',
        windows: [{ days: [1, 2, 3, 4, 5], start: '08:00', end: '17:00' }],
      },
    ],
    holidays: [{ date: '2026-12-25', name: tag }],
    accessPoints: [
      { id: 'ap1', name: `${tag} front` },
      { id: 'ap2', name: 'back', unlockScheduleId: 's1' },
    ],
  };
}

export interface Step {
  name: string;
  run(store: ReaderStore): void;
}

/** The representative workload of STORAGE.md: pushes, delta, grants with debits, events, acks, config, GC. */
export function representativeWorkload(): Step[] {
  const steps: Step[] = [];
  steps.push({ name: 'full push v1', run: (s) => void s.database.replace(content(10, 'v1')) });
  steps.push({ name: 'config', run: (s) => s.config.set({ unlockMs: 5000, rssi: -60 }) });
  for (let i = 0; i < 6; i++) {
    const id = `c${(i % 4) + 1}`;
    steps.push({
      name: `grant ${id}`,
      run: (s) =>
        void s.recordGrant(
          { ts: 1000 + i, type: 'access', decision: 'grant', credentialId: id },
          id,
        ),
    });
  }
  steps.push({ name: 'ack 3', run: (s) => s.events.ack(3) });
  steps.push({
    name: 'delta',
    run: (s) =>
      void s.database.patch({
        baseVersion: s.database.version(),
        delete: { credentials: ['c2'], holidays: ['2026-12-25'] },
        upsert: { credentials: [credential(11), credential(3, { enabled: false, value: 'v3b' })] },
      }),
  });
  for (let i = 0; i < 14; i++) {
    steps.push({
      name: `event ${i}`,
      run: (s) => void s.events.append({ ts: 2000 + i, type: 'door', detail: { n: i } }),
    });
  }
  steps.push({ name: 'full push v2', run: (s) => void s.database.replace(content(8, 'v2')) });
  for (let i = 0; i < 100; i++) {
    const id = `c${(i % 3) + 1}`;
    steps.push({
      name: `grant ${id} #${i}`,
      run: (s) => void s.recordGrant({ ts: 3000 + i, type: 'access', credentialId: id }, id),
    });
    if (i % 10 === 9)
      steps.push({ name: `ack #${i}`, run: (s) => s.events.ack(s.events.stats().lastSeq - 2) });
  }
  steps.push({ name: 'config 2', run: (s) => s.config.set({ unlockMs: 7000 }) });
  steps.push({ name: 'full push v3', run: (s) => void s.database.replace(content(12, 'v3')) });
  return steps;
}

/** Everything a reader can observe through the API, as a comparable string. */
export function observe(store: ReaderStore): string {
  const db = store.database.content();
  const uses = db.credentials.map((c) => [c.id, store.database.usesOf(c.id)]);
  return JSON.stringify({
    version: store.database.version(),
    db,
    uses,
    counts: store.database.counts(),
    events: store.events.list(0, 1000),
    stats: store.events.stats(),
    config: store.config.get(),
  });
}
