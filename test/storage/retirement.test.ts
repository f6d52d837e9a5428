import { MemoryFlash, PowerLossError, TORN_WRITE_MODELS, openStore } from '../../storage';
import type { ReaderStore } from '../../storage';
import { examineDevice, formatReport, type ImageReport } from '../../storage/fsck';
import { content } from './workload';

const GEOMETRY = { sectorSize: 512, sectorCount: 40, pageSize: 256 };

/** Sectors in use, oldest first (sequence numbers from their headers); the head is last. */
function oldestInUse(device: MemoryFlash): number[] {
  const found: Array<[number, number]> = [];
  for (let s = 0; s < GEOMETRY.sectorCount; s++) {
    const at = s * GEOMETRY.sectorSize;
    if (device.image.readUInt32LE(at) === 0x474c5352)
      found.push([device.image.readUInt32LE(at + 4), s]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, s]) => s);
}

function stateOf(store: ReaderStore): string {
  return JSON.stringify({
    version: store.database.version(),
    db: store.database.content(),
    events: store.events.list(0, 1000),
    config: store.config.get(),
  });
}

/** Writes until collection has run over the whole part a few times. */
function churn(store: ReaderStore, rounds: number, from = 0): void {
  for (let i = from; i < from + rounds; i++) {
    store.events.append({ ts: i, type: 'door', detail: { i } });
    if (i % 25 === 0) store.config.set({ round: i });
  }
}

describe('sector retirement', () => {
  it('a sector that fails to erase is retired, its data kept, and the store works on with less room', () => {
    const device = new MemoryFlash({ geometry: GEOMETRY });
    let store = openStore({ device, eventCapacity: 30 });
    store.database.replace(content(20, 'v1'));
    churn(store, 200);
    // Wear out two sectors in use: the next collection of each fails to erase it.
    const worn = oldestInUse(device).slice(0, 2);
    for (const s of worn) device.wearOut(s);
    churn(store, 600, 200);
    expect(store.health().retiredSectors).toBe(2);
    // flash inspect/fsck list them apart, and a worn sector the log retired is no problem.
    const report: ImageReport = { image: 'memory', repairs: [], problems: [] };
    examineDevice(device, report);
    expect(report.sectors!.retired.sort((a, b) => a - b)).toEqual([...worn].sort((a, b) => a - b));
    const { erased, used, other, retired } = report.sectors!;
    expect(erased + used + other + retired.length).toBe(GEOMETRY.sectorCount);
    expect(report.problems).toEqual([]);
    expect(formatReport(report)).toMatch(
      new RegExp(`2 retired \\(worn out: ${report.sectors!.retired.join(', ')}\\)`),
    );
    const before = stateOf(store);
    // A remount knows them: it mounts, leaves them alone and keeps every write.
    const erases = worn.map((s) => device.eraseCount(s));
    store = openStore({ device, eventCapacity: 30 });
    expect(stateOf(store)).toBe(before);
    expect(store.health().retiredSectors).toBe(2);
    churn(store, 600, 800);
    expect(worn.map((s) => device.eraseCount(s))).toEqual(erases);
    expect(store.database.content().credentials).toHaveLength(20);
  });

  it('a worn erased sector is retired when the log would open it', () => {
    const device = new MemoryFlash({ geometry: GEOMETRY });
    let store = openStore({ device, eventCapacity: 30 });
    store.database.replace(content(10, 'v1'));
    const fresh = [...Array(GEOMETRY.sectorCount).keys()].filter((s) => device.blankCheck(s));
    device.wearOut(fresh[0]!);
    churn(store, 300);
    expect(store.health().retiredSectors).toBe(1);
    const before = stateOf(store);
    store = openStore({ device, eventCapacity: 30 });
    expect(stateOf(store)).toBe(before);
  });

  it('a power cut at any operation during a retirement: mount keeps every acknowledged write', () => {
    // Find the operations of one retirement: a collection whose erase fails.
    const setup = () => {
      const device = new MemoryFlash({ geometry: GEOMETRY });
      const store = openStore({ device, eventCapacity: 30 });
      store.database.replace(content(12, 'v1'));
      churn(store, 150);
      const worn = oldestInUse(device)[0]!;
      device.wearOut(worn);
      return { device, store };
    };
    const probe = setup();
    const start = probe.device.stats.operations;
    let retiredAt = -1;
    for (let i = 0; retiredAt < 0 && i < 400; i++) {
      churn(probe.store, 1, 1000 + i);
      if (probe.store.health().retiredSectors) retiredAt = i;
    }
    expect(retiredAt).toBeGreaterThanOrEqual(0);
    const span = probe.device.stats.operations - start;

    let cuts = 0;
    for (const model of TORN_WRITE_MODELS.filter((m) => m !== 'interrupted-erase')) {
      for (let at = Math.max(0, span - 30); at < span; at++) {
        const { device, store } = setup();
        const acknowledged: string[] = [stateOf(store)];
        device.armPowerCut({ at: device.stats.operations + at, model, seed: at });
        try {
          for (let i = 0; i <= retiredAt; i++) {
            churn(store, 1, 1000 + i);
            acknowledged.push(stateOf(store));
          }
          device.armPowerCut(undefined);
          continue;
        } catch (err) {
          expect(err).toBeInstanceOf(PowerLossError);
        }
        cuts++;
        device.powerOn();
        const after = openStore({ device, eventCapacity: 30 });
        // The last acknowledged state, or the one in flight: never older, never damaged.
        expect(acknowledged.slice(-1)).toContain(stateOf(after));
        churn(after, 60, 5000);
        const again = openStore({ device, eventCapacity: 30 });
        expect(stateOf(again)).toBe(stateOf(after));
        expect(again.health().retiredSectors).toBe(1);
      }
    }
    expect(cuts).toBeGreaterThan(50);
  });
});
