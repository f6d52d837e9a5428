import * as fs from 'node:fs';
import { crc32 } from './crc32';
import { StoreError } from './errors';
import { seededRandom } from '../firmware/foundation/random';
import type { ReaderErrorCode } from '../firmware/foundation/errors';
import { PowerCut, tear } from './power-cut';

/** Geometry of the emulated NOR part. */
export interface FlashGeometry {
  /** Program unit: one program never crosses a page. */
  pageSize: number;
  /** Erase unit. */
  sectorSize: number;
  sectorCount: number;
  /** Programs start and end on multiples of this. */
  writeAlign: number;
  /** Erase cycles after which a sector is worn (program/erase fail). */
  endurance: number;
}

/** 64 MiB of 4 KiB sectors and 256 B pages, 100,000 cycles (STORAGE.md). */
export const DEFAULT_GEOMETRY: FlashGeometry = {
  pageSize: 256,
  sectorSize: 4096,
  sectorCount: 16384,
  writeAlign: 4,
  endurance: 100_000,
};

/** Page program and 4 KiB sector erase times of a typical serial NOR part. */
export interface FlashTiming {
  programMs: number;
  eraseMs: number;
  /** Called with the modelled duration of each operation (e.g. to advance a VirtualClock). */
  onBusy?: (ms: number) => void;
}
export const TYPICAL_TIMING: FlashTiming = { programMs: 0.4, eraseMs: 45 };

export interface FlashStats {
  /** Program and erase operations so far (the index space of PowerCut.at). */
  operations: number;
  programs: number;
  erases: number;
  bytesProgrammed: number;
  /** Modelled flash time (0 unless a timing model is on). */
  busyMs: number;
  /** Attempts to program a 0 bit back to 1 (each also threw). */
  violations: number;
}

export interface FlashOperation {
  kind: 'program' | 'erase';
  index: number;
  address: number;
  length: number;
}

/** The hardware the store runs on: strict NOR semantics, see STORAGE.md. */
export interface FlashDevice {
  readonly geometry: FlashGeometry;
  /** Bytes of data (sectorSize * sectorCount). */
  readonly size: number;
  readonly stats: FlashStats;
  readonly powered: boolean;
  /** A copy of length bytes at address. */
  read(address: number, length: number): Buffer;
  /** Reads into a caller's buffer (mount scans the part through one reused buffer). */
  readInto?(address: number, into: Uint8Array): void;
  /**
   * The first `headBytes` of each of `count` sectors from `first`, packed into `into`: mount's
   * header scan, which needs 16 bytes of every sector and nothing else.
   */
  readSectorHeads?(first: number, count: number, headBytes: number, into: Uint8Array): void;
  /** new = old & data; page-bounded, aligned, never 0 -> 1. */
  program(address: number, data: Uint8Array): void;
  /** Sets the whole sector to 0xFF and counts the cycle. */
  erase(sector: number): void;
  /** Whether every cell of the sector reads 0xFF (a NOR part's blank check; reads only). */
  blankCheck(sector: number): boolean;
  eraseCount(sector: number): number;
  /** Everything programmed so far survives a crash of the process (fdatasync). */
  sync(): void;
  /** Arms (or clears) a power cut at an operation index. */
  armPowerCut(cut: PowerCut | undefined): void;
  /** Power returns after a cut: the device accepts operations again. */
  powerOn(): void;
  /** Observer of every operation before it runs (tests count and classify them). */
  onOperation?: (op: FlashOperation) => void;
  close(): void;
}

export class FlashError extends StoreError {
  override readonly name: string = 'FlashError';
  override readonly code: ReaderErrorCode = 'flash_failed';
}
/** Thrown by the operation power failed in, and by every operation until powerOn(). */
export class PowerLossError extends FlashError {
  override readonly name = 'PowerLossError';
  override readonly code = 'power_lost';
}
export class WornSectorError extends FlashError {
  override readonly name = 'WornSectorError';
  override readonly code = 'worn_sector';
}

export function validateGeometry(g: FlashGeometry): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(g.pageSize) || !pow2(g.sectorSize) || !pow2(g.writeAlign)) {
    throw new FlashError('flash geometry: page, sector and write alignment must be powers of two');
  }
  if (g.sectorSize % g.pageSize !== 0 || g.pageSize % g.writeAlign !== 0) {
    throw new FlashError('flash geometry: sector must be whole pages, page whole write units');
  }
  if (
    !Number.isInteger(g.sectorCount) ||
    g.sectorCount < 4 ||
    g.sectorCount * g.sectorSize > 2 ** 31
  ) {
    throw new FlashError('flash geometry: 4 sectors to 2 GiB');
  }
  if (!Number.isInteger(g.endurance) || g.endurance < 1) {
    throw new FlashError('flash geometry: endurance must be a positive integer');
  }
}

const UNKNOWN = 0xffffffff;
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Strict NOR behaviour over a medium (RAM or a file) that only stores bytes. */
abstract class NorFlash implements FlashDevice {
  readonly size: number;
  readonly stats: FlashStats = {
    operations: 0,
    programs: 0,
    erases: 0,
    bytesProgrammed: 0,
    busyMs: 0,
    violations: 0,
  };
  onOperation?: (op: FlashOperation) => void;
  private cut: PowerCut | undefined;
  private isPowered = true;
  /** Per sector: offset from which the cells are known to read 0xFF (saves a read per program). */
  private readonly erasedFrom: Uint32Array;
  private blank: Buffer | undefined;

  protected constructor(
    readonly geometry: FlashGeometry,
    private readonly timing: FlashTiming | undefined,
  ) {
    validateGeometry(geometry);
    this.size = geometry.sectorSize * geometry.sectorCount;
    this.erasedFrom = new Uint32Array(geometry.sectorCount).fill(UNKNOWN);
  }

  get powered(): boolean {
    return this.isPowered;
  }

  protected abstract readCells(address: number, into: Uint8Array): void;
  protected abstract writeCells(address: number, bytes: Uint8Array): void;
  protected abstract storeEraseCount(sector: number, count: number): void;
  abstract eraseCount(sector: number): number;
  abstract sync(): void;
  abstract close(): void;

  read(address: number, length: number): Buffer {
    this.checkPowered();
    if (address < 0 || length < 0 || address + length > this.size) {
      throw new FlashError(`read of ${length} B at ${address} is outside the ${this.size} B part`);
    }
    const out = Buffer.allocUnsafe(length);
    this.readCells(address, out);
    return out;
  }

  readInto(address: number, into: Uint8Array): void {
    this.checkPowered();
    if (address < 0 || address + into.length > this.size) {
      throw new FlashError(
        `read of ${into.length} B at ${address} is outside the ${this.size} B part`,
      );
    }
    this.readCells(address, into);
  }

  readSectorHeads(first: number, count: number, headBytes: number, into: Uint8Array): void {
    this.checkPowered();
    const { sectorSize, sectorCount } = this.geometry;
    if (
      !Number.isInteger(first) ||
      !Number.isInteger(count) ||
      !Number.isInteger(headBytes) ||
      first < 0 ||
      count < 0 ||
      first + count > sectorCount ||
      headBytes < 1 ||
      headBytes > sectorSize
    ) {
      throw new FlashError(`sector heads ${first}..${first + count - 1} are outside the part`);
    }
    if (into.length < count * headBytes) {
      throw new FlashError(`sector heads ${first}..${first + count - 1}: output too small`);
    }
    this.readHeadCells(first, count, headBytes, into);
  }

  /** A read per head; a medium where whole runs of sectors read cheaper does better. */
  protected readHeadCells(first: number, count: number, headBytes: number, into: Uint8Array) {
    const { sectorSize } = this.geometry;
    for (let i = 0; i < count; i++) {
      this.readCells((first + i) * sectorSize, into.subarray(i * headBytes, (i + 1) * headBytes));
    }
  }

  program(address: number, data: Uint8Array): void {
    this.checkPowered();
    const { pageSize, writeAlign, sectorSize } = this.geometry;
    const length = data.length;
    if (length === 0 || address < 0 || address + length > this.size) {
      throw new FlashError(`program of ${length} B at ${address} is outside the part`);
    }
    if (address % writeAlign !== 0 || length % writeAlign !== 0) {
      throw new FlashError(`program at ${address} (${length} B) is not ${writeAlign}-byte aligned`);
    }
    if (Math.floor(address / pageSize) !== Math.floor((address + length - 1) / pageSize)) {
      throw new FlashError(`program at ${address} (${length} B) crosses a page boundary`);
    }
    const sector = Math.floor(address / sectorSize);
    this.checkWear(sector);
    const offset = address - sector * sectorSize;
    let erasedFrom = this.erasedFrom[sector]!;
    if (erasedFrom === UNKNOWN) erasedFrom = this.probeErased(sector);
    let old: Buffer | undefined;
    let target: Uint8Array;
    if (offset >= erasedFrom) {
      // Known erased cells: every bit is 1, so the result is the data itself (the medium
      // copies it). The old cells are only needed when a power cut tears this program.
      if (this.cut?.at === this.stats.operations) old = Buffer.alloc(length, 0xff);
      target = data;
    } else {
      old = Buffer.allocUnsafe(length);
      this.readCells(address, old);
      for (let i = 0; i < length; i++) {
        if (~old[i]! & data[i]! & 0xff) {
          this.stats.violations++;
          throw new FlashError(`program at ${address + i} would turn a 0 bit back to 1`);
        }
      }
      target = Buffer.allocUnsafe(length);
      for (let i = 0; i < length; i++) target[i] = old[i]! & data[i]!;
    }
    this.beginOperation('program', address, length, old, target);
    this.writeCells(address, target);
    this.erasedFrom[sector] = Math.max(erasedFrom, offset + length);
    this.stats.programs++;
    this.stats.bytesProgrammed += length;
    this.spend(this.timing?.programMs);
  }

  erase(sector: number): void {
    this.checkPowered();
    const { sectorSize, sectorCount } = this.geometry;
    if (!Number.isInteger(sector) || sector < 0 || sector >= sectorCount) {
      throw new FlashError(`erase of sector ${sector}: no such sector (0..${sectorCount - 1})`);
    }
    this.checkWear(sector);
    const address = sector * sectorSize;
    const target = Buffer.alloc(sectorSize, 0xff);
    if (this.cut && this.cut.at === this.stats.operations) {
      const old = Buffer.allocUnsafe(sectorSize);
      this.readCells(address, old);
      this.beginOperation('erase', address, sectorSize, old, target);
    } else {
      this.beginOperation('erase', address, sectorSize, undefined, target);
    }
    this.writeCells(address, target);
    this.erasedFrom[sector] = 0;
    this.storeEraseCount(sector, this.eraseCount(sector) + 1);
    this.stats.erases++;
    this.spend(this.timing?.eraseMs);
  }

  blankCheck(sector: number): boolean {
    this.checkPowered();
    const { sectorSize, sectorCount } = this.geometry;
    if (!Number.isInteger(sector) || sector < 0 || sector >= sectorCount) {
      throw new FlashError(`blank check of sector ${sector}: no such sector`);
    }
    // One scratch sector for every check: a full push checks thousands of sectors.
    this.blank ??= Buffer.allocUnsafe(sectorSize);
    this.readCells(sector * sectorSize, this.blank);
    let end = sectorSize;
    while (end > 0 && this.blank[end - 1] === 0xff) end--;
    this.erasedFrom[sector] = end;
    return end === 0;
  }

  armPowerCut(cut: PowerCut | undefined): void {
    this.cut = cut;
  }

  powerOn(): void {
    this.isPowered = true;
    this.cut = undefined;
    this.erasedFrom.fill(UNKNOWN);
  }

  /** Finds where the trailing run of 0xFF cells of a sector starts. */
  private probeErased(sector: number): number {
    const cells = Buffer.allocUnsafe(this.geometry.sectorSize);
    this.readCells(sector * this.geometry.sectorSize, cells);
    let end = cells.length;
    while (end > 0 && cells[end - 1] === 0xff) end--;
    this.erasedFrom[sector] = end;
    return end;
  }

  private checkPowered(): void {
    if (!this.isPowered) throw new PowerLossError('flash is unpowered (power cut); remount');
  }

  /**
   * Wears a sector out now (fault injection): from here on its erases and programs fail with
   * WornSectorError, as they do once its erase count reaches the endurance.
   */
  wearOut(sector: number): void {
    this.storeEraseCount(sector, Math.max(this.eraseCount(sector), this.geometry.endurance));
  }

  private checkWear(sector: number): void {
    const count = this.eraseCount(sector);
    if (count >= this.geometry.endurance) {
      throw new WornSectorError(
        `sector ${sector} is worn out (${count} erase cycles, endurance ${this.geometry.endurance})`,
      );
    }
  }

  /** Counts the operation and, when a cut is armed for it, leaves the torn state and fails. */
  private beginOperation(
    kind: 'program' | 'erase',
    address: number,
    length: number,
    old: Uint8Array | undefined,
    target: Uint8Array,
  ): void {
    const index = this.stats.operations++;
    this.onOperation?.({ kind, index, address, length });
    const cut = this.cut;
    if (!cut || cut.at !== index || !old) return;
    const random = seededRandom(cut.seed ?? index * 2654435761);
    const model = cut.model === 'interrupted-erase' && kind === 'program' ? 'none' : cut.model;
    this.writeCells(address, tear(model, old, target, this.geometry.pageSize, random));
    this.erasedFrom.fill(UNKNOWN);
    this.isPowered = false;
    throw new PowerLossError(`power cut during ${kind} #${index} (${cut.model})`);
  }

  private spend(ms: number | undefined): void {
    if (ms === undefined) return;
    this.stats.busyMs += ms;
    this.timing?.onBusy?.(ms);
  }
}

export interface MemoryFlashOptions {
  geometry?: Partial<FlashGeometry>;
  timing?: FlashTiming;
}

/** An image in RAM: tests, property runs and power-cut sweeps (snapshot() clones it). */
export class MemoryFlash extends NorFlash {
  private readonly cells: Buffer;
  private readonly counts: Uint32Array;

  constructor(options: MemoryFlashOptions = {}) {
    super({ ...DEFAULT_GEOMETRY, ...options.geometry }, options.timing);
    this.cells = Buffer.alloc(this.size, 0xff);
    this.counts = new Uint32Array(this.geometry.sectorCount);
  }

  /** An independent copy of the cells and erase counters (stats start at zero). */
  snapshot(): MemoryFlash {
    const copy = new MemoryFlash({ geometry: this.geometry });
    this.cells.copy(copy.cells);
    copy.counts.set(this.counts);
    return copy;
  }

  /** The raw cells (tests flip bits here to model corruption). */
  get image(): Buffer {
    return this.cells;
  }

  eraseCount(sector: number): number {
    return this.counts[sector] ?? 0;
  }
  protected readCells(address: number, into: Uint8Array): void {
    this.cells.copy(into, 0, address, address + into.length);
  }
  protected writeCells(address: number, bytes: Uint8Array): void {
    this.cells.set(bytes, address);
  }
  protected storeEraseCount(sector: number, count: number): void {
    this.counts[sector] = count;
  }
  sync(): void {}
  close(): void {}
}

/*
 * File image layout: a 4 KiB descriptor (magic, format, geometry, CRC), then the
 * per-sector erase counters (u32 LE, padded to 4 KiB), then the data cells (format 1 as
 * they read, format 2 bit-inverted).
 */
export const IMAGE_MAGIC = 'RSIMNOR1';
/** Format 1: cells stored as they read (a new image is written whole with 0xFF). */
export const IMAGE_FORMAT_PLAIN = 1;
/**
 * Format 2 (new images): each cell stored bit-inverted, so the erased state (0xFF) is a zero
 * byte on disk and a new image is a sparse file that costs nothing until it is programmed.
 */
export const IMAGE_FORMAT_INVERTED = 2;
const DESCRIPTOR_BYTES = 4096;
const RUN_BYTES = 1 << 20;
/** A run buffer starts this small and doubles up to RUN_BYTES as programs need it. */
const FIRST_RUN_BYTES = 16 << 10;
/** Bytes a header scan reads at a time, through one buffer that every image shares. */
const HEAD_SCAN_BYTES = 1 << 20;
/** The shared scan buffer, as bytes and as words. */
let headScan: { bytes: Buffer; words: Int32Array } | undefined;

function headScanBuffer(): { bytes: Buffer; words: Int32Array } {
  if (!headScan) {
    const bytes = Buffer.from(new ArrayBuffer(HEAD_SCAN_BYTES));
    headScan = { bytes, words: new Int32Array(bytes.buffer) };
  }
  return headScan;
}

function countersBytes(sectorCount: number): number {
  return Math.ceil((sectorCount * 4) / DESCRIPTOR_BYTES) * DESCRIPTOR_BYTES;
}

export interface FileFlashOptions extends MemoryFlashOptions {
  /** Create the image when the file does not exist (default true). */
  create?: boolean;
  /** Open without write access (fsck, inspect). */
  readOnly?: boolean;
}

/**
 * An image in a file. Reads are pread (the page cache keeps them fast, and RSS stays small
 * at 256 MiB); consecutive programs are combined into one pwrite; sync() is fdatasync.
 */
export class FileFlash extends NorFlash {
  private fd: number;
  private readonly counts: Uint32Array;
  private readonly dataOffset: number;
  /**
   * Holds cells as they read (not as stored): reads overlay it after decoding the disk.
   * Grown on demand: a fleet's thousand readers mostly write a few small events each.
   */
  private run: Buffer = Buffer.alloc(0);
  private runStart = 0;
  private runLength = 0;
  /** Whether the file stores each cell bit-inverted (format 2). */
  private readonly inverted: boolean;
  /** sync() only writes to the file while held (holdSyncs); owed: written since the last fdatasync. */
  private syncsHeld = false;
  private syncOwed = false;

  private constructor(
    fd: number,
    geometry: FlashGeometry,
    counts: Uint32Array,
    timing: FlashTiming | undefined,
    private readonly readOnly: boolean,
    /** IMAGE_FORMAT_PLAIN or IMAGE_FORMAT_INVERTED: how the file stores the cells. */
    readonly format: number,
  ) {
    super(geometry, timing);
    this.fd = fd;
    this.counts = counts;
    this.dataOffset = DESCRIPTOR_BYTES + countersBytes(geometry.sectorCount);
    this.inverted = format === IMAGE_FORMAT_INVERTED;
  }

  static open(path: string, options: FileFlashOptions = {}): FileFlash {
    if (!fs.existsSync(path)) {
      if (options.create === false || options.readOnly) {
        throw new FlashError(`no flash image at ${path}`);
      }
      return FileFlash.create(path, { ...DEFAULT_GEOMETRY, ...options.geometry }, options.timing);
    }
    const fd = fs.openSync(path, options.readOnly ? 'r' : 'r+');
    try {
      const { geometry, format } = readDescriptor(fd, path);
      const counters = countersBytes(geometry.sectorCount);
      const expected = DESCRIPTOR_BYTES + counters + geometry.sectorCount * geometry.sectorSize;
      const actual = fs.fstatSync(fd).size;
      if (actual !== expected) {
        throw new FlashError(
          `flash image ${path} is truncated or padded: ${actual} bytes, geometry needs ${expected}`,
        );
      }
      // Read straight into the counters where the host order is the file's (little-endian).
      const counts = new Uint32Array(geometry.sectorCount);
      const raw = Buffer.from(counts.buffer);
      fs.readSync(fd, raw, 0, raw.length, DESCRIPTOR_BYTES);
      if (!HOST_LITTLE_ENDIAN) {
        for (let s = 0; s < counts.length; s++) counts[s] = raw.readUInt32LE(s * 4);
      }
      return new FileFlash(fd, geometry, counts, options.timing, options.readOnly ?? false, format);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /**
   * Makes a new image at path unless one is there, off the event loop: what open() would
   * create, so that many images (a fleet's first boot) are made and synced side by side.
   */
  static async prepare(
    path: string,
    options: { geometry?: Partial<FlashGeometry> } = {},
  ): Promise<void> {
    if (fs.existsSync(path)) return;
    const image = newImage({ ...DEFAULT_GEOMETRY, ...options.geometry });
    const tmp = `${path}.new`;
    const file = await fs.promises.open(tmp, 'w+');
    try {
      await file.write(image.descriptor, 0, image.descriptor.length, 0);
      await file.truncate(image.bytes);
      await file.datasync();
    } finally {
      await file.close();
    }
    await fs.promises.rename(tmp, path);
  }

  private static create(path: string, geometry: FlashGeometry, timing?: FlashTiming): FileFlash {
    const image = newImage(geometry);
    const tmp = `${path}.new`;
    const fd = fs.openSync(tmp, 'w+');
    fs.writeSync(fd, image.descriptor, 0, image.descriptor.length, 0);
    fs.ftruncateSync(fd, image.bytes);
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, path);
    return FileFlash.open(path, { timing });
  }

  /**
   * From now on sync() writes everything to the file but leaves the fdatasync to
   * releaseSyncs(), so that many images (a fleet's boot) are synced side by side. An erase
   * still syncs first: what garbage collection copied is durable before its source goes.
   * Only for writes nothing outside can see yet: a store's "durable on return" is suspended.
   */
  holdSyncs(): void {
    if (!this.readOnly) this.syncsHeld = true;
  }

  /** Ends the hold: resolves once everything written so far is durable (fdatasync). */
  releaseSyncs(): Promise<void> {
    if (!this.syncsHeld) return Promise.resolve();
    this.syncsHeld = false;
    if (this.fd < 0) return Promise.resolve();
    // Later syncs are synchronous again: this one need only cover what is written now.
    this.flushRun();
    this.syncOwed = false;
    const fd = this.fd;
    return new Promise((resolve, reject) =>
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())),
    );
  }

  override erase(sector: number): void {
    if (this.syncOwed) this.syncNow();
    super.erase(sector);
  }

  eraseCount(sector: number): number {
    return this.counts[sector] ?? 0;
  }

  protected readCells(address: number, into: Uint8Array): void {
    let done = 0;
    while (done < into.length) {
      const n = fs.readSync(
        this.fd,
        into,
        done,
        into.length - done,
        this.dataOffset + address + done,
      );
      if (n === 0) throw new FlashError(`flash image ended at ${address + done}`);
      done += n;
    }
    if (this.inverted) invertCells(into);
    // Programs not yet written out sit in the run buffer.
    const from = Math.max(address, this.runStart);
    const to = Math.min(address + into.length, this.runStart + this.runLength);
    if (to > from)
      into.set(this.run.subarray(from - this.runStart, to - this.runStart), from - address);
  }

  /**
   * A megabyte of the file per read, as stored. The heads (16 bytes, mount's; other sizes go
   * the plain way) are copied out four words at a time and decoded as they are copied
   * (decoding the whole part cost mount ~0.4 ms per MiB at format 2). Sectors that programs
   * not yet written out touch are read the plain way.
   */
  protected override readHeadCells(
    first: number,
    count: number,
    headBytes: number,
    into: Uint8Array,
  ): void {
    const { sectorSize } = this.geometry;
    if (sectorSize > HEAD_SCAN_BYTES || headBytes !== 16 || into.byteOffset % 4 !== 0) {
      super.readHeadCells(first, count, headBytes, into);
      return;
    }
    const scan = headScanBuffer();
    const perRead = HEAD_SCAN_BYTES / sectorSize;
    const stored = scan.words;
    const heads = new Int32Array(into.buffer, into.byteOffset, count * 4);
    const sectorWords = sectorSize >>> 2;
    const flip = this.inverted ? -1 : 0;
    for (let done = 0; done < count; done += perRead) {
      const n = Math.min(perRead, count - done);
      const bytes = n * sectorSize;
      const start = (first + done) * sectorSize;
      for (let got = 0; got < bytes;) {
        const r = fs.readSync(this.fd, scan.bytes, got, bytes - got, this.dataOffset + start + got);
        if (r === 0) throw new FlashError(`flash image ended at ${start + got}`);
        got += r;
      }
      // Mount's one pass over 65,536 sectors runs mostly before it is optimised: four word
      // loads and stores per sector.
      for (let i = 0; i < n; i++) {
        const from = i * sectorWords;
        const to = (done + i) << 2;
        heads[to] = stored[from]! ^ flip;
        heads[to + 1] = stored[from + 1]! ^ flip;
        heads[to + 2] = stored[from + 2]! ^ flip;
        heads[to + 3] = stored[from + 3]! ^ flip;
      }
    }
    if (this.runLength === 0) return;
    // Programs not yet written out sit in the run buffer, decoded: readCells overlays them.
    const pendingFrom = Math.floor(this.runStart / sectorSize);
    const pendingTo = Math.floor((this.runStart + this.runLength - 1) / sectorSize);
    const last = Math.min(pendingTo, first + count - 1);
    for (let sector = Math.max(pendingFrom, first); sector <= last; sector++) {
      const i = sector - first;
      this.readCells(sector * sectorSize, into.subarray(i * headBytes, (i + 1) * headBytes));
    }
  }

  protected writeCells(address: number, bytes: Uint8Array): void {
    this.assertWritable();
    const end = this.runStart + this.runLength;
    if (this.runLength > 0 && address >= this.runStart && address + bytes.length <= end) {
      this.run.set(bytes, address - this.runStart);
      return;
    }
    if (this.runLength > 0 && address === end && this.runLength + bytes.length <= RUN_BYTES) {
      this.reserveRun(this.runLength + bytes.length);
      this.run.set(bytes, this.runLength);
      this.runLength += bytes.length;
      return;
    }
    this.flushRun();
    if (bytes.length > RUN_BYTES) {
      const stored = this.inverted ? invertCells(Buffer.from(bytes)) : bytes;
      fs.writeSync(this.fd, stored, 0, stored.length, this.dataOffset + address);
      return;
    }
    this.runStart = address;
    this.reserveRun(bytes.length);
    this.run.set(bytes, 0);
    this.runLength = bytes.length;
  }

  protected storeEraseCount(sector: number, count: number): void {
    this.assertWritable();
    this.counts[sector] = count;
    const raw = Buffer.allocUnsafe(4);
    raw.writeUInt32LE(count, 0);
    fs.writeSync(this.fd, raw, 0, 4, DESCRIPTOR_BYTES + sector * 4);
  }

  sync(): void {
    if (this.readOnly) return;
    if (this.syncsHeld) {
      this.flushRun();
      this.syncOwed = true;
      return;
    }
    this.syncNow();
  }

  private syncNow(): void {
    this.flushRun();
    fs.fdatasyncSync(this.fd);
    this.syncOwed = false;
  }

  close(): void {
    if (this.fd < 0) return;
    if (!this.readOnly) this.flushRun();
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Room for `bytes` (at most RUN_BYTES) in the run buffer, keeping what it holds. */
  private reserveRun(bytes: number): void {
    if (bytes <= this.run.length) return;
    let size = Math.max(FIRST_RUN_BYTES, this.run.length);
    while (size < bytes) size *= 2;
    const grown = Buffer.allocUnsafe(Math.min(size, RUN_BYTES));
    this.run.copy(grown, 0, 0, this.runLength);
    this.run = grown;
  }

  private flushRun(): void {
    if (this.runLength === 0) return;
    // The run is dropped once written: it is encoded for the disk in place.
    if (this.inverted) invertCells(this.run.subarray(0, this.runLength));
    fs.writeSync(this.fd, this.run, 0, this.runLength, this.dataOffset + this.runStart);
    this.runLength = 0;
  }

  private assertWritable(): void {
    if (this.readOnly) throw new FlashError('flash image is open read-only');
  }
}

/** A new format 2 image: its descriptor, and its length (the rest reads as zero bytes). */
function newImage(geometry: FlashGeometry): { descriptor: Buffer; bytes: number } {
  validateGeometry(geometry);
  const descriptor = Buffer.alloc(DESCRIPTOR_BYTES, 0);
  descriptor.write(IMAGE_MAGIC, 0, 'latin1');
  const fields = [
    IMAGE_FORMAT_INVERTED,
    geometry.pageSize,
    geometry.sectorSize,
    geometry.sectorCount,
    geometry.writeAlign,
    geometry.endurance,
  ];
  fields.forEach((v, i) => descriptor.writeUInt32LE(v, 8 + i * 4));
  descriptor.writeUInt32LE(crc32(descriptor, 0, 32), 32);
  // Zero erase counters, and fresh NOR that reads erased: both are zero bytes in format 2,
  // so the file is extended without writing them (a hole where the filesystem allows).
  const bytes =
    DESCRIPTOR_BYTES +
    countersBytes(geometry.sectorCount) +
    geometry.sectorCount * geometry.sectorSize;
  return { descriptor, bytes };
}

/** Flips every bit in place (format 2's cell encoding: its own inverse); returns the buffer. */
function invertCells<T extends Uint8Array>(cells: T): T {
  const length = cells.length;
  let i = 0;
  if (cells.byteOffset % 4 === 0) {
    const words = new Int32Array(cells.buffer, cells.byteOffset, length >>> 2);
    const n = words.length;
    let w = 0;
    // Four words a step: mount inverts ~80 MB at 1M, much of it before this is optimised.
    for (; w + 4 <= n; w += 4) {
      words[w] = ~words[w]!;
      words[w + 1] = ~words[w + 1]!;
      words[w + 2] = ~words[w + 2]!;
      words[w + 3] = ~words[w + 3]!;
    }
    for (; w < n; w++) words[w] = ~words[w]!;
    i = n * 4;
  }
  for (; i < length; i++) cells[i] = ~cells[i]!;
  return cells;
}

function readDescriptor(fd: number, path: string): { geometry: FlashGeometry; format: number } {
  const d = Buffer.alloc(64);
  const n = fs.readSync(fd, d, 0, 64, 0);
  if (n < 36 || d.toString('latin1', 0, 8) !== IMAGE_MAGIC) {
    throw new FlashError(`${path} is not a reader-sim flash image (wrong magic)`);
  }
  if (d.readUInt32LE(32) !== crc32(d, 0, 32)) {
    throw new FlashError(`${path}: flash image descriptor is damaged (CRC mismatch)`);
  }
  const format = d.readUInt32LE(8);
  if (format !== IMAGE_FORMAT_PLAIN && format !== IMAGE_FORMAT_INVERTED) {
    throw new FlashError(
      `${path}: flash image format ${format} is not supported (want ${IMAGE_FORMAT_PLAIN} or ${IMAGE_FORMAT_INVERTED})`,
    );
  }
  const geometry: FlashGeometry = {
    pageSize: d.readUInt32LE(12),
    sectorSize: d.readUInt32LE(16),
    sectorCount: d.readUInt32LE(20),
    writeAlign: d.readUInt32LE(24),
    endurance: d.readUInt32LE(28),
  };
  validateGeometry(geometry);
  return { geometry, format };
}
