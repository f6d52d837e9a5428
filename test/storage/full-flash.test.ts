import { MemoryFlash, StoreFullError, openStore } from '../../storage';
import type { ReaderStore } from '../../storage';
import { content } from './workload';

/** A part of 64 sectors of 4 KiB: small enough to fill in a few thousand writes. */
function fullStore(): { device: MemoryFlash; store: ReaderStore } {
  const device = new MemoryFlash({ geometry: { sectorSize: 4096, sectorCount: 64 } });
  const store = openStore({ device, eventCapacity: 100_000, overflowEvents: true });
  store.database.replace(content(1500, 'big'));
  for (let i = 0; ; i++) {
    try {
      store.events.append({ ts: i, type: 'door', detail: { n: i } });
    } catch (err) {
      expect(err).toBeInstanceOf(StoreFullError);
      return { device, store };
    }
  }
}

describe('a full store', () => {
  it('refuses device events without erasing, keeps room for the host, counts and reports', () => {
    const { device, store } = fullStore();
    expect(store.events.canLog()).toBe(false);
    const erases = device.stats.erases;
    const operations = device.stats.operations;
    for (let i = 0; i < 3000; i++) {
      expect(() => store.events.append({ ts: i, type: 'door' })).toThrow(StoreFullError);
    }
    // Not one program or erase for thousands of refusals: no collection reruns in vain.
    expect(device.stats.erases).toBe(erases);
    expect(device.stats.operations).toBe(operations);
    expect(store.health().refusedEvents).toBe(3001);

    // The host reserve: acknowledgement, config and a small push all fit.
    const { lastSeq } = store.events.stats();
    store.events.ack(lastSeq);
    store.config.set({ accessPointState: 'lockdown', note: 'x'.repeat(1000) });
    store.config.set({ accessPointState: 'schedule' });
    store.database.replace(content(1, 'small'), {
      event: (version) => ({ ts: 1, type: 'system', detail: { version } }),
    });
    // The push's event is preceded by the notice of what was refused, in one transaction.
    const logged = store.events.list(lastSeq, 10);
    expect(logged.map((e) => e.type)).toEqual(['overflow', 'system']);
    expect(logged[0]!.detail).toEqual({ dropped: 0, refused: 3001 });
    // The old generation is dead now: device events fit again, and no second notice.
    expect(store.events.canLog()).toBe(true);
    store.events.append({ ts: 2, type: 'door' });
    expect(store.events.list(lastSeq + 2, 10).map((e) => e.type)).toEqual(['door']);
    expect(store.health().maxEraseCount).toBeLessThan(10);
  });

  it('writes one overflow event per episode of dropped unacknowledged events', () => {
    const device = new MemoryFlash({ geometry: { sectorSize: 512, sectorCount: 32 } });
    let store = openStore({ device, eventCapacity: 5, overflowEvents: true });
    for (let i = 1; i <= 5; i++) store.events.append({ ts: i, type: 'door' });
    expect(store.events.list(0, 10).map((e) => e.type)).not.toContain('overflow');
    store.events.append({ ts: 6, type: 'door' }); // drops seq 1 (and 2 for the notice)
    const kinds = () => store.events.list(0, 10).map((e) => `${e.seq}:${e.type}`);
    expect(kinds()).toEqual(['3:door', '4:door', '5:door', '6:overflow', '7:door']);
    expect(store.events.list(5, 1)[0]!.detail).toEqual({ dropped: 1, refused: 0 });
    // Still unacknowledged and retained: no second notice while it is.
    store = openStore({ device, eventCapacity: 5, overflowEvents: true });
    store.events.append({ ts: 8, type: 'door' });
    store.events.append({ ts: 9, type: 'door' });
    expect(kinds()).toEqual(['5:door', '6:overflow', '7:door', '8:door', '9:door']);
    // Once it is dropped in turn, the next drop writes a new one.
    store.events.append({ ts: 10, type: 'door' });
    store.events.append({ ts: 11, type: 'door' });
    expect(kinds()).toEqual(['7:door', '8:door', '9:door', '10:door', '11:door']);
    store.events.append({ ts: 12, type: 'door' });
    expect(kinds()).toEqual(['9:door', '10:door', '11:door', '12:overflow', '13:door']);
    expect(store.events.stats().dropped).toBe(8);
    // Acknowledged events go without a notice.
    store.events.ack(13);
    store.events.append({ ts: 13, type: 'door' });
    expect(kinds()).toEqual(['10:door', '11:door', '12:overflow', '13:door', '14:door']);
    expect(store.events.stats().dropped).toBe(8);
    // Without the option the store writes only what it is given.
    const plain = openStore({
      device: new MemoryFlash({ geometry: { sectorSize: 512, sectorCount: 32 } }),
      eventCapacity: 2,
    });
    for (let i = 1; i <= 4; i++) plain.events.append({ ts: i, type: 'door' });
    expect(plain.events.list(0, 10).map((e) => e.type)).toEqual(['door', 'door']);
  });
});
