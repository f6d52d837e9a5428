import { MemoryFlash, openStore, ReaderStore } from '../../storage';
import { examineDevice, ImageReport } from '../../storage/fsck';
import { mountForInspection } from '../../storage/reader-store';
import { CorruptImageError } from '../../storage/errors';
import {
  SNAPSHOT_FORMAT_ENTRIES,
  SNAPSHOT_TABLES,
  decodeSnapshot,
  encodeSnapshot,
} from '../../storage/checkpoint';
import {
  SMALL_GEOMETRY,
  content,
  credential,
  mount,
  observe,
  representativeWorkload,
  smallDevice,
} from './workload';

/** A part big enough for a few thousand credentials; snapshots every 16 KiB of log. */
function device(): MemoryFlash {
  return new MemoryFlash({ geometry: { sectorCount: 256 } });
}
function open(d: MemoryFlash, checkpointBytes = 16384): ReaderStore {
  return openStore({ device: d, checkpointBytes });
}

/** A push, then grants and events: a snapshot falls somewhere in the middle. */
function busyStore(d: MemoryFlash): ReaderStore {
  const s = open(d);
  s.database.replace({
    ...content(0, 'v1'),
    credentials: Array.from({ length: 2000 }, (_, i) => credential(i + 1)),
  });
  for (let i = 0; i < 150; i++) {
    s.recordGrant({ ts: i, type: 'access', credentialId: `c${(i % 40) + 1}` }, `c${(i % 40) + 1}`);
  }
  s.events.ack(100);
  s.config.set({ unlockMs: 4000 });
  return s;
}

function fsck(d: MemoryFlash): ImageReport {
  const report: ImageReport = { image: 'memory', repairs: [], problems: [] };
  examineDevice(d, report);
  return report;
}

describe('checkpoints (index snapshots)', () => {
  it('mount loads the newest snapshot, replays only what follows it, and reads what a full replay reads', () => {
    const d = device();
    const state = observe(busyStore(d));
    const again = open(d);
    expect(again.mountReport.fromCheckpoint).toBe(true);
    const full = mountForInspection(d, { checkpoint: false });
    expect(full.report.fromCheckpoint).toBe(false);
    expect(again.mountReport.recordsReplayed).toBeLessThan(full.report.recordsReplayed / 4);
    expect(observe(again)).toBe(state);
    expect(mountForInspection(d).index.describe()).toBe(full.index.describe());
    expect(fsck(d).problems).toEqual([]);
    expect(fsck(d).checkpoint?.used).toBe(true);
    // The store keeps working from the loaded state, and a later mount agrees.
    again.database.debit('c7');
    expect(observe(open(d))).toBe(observe(again));
  });

  it('the sectors before a snapshot are not read at mount; each is checked at its first read, by the CRC the snapshot holds for it or record by record', () => {
    const d = device();
    const state = observe(busyStore(d));
    const size = d.geometry.sectorSize;
    const copy = d.snapshot();
    const again = open(copy);
    expect(again.mountReport.fromCheckpoint).toBe(true);
    const sealed = again.mountReport.sectorsSealed;
    expect(sealed).toBeGreaterThan(10);
    expect(mountForInspection(d, { checkpoint: false }).report.sectorsSealed).toBe(0);
    expect(observe(again)).toBe(state);
    // Torn-looking bytes past the valid records of the oldest sector (before the snapshot):
    // its CRC no longer matches its seal, so its first read walks it, and the walk accepts
    // it as a full replay does.
    const lowSeq = mountForInspection(d).log.stats().lowSeq;
    const oldest = Array.from({ length: d.geometry.sectorCount }, (_, s) => s).find(
      (s) => d.image.readUInt32LE(s * size + 4) === lowSeq,
    )!;
    expect(d.image[(oldest + 1) * size - 1]).toBe(0xff);
    d.image[(oldest + 1) * size - 1] = 0x7f;
    const torn = open(d);
    expect(torn.mountReport.fromCheckpoint).toBe(true);
    expect(observe(torn)).toBe(state);
    expect(mountForInspection(d).index.describe()).toBe(
      mountForInspection(d, { checkpoint: false }).index.describe(),
    );
  });

  it('damage before the snapshot is refused by the first read that needs it, with the error a full replay gives', () => {
    const d = new MemoryFlash({ geometry: { sectorCount: 1024 } });
    const s = open(d);
    s.database.replace({
      ...content(0, 'v1'),
      credentials: Array.from({ length: 8000 }, (_, i) => credential(i + 1)),
    });
    for (let i = 0; i < 150; i++) {
      s.recordGrant(
        { ts: i, type: 'access', credentialId: `c${(i % 40) + 1}` },
        `c${(i % 40) + 1}`,
      );
    }
    const state = observe(s);
    const size = d.geometry.sectorSize;
    const lowSeq = mountForInspection(d).log.stats().lowSeq;
    const bySeq = (seq: number) =>
      Array.from({ length: d.geometry.sectorCount }, (_, s) => s).find(
        (s) => d.image.readUInt32LE(s * size + 4) === seq,
      )!;
    expect(open(d.snapshot()).mountReport.sectorsSealed).toBeGreaterThan(64);
    const middle = bySeq(lowSeq + 5);
    const oldest = bySeq(lowSeq);
    const tornAt = [oldest, middle].map((s) => (s + 1) * size - 1);
    for (const at of tornAt) expect(d.image[at]).toBe(0xff);
    const damage: Array<[string, (image: Buffer) => void]> = [
      ['intact', () => {}],
      ['torn bytes at the end of a sector in the middle', (image) => (image[tornAt[1]!] = 0x7f)],
      ['torn bytes at the end of the oldest sector', (image) => (image[tornAt[0]!] = 0x7f)],
      ['a damaged record in the middle', (image) => (image[middle * size + size / 2] ^= 0x10)],
      ['a damaged record in the oldest sector', (image) => (image[oldest * size + size / 2] ^= 4)],
    ];
    let refused = 0;
    for (const [what, hurt] of damage) {
      const copy = d.snapshot();
      hurt(copy.image);
      let fullReplay = 'mounts';
      try {
        mountForInspection(copy.snapshot(), { checkpoint: false });
      } catch (err) {
        fullReplay = `${(err as Error).name}: ${(err as Error).message}`;
      }
      // Mount takes the snapshot whatever the sectors before it hold.
      const store = open(copy);
      expect({ what, fromCheckpoint: store.mountReport.fromCheckpoint }).toEqual({
        what,
        fromCheckpoint: true,
      });
      let seen: string;
      try {
        seen = observe(store) === state ? 'the state acknowledged' : 'another state';
      } catch (err) {
        seen = `${(err as Error).name}: ${(err as Error).message}`;
      }
      if (fullReplay === 'mounts') {
        expect({ what, seen }).toEqual({ what, seen: 'the state acknowledged' });
      } else {
        expect(fullReplay).toMatch(/CorruptImageError: sector \d+: /);
        expect({ what, seen }).toEqual({ what, seen: fullReplay });
        refused++;
      }
    }
    expect(refused).toBe(2);
  });

  it('a snapshot stays trusted when collection takes the sectors of its meta and ack records', () => {
    const d = device();
    const s = openStore({ device: d, checkpointBytes: 16384, eventCapacity: 200 });
    s.database.replace({
      ...content(0, 'v1'),
      credentials: Array.from({ length: 500 }, (_, i) => credential(i + 1)),
    });
    s.events.ack(0);
    let fromSnapshot = 0;
    let seq = 0;
    // Grants wrap the 1 MiB log: the push's meta record and the ack are copied
    // forward again and again, each time before the snapshot that names them is collected.
    for (let round = 0; round < 120; round++) {
      for (let i = 0; i < 150; i++) {
        seq = s.recordGrant(
          { ts: i, type: 'access', credentialId: `c${(i % 40) + 1}` },
          `c${(i % 40) + 1}`,
        ).seq;
      }
      s.events.ack(seq - 100);
      const again = mountForInspection(d.snapshot());
      expect(again.report.notes.map((n) => n.message).join('\n')).not.toMatch(/not trusted/);
      if (again.report.fromCheckpoint) fromSnapshot++;
    }
    expect(d.stats.erases).toBeGreaterThan(d.geometry.sectorCount);
    expect(fromSnapshot).toBeGreaterThan(100);
    // What the snapshot gave is what the log holds.
    const viaSnapshot = mountForInspection(d);
    expect(viaSnapshot.report.fromCheckpoint).toBe(true);
    expect(viaSnapshot.index.describe()).toBe(
      mountForInspection(d, { checkpoint: false }).index.describe(),
    );
    expect(fsck(d).problems).toEqual([]);
  });

  it('checkpointBytes: Infinity writes none (mount replays everything); bad values are refused', () => {
    const d = device();
    const s = open(d, Infinity);
    s.database.replace(content(20, 'v1'));
    expect(open(d, Infinity).mountReport.fromCheckpoint).toBe(false);
    expect(() => openStore({ device: d, checkpointBytes: -1 })).toThrow(/checkpointBytes/);
    expect(() => openStore({ device: d, checkpointBytes: NaN })).toThrow(/checkpointBytes/);
  });

  it('a snapshot that disagrees with the log is never trusted: mount replays the whole log', () => {
    const forgeries: Array<[string, (s: ReturnType<ReaderStoreIndex['snapshot']>) => void]> = [
      ['a database version that is not on flash', (s) => (s.version += 1)],
      ['an acknowledgement that is not on flash', (s) => (s.ackedSeq -= 1)],
      [
        'an event in an erased sector',
        (s) => (s.events[1] = (s.events[1]! % 4096) + 4096 * 250), // never used by this log
      ],
    ];
    for (const [what, forge] of forgeries) {
      const d = device();
      const state = observe(busyStore(d));
      const { log, index } = mountForInspection(d);
      expect(
        log.writeCheckpoint(() => {
          const s = index.snapshot();
          forge(s);
          return s;
        }),
      ).toBe(true);
      const again = open(d);
      expect({ what, fromCheckpoint: again.mountReport.fromCheckpoint }).toEqual({
        what,
        fromCheckpoint: false,
      });
      expect(again.mountReport.notes.map((n) => n.message).join('\n')).toMatch(
        /checkpoint not trusted/,
      );
      expect(observe(again)).toBe(state);
    }
  });
});

/** The small workload image after `steps` steps, and the state it acknowledged then. */
function workloadImage(steps: number): { image: MemoryFlash; state: string } {
  const image = smallDevice();
  const store = mount(image);
  for (const step of representativeWorkload().slice(0, steps)) step.run(store);
  return { image, state: observe(store) };
}

function swapSectors(image: Buffer, a: number, b: number): void {
  const size = SMALL_GEOMETRY.sectorSize;
  const first = Buffer.from(image.subarray(a * size, (a + 1) * size));
  image.copy(image, a * size, b * size, (b + 1) * size);
  first.copy(image, b * size);
}

describe('checkpoints on damaged images (found by test/fuzz/flash-image.test.ts)', () => {
  // Seed 4242: two sectors before the snapshot swapped places. Their headers and records
  // stay valid, so the log replays to the same state, but the snapshot's addresses pointed
  // into the other sector and a lookup decoded foreign bytes (a raw SyntaxError).
  it('regression: sectors swapped before the snapshot: it is not trusted, the full replay mounts the same state', () => {
    const { image, state } = workloadImage(10);
    expect(mount(image.snapshot()).mountReport.fromCheckpoint).toBe(true);
    swapSectors(image.image, 0, 3);
    const again = mount(image);
    expect(again.mountReport.fromCheckpoint).toBe(false);
    expect(again.mountReport.notes.map((n) => n.message).join('\n')).toMatch(
      /checkpoint not trusted \(sector \d+ holds sequence/,
    );
    expect(observe(again)).toBe(state);
  });

  it('damaged records in a sector before the snapshot are refused when read, changing nothing', () => {
    const { image } = workloadImage(10);
    const { log } = mountForInspection(image.snapshot());
    const start = log.stats().lowSeq;
    expect(mount(image.snapshot()).mountReport.fromCheckpoint).toBe(true);
    // The oldest sector in use lies before the snapshot (the workload wrote several since).
    const oldest = Array.from({ length: SMALL_GEOMETRY.sectorCount }, (_, s) => s).find(
      (s) => image.image.readUInt32LE(s * SMALL_GEOMETRY.sectorSize + 4) === start,
    )!;
    image.image.fill(
      0,
      oldest * SMALL_GEOMETRY.sectorSize + 40,
      oldest * SMALL_GEOMETRY.sectorSize + 48,
    );
    const before = Buffer.from(image.image);
    expect(() => observe(mount(image))).toThrow(CorruptImageError);
    expect(image.image.equals(before)).toBe(true);
  });
});

/** The index behind a store (what the tests look at: pages read, page-ins). */
function indexOf(store: ReaderStore): ReaderStoreIndex {
  return (store as unknown as { idx: ReaderStoreIndex }).idx;
}

/** A part holding pushedStore()'s push. */
function pushedStoreImage(): MemoryFlash {
  const d = device();
  pushedStore(d);
  return d;
}

/** 3,000 credentials pushed, a snapshot written after them (no grants, nothing replayed). */
function pushedStore(d: MemoryFlash): ReaderStore {
  const s = open(d);
  s.database.replace({
    ...content(0, 'v1'),
    credentials: Array.from({ length: 3000 }, (_, i) => credential(i + 1)),
  });
  s.config.set({ unlockMs: 4000 });
  return s;
}

describe('paged tables (format 3 snapshots)', () => {
  it('mount reads no page of the tables; a lookup reads the pages it probes, and answers as a full replay does', () => {
    const d = device();
    const state = observe(pushedStore(d));
    const again = open(d);
    expect(again.mountReport.fromCheckpoint).toBe(true);
    const pending = indexOf(again).pagesPending();
    // 3,000 keys at a load of 0.7 are ~17 pages a table, by id and by value.
    expect(pending).toBeGreaterThan(30);
    const wanted = credential(1234);
    const found = again.database.findCredential(wanted.kind, wanted.value);
    expect(found).toMatchObject({ id: wanted.id, kind: wanted.kind, value: wanted.value });
    const after = indexOf(again).pagesPending();
    expect(after).toBeLessThan(pending);
    expect(after).toBeGreaterThan(pending - 4);
    expect(again.database.findCredential('badge', 'no such value')).toBeUndefined();
    expect(again.database.counts().credentials).toBe(3000);
    // Writes go through paged tables too: a debit finds its slot on a page of its own.
    again.database.debit('c8');
    expect(again.database.usesOf('c8')).toBe(1);
    const full = mountForInspection(d, { checkpoint: false });
    expect(mountForInspection(d).index.describe()).toBe(full.index.describe());
    expect(observe(open(d))).toBe(observe(again));
    expect(state).not.toBe(observe(again)); // the debit
  });

  it('collection reaching the snapshot pages its tables in first, then takes its sectors; a push reads every page before it writes', () => {
    const d = device();
    pushedStore(d);
    // No new snapshot from here on: collection must reach the loaded one's pieces.
    const again = openStore({ device: d, checkpointBytes: Infinity, eventCapacity: 100 });
    expect(again.mountReport.fromCheckpoint).toBe(true);
    const pending = indexOf(again).pagesPending();
    expect(pending).toBeGreaterThan(30);
    const pageIn = jest.spyOn(indexOf(again), 'pageIn');
    const lowSeq = () => mountForInspection(d.snapshot()).log.stats().lowSeq;
    const before = lowSeq();
    for (let i = 0; i < 40000 && pageIn.mock.calls.length === 0; i++) {
      again.recordGrant(
        { ts: i, type: 'access', credentialId: `c${(i % 50) + 1}` },
        `c${(i % 50) + 1}`,
      );
      if (i % 100 === 99) again.events.ack(again.events.stats().lastSeq);
      // Grants read only the pages their lookups probe.
      if (i === 0) expect(indexOf(again).pagesPending()).toBeGreaterThan(pending - 8);
    }
    expect(pageIn).toHaveBeenCalledTimes(1);
    expect(indexOf(again).pagesPending()).toBe(0);
    expect(lowSeq()).toBeGreaterThan(before);
    // Grants go on past the snapshot's sectors; the state stays the log's.
    for (let i = 0; i < 300; i++) {
      again.recordGrant({ ts: i, type: 'access', credentialId: 'c9' }, 'c9');
    }
    const copy = d.snapshot();
    expect(mountForInspection(copy).report.fromCheckpoint).toBe(false);
    const replayed = openStore({ device: copy, checkpointBytes: Infinity, eventCapacity: 100 });
    expect(observe(replayed) === observe(again)).toBe(true);
    // A push changes tables throughout its commit: it reads every page before it writes.
    const fresh = open(pushedStoreImage());
    expect(indexOf(fresh).pagesPending()).toBeGreaterThan(30);
    fresh.database.replace(content(10, 'v2'));
    expect(indexOf(fresh).pagesPending()).toBe(0);
    expect(fresh.database.counts().credentials).toBe(10);
  });

  it('counts are right before any page is read when sectors were collected since the snapshot', () => {
    const d = device();
    const s = openStore({ device: d, checkpointBytes: 16384, eventCapacity: 200 });
    s.database.replace({
      ...content(0, 'v1'),
      credentials: Array.from({ length: 500 }, (_, i) => credential(i + 1)),
    });
    let checked = 0;
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 150; i++) {
        s.recordGrant(
          { ts: i, type: 'access', credentialId: `c${(i % 40) + 1}` },
          `c${(i % 40) + 1}`,
        );
      }
      s.events.ack(s.events.stats().lastSeq - 100);
      const copy = d.snapshot();
      const paged = mountForInspection(copy);
      if (!paged.report.fromCheckpoint || paged.index.pagesPending() === 0) continue;
      // counts() reads no page: the sizes the snapshot and the replay after it left.
      const store = open(copy.snapshot());
      expect(indexOf(store).pagesPending()).toBeGreaterThan(0);
      expect(store.database.counts()).toEqual({
        users: 3,
        credentials: 500,
        schedules: 1,
        holidays: 1,
        accessPoints: 2,
      });
      expect(paged.index.describe()).toBe(
        mountForInspection(copy, { checkpoint: false }).index.describe(),
      );
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('a format 2 snapshot (tables as entry lists, older images) still loads, whole', () => {
    const d = device();
    const state = observe(busyStore(d));
    const { log, index } = mountForInspection(d);
    expect(log.writeCheckpoint(() => index.snapshot(), SNAPSHOT_FORMAT_ENTRIES)).toBe(true);
    const again = open(d);
    expect(again.mountReport.fromCheckpoint).toBe(true);
    expect(again.mountReport.recordsReplayed).toBe(0);
    expect(indexOf(again).pagesPending()).toBe(0);
    expect(observe(again)).toBe(state);
    // Its next snapshot is format 3 again.
    const next = mountForInspection(d);
    expect(next.log.writeCheckpoint(() => next.index.snapshot())).toBe(true);
    expect(indexOf(open(d)).pagesPending()).toBeGreaterThan(0);
  });

  it('a directory or a page that does not add up is refused (the snapshot is not a table)', () => {
    const d = device();
    pushedStore(d);
    const { index } = mountForInspection(d);
    const sectors = d.geometry.sectorCount;
    const snapshot = {
      ...index.snapshot(),
      live: new Uint32Array(sectors),
      seqs: new Uint32Array(sectors),
      seals: new Uint32Array(sectors),
      tailAddress: -1,
      tailTotal: 0,
    };
    const words = encodeSnapshot(snapshot);
    // Decoded with no checks, every page is read and checked at once.
    expect(typeof decodeSnapshot(words, sectors)).toBe('object');
    // The first table's directory (credentials by id) follows the fixed words, the sector
    // tables and the events: capacity, size, occupied, flags, then where each page starts.
    const table = 17 + 3 * sectors + 1 + snapshot.events.length;
    expect(words[table]).toBe(snapshot.tables[SNAPSHOT_TABLES[0]!].capacity);
    const page = words[table + 4]!; // the first page's bitmap
    const forged: Array<[string, (w: Uint32Array) => void]> = [
      [
        'a bit set in a bitmap',
        (w) => (w[page] = w[page]! ^ (1 << (31 - Math.clz32(~w[page]! & (w[page]! + 1))))),
      ],
      ['a bit cleared in a bitmap', (w) => (w[page + 1] = w[page + 1]! & (w[page + 1]! - 1))],
      ['an occupied slot with no record', (w) => (w[page + 8 + 2] = 0)],
      ['a live count too high', (w) => (w[table + 1] = w[table + 1]! + 1)],
      ['an occupied count too low', (w) => (w[table + 2] = w[table + 2]! - 1)],
      ['a page start moved', (w) => (w[table + 5] = w[table + 5]! + 4)],
      ['a capacity a page shorter', (w) => (w[table] = w[table]! - 256)],
      ['unknown flags', (w) => (w[table + 3] = 2)],
      // Would allocate gigabytes of slots before anything else fails: refused outright.
      ['a capacity of 2^30 slots', (w) => (w[table] = 2 ** 30)],
    ];
    for (const [what, forge] of forged) {
      const copy = Uint32Array.from(words);
      forge(copy);
      expect({ what, decoded: typeof decodeSnapshot(copy, sectors) }).toEqual({
        what,
        decoded: 'string',
      });
    }
  });

  it('a page whose entry cannot be a record is refused when it is read: the store rebuilds its index from the log, and fsck reports the snapshot', () => {
    const d = device();
    pushedStore(d);
    const { log, index } = mountForInspection(d);
    const described = index.describe();
    // A snapshot whose first page with an entry names an address inside a sector header.
    const forged = index.snapshot();
    const byId = forged.tables.credentialsById;
    const { pageWords } = byId.pageLayout();
    const target = pageWords.findIndex((w) => w > 8);
    const exportPages = byId.exportPages.bind(byId);
    byId.exportPages = (out, at) => {
      const end = exportPages(out, at);
      let page = at;
      for (let p = 0; p < target; p++) page += pageWords[p]!;
      out[page + 8 + 2] = 8;
      return end;
    };
    expect(log.writeCheckpoint(() => forged)).toBe(true);
    // fsck reads every page: it names the page.
    expect(fsck(d).problems.join('\n')).toMatch(
      /snapshot table credentialsById, page \d+: an entry names 8, not a record/,
    );
    // The store mounts from the snapshot; the first read of that page distrusts it.
    const again = open(d);
    expect(again.mountReport.fromCheckpoint).toBe(true);
    expect(again.pageIn()).toBe(0);
    expect(again.mountReport.notes.map((n) => n.message).join('\n')).toMatch(
      /checkpoint not trusted after mount \(snapshot table credentialsById, page \d+: an entry names 8/,
    );
    expect(indexOf(again).describe()).toBe(described);
    const wanted = credential(77);
    expect(again.database.findCredential(wanted.kind, wanted.value)?.id).toBe('c77');
    // A lookup that meets the page heals the same way, and so does a write.
    const other = open(d);
    expect(other.database.findCredential(wanted.kind, wanted.value)?.id).toBe('c77');
    expect(open(d).database.debit('c77')).toBe(1);
    expect(mountForInspection(d, { checkpoint: false }).index.describe()).not.toBe(described);
  });
});

type ReaderStoreIndex = ReturnType<typeof mountForInspection>['index'];
