import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorruptImageError, MemoryFlash, openStore } from '../../storage';
import type { ReaderStore } from '../../storage';
import { salvage } from '../../storage/salvage';
import { flash } from '../../scripts/commands/flash';
import { content } from './workload';

const GEOMETRY = { sectorSize: 1024, sectorCount: 48 };

/** A store with a push, a delta, config, grants and events, spread over many sectors. */
function written(): { device: MemoryFlash; state: State } {
  const device = new MemoryFlash({ geometry: GEOMETRY });
  const store = openStore({ device, eventCapacity: 1000 });
  store.database.replace(content(120, 'v1'));
  store.config.set({ unlockMs: 4000 });
  for (let i = 0; i < 60; i++) store.events.append({ ts: i, type: 'door', detail: { i } });
  store.database.patch({ baseVersion: 1, delete: { credentials: ['c7'] } });
  store.recordGrant({ ts: 100, type: 'access' }, 'c8');
  store.events.ack(20);
  for (let i = 60; i < 90; i++) store.events.append({ ts: i, type: 'door', detail: { i } });
  return { device, state: stateOf(store) };
}

interface State {
  version: number;
  credentials: Map<string, string>;
  events: Map<number, string>;
  config: string;
  uses: number;
  ackedSeq: number;
}

function stateOf(store: ReaderStore): State {
  const db = store.database.content();
  return {
    version: store.database.version(),
    credentials: new Map(db.credentials.map((c) => [c.id, JSON.stringify(c)])),
    events: new Map(store.events.list(0, 10_000).map((e) => [e.seq, JSON.stringify(e)])),
    config: JSON.stringify(store.config.get()),
    uses: store.database.usesOf('c8'),
    ackedSeq: store.events.stats().ackedSeq,
  };
}

/** Salvages into a fresh part and checks: what is kept is what was written, what is not is listed. */
function salvaged(device: MemoryFlash, before: State) {
  const target = new MemoryFlash({ geometry: GEOMETRY });
  const report = salvage(device, target);
  const after = stateOf(openStore({ device: target, eventCapacity: 1000 }));
  const lostText = report.lost.map((l) => l.what).join('\n');
  for (const [id, json] of after.credentials)
    expect([id, json]).toEqual([id, before.credentials.get(id)]);
  for (const [seq, json] of after.events)
    expect([seq, json]).toEqual([seq, before.events.get(seq)]);
  return { report, after, lostText };
}

function sectorOf(device: MemoryFlash, predicate: (cells: Buffer) => boolean): number {
  for (let s = 0; s < GEOMETRY.sectorCount; s++) {
    const cells = device.image.subarray(s * GEOMETRY.sectorSize, (s + 1) * GEOMETRY.sectorSize);
    if (predicate(cells)) return s;
  }
  throw new Error('no such sector');
}
const holds = (text: string) => (cells: Buffer) => cells.includes(Buffer.from(text));

describe('flash salvage', () => {
  it('an intact image comes back whole', () => {
    const { device, state } = written();
    const { report, after } = salvaged(device, state);
    expect(report.lost).toEqual([]);
    expect(after).toEqual(state);
  });

  it('a damaged sector header: its records are listed by key, the rest is kept', () => {
    const { device, state } = written();
    const s = sectorOf(device, holds('"i":30'));
    device.image.fill(0, s * GEOMETRY.sectorSize + 4, s * GEOMETRY.sectorSize + 8);
    expect(() => openStore({ device })).toThrow(CorruptImageError);
    const { report, after, lostText } = salvaged(device, state);
    expect(lostText).toMatch(/sector header damaged: \d+ records cannot be placed/);
    expect(report.lost.find((l) => /header damaged/.test(l.what))!.sector).toBe(s);
    // Every event not kept is named, as a record of that sector or in the missing list.
    for (const seq of state.events.keys()) {
      if (!after.events.has(seq)) expect(lostText).toMatch(new RegExp(`event ${seq}\\b|missing`));
    }
    expect(after.events.size).toBeGreaterThan(state.events.size - 20);
    expect(after.credentials).toEqual(state.credentials);
    expect(after.version).toBe(state.version);
  });

  it('damaged bytes inside records, an erased sector, a duplicated sector: listed, rest kept', () => {
    const { device, state } = written();
    const size = GEOMETRY.sectorSize;
    const bytes = sectorOf(device, holds('"i":10'));
    device.image.fill(0x00, bytes * size + 300, bytes * size + 340);
    const erased = sectorOf(device, holds('"i":85'));
    device.image.fill(0xff, erased * size, (erased + 1) * size);
    const spare = sectorOf(device, (cells) => cells.every((b) => b === 0xff));
    device.image.copy(device.image, spare * size, bytes * size, (bytes + 1) * size);
    expect(() => openStore({ device })).toThrow(CorruptImageError);

    const { report, after, lostText } = salvaged(device, state);
    expect(report.lost.find((l) => l.offsets)).toMatchObject({ sector: bytes });
    expect(lostText).toMatch(/sequence \d+\.\.\d+ are missing/);
    expect(lostText).toMatch(/events missing: /);
    expect(after.credentials).toEqual(state.credentials);
    expect(after.config).toBe(state.config);
    expect(after.uses).toBe(1);
    const missing = [...state.events.keys()].filter((seq) => !after.events.has(seq));
    expect(missing.length).toBeGreaterThan(0);
    expect(report.result.events.missing).toEqual(expect.arrayContaining(missing.slice(1, -1)));
  });

  it('reader-sim flash salvage: a damaged file image into a fresh one, or a JSON export', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'salvage-'));
    try {
      const data = path.join(dir, 'data');
      const store = openStore({ dir: data, imageBytes: 48 * 4096 });
      store.database.replace(content(40, 'v1'));
      for (let i = 0; i < 400; i++) store.events.append({ ts: i, type: 'door', detail: { i } });
      const before = store.database.content();
      store.close();
      // Damage a record in the middle of the log (the image's cells are at its end).
      const image = path.join(data, 'flash.img');
      const cells = fs.statSync(image).size - 48 * 4096;
      const fd = fs.openSync(image, 'r+');
      fs.writeSync(fd, Buffer.alloc(64), 0, 64, cells + 6 * 4096 + 1000);
      fs.closeSync(fd);
      expect(() => openStore({ dir: data })).toThrow(CorruptImageError);

      const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      const out = path.join(dir, 'salvaged');
      expect(await flash.run(['salvage', '--data', data, '--out', out])).toBe(1);
      expect(await flash.run(['salvage', '--data', data, '--out', `${out}.json`])).toBe(1);
      const printed = log.mock.calls.map((c) => String(c[0])).join('\n');
      log.mockRestore();
      expect(printed).toMatch(/sector 6 bytes \d+\.\.\d+: damaged bytes/);
      expect(printed).toMatch(/events missing: \d+/);

      const fresh = openStore({ dir: out });
      expect(fresh.database.content()).toEqual(before);
      const exported = JSON.parse(fs.readFileSync(`${out}.json`, 'utf8')) as {
        content: { credentials: unknown[] };
        events: { list: Array<{ seq: number }> };
      };
      expect(exported.content.credentials).toHaveLength(40);
      expect(exported.events.list.map((e) => e.seq)).toEqual(
        fresh.events.list(0, 10_000).map((e) => e.seq),
      );
      fresh.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
