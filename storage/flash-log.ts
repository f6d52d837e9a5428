import { CorruptImageError, StoreError, StoreFullError } from './errors';
import { FlashDevice } from './flash-device';
import {
  FLAG_COMMIT,
  FLAG_RESYNC,
  NO_PREVIOUS,
  RECORD_HEADER_BYTES,
  RecordHeader,
  RecordType,
  SECTOR_HEADER_BYTES,
  SELF_COMMITTED,
  encodeSectorHeader,
  paddedLength,
  parseSectorHeader,
  writeRecordHeader,
} from './record';
import { SectorWalk, erasedFrom, walkSector } from './sector-walk';

/**
 * A record as the log hands it to its owner. The payload lies at cells[at, at + length);
 * `payload` makes a view only when asked (mount replays a million records without one).
 * Valid during the call only: detach() copies it.
 */
export class LogRecord {
  private view: Buffer | undefined;
  constructor(
    public type: number,
    public flags: number,
    public txn: number,
    public address: number,
    public total: number,
    public length: number,
    public cells: Buffer,
    public at: number,
  ) {}

  /** Points this record at another one (mount reuses one record for a million). */
  reset(
    type: number,
    flags: number,
    txn: number,
    address: number,
    length: number,
    cells: Buffer,
    at: number,
  ): this {
    this.type = type;
    this.flags = flags;
    this.txn = txn;
    this.address = address;
    this.total = paddedLength(length);
    this.length = length;
    this.cells = cells;
    this.at = at;
    this.view = undefined;
    return this;
  }

  static of(type: number, flags: number, txn: number, address: number, payload: Buffer): LogRecord {
    return new LogRecord(
      type,
      flags,
      txn,
      address,
      paddedLength(payload.length),
      payload.length,
      payload,
      0,
    );
  }

  get payload(): Buffer {
    this.view ??= this.cells.subarray(this.at, this.at + this.length);
    return this.view;
  }

  detach(): LogRecord {
    return LogRecord.of(this.type, this.flags, this.txn, this.address, Buffer.from(this.payload));
  }
}

/** The layer above (the typed stores): replays records and says which are still needed. */
export interface LogOwner {
  replay(record: LogRecord): void;
  commit(txn: number): void;
  abort(txn: number): void;
  isLive(record: LogRecord): boolean;
  moved(record: LogRecord, to: number): void;
}

/**
 * Erased sectors kept in reserve: enough to redo an interrupted garbage collection, and to
 * collect through a long run of fully live sectors (each copy costs a little more than a
 * sector: log tails and the slack of records that do not split) before reaching dead space.
 */
export function reserveSectors(sectorCount: number): number {
  return Math.max(3, Math.ceil(sectorCount / 64));
}

type SectorState = 'erased' | 'used' | 'dirty';

const NO_HEADER = Buffer.alloc(0);
/** Erased sectors checked by one read when the log opens the first of them. */
const VERIFY_RUN = 64;

/** A problem mount found and repaired (or, for fsck, would repair). */
export interface MountNote {
  sector: number;
  message: string;
}

export interface MountReport {
  notes: MountNote[];
  recordsReplayed: number;
  sectorsScanned: number;
}

/**
 * The log-structured store: sectors opened in sequence, records appended with a commit
 * header, transactions, garbage collection of the oldest sector, mount and recovery.
 * See README.md for the format and invariants.
 */
export class FlashLog {
  readonly sectorSize: number;
  readonly sectorCount: number;
  /** Live bytes per sector (records the owner still needs). */
  readonly live: Uint32Array;
  private readonly state: SectorState[];
  private readonly seqOf: Float64Array;
  /** Sectors whose header reads erased but whose body was not checked yet. */
  private readonly unverified: Uint8Array;
  /**
   * The cells of sectors read so far, kept in step with every program and erase: a lookup
   * reads its record from RAM instead of a pread (a few microseconds each on a file image).
   */
  private readonly cells: Array<Buffer | undefined>;
  /** Where place() assembles a record before programming it. */
  private readonly scratch: Buffer;
  /** Sectors in use, oldest first. */
  private order: number[] = [];
  private erased = 0;
  private liveTotal = 0;
  private readonly reserve: number;
  private head = -1;
  private headOffset = SECTOR_HEADER_BYTES;
  private headValidEnd = SECTOR_HEADER_BYTES;
  private nextSeq = 1;
  private lowSeq = 1;
  private nextTxn = 1;
  /** Sector being erased by collection (-1 when none): every log tail written says so. */
  private erasing = -1;
  private tailAddress = -1;
  private tailTotal = 0;
  private resync = false;
  private openTxn: { txn: number; fromSeq: number } | undefined;
  private collecting = false;
  private owner: LogOwner | undefined;

  constructor(readonly device: FlashDevice) {
    this.sectorSize = device.geometry.sectorSize;
    this.sectorCount = device.geometry.sectorCount;
    this.live = new Uint32Array(this.sectorCount);
    this.reserve = reserveSectors(this.sectorCount);
    this.state = new Array<SectorState>(this.sectorCount).fill('erased');
    this.seqOf = new Float64Array(this.sectorCount);
    this.unverified = new Uint8Array(this.sectorCount);
    this.cells = new Array<Buffer | undefined>(this.sectorCount);
    this.scratch = Buffer.allocUnsafe(this.sectorSize);
    if (this.sectorCount <= this.reserve + 1) {
      throw new StoreError(`a store needs more than ${this.reserve + 1} sectors`);
    }
  }

  // ---- mount ---------------------------------------------------------------------------

  /** Scans the image, replays committed records into owner, repairs interrupted work. */
  mount(owner: LogOwner, options: { repair: boolean } = { repair: true }): MountReport {
    this.owner = owner;
    const notes: MountNote[] = [];
    const headers = this.readSectorHeaders(notes);
    const tail = this.findTail(headers);
    this.lowSeq = tail?.lowSeq ?? (headers.length ? headers[0]!.seq : 1);
    const erasing = tail?.erasing ?? -1;

    // Sectors below the tail's lowSeq were collected; at most the one being erased may remain.
    const inRange = headers.filter((h) => h.seq >= this.lowSeq);
    for (const h of headers) {
      if (h.seq >= this.lowSeq) continue;
      if (h.sector !== erasing) {
        throw new CorruptImageError(
          `sector ${h.sector} holds sequence ${h.seq}, older than the log tail (${this.lowSeq}) ` +
            'and not the sector being collected: the image was altered',
        );
      }
      this.state[h.sector] = 'dirty';
      notes.push({
        sector: h.sector,
        message: 'collected sector not yet erased (erase finished now)',
      });
    }
    for (let s = 0; s < this.sectorCount; s++) {
      if (this.state[s] === 'dirty' && s !== erasing && this.dirtyHasData(s)) {
        throw new CorruptImageError(
          `sector ${s} has no valid header but holds data: sector header damaged, records would be lost`,
        );
      }
    }
    inRange.forEach((h, i) => {
      if (h.seq !== this.lowSeq + i) {
        throw new CorruptImageError(
          `sector sequence ${this.lowSeq + i} is missing (next found: ${h.seq} in sector ${h.sector}): ` +
            'a sector header is damaged',
        );
      }
    });

    const report = this.replayAll(inRange, owner, notes);
    if (options.repair) this.repair(notes);
    return report;
  }

  /**
   * Reads the 16-byte header of every sector. A sector whose header reads erased is taken
   * as erased and verified (erased again if need be) only when it is opened: reading the
   * whole part at every mount would cost more than the rest of mount.
   */
  private readSectorHeaders(
    notes: MountNote[],
  ): Array<{ sector: number; seq: number; prevEnd: number }> {
    const found: Array<{ sector: number; seq: number; prevEnd: number }> = [];
    this.erased = 0;
    for (let s = 0; s < this.sectorCount; s++) {
      const cells = this.device.read(s * this.sectorSize, SECTOR_HEADER_BYTES);
      const header = parseSectorHeader(cells, 0);
      if (header) {
        this.state[s] = 'used';
        this.seqOf[s] = header.seq;
        found.push({ sector: s, seq: header.seq, prevEnd: header.prevEnd });
      } else if (erasedFrom(cells, 0, SECTOR_HEADER_BYTES)) {
        this.state[s] = 'erased';
        this.unverified[s] = 1;
        this.erased++;
      } else {
        this.state[s] = 'dirty';
        notes.push({
          sector: s,
          message: 'no valid sector header and not erased (torn erase or open)',
        });
      }
    }
    found.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < found.length; i++) {
      if (found[i]!.seq === found[i - 1]!.seq) {
        throw new CorruptImageError(
          `sectors ${found[i - 1]!.sector} and ${found[i]!.sector} both claim sequence ${found[i]!.seq}`,
        );
      }
    }
    return found;
  }

  /** The newest log-tail record: every sector starts with one, so this looks at one or two sectors. */
  private findTail(
    headers: Array<{ sector: number; seq: number }>,
  ): { lowSeq: number; erasing: number } | undefined {
    for (let i = headers.length - 1; i >= 0; i--) {
      const cells = this.readSector(headers[i]!.sector);
      let tail: { lowSeq: number; erasing: number } | undefined;
      walkSector(cells, (offset, header) => {
        if (header.type !== RecordType.Tail) return;
        const p = offset + RECORD_HEADER_BYTES;
        tail = { lowSeq: cells.readUInt32LE(p), erasing: cells.readInt32LE(p + 4) };
      });
      if (tail) return tail;
    }
    return undefined;
  }

  private dirtyHasData(sector: number): boolean {
    const cells = this.readSector(sector);
    return !erasedFrom(cells, SECTOR_HEADER_BYTES, this.sectorSize);
  }

  private replayAll(
    inRange: Array<{ sector: number; seq: number; prevEnd: number }>,
    owner: LogOwner,
    notes: MountNote[],
  ): MountReport {
    let pending = -1;
    let maxTxn = 0;
    let records = 0;
    let previousEnd = -1;
    let walk: SectorWalk | undefined;
    this.order = [];
    const chunks = this.chunkReader(inRange.map((h) => h.sector));
    for (let i = 0; i < inRange.length; i++) {
      const { sector, prevEnd } = inRange[i]!;
      if (i > 0 && prevEnd !== previousEnd) {
        throw new CorruptImageError(
          `sector ${inRange[i - 1]!.sector}: valid records end at ${previousEnd}, but the next sector ` +
            `recorded ${prevEnd === NO_PREVIOUS ? 'no predecessor' : prevEnd}: records were damaged`,
        );
      }
      walk = this.walkRecords(sector, chunks.sector(i), (record, header) => {
        records++;
        if (header.type === RecordType.Tail) {
          this.adoptTail(record.address, record.total);
          return;
        }
        if (header.txn === SELF_COMMITTED) {
          owner.replay(record);
          return;
        }
        maxTxn = Math.max(maxTxn, header.txn);
        if (pending !== -1 && header.txn !== pending) owner.abort(pending);
        pending = header.txn;
        owner.replay(record);
        if (header.flags & FLAG_COMMIT) {
          owner.commit(pending);
          pending = -1;
        }
      });
      if (walk.damage) throw new CorruptImageError(`sector ${sector}: ${walk.damage}`);
      if (walk.garbage.length) {
        notes.push({ sector, message: `torn write at offset ${walk.garbage[0]![0]} (ignored)` });
      }
      previousEnd = walk.end;
      this.order.push(sector);
    }
    if (pending !== -1) {
      owner.abort(pending);
      notes.push({
        sector: this.order[this.order.length - 1] ?? -1,
        message: 'uncommitted transaction discarded',
      });
    }
    this.nextTxn = maxTxn + 1;
    this.nextSeq = inRange.length ? inRange[inRange.length - 1]!.seq + 1 : this.lowSeq;
    if (walk && this.order.length) {
      this.head = this.order[this.order.length - 1]!;
      this.headValidEnd = walk.end;
      // Never reuse bytes that are not 0xFF: resume past any torn bytes, on a page boundary.
      const page = this.device.geometry.pageSize;
      this.headOffset =
        walk.dirtyEnd > walk.end ? Math.ceil(walk.dirtyEnd / page) * page : walk.end;
      this.resync = walk.dirtyEnd > walk.end;
    } else {
      this.head = -1;
    }
    return { notes, recordsReplayed: records, sectorsScanned: inRange.length };
  }

  /** Finishes what a power cut interrupted: erases collected or torn sectors, restores the reserve. */
  private repair(notes: MountNote[]): void {
    for (let s = 0; s < this.sectorCount; s++) {
      if (this.state[s] !== 'dirty') continue;
      this.erase(s);
      this.device.sync();
      this.unverified[s] = 0;
      this.state[s] = 'erased';
      this.erased++;
    }
    let attempts = 0;
    while (this.erased < this.reserve && this.order.length > 1 && attempts++ < this.order.length) {
      notes.push({ sector: this.order[0]!, message: 'garbage collection redone' });
      try {
        this.collectOldest();
      } catch (err) {
        // A full flash still mounts (reads work); writes report StoreFullError.
        if (err instanceof StoreFullError) break;
        throw err;
      }
    }
  }

  // ---- writing -------------------------------------------------------------------------

  /** Starts a transaction: records appended until commit() apply together or not at all. */
  begin(): number {
    if (this.openTxn) throw new StoreError('a transaction is already open');
    const txn = this.nextTxn;
    this.nextTxn = this.nextTxn >= 0xfffffffe ? 1 : this.nextTxn + 1;
    this.openTxn = { txn, fromSeq: this.head >= 0 ? this.seqOf[this.head]! : this.nextSeq };
    return txn;
  }

  /** Appends a record of the open transaction (not yet committed); returns its address. */
  append(type: number, payload: Uint8Array): number {
    const txn = this.requireTxn();
    return this.place(txn, type, 0, payload, false).address;
  }

  /** Appends the commit record, programs its header last and syncs: durable on return. */
  commit(type: number, payload: Uint8Array): number {
    const txn = this.requireTxn();
    const { address, header } = this.place(txn, type, FLAG_COMMIT, payload, true);
    this.programSpan(address, header);
    this.device.sync();
    this.openTxn = undefined;
    return address;
  }

  /** Drops the open transaction (its records stay on flash as dead, uncommitted bytes). */
  abort(): void {
    if (!this.openTxn) return;
    const { txn } = this.openTxn;
    this.openTxn = undefined;
    this.owner?.abort(txn);
  }

  get transactionOpen(): boolean {
    return this.openTxn !== undefined;
  }

  /** Marks bytes at address as needed (they count as live for garbage collection). */
  adopt(address: number, total: number): void {
    this.live[Math.floor(address / this.sectorSize)]! += total;
    this.liveTotal += total;
  }

  /** Marks bytes at address as no longer needed. */
  retire(address: number, total: number): void {
    const s = Math.floor(address / this.sectorSize);
    const gone = Math.min(this.live[s]!, total);
    this.live[s] = this.live[s]! - gone;
    this.liveTotal -= gone;
  }

  /** A record's payload, a view of the cells in RAM: valid until the sector is collected. */
  readPayload(address: number, length: number): Buffer {
    const at = this.payloadOffset(address);
    return this.cellsOf(address).subarray(at, at + length);
  }

  /** The cells of the sector holding the record at address (lookups read them in place). */
  cellsOf(address: number): Buffer {
    return this.readSector(Math.floor(address / this.sectorSize));
  }

  /** Where the payload of the record at address starts within cellsOf(address). */
  payloadOffset(address: number): number {
    return (address % this.sectorSize) + RECORD_HEADER_BYTES;
  }

  private requireTxn(): number {
    if (!this.openTxn) throw new StoreError('no transaction is open');
    return this.openTxn.txn;
  }

  /**
   * Programs one record at the head: one program per page it touches, so a torn program
   * damages only the record in flight and nothing valid ever follows torn bytes in a
   * sector (sector-walk relies on that). A deferred header is programmed by the caller
   * after the payload: the commit point.
   */
  private place(
    txn: number,
    type: number,
    flags: number,
    payload: Uint8Array,
    deferHeader: boolean,
  ): { address: number; header: Buffer } {
    const total = paddedLength(payload.length);
    if (
      total > this.sectorSize - SECTOR_HEADER_BYTES - paddedLength(8) ||
      payload.length > 0xffff
    ) {
      throw new StoreError(
        `record of ${payload.length} B does not fit in a ${this.sectorSize} B sector`,
      );
    }
    this.ensureRoom(total);
    const address = this.head * this.sectorSize + this.headOffset;
    const flagged = flags | (this.resync ? FLAG_RESYNC : 0);
    // Header and payload go through one scratch buffer: no allocation per record.
    const bytes = this.scratch;
    writeRecordHeader(bytes, 0, type, flagged, txn, payload);
    bytes.set(payload, RECORD_HEADER_BYTES);
    const end = RECORD_HEADER_BYTES + ((payload.length + 3) & ~3);
    bytes.fill(0xff, RECORD_HEADER_BYTES + payload.length, end);
    let header = NO_HEADER;
    if (deferHeader) {
      header = Buffer.from(bytes.subarray(0, RECORD_HEADER_BYTES));
      if (end > RECORD_HEADER_BYTES) {
        this.programSpan(address + RECORD_HEADER_BYTES, bytes.subarray(RECORD_HEADER_BYTES, end));
      }
    } else {
      this.programSpan(address, bytes.subarray(0, end));
    }
    this.resync = false;
    this.headOffset += total;
    this.headValidEnd = this.headOffset;
    return { address, header };
  }

  /** Makes room for `total` bytes in the head: a new sector, collecting the oldest first to keep the reserve. */
  private ensureRoom(total: number): void {
    const fits = () => this.head >= 0 && this.headOffset + total <= this.sectorSize;
    if (fits()) return;
    if (!this.collecting) {
      // Collecting cannot help when nearly everything written is still live: say so before
      // rewriting the whole part in vain.
      if (this.erased - 1 < this.reserve && this.deadBytes() < total + 2 * this.sectorSize) {
        throw new StoreFullError(
          `flash is full: ${this.liveTotal} B live, ${this.deadBytes()} B reclaimable, ${total} B needed`,
        );
      }
      let attempts = 0;
      while (this.erased - 1 < this.reserve) {
        if (++attempts > this.order.length + 1) {
          throw new StoreFullError('flash is full: no sector can be reclaimed');
        }
        this.collectOldest();
      }
      // Collection may have left the head in a fresh sector that has room.
      if (fits()) return;
    }
    this.openSector();
  }

  private programSpan(address: number, bytes: Buffer): void {
    const page = this.device.geometry.pageSize;
    if ((address % page) + bytes.length <= page) {
      this.program(address, bytes);
      return;
    }
    let at = 0;
    while (at < bytes.length) {
      const end = Math.min(bytes.length, (Math.floor((address + at) / page) + 1) * page - address);
      this.program(address + at, bytes.subarray(at, end));
      at = end;
    }
  }

  /** One device program, mirrored in the cached cells (only erased cells are programmed). */
  private program(address: number, bytes: Uint8Array): void {
    this.device.program(address, bytes);
    const sector = Math.floor(address / this.sectorSize);
    this.cells[sector]?.set(bytes, address - sector * this.sectorSize);
  }

  private erase(sector: number): void {
    this.cells[sector] = undefined;
    this.device.erase(sector);
  }

  /** Opens the next erased sector as head and starts it with the log tail. */
  private openSector(): void {
    const next = this.nextErasedSector();
    if (next >= 0 && this.unverified[next]) this.verifyErased(next);
    if (next < 0) throw new StoreFullError('flash is full: no erased sector left');
    const prevEnd = this.head >= 0 ? this.headValidEnd : NO_PREVIOUS;
    const seq = this.nextSeq++;
    this.program(next * this.sectorSize, encodeSectorHeader({ seq, prevEnd }));
    this.state[next] = 'used';
    this.seqOf[next] = seq;
    this.erased--;
    this.order.push(next);
    this.head = next;
    this.headOffset = SECTOR_HEADER_BYTES;
    this.headValidEnd = SECTOR_HEADER_BYTES;
    this.resync = false;
    // Every sector starts with the current log tail, so mount finds it in the newest sector.
    this.writeTail();
  }

  /**
   * A torn erase can leave a header erased and the body not: checks the body of the sector
   * about to be opened (finishing its erase if need be). The sectors after it are opened
   * next, round robin, so one read checks a run of them.
   */
  private verifyErased(first: number): void {
    const size = this.sectorSize;
    let count = 1;
    while (
      count < VERIFY_RUN &&
      first + count < this.sectorCount &&
      this.unverified[first + count] &&
      this.state[first + count] === 'erased'
    ) {
      count++;
    }
    const run = this.device.read(first * size, count * size);
    for (let k = 0; k < count; k++) {
      const clean = erasedFrom(run, k * size, (k + 1) * size);
      if (!clean && k > 0) continue; // erased when it is opened
      this.unverified[first + k] = 0;
      if (clean) {
        this.cells[first + k] = run.subarray(k * size, (k + 1) * size);
      } else {
        this.erase(first);
        this.device.sync();
      }
    }
  }

  private writeTail(): void {
    const payload = Buffer.allocUnsafe(8);
    payload.writeUInt32LE(this.lowSeq, 0);
    payload.writeInt32LE(this.erasing, 4);
    const { address } = this.place(SELF_COMMITTED, RecordType.Tail, FLAG_COMMIT, payload, false);
    this.adoptTail(address, paddedLength(8));
  }

  private adoptTail(address: number, total: number): void {
    if (this.tailAddress >= 0) this.retire(this.tailAddress, this.tailTotal);
    this.tailAddress = address;
    this.tailTotal = total;
    this.adopt(address, total);
  }

  /** Round robin from the head: spreads erases evenly over the part. */
  private nextErasedSector(): number {
    const start = this.head >= 0 ? this.head + 1 : 0;
    for (let i = 0; i < this.sectorCount; i++) {
      const s = (start + i) % this.sectorCount;
      if (this.state[s] === 'erased') return s;
    }
    return -1;
  }

  /**
   * Garbage collection of the oldest sector: copy its live records to the head, write a
   * log tail that moves lowSeq past it, then erase it. A cut anywhere leaves either the
   * sector still referenced (mount redoes the copy) or collected (mount finishes the erase).
   */
  private collectOldest(): void {
    const victim = this.order[0];
    if (victim === undefined || victim === this.head) {
      throw new StoreFullError('flash is full: only the head sector is in use');
    }
    const seq = this.seqOf[victim]!;
    if (this.openTxn && seq >= this.openTxn.fromSeq) {
      throw new StoreFullError('flash is full: the transaction does not fit beside the live data');
    }
    const owner = this.owner!;
    this.collecting = true;
    try {
      this.walkRecords(victim, this.readSector(victim), (record, header) => {
        if (header.type === RecordType.Tail || !owner.isLive(record)) return;
        const { address } = this.place(
          SELF_COMMITTED,
          header.type,
          FLAG_COMMIT,
          record.payload,
          false,
        );
        this.retire(record.address, record.total);
        this.adopt(address, record.total);
        owner.moved(record, address);
      });
      this.lowSeq = seq + 1;
      this.erasing = victim;
      this.writeTail();
      this.device.sync();
      this.erase(victim);
      this.device.sync();
      this.order.shift();
      this.state[victim] = 'erased';
      this.unverified[victim] = 0;
      this.liveTotal -= this.live[victim]!;
      this.live[victim] = 0;
      this.erased++;
      this.erasing = -1;
    } finally {
      this.collecting = false;
    }
  }

  /**
   * Visits a sector's valid records (walkSector) as LogRecords at their device addresses.
   * One LogRecord is reset for each visit: a visitor keeps what it needs, not the record.
   */
  private walkRecords(
    sector: number,
    cells: Buffer,
    visit: (record: LogRecord, header: RecordHeader) => void,
  ): SectorWalk {
    const base = sector * this.sectorSize;
    const record = LogRecord.of(0, 0, 0, 0, Buffer.alloc(0));
    return walkSector(cells, (offset, header) =>
      visit(
        record.reset(
          header.type,
          header.flags,
          header.txn,
          base + offset,
          header.length,
          cells,
          offset + RECORD_HEADER_BYTES,
        ),
        header,
      ),
    );
  }

  private deadBytes(): number {
    if (this.head < 0) return 0;
    const used = (this.order.length - 1) * this.sectorSize + this.headOffset;
    return Math.max(0, used - this.liveTotal);
  }

  /**
   * Reads sectors in log order, a megabyte at a time where they are physically consecutive
   * (they mostly are: sectors are opened round robin).
   */
  private chunkReader(sectors: number[]): { sector(index: number): Buffer } {
    const most = Math.max(1, Math.floor((1 << 20) / this.sectorSize));
    let first = -1;
    let count = 0;
    let cells: Buffer = Buffer.alloc(0);
    return {
      sector: (index: number) => {
        if (first < 0 || index < first || index >= first + count) {
          first = index;
          count = 1;
          while (count < most && sectors[index + count] === sectors[index]! + count) count++;
          cells = this.device.read(sectors[index]! * this.sectorSize, count * this.sectorSize);
        }
        const at = (index - first) * this.sectorSize;
        const sectorCells = cells.subarray(at, at + this.sectorSize);
        this.cells[sectors[index]!] = sectorCells;
        return sectorCells;
      },
    };
  }

  private readSector(sector: number): Buffer {
    let cells = this.cells[sector];
    if (!cells) {
      cells = this.device.read(sector * this.sectorSize, this.sectorSize);
      this.cells[sector] = cells;
    }
    return cells;
  }

  // ---- health --------------------------------------------------------------------------

  stats(): {
    sectors: number;
    erasedSectors: number;
    usedSectors: number;
    freeBytes: number;
    liveBytes: number;
    deadBytes: number;
    headSector: number;
    lowSeq: number;
    nextSeq: number;
  } {
    let liveBytes = 0;
    let usedBytes = 0;
    for (const s of this.order) {
      liveBytes += this.live[s]!;
      usedBytes += s === this.head ? this.headOffset : this.sectorSize;
    }
    const headFree = this.head >= 0 ? this.sectorSize - this.headOffset : 0;
    return {
      sectors: this.sectorCount,
      erasedSectors: this.erased,
      usedSectors: this.order.length,
      freeBytes: this.erased * (this.sectorSize - SECTOR_HEADER_BYTES) + headFree,
      liveBytes,
      deadBytes: Math.max(0, usedBytes - liveBytes),
      headSector: this.head,
      lowSeq: this.lowSeq,
      nextSeq: this.nextSeq,
    };
  }

  /** Bytes a new transaction of `bytes` could get: free space plus what collection reclaims. */
  reclaimable(): number {
    const s = this.stats();
    return s.freeBytes + s.deadBytes - this.reserve * this.sectorSize;
  }
}
