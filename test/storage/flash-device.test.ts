import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FileFlash,
  FlashError,
  MemoryFlash,
  PowerLossError,
  WornSectorError,
} from '../../storage/flash-device';
import { TornWriteModel } from '../../storage/power-cut';

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
  });
});
