import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorruptImageError, MemoryFlash, StoreError, openStore } from '../../storage';
import { seededRandom } from '../../firmware/foundation/random';
import { fuzzRuns, fuzzSeed, fuzzTimeout } from '../fuzz/params';
import { content, mount, observe, smallDevice } from './workload';

// Long fuzz runs (FUZZ_RUNS) need more than jest's 5 s default.
jest.setTimeout(fuzzTimeout(5000));

/** A used image: pushes, grants, events, GC has run; plus the states after the last two steps. */
function usedImage(): { device: MemoryFlash; state: string; previous: string } {
  const device = smallDevice();
  const s = mount(device);
  s.database.replace(content(8, 'v1'));
  for (let i = 0; i < 120; i++) s.recordGrant({ ts: i, type: 'access' }, `c${(i % 8) + 1}`);
  const previous = observe(s);
  s.events.append({ ts: 999, type: 'system' });
  return { device, state: observe(s), previous };
}

const SECTOR = 512;

describe('corrupt images', () => {
  it('a damaged record in the middle of the log is refused, not dropped', () => {
    const { device } = usedImage();
    const health = mount(device.snapshot()).health();
    expect(health.erasedSectors).toBeLessThan(16);
    // Find a sector that is neither the head nor erased and damage its first record payload.
    const image = device.image;
    const headers = [...Array(16).keys()].filter(
      (s) => image.readUInt32LE(s * SECTOR) === 0x474c5352,
    );
    const seqs = headers
      .map((s) => ({ s, seq: image.readUInt32LE(s * SECTOR + 4) }))
      .sort((a, b) => a.seq - b.seq);
    const middle = seqs[Math.floor(seqs.length / 2)]!.s;
    image[middle * SECTOR + 16 + 16 + 2] ^= 0x04;
    expect(() => mount(device)).toThrow(CorruptImageError);
    expect(() => mount(device)).toThrow(/sector \d+: .*damaged|records were damaged/);
  });

  it('a damaged sector header is refused with the missing sequence named', () => {
    const { device } = usedImage();
    const image = device.image;
    const used = [...Array(16).keys()].filter((s) => image.readUInt32LE(s * SECTOR) === 0x474c5352);
    const seqs = used
      .map((s) => ({ s, seq: image.readUInt32LE(s * SECTOR + 4) }))
      .sort((a, b) => a.seq - b.seq);
    image[seqs[1]!.s * SECTOR + 5] ^= 0x10; // sequence field of the second-oldest sector
    expect(() => mount(device)).toThrow(StoreError);
  });

  it('two sectors claiming one sequence number are refused, naming both, wherever they lie', () => {
    const { device } = usedImage();
    const image = device.image;
    const used = [...Array(16).keys()].filter((s) => image.readUInt32LE(s * SECTOR) === 0x474c5352);
    expect(used.length).toBeGreaterThan(4);
    // A valid header (its CRC covers only itself) copied over another sector's, one pair
    // each way round: the copy before or after the original in the part.
    for (const [from, to] of [
      [used[1]!, used[3]!],
      [used[3]!, used[1]!],
    ]) {
      const copy = device.snapshot();
      copy.image.copy(copy.image, to * SECTOR, from * SECTOR, from * SECTOR + 16);
      const seq = image.readUInt32LE(from * SECTOR + 4);
      const [a, b] = [from, to].sort((x, y) => x - y);
      expect(() => mount(copy)).toThrow(CorruptImageError);
      expect(() => mount(copy)).toThrow(`sectors ${a} and ${b} both claim sequence ${seq}`);
    }
  });

  it('random bit flips anywhere: a clear StoreError or an intact state, never a crash or a silent loss', () => {
    const { device, state, previous } = usedImage();
    const seed = fuzzSeed(2026);
    const random = seededRandom(seed);
    const outcomes = { refused: 0, intact: 0, lastWriteTorn: 0 };
    const trials = fuzzRuns(300);
    for (let trial = 0; trial < trials; trial++) {
      const copy = device.snapshot();
      const at = Math.floor(random() * copy.size);
      copy.image[at] ^= 1 << Math.floor(random() * 8);
      let seen: string;
      try {
        seen = observe(mount(copy));
      } catch (err) {
        // Replays with FUZZ_SEED=seed and the same FUZZ_RUNS.
        if (!(err instanceof StoreError)) throw new Error(`seed ${seed} trial ${trial}: ${err}`);
        outcomes.refused++;
        continue;
      }
      // Damage to the newest record is indistinguishable from a torn write of it.
      if (seen === previous) outcomes.lastWriteTorn++;
      else {
        if (seen !== state)
          throw new Error(`seed ${seed} trial ${trial}: a state never acknowledged`);
        expect(seen).toBe(state);
        outcomes.intact++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.intact).toBeGreaterThan(0);
    expect(outcomes.lastWriteTorn).toBeLessThan(Math.max(10, trials / 30));
  });

  describe('file images', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corrupt-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function image(): string {
      const s = openStore({ dir, imageBytes: 64 * 4096 });
      s.database.replace(content(5, 'v1'));
      s.close();
      return path.join(dir, 'flash.img');
    }

    it('refuses a truncated image', () => {
      const file = image();
      fs.truncateSync(file, fs.statSync(file).size - 4096);
      expect(() => openStore({ dir })).toThrow(/truncated/);
    });

    it('refuses a wrong magic', () => {
      const file = image();
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.from('NOTFLASH'), 0, 8, 0);
      fs.closeSync(fd);
      expect(() => openStore({ dir })).toThrow(/wrong magic/);
    });

    it('refuses a foreign file and leaves it untouched', () => {
      const file = path.join(dir, 'flash.img');
      const foreign = Buffer.from('{"this":"is a JSON file, not flash"}\n');
      fs.writeFileSync(file, foreign);
      expect(() => openStore({ dir })).toThrow(/not a reader-sim flash image/);
      expect(fs.readFileSync(file).equals(foreign)).toBe(true);
    });
  });
});
