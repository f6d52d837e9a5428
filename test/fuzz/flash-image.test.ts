/**
 * Fuzzing flash images beyond bit flips: truncated write-outs, sectors swapped, duplicated or
 * erased in the middle, garbage sector headers, runs of random bytes, zeroed runs, and a few
 * of these at once, on images taken after every step of the representative workload
 * (test/storage/workload.ts). For each damaged image:
 * - openStore either mounts a state that is exactly one of the acknowledged states (the
 *   state after some step: damage to the newest records looks like a torn write of them) and
 *   keeps working, or refuses with a StoreError, never another exception type;
 * - a refusal leaves the image exactly as it was (cells and erase counters);
 * - fsck (examineDevice, what `reader-sim flash fsck` runs) never throws, never writes, and
 *   reports problems exactly when openStore refuses.
 * File images add a damaged descriptor, wrong sizes and garbage erase counters.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { MemoryFlash, StoreError, openStore } from '../../storage';
import { examineDevice, examineImage, type ImageReport } from '../../storage/fsck';
import {
  SMALL_GEOMETRY,
  mount,
  observe,
  representativeWorkload,
  smallDevice,
} from '../storage/workload';
import { fuzzParams, fuzzTimeout } from './params';

jest.setTimeout(fuzzTimeout(60_000));

const SECTOR = SMALL_GEOMETRY.sectorSize;
const SECTORS = SMALL_GEOMETRY.sectorCount;

/** The image after each workload step, and every state the store acknowledged on the way. */
function history(): { images: MemoryFlash[]; acknowledged: Set<string> } {
  const device = smallDevice();
  const store = mount(device);
  const images = [device.snapshot()];
  const acknowledged = new Set([observe(store)]);
  for (const step of representativeWorkload()) {
    step.run(store);
    images.push(device.snapshot());
    acknowledged.add(observe(store));
  }
  return { images, acknowledged };
}

type Damage =
  | { kind: 'truncate'; at: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'duplicate'; from: number; to: number }
  | { kind: 'erase'; sector: number }
  | { kind: 'header'; sector: number; bytes: Uint8Array }
  | { kind: 'random'; at: number; bytes: Uint8Array }
  | { kind: 'zero'; at: number; length: number };

const sector = fc.integer({ min: 0, max: SECTORS - 1 });
const offset = fc.integer({ min: 0, max: SECTORS * SECTOR - 1 });
const damage: fc.Arbitrary<Damage> = fc.oneof(
  // A write-out that stopped: everything from `at` on reads erased.
  fc.record({ kind: fc.constant('truncate' as const), at: offset }),
  fc.record({ kind: fc.constant('swap' as const), a: sector, b: sector }),
  fc.record({ kind: fc.constant('duplicate' as const), from: sector, to: sector }),
  fc.record({ kind: fc.constant('erase' as const), sector }),
  fc.record({
    kind: fc.constant('header' as const),
    sector,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('random' as const),
    at: offset,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }),
  }),
  fc.record({
    kind: fc.constant('zero' as const),
    at: offset,
    length: fc.integer({ min: 1, max: 64 }),
  }),
);

function apply(image: Buffer, d: Damage): void {
  const at = (s: number) => s * SECTOR;
  switch (d.kind) {
    case 'truncate':
      image.fill(0xff, d.at);
      break;
    case 'swap': {
      const a = Buffer.from(image.subarray(at(d.a), at(d.a) + SECTOR));
      image.copy(image, at(d.a), at(d.b), at(d.b) + SECTOR);
      a.copy(image, at(d.b));
      break;
    }
    case 'duplicate':
      image.copy(image, at(d.to), at(d.from), at(d.from) + SECTOR);
      break;
    case 'erase':
      image.fill(0xff, at(d.sector), at(d.sector) + SECTOR);
      break;
    case 'header':
      image.set(d.bytes, at(d.sector));
      break;
    case 'random':
      image.set(d.bytes.subarray(0, image.length - d.at), d.at);
      break;
    case 'zero':
      image.fill(0, d.at, Math.min(image.length, d.at + d.length));
      break;
  }
}

function erasures(device: MemoryFlash): number[] {
  return Array.from({ length: SECTORS }, (_, s) => device.eraseCount(s));
}

type Outcome = 'mounted' | 'refused';

/** Mounts a copy; checks the outcome against the acknowledged states and fsck. */
function check(damaged: MemoryFlash, acknowledged: Set<string>): Outcome {
  const before = Buffer.from(damaged.image);
  const wearBefore = erasures(damaged);

  const inspected = damaged.snapshot();
  const report: ImageReport = { image: 'memory', repairs: [], problems: [] };
  examineDevice(inspected, report); // must not throw
  expect(inspected.image.equals(before)).toBe(true); // fsck never writes
  expect(erasures(inspected)).toEqual(wearBefore);

  let store;
  let seen: string;
  try {
    store = mount(damaged);
    // What mount does not read (the sectors before a snapshot) is checked when first read:
    // damage there refuses that read, still changing nothing.
    seen = observe(store);
  } catch (err) {
    if (!(err instanceof StoreError)) throw err; // a TypeError or RangeError is a finding
    expect(err.message.length).toBeGreaterThan(0);
    expect(damaged.image.equals(before)).toBe(true); // a refusal changes nothing
    expect(erasures(damaged)).toEqual(wearBefore);
    expect(report.problems).not.toEqual([]);
    return 'refused';
  }
  expect(acknowledged.has(seen)).toBe(true);
  // The mounted store keeps working: a new event is logged and reads back after a remount.
  // Damage only in records the state no longer needs (fsck names it at once) is met when a
  // collection reaches its sector: that write is refused with a StoreError, changing nothing.
  const latent = report.problems.length > 0;
  const settled = Buffer.from(damaged.image);
  try {
    store.events.append({ ts: 123_456, type: 'system', detail: { fuzz: true } });
  } catch (err) {
    if (!(err instanceof StoreError) || !latent) throw err;
    expect(damaged.image.equals(settled)).toBe(true);
    return 'mounted';
  }
  const seq = store.events.stats().lastSeq;
  store.close();
  const again = mount(damaged);
  expect(again.events.list(seq - 1, 1)[0]).toMatchObject({ seq, detail: { fuzz: true } });
  return 'mounted';
}

describe('fuzzing flash images', () => {
  const { images, acknowledged } = history();

  it('mounts exactly an acknowledged state or refuses with a StoreError (at mount or at the first read of damaged bytes), changing nothing', () => {
    const outcomes: Record<Outcome, number> = { mounted: 0, refused: 0 };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: images.length - 1 }),
        fc.array(damage, { minLength: 1, maxLength: 3 }),
        (step, damages) => {
          const copy = images[step]!.snapshot();
          for (const d of damages) apply(copy.image, d);
          outcomes[check(copy, acknowledged)]++;
        },
      ),
      fuzzParams(300, { seed: 4242 }),
    );
    // Both outcomes happen: the damage is not all harmless, nor all fatal.
    expect(outcomes.mounted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('random images (not a store at all) are refused or mount empty, never a crash', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: SECTOR, maxLength: SECTOR }),
        fc.array(fc.integer({ min: 0, max: SECTORS - 1 }), { maxLength: SECTORS }),
        (pattern, sectors) => {
          const device = smallDevice();
          for (const s of sectors) device.image.set(pattern, s * SECTOR);
          const empty = new Set([observe(mount(smallDevice()))]);
          check(device, empty);
        },
      ),
      fuzzParams(100, { seed: 4243 }),
    );
  });
});

describe('fuzzing flash image files', () => {
  let dir: string;
  let good: Buffer;
  const FILE_SECTORS = 16;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-image-'));
    const store = openStore({ dir, imageBytes: FILE_SECTORS * 4096 });
    for (const step of representativeWorkload().slice(0, 30)) step.run(store);
    store.close();
    good = fs.readFileSync(path.join(dir, 'flash.img'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  type FileDamage =
    | { kind: 'truncate'; length: number }
    | { kind: 'pad'; bytes: Uint8Array }
    | { kind: 'stomp'; at: number; bytes: Uint8Array };
  const headerEnd = 4096 + 4096; // descriptor, then the erase counters
  const fileDamage: fc.Arbitrary<FileDamage> = fc.oneof(
    fc.record({
      kind: fc.constant('truncate' as const),
      length: fc.integer({ min: 0, max: 4096 * (FILE_SECTORS + 2) - 1 }),
    }),
    fc.record({ kind: fc.constant('pad' as const), bytes: fc.uint8Array({ minLength: 1 }) }),
    // Garbage in the descriptor or the erase counters.
    fc.record({
      kind: fc.constant('stomp' as const),
      at: fc.integer({ min: 0, max: headerEnd - 1 }),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
  );

  it('openStore and fsck refuse a damaged file clearly and leave it untouched, or mount it', () => {
    let refused = 0;
    fc.assert(
      fc.property(fileDamage, (d) => {
        let bytes = Buffer.from(good);
        if (d.kind === 'truncate') bytes = bytes.subarray(0, d.length);
        if (d.kind === 'pad') bytes = Buffer.concat([bytes, d.bytes]);
        if (d.kind === 'stomp') bytes.set(d.bytes.subarray(0, bytes.length - d.at), d.at);
        const caseDir = fs.mkdtempSync(path.join(dir, 'case-'));
        const file = path.join(caseDir, 'flash.img');
        fs.writeFileSync(file, bytes);
        try {
          const report = examineImage(caseDir); // never throws
          expect(fs.readFileSync(file).equals(bytes)).toBe(true);
          let store;
          try {
            store = openStore({ dir: caseDir });
          } catch (err) {
            if (!(err instanceof StoreError)) throw err;
            expect(fs.readFileSync(file).equals(bytes)).toBe(true);
            expect(report.problems).not.toEqual([]);
            refused++;
            return;
          }
          // Only harmless damage mounts (e.g. erase counters changed): the same state.
          store.close();
          expect(report.problems.filter((p) => !/worn/.test(p))).toEqual([]);
        } finally {
          fs.rmSync(caseDir, { recursive: true, force: true });
        }
      }),
      fuzzParams(60, { seed: 4244 }),
    );
    expect(refused).toBeGreaterThan(0);
  });
});
