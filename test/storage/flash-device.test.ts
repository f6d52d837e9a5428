import * as fs from 'node:fs';
// The module itself (a namespace import's bindings cannot be spied on).
import nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from '../../storage/crc32';
import {
  FileFlash,
  FlashError,
  IMAGE_FORMAT_INVERTED,
  IMAGE_FORMAT_PLAIN,
  IMAGE_MAGIC,
  MemoryFlash,
  PowerLossError,
  WornSectorError,
  type FlashDevice,
  type FlashGeometry,
} from '../../storage/flash-device';
import { TornWriteModel } from '../../storage/power-cut';
import { StoreError } from '../../storage/errors';
import { openStore } from '../../storage/reader-store';
import {
  CHECKPOINT_BYTES,
  EVENT_CAPACITY,
  observe,
  representativeWorkload,
  SMALL_GEOMETRY,
} from './workload';

const geometry = { pageSize: 256, sectorSize: 1024, sectorCount: 8, writeAlign: 4, endurance: 5 };

function bits(b: Uint8Array): number {
  let n = 0;
  for (const v of b) for (let x = v; x; x &= x - 1) n++;
  return n;
}

describe('NOR flash device', () => {
  it('starts erased, programs new = old & data, reads plain', () => {
    const d = new MemoryFlash({ geometry });
    expect(d.read(0, 8).every((b) => b === 0xff)).toBe(true);
    d.program(0, Buffer.from([0xf0, 0x0f, 0xff, 0x00]));
    expect([...d.read(0, 4)]).toEqual([0xf0, 0x0f, 0xff, 0x00]);
    d.program(0, Buffer.from([0x30, 0x0f, 0xfe, 0x00])); // only clears bits
    expect([...d.read(0, 4)]).toEqual([0x30, 0x0f, 0xfe, 0x00]);
  });

  it('refuses to program a 0 bit back to 1 and counts the violation', () => {
    const d = new MemoryFlash({ geometry });
    d.program(0, Buffer.from([0x00, 0x00, 0x00, 0x00]));
    expect(() => d.program(0, Buffer.from([0x01, 0x00, 0x00, 0x00]))).toThrow(/0 bit back to 1/);
    expect(d.stats.violations).toBe(1);
    expect([...d.read(0, 4)]).toEqual([0, 0, 0, 0]);
  });

  it('refuses misaligned, page-crossing and out-of-range programs', () => {
    const d = new MemoryFlash({ geometry });
    expect(() => d.program(2, Buffer.alloc(4))).toThrow(/aligned/);
    expect(() => d.program(0, Buffer.alloc(6))).toThrow(/aligned/);
    expect(() => d.program(252, Buffer.alloc(8))).toThrow(/crosses a page/);
    expect(() => d.program(d.size, Buffer.alloc(4))).toThrow(FlashError);
    expect(() => d.erase(8)).toThrow(/no such sector/);
    expect(d.stats.operations).toBe(0);
  });

  it('erases a whole sector to 0xFF and counts cycles up to the endurance limit', () => {
    const d = new MemoryFlash({ geometry });
    d.program(1024, Buffer.alloc(256, 0));
    d.erase(1);
    expect(d.read(1024, 1024).every((b) => b === 0xff)).toBe(true);
    expect(d.eraseCount(1)).toBe(1);
    for (let i = 0; i < 4; i++) d.erase(1);
    expect(d.eraseCount(1)).toBe(5);
    expect(() => d.erase(1)).toThrow(WornSectorError);
    expect(() => d.program(1024, Buffer.alloc(4, 0))).toThrow(/worn out/);
    d.program(0, Buffer.alloc(4, 0)); // other sectors still work
  });

  it('models flash time on demand', () => {
    const spent: number[] = [];
    const d = new MemoryFlash({
      geometry,
      timing: { programMs: 0.4, eraseMs: 45, onBusy: (ms) => spent.push(ms) },
    });
    d.program(0, Buffer.alloc(4, 0));
    d.erase(0);
    expect(d.stats.busyMs).toBeCloseTo(45.4);
    expect(spent).toEqual([0.4, 45]);
  });

  describe('power cuts', () => {
    function cutProgram(model: TornWriteModel): { before: Buffer; after: Buffer; target: Buffer } {
      const d = new MemoryFlash({ geometry });
      d.program(0, Buffer.alloc(256, 0xaa));
      const before = d.read(0, 256);
      const data = Buffer.alloc(256, 0x0a);
      d.armPowerCut({ at: 1, model, seed: 42 });
      expect(() => d.program(0, data)).toThrow(PowerLossError);
      expect(d.powered).toBe(false);
      expect(() => d.read(0, 4)).toThrow(/unpowered/);
      d.powerOn();
      const target = Buffer.from(before.map((b, i) => b & data[i]!));
      return { before, after: d.read(0, 256), target };
    }

    it("'none' leaves the cells untouched", () => {
      const { before, after } = cutProgram('none');
      expect(after.equals(before)).toBe(true);
    });

    it("'prefix' writes the first k bytes only", () => {
      const { before, after, target } = cutProgram('prefix');
      const k = after.findIndex((b, i) => b !== target[i]);
      expect(k).toBeGreaterThanOrEqual(0);
      expect(after.subarray(0, k).equals(target.subarray(0, k))).toBe(true);
      expect(after.subarray(k).equals(before.subarray(k))).toBe(true);
    });

    it("'bits' lands a subset of the bit changes, never a 0->1", () => {
      const { before, after, target } = cutProgram('bits');
      for (let i = 0; i < 256; i++) {
        expect(after[i]! & ~before[i]! & 0xff).toBe(0); // no new 1s
        expect(target[i]! & ~after[i]! & 0xff).toBe(0); // only bits the program clears
      }
      expect(after.equals(before) || after.equals(target)).toBe(false);
    });

    it("'all-but-one' misses exactly one bit", () => {
      const { after, target } = cutProgram('all-but-one');
      expect(bits(after) - bits(target)).toBe(1);
    });

    it("'interrupted-erase' leaves some pages erased and the rest as they were", () => {
      const d = new MemoryFlash({ geometry });
      d.program(0, Buffer.alloc(256, 0));
      d.program(256, Buffer.alloc(256, 0));
      d.program(512, Buffer.alloc(256, 0));
      d.program(768, Buffer.alloc(256, 0));
      d.armPowerCut({ at: 4, model: 'interrupted-erase', seed: 3 });
      expect(() => d.erase(0)).toThrow(PowerLossError);
      d.powerOn();
      const pages = [0, 1, 2, 3].map((p) => d.read(p * 256, 256));
      const erased = pages.filter((p) => p.every((b) => b === 0xff)).length;
      const untouched = pages.filter((p) => p.every((b) => b === 0)).length;
      expect(erased + untouched).toBe(4);
      expect(erased).toBeGreaterThan(0);
      expect(untouched).toBeGreaterThan(0);
      expect(d.eraseCount(0)).toBe(0);
    });

    it('the same seed gives the same torn state', () => {
      expect(cutProgram('bits').after.equals(cutProgram('bits').after)).toBe(true);
    });
  });

  describe('file image', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('persists cells, geometry and erase counters across reopen', () => {
      const file = path.join(dir, 'flash.img');
      const d = FileFlash.open(file, { geometry });
      d.program(300, Buffer.from([1, 2, 3, 4]));
      d.erase(3);
      d.erase(3);
      d.sync();
      d.close();
      const again = FileFlash.open(file, { geometry: { sectorCount: 99 } }); // existing geometry wins
      expect(again.geometry).toEqual(geometry);
      expect([...again.read(300, 4)]).toEqual([1, 2, 3, 4]);
      expect(again.eraseCount(3)).toBe(2);
      expect(() => again.program(300, Buffer.from([0xff, 2, 3, 4]))).toThrow(/0 bit back to 1/);
      again.close();
    });

    it('rejects a foreign file, a wrong magic and a truncated image with a clear error', () => {
      const file = path.join(dir, 'flash.img');
      fs.writeFileSync(file, 'hello, I am a text file\n'.repeat(100));
      expect(() => FileFlash.open(file)).toThrow(/not a reader-sim flash image/);
      FileFlash.open(path.join(dir, 'good.img'), { geometry }).close();
      const good = fs.readFileSync(path.join(dir, 'good.img'));
      fs.writeFileSync(file, good.subarray(0, good.length - 100));
      expect(() => FileFlash.open(file)).toThrow(/truncated/);
      const damaged = Buffer.from(good);
      damaged[13] ^= 0x01; // geometry field: descriptor CRC catches it
      fs.writeFileSync(file, damaged);
      expect(() => FileFlash.open(file)).toThrow(/descriptor is damaged/);
    });
    it('makes a new image without writing its cells: format 2, erased cells are zero on disk', () => {
      const big = { ...geometry, sectorSize: 4096, sectorCount: 1024 }; // 4 MiB
      const file = path.join(dir, 'flash.img');
      const d = FileFlash.open(file, { geometry: big });
      expect(d.format).toBe(IMAGE_FORMAT_INVERTED);
      expect(d.blankCheck(1023)).toBe(true);
      expect(d.read(0, 4096).every((b) => b === 0xff)).toBe(true);
      const stat = fs.statSync(file);
      expect(stat.size).toBe(8192 + 4 * 1024 * 1024);
      // A hole, not 4 MiB of written cells: the descriptor's block and little else.
      expect(stat.blocks * 512).toBeLessThan(1024 * 1024);
      d.program(4096 + 8, Buffer.from([0x12, 0x34, 0xff, 0x00]));
      d.erase(2);
      d.close();
      const raw = fs.readFileSync(file);
      expect(raw.readUInt32LE(8)).toBe(IMAGE_FORMAT_INVERTED);
      expect([...raw.subarray(8192 + 4096 + 8, 8192 + 4096 + 12)]).toEqual([0xed, 0xcb, 0, 0xff]);
      expect(raw.subarray(8192 + 2 * 4096, 8192 + 3 * 4096).every((b) => b === 0)).toBe(true);
      expect(raw.readUInt32LE(4096 + 2 * 4)).toBe(1); // erase counters stay plain u32
    });

    it('reads back programs still combined in memory, however long the run grows', () => {
      const file = path.join(dir, 'flash.img');
      const big = { ...geometry, sectorSize: 4096, sectorCount: 64 };
      const d = FileFlash.open(file, { geometry: big });
      const page = (n: number) => Buffer.alloc(256, (n * 37) & 0xff);
      // 200 KiB of consecutive pages: one run from 256 B past its first sizes.
      for (let n = 0; n < 800; n++) {
        d.program(n * 256, page(n));
        if (n % 97 === 0)
          expect(d.read(n * 256 - 256 * (n % 3), 256).equals(page(n - (n % 3)))).toBe(true);
      }
      const cells = d.read(0, 800 * 256);
      for (let n = 0; n < 800; n++)
        expect(cells.subarray(n * 256, n * 256 + 256).equals(page(n))).toBe(true);
      d.close();
      const again = FileFlash.open(file);
      expect(again.read(0, 800 * 256).equals(cells)).toBe(true);
      again.close();
    });

    it('holds its fdatasyncs until released, but syncs before an erase and after the release', async () => {
      const d = FileFlash.open(path.join(dir, 'flash.img'), { geometry });
      const syncs = jest.spyOn(nodeFs, 'fdatasyncSync');
      const background = jest.spyOn(nodeFs, 'fdatasync');
      try {
        d.holdSyncs();
        d.program(0, Buffer.from([1, 2, 3, 4]));
        d.sync();
        expect(syncs).not.toHaveBeenCalled();
        // In the file already (not only in the run buffer): the release's one sync covers it.
        const raw = fs.readFileSync(path.join(dir, 'flash.img')).subarray(8192, 8196);
        expect([...raw]).toEqual([1, 2, 3, 4].map((b) => ~b & 0xff));
        // What garbage collection copied is durable before an erase reaches the file.
        d.erase(5);
        expect(syncs).toHaveBeenCalledTimes(1);
        d.program(1024, Buffer.from([5, 6, 7, 8]));
        d.sync();
        expect(syncs).toHaveBeenCalledTimes(1);
        await d.releaseSyncs();
        expect(background).toHaveBeenCalledTimes(1);
        d.program(2048, Buffer.from([9, 9, 9, 9]));
        d.sync();
        expect(syncs).toHaveBeenCalledTimes(2);
        await d.releaseSyncs(); // nothing held: no sync
        expect(background).toHaveBeenCalledTimes(1);
      } finally {
        syncs.mockRestore();
        background.mockRestore();
        d.close();
      }
    });

    it('opens a format 1 image (cells stored as they read) and keeps writing it as format 1', () => {
      const file = path.join(dir, 'flash.img');
      const cells = Buffer.alloc(geometry.sectorSize * geometry.sectorCount, 0xff);
      cells.fill(0x5a, 1024, 1024 + 16);
      writeFormat1Image(file, geometry, cells, [0, 3]);
      const d = FileFlash.open(file);
      expect(d.format).toBe(IMAGE_FORMAT_PLAIN);
      expect(d.geometry).toEqual(geometry);
      expect([...d.read(1024, 4)]).toEqual([0x5a, 0x5a, 0x5a, 0x5a]);
      expect(d.eraseCount(1)).toBe(3);
      expect(() => d.program(1024, Buffer.from([0xff, 0, 0, 0]))).toThrow(/0 bit back to 1/);
      d.program(2048, Buffer.from([0x12, 0x34, 0x56, 0x78]));
      d.erase(1);
      d.close();
      const raw = fs.readFileSync(file);
      expect(raw.readUInt32LE(8)).toBe(IMAGE_FORMAT_PLAIN);
      expect([...raw.subarray(8192 + 2048, 8192 + 2052)]).toEqual([0x12, 0x34, 0x56, 0x78]);
      expect(raw.subarray(8192 + 1024, 8192 + 2048).every((b) => b === 0xff)).toBe(true);
      expect(raw.readUInt32LE(4096 + 4)).toBe(4);
    });

    it.each([
      ['format 1', IMAGE_FORMAT_PLAIN],
      ['format 2', IMAGE_FORMAT_INVERTED],
    ])(
      'reads sector heads as plain reads do on a %s image, programs not yet written included',
      (_n, format) => {
        // More than a megabyte of sectors: the heads span two of the file's scan reads.
        const g = { ...geometry, sectorCount: 1100 };
        const file = path.join(dir, 'flash.img');
        if (format === IMAGE_FORMAT_PLAIN) {
          writeFormat1Image(file, g, Buffer.alloc(g.sectorSize * g.sectorCount, 0xff), []);
        }
        const d = FileFlash.open(file, { geometry: g });
        expect(d.format).toBe(format);
        const memory = new MemoryFlash({ geometry: g });
        let seed = 11;
        for (let s = 3; s < g.sectorCount; s += 1 + (s % 7)) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          const data = Buffer.alloc(16);
          data.writeUInt32LE(seed, 0);
          data.writeUInt32LE(~seed >>> 0, 8);
          for (const device of [d, memory]) device.program(s * g.sectorSize + (s % 2) * 4, data);
          if (s % 5 === 0) d.sync();
        }
        const heads = (device: FlashDevice, first: number, count: number) => {
          const packed = Buffer.alloc(count * 16);
          device.readSectorHeads!(first, count, 16, packed);
          return packed;
        };
        const plain = (device: FlashDevice, first: number, count: number) =>
          Buffer.concat(
            Array.from({ length: count }, (_, i) => device.read((first + i) * g.sectorSize, 16)),
          );
        for (const [first, count] of [
          [0, g.sectorCount],
          [1000, 100],
          [1023, 2],
        ] as const) {
          expect(heads(d, first, count).equals(plain(memory, first, count))).toBe(true);
          expect(heads(memory, first, count).equals(plain(memory, first, count))).toBe(true);
        }
        expect(() => heads(d, 1099, 2)).toThrow(FlashError);
        d.close();
      },
    );

    it.each([
      ['format 1', IMAGE_FORMAT_PLAIN],
      ['format 2', IMAGE_FORMAT_INVERTED],
      ['memory', 0],
    ])(
      'the header scan gives the first 16 bytes of every sector as they read, programs not yet written out included (%s image)',
      (_n, format) => {
        // More than a megabyte of sectors: two scan reads, and programs left in the run buffer.
        const g = { ...geometry, sectorCount: 1100 };
        const file = path.join(dir, 'flash.img');
        if (format === IMAGE_FORMAT_PLAIN) {
          writeFormat1Image(file, g, Buffer.alloc(g.sectorSize * g.sectorCount, 0xff), []);
        }
        const d: FlashDevice =
          format === 0 ? new MemoryFlash({ geometry: g }) : FileFlash.open(file, { geometry: g });
        if (d instanceof FileFlash) expect(d.format).toBe(format);
        let seed = 7;
        const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
        const fill = (address: number, bytes: number) => {
          // Whole pages of random words (a program never crosses a page).
          for (let at = address; at < address + bytes; at += g.pageSize) {
            const data = Buffer.alloc(Math.min(g.pageSize, address + bytes - at));
            for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(next(), i);
            d.program(at, data);
          }
        };
        for (let s = 0; s < 1040; s += 1 + (next() % 5)) fill(s * g.sectorSize, 256);
        d.sync();
        // Programs not written out yet (FileFlash keeps them in its run buffer): the head of
        // a sector erased on disk.
        fill(1051 * g.sectorSize, 256);
        for (const [first, count] of [
          [0, g.sectorCount],
          [1000, 100],
          [1049, 3],
        ] as const) {
          const heads = Buffer.alloc(count * 16);
          d.readSectorHeads!(first, count, 16, heads);
          for (let i = 0; i < count; i++) {
            const s = first + i;
            expect(heads.subarray(i * 16, i * 16 + 16).equals(d.read(s * g.sectorSize, 16))).toBe(
              true,
            );
          }
        }
        expect(d.read(1051 * g.sectorSize, 16).every((b) => b === 0xff)).toBe(false);
        expect(() => d.readSectorHeads!(0, 4, 16, Buffer.alloc(60))).toThrow(/output too small/);
        d.close();
      },
    );

    it('refuses an image format it does not know, naming the ones it does', () => {
      const file = path.join(dir, 'flash.img');
      writeFormat1Image(file, geometry, Buffer.alloc(8 * 1024, 0xff), [], 3);
      expect(() => FileFlash.open(file)).toThrow(/format 3 is not supported \(want 1 or 2\)/);
    });

    // The same workload with the same power cut on the in-memory part and on a file image of
    // each format (closed and reopened at every cut, as a restart does) must leave the same
    // cells, the same erase counters and the same store.
    describe.each([
      ['format 1', IMAGE_FORMAT_PLAIN],
      ['format 2', IMAGE_FORMAT_INVERTED],
    ])('a store on a %s image across power cuts', (_name, format) => {
      const steps = representativeWorkload();
      const operations: { kind: string; index: number }[] = [];
      const dry = new MemoryFlash({ geometry: SMALL_GEOMETRY });
      dry.onOperation = (op) => operations.push(op);
      const dryStore = openStore({
        device: dry,
        eventCapacity: EVENT_CAPACITY,
        checkpointBytes: CHECKPOINT_BYTES,
      });
      for (const step of steps) step.run(dryStore);
      dryStore.close();
      const erases = operations.filter((o) => o.kind === 'erase').map((o) => o.index);
      const programs = operations.filter((o) => o.kind === 'program').map((o) => o.index);
      const cuts = [programs[3]!, erases[0]!, programs[programs.length >> 1]!, erases.at(-1)!];

      it.each(cuts)('cut at operation %i', (at) => {
        expect(erases.length).toBeGreaterThan(1); // the workload collects garbage
        const file = path.join(dir, 'flash.img');
        if (format === IMAGE_FORMAT_PLAIN) {
          const blank = Buffer.alloc(SMALL_GEOMETRY.sectorSize * SMALL_GEOMETRY.sectorCount, 0xff);
          writeFormat1Image(file, SMALL_GEOMETRY, blank, []);
        }
        let onFile = FileFlash.open(file, { geometry: SMALL_GEOMETRY });
        expect(onFile.format).toBe(format);
        const inMemory = new MemoryFlash({ geometry: SMALL_GEOMETRY });
        const restart = () => {
          onFile.close();
          onFile = FileFlash.open(file);
          return onFile;
        };
        const seen = [inMemory, onFile].map((device, i) =>
          runCutWorkload(device, at, i === 0 ? () => inMemory : restart),
        );
        expect(seen[1]).toEqual(seen[0]);
        expect(seen[0]!.cut).toBe(true);
        expect(onFile.read(0, onFile.size).equals(inMemory.image)).toBe(true);
        for (let s = 0; s < SMALL_GEOMETRY.sectorCount; s++) {
          expect(onFile.eraseCount(s)).toBe(inMemory.eraseCount(s));
        }
        onFile.close();
        const reopened = FileFlash.open(file);
        expect(reopened.format).toBe(format);
        expect(reopened.read(0, reopened.size).equals(inMemory.image)).toBe(true);
        reopened.close();
      });

      function runCutWorkload(
        device: FlashDevice,
        at: number,
        restart: () => FlashDevice,
      ): { cut: boolean; refused: string[]; state: string } {
        const mountOn = (d: FlashDevice) =>
          openStore({
            device: d,
            eventCapacity: EVENT_CAPACITY,
            checkpointBytes: CHECKPOINT_BYTES,
          });
        device.armPowerCut({ at, model: 'bits', seed: at });
        let store = mountOn(device);
        let cut = false;
        // What the cut undid makes later steps fail alike on every device (e.g. a grant for a
        // credential whose push was lost): those refusals are compared too.
        const refused: string[] = [];
        for (const step of steps) {
          try {
            step.run(store);
          } catch (err) {
            if (err instanceof PowerLossError && !cut) {
              cut = true;
              const next = restart();
              next.powerOn();
              store = mountOn(next);
            } else if (err instanceof StoreError && cut) {
              refused.push(`${step.name}: ${err.message}`);
            } else {
              throw err;
            }
          }
        }
        const state = observe(store);
        store.close();
        return { cut, refused, state };
      }
    });
  });
});

/** A format 1 image as earlier versions made it: descriptor, erase counters, plain cells. */
function writeFormat1Image(
  file: string,
  g: FlashGeometry,
  cells: Buffer,
  counts: number[],
  format = IMAGE_FORMAT_PLAIN,
): void {
  const descriptor = Buffer.alloc(4096);
  descriptor.write(IMAGE_MAGIC, 0, 'latin1');
  [format, g.pageSize, g.sectorSize, g.sectorCount, g.writeAlign, g.endurance].forEach((v, i) =>
    descriptor.writeUInt32LE(v, 8 + i * 4),
  );
  descriptor.writeUInt32LE(crc32(descriptor, 0, 32), 32);
  const counters = Buffer.alloc(Math.ceil((g.sectorCount * 4) / 4096) * 4096);
  counts.forEach((c, s) => counters.writeUInt32LE(c, s * 4));
  fs.writeFileSync(file, Buffer.concat([descriptor, counters, cells]));
}
