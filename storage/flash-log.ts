import { CorruptImageError, SnapshotPageError, StoreError, StoreFullError } from './errors';
import { FlashDevice, WornSectorError } from './flash-device';
import {
  FLAG_COMMIT,
  FLAG_RESYNC,
  NO_PREVIOUS,
  RECORD_HEADER_BYTES,
  RECORD_TYPE_NAMES,
  RecordHeader,
  RecordType,
  SECTOR_HEADER_BYTES,
  SECTOR_MAGIC,
  SELF_COMMITTED,
  encodeSectorHeader,
  paddedLength,
  parseRecordHeader,
  parseSectorHeader,
  writeRecordHeader,
} from './record';
import { SectorWalk, erasedFrom, walkSector } from './sector-walk';
import {
  BodyWords,
  CheckpointEnd,
  SNAPSHOT_FORMAT_PAGED,
  Snapshot,
  SnapshotCheck,
  SlotRef,
  decodeCheckpointEnd,
  decodeSnapshot,
  encodeCheckpointEnd,
  encodeSnapshot,
  SNAPSHOT_TABLES,
  WordStream,
  forEachSnapshotRecord,
} from './checkpoint';
import { crc32 } from './crc32';

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
  /** Takes the state of a checked snapshot; replay continues with the records after it. */
  load(snapshot: Snapshot): void;
  /** Width of the owner's key hashes: a snapshot of another width is not trusted. */
  readonly keyHashBits?: number;
  /** The replay after a loaded snapshot is over. */
  settle?(): void;
  /** Reads every table page the loaded snapshot has not given yet (its pieces are going). */
  pageIn?(): void;
}

/** Why mount did not trust a snapshot (it then replays the whole log). */
class SnapshotRejected extends Error {}

/**
 * Words of the window a snapshot body streams through at mount (64 KiB: a page of a paged
 * table is at most 1,288 words, and a fresh megabyte costs ~3 ms of page faults on the VM).
 */
const BODY_WINDOW_WORDS = 1 << 14;

/**
 * A snapshot's body on flash, piece by piece. Its pieces are one a sector, in the sectors
 * that follow its first piece's (each is all of a sector's room but the last), so piece k
 * of P bytes holds the body's bytes from k * P. Mount walks only the sectors of the body's
 * head (its sector tables and the tables' directories); a page of a table read later finds
 * its piece's sector and walks it then (CRCs, its records, where they end), once per
 * sector read, never trusting a piece it has not checked.
 */
class SnapshotBody implements BodyWords {
  /** Bytes of every piece but the last (0 until the first piece is met). */
  pieceBytes = 0;
  /** Pieces mount met walking the body's head. */
  pieces = 0;
  /** The sector of each piece, and the prevEnd its next sector's header records (-1: none). */
  private sectors = new Int32Array(0);
  private nextPrevEnd = new Int32Array(0);
  /** The piece last read: its sector's cells, where its payload starts in them. */
  private cached = -1;
  private payload = 0;
  private readonly cells: Buffer;

  constructor(
    private readonly start: SnapshotStart,
    private readonly device: FlashDevice,
    private readonly sectorSize: number,
    /** Told of a sector whose records a page read has checked. */
    private readonly onChecked: (sector: number, cells: Buffer) => void,
  ) {
    if (start.bytes % 4 || start.bytes > device.size || start.pieces < 1) {
      throw new SnapshotRejected(`its end says ${start.pieces} pieces of ${start.bytes} B`);
    }
    this.cells = Buffer.allocUnsafe(sectorSize);
  }

  /** A piece mount met walking the body's head, in order. */
  add(length: number): void {
    const last = this.pieces === this.start.pieces - 1;
    if (this.pieces === 0) this.pieceBytes = length;
    if (
      this.pieces >= this.start.pieces ||
      (last ? length : length - this.pieceBytes) !== (last ? this.lastBytes() : 0) ||
      length % 4 !== 0
    ) {
      throw new SnapshotRejected(
        `piece ${this.pieces} of ${length} B does not fit ${this.start.pieces} pieces of ${this.start.bytes} B`,
      );
    }
    this.pieces++;
  }

  private lastBytes(): number {
    return this.start.bytes - (this.start.pieces - 1) * this.pieceBytes;
  }

  /**
   * Where the pieces lie: a piece a sector from the first piece's on (the in-range sectors
   * from `first`), the end record in the last piece's sector or the next. Checked against
   * the end record's counts; each piece itself is checked when it is read.
   */
  locate(inRange: SectorHeaders): void {
    const { index, endIndex, pieces } = this.start;
    const lastBytes = this.lastBytes();
    if (
      this.pieceBytes === 0 ||
      lastBytes <= 0 ||
      lastBytes > this.pieceBytes ||
      (endIndex !== index + pieces - 1 && endIndex !== index + pieces)
    ) {
      throw new SnapshotRejected(
        `${pieces} pieces of ${this.start.bytes} B do not fit its sectors ${index}..${endIndex}`,
      );
    }
    this.sectors = new Int32Array(pieces);
    this.nextPrevEnd = new Int32Array(pieces);
    for (let k = 0; k < pieces; k++) {
      this.sectors[k] = inRange.sector[index + k]!;
      const next = index + k + 1;
      this.nextPrevEnd[k] = next < inRange.length ? inRange.prevEnd[next]! : -1;
    }
  }

  /** Words of the body from `at`: a read of each piece's sector the words lie in. */
  read(at: number, count: number, into: Uint32Array): void {
    const bytes = new Uint8Array(into.buffer, into.byteOffset, count * 4);
    let from = at * 4;
    for (let done = 0; done < bytes.length;) {
      const k = Math.min(Math.floor(from / this.pieceBytes), this.start.pieces - 1);
      const within = from - k * this.pieceBytes;
      const length = k === this.start.pieces - 1 ? this.lastBytes() : this.pieceBytes;
      if (within >= length) throw new StoreError(`snapshot body read past its end (${from})`);
      this.readPiece(k);
      const n = Math.min(length - within, bytes.length - done);
      this.cells.copy(bytes, done, this.payload + within, this.payload + within + n);
      done += n;
      from += n;
    }
  }

  /** Reads piece k's sector and checks it: damage there is a SnapshotPageError. */
  private readPiece(k: number): void {
    if (this.cached === k) return;
    this.cached = -1;
    const sector = this.sectors[k]!;
    const cells = this.cells;
    if (this.device.readInto) this.device.readInto(sector * this.sectorSize, cells);
    else cells.set(this.device.read(sector * this.sectorSize, this.sectorSize));
    const { txn, offset, pieces } = this.start;
    const length = k === pieces - 1 ? this.lastBytes() : this.pieceBytes;
    let payload = -1;
    let problem: string | undefined;
    const walk = walkSector(cells, (at, header) => {
      if (problem || (k === 0 && at < offset)) return;
      if (header.type === RecordType.Tail && payload < 0) return;
      if (
        payload < 0 &&
        header.type === RecordType.Checkpoint &&
        header.txn === txn &&
        header.length === length &&
        (k > 0 || at === offset)
      ) {
        payload = at + RECORD_HEADER_BYTES;
      } else if (payload >= 0 && k === pieces - 1) {
        return; // the end record, and what was written after it
      } else {
        problem = `a record of type ${header.type}, transaction ${header.txn}, ${header.length} B at ${at}`;
      }
    });
    const where = `sector ${sector} (snapshot piece ${k})`;
    if (walk.damage) throw new SnapshotPageError(`${where}: ${walk.damage}`);
    if (problem || payload < 0) {
      throw new SnapshotPageError(`${where}: ${problem ?? 'its piece is missing'}`);
    }
    const next = this.nextPrevEnd[k]!;
    if (next >= 0 && next !== NO_PREVIOUS && next !== walk.end) {
      throw new SnapshotPageError(
        `${where}: valid records end at ${walk.end}, but the next sector recorded ${next}: records were damaged`,
      );
    }
    this.onChecked(sector, cells);
    this.cached = k;
    this.payload = payload;
  }
}

/**
 * The sectors in use as mount's header scan found them, in sequence order: three typed
 * arrays rather than an object per sector (33,000 of them at a million credentials, all
 * surviving the young generation's collections during mount).
 */
class SectorHeaders {
  constructor(
    readonly sector: Int32Array,
    readonly seq: Uint32Array,
    readonly prevEnd: Uint32Array,
  ) {}

  get length(): number {
    return this.sector.length;
  }

  /** The headers from index `from` on (views, no copy). */
  from(first: number): SectorHeaders {
    return new SectorHeaders(
      this.sector.subarray(first),
      this.seq.subarray(first),
      this.prevEnd.subarray(first),
    );
  }

  /** The headers whose sector `keep` accepts. */
  filter(keep: (sector: number) => boolean): SectorHeaders {
    const at: number[] = [];
    for (let i = 0; i < this.length; i++) if (keep(this.sector[i]!)) at.push(i);
    return new SectorHeaders(
      Int32Array.from(at, (i) => this.sector[i]!),
      Uint32Array.from(at, (i) => this.seq[i]!),
      Uint32Array.from(at, (i) => this.prevEnd[i]!),
    );
  }
}

/** Where the records of a sector end when mount did not walk it (a snapshot piece's sector). */
const UNKNOWN_END = -2;

/** The walk of a snapshot's sectors that feeds its decoder (FlashLog.snapshotWalk). */
interface SnapshotWalk {
  stream: WordStream;
  /** Walks on to the end record; where it lies, and where the records before its sector end. */
  end(): { endIndex: number; endOffset: number; previousEnd: number };
}

/** Where the newest committed snapshot starts, from its checkpoint-end record. */
interface SnapshotStart extends CheckpointEnd {
  txn: number;
  /** Index in the in-range sectors of the sector holding the first piece. */
  index: number;
  offset: number;
  /** Index in the in-range sectors of the sector holding the end record, and its offset there. */
  endIndex: number;
  endAt: number;
}

/**
 * Erased sectors kept in reserve: enough to redo an interrupted garbage collection, and to
 * collect through a long run of fully live sectors (each copy costs a little more than a
 * sector: log tails and the slack of records that do not split) before reaching dead space.
 */
export function reserveSectors(sectorCount: number): number {
  return Math.max(3, Math.ceil(sectorCount / 64));
}

/**
 * Erased sectors the device's own writes (events, grants) leave to the host, on top of the
 * collection reserve: on a store full of events the host can still acknowledge, delete,
 * push a small database, change the config and lock down (README.md, "A full flash").
 */
export function hostReserveSectors(sectorCount: number): number {
  // An eighth of the part at most: tiny test parts keep room for their own events.
  return Math.min(Math.max(4, Math.ceil(sectorCount / 512)), Math.floor(sectorCount / 8));
}

/** Who a transaction writes for: the host's writes may use the host reserve, the device's not. */
export type WriteClass = 'host' | 'device';

type SectorState = 'erased' | 'used' | 'dirty' | 'retired';

/**
 * Worn sectors the log can retire (each log tail lists them: 4 bytes each). Past this the
 * store refuses writes, loudly, rather than work on a part that is failing.
 */
export const MAX_RETIRED_SECTORS = 32;

const NO_HEADER = Buffer.alloc(0);
/** Log bytes appended between snapshots, in units of the last snapshot's size. */
const SNAPSHOT_SPACING = 4;
/** Sectors in use read together when a lookup needs one that is not in RAM. */
const READ_RUN = 64;
/** Sectors per buffer of resident cells: the cold read's run, so one read fills one buffer. */
const CELL_RUN = READ_RUN;
/** Bytes mount reads at a time where it only scans (sectors it checks, snapshot pieces). */
const SCAN_BYTES = 1 << 20;
/** What a record points at before its first reset (mount walks ~33,000 sectors at 1M). */
const NO_CELLS = Buffer.alloc(0);
/** Sector headers a mount asks the device for at a time. */
const HEADS_PER_SCAN = 4096;
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
/** A sector header's magic as its first word reads through an Int32Array (host order). */
const SECTOR_MAGIC_WORD = (() => {
  const word = new DataView(new ArrayBuffer(4));
  word.setUint32(0, SECTOR_MAGIC, true);
  return new Int32Array(word.buffer)[0]!;
})();

/** A problem mount found and repaired (or, for fsck, would repair). */
export interface MountNote {
  sector: number;
  message: string;
}

export interface MountReport {
  notes: MountNote[];
  recordsReplayed: number;
  sectorsScanned: number;
  /** Mount loaded a snapshot and replayed only the records after it. */
  fromCheckpoint: boolean;
  /**
   * Sectors before the snapshot that carry a seal in it: each is checked by that CRC at its
   * first read instead of record by record (invariant 13).
   */
  sectorsSealed: number;
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
   * They sit in one buffer per run of CELL_RUN sectors, a record at its offset in the run:
   * at 1M a lookup's loads stay within a few hundred buffers, not one object per sector.
   */
  private readonly runs: Array<Buffer | undefined>;
  /** Bytes a run's buffer covers (the last run may be shorter). */
  private readonly runBytes: number;
  /** Sectors whose cells are in their run's buffer (read since their last erase). */
  private readonly resident: Uint8Array;
  /** Resident sectors per run: a run's buffer is dropped with its last one. */
  private readonly residentInRun: Uint32Array;
  /**
   * Sectors whose records were checked (walked at mount or written here). Mount checks every
   * sector in use; cellsOf() checks any other before handing out its bytes.
   */
  private readonly checked: Uint8Array;
  /** What readCold() reads from each page (kept, so the reads are not optimised away). */
  private pageSum = 0;
  /** Where place() assembles a record before programming it. */
  private readonly scratch: Buffer;
  /**
   * CRC-32 of each closed sector in use whose records were checked (0: not known): the
   * snapshot carries them, so the next mount checks those sectors by one CRC each.
   */
  private readonly sealOf: Uint32Array;
  /** The head sector's cells as programmed (its CRC becomes its seal when it closes). */
  private readonly headCells: Buffer;
  /** The sector headCells mirrors (-1: none). */
  private mirrored = -1;
  /** Sectors before the last mount's snapshot carrying a seal (MountReport.sectorsSealed). */
  private sealedAtMount = 0;
  /** Sectors in use, oldest first. */
  private order: number[] = [];
  private erased = 0;
  private liveTotal = 0;
  private readonly reserve: number;
  private readonly hostReserve: number;
  /**
   * The last collection that could not make room, by what it faced (dead bytes, sectors it
   * had to keep): until either changes, another attempt would only wear the part again.
   */
  private futile: { deadBytes: number; keep: number; bound: number; message: string } | undefined;
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
  /** Sectors that failed to erase or program, retired for good; every log tail lists them. */
  private retired: number[] = [];
  private resync = false;
  private openTxn: { txn: number; fromSeq: number; writeClass: WriteClass } | undefined;
  private collecting = false;
  private owner: LogOwner | undefined;
  /** Bytes appended since the newest snapshot, and that snapshot's size: the checkpoint budget. */
  private appendedSinceCheckpoint = 0;
  private lastCheckpointBytes = 0;
  /** Sequence number of the sector holding the last snapshot's first piece (0: none). */
  private lastCheckpointSeq = 0;
  /**
   * Sequence number of the first sector of the snapshot mount loaded while the owner's
   * tables may still read pages from it (0: none): collection pages them all in before it
   * takes that sector.
   */
  private pagedFromSeq = 0;

  constructor(readonly device: FlashDevice) {
    this.sectorSize = device.geometry.sectorSize;
    this.sectorCount = device.geometry.sectorCount;
    this.live = new Uint32Array(this.sectorCount);
    this.reserve = reserveSectors(this.sectorCount);
    this.hostReserve = hostReserveSectors(this.sectorCount);
    this.state = new Array<SectorState>(this.sectorCount).fill('erased');
    this.seqOf = new Float64Array(this.sectorCount);
    this.unverified = new Uint8Array(this.sectorCount);
    this.runBytes = CELL_RUN * this.sectorSize;
    this.runs = new Array<Buffer | undefined>(Math.ceil(this.sectorCount / CELL_RUN));
    this.resident = new Uint8Array(this.sectorCount);
    this.residentInRun = new Uint32Array(this.runs.length);
    this.scratch = Buffer.allocUnsafe(this.sectorSize);
    this.checked = new Uint8Array(this.sectorCount);
    this.sealOf = new Uint32Array(this.sectorCount);
    this.headCells = Buffer.alloc(this.sectorSize, 0xff);
    if (this.sectorCount <= this.reserve + 1) {
      throw new StoreError(`a store needs more than ${this.reserve + 1} sectors`);
    }
  }

  // ---- mount ---------------------------------------------------------------------------

  /** Scans the image, replays committed records into owner, repairs interrupted work. */
  mount(
    owner: LogOwner,
    options: { repair: boolean; checkpoint?: boolean } = { repair: true },
  ): MountReport {
    this.owner = owner;
    const notes: MountNote[] = [];
    let headers = this.readSectorHeaders(notes);
    const tail = this.findTail(headers);
    // Retired sectors hold whatever they held when they failed: they are not the log's.
    this.retired = tail?.retired ?? [];
    for (const s of this.retired) {
      if (this.state[s] === 'erased') this.erased--;
      this.state[s] = 'retired';
      this.unverified[s] = 0;
    }
    if (this.retired.length) {
      const gone = new Set(this.retired);
      headers = headers.filter((sector) => !gone.has(sector));
    }
    this.lowSeq = tail?.lowSeq ?? (headers.length ? headers.seq[0]! : 1);
    const erasing = tail?.erasing ?? -1;

    // Sectors below the tail's lowSeq were collected; at most the one being erased may remain.
    // The headers are in sequence order, so those are a prefix (usually empty: no copy).
    let below = 0;
    while (below < headers.length && headers.seq[below]! < this.lowSeq) below++;
    const inRange = below ? headers.from(below) : headers;
    for (let i = 0; i < below; i++) {
      const sector = headers.sector[i]!;
      if (sector !== erasing) {
        throw new CorruptImageError(
          `sector ${sector} holds sequence ${headers.seq[i]}, older than the log tail (${this.lowSeq}) ` +
            'and not the sector being collected: the image was altered',
        );
      }
      this.state[sector] = 'dirty';
      notes.push({ sector, message: 'collected sector not yet erased (erase finished now)' });
    }
    const { state, sectorCount } = this;
    for (let s = 0; s < sectorCount; s++) {
      if (state[s] === 'dirty' && s !== erasing && this.dirtyHasData(s)) {
        throw new CorruptImageError(
          `sector ${s} has no valid header but holds data: sector header damaged, records would be lost`,
        );
      }
    }
    for (let i = 0; i < inRange.length; i++) {
      if (inRange.seq[i] !== this.lowSeq + i) {
        throw new CorruptImageError(
          `sector sequence ${this.lowSeq + i} is missing (next found: ${inRange.seq[i]} in sector ${inRange.sector[i]}): ` +
            'a sector header is damaged',
        );
      }
    }

    let report: MountReport | undefined;
    const start = options.checkpoint === false ? undefined : this.findSnapshot(inRange);
    if (start) {
      try {
        report = this.replayAll(inRange, owner, notes, start);
      } catch (err) {
        if (!(err instanceof SnapshotRejected)) throw err;
        notes.push({
          sector: inRange.sector[start.index]!,
          message: `checkpoint not trusted (${err.message}): replayed the whole log`,
        });
        this.live.fill(0);
        this.liveTotal = 0;
        this.pagedFromSeq = 0;
        this.tailAddress = -1;
        this.tailTotal = 0;
      }
    }
    report ??= this.replayAll(inRange, owner, notes);
    if (options.repair) this.repair(notes);
    return report;
  }

  /**
   * The newest committed snapshot, found from the head backwards by record headers alone
   * (the walk from its first piece checks every record after it).
   */
  private findSnapshot(inRange: SectorHeaders): SnapshotStart | undefined {
    const header: RecordHeader = { type: 0, flags: 0, length: 0, txn: 0, payloadCrc: 0 };
    for (let i = inRange.length - 1; i >= 0; i--) {
      const cells = this.readSector(inRange.sector[i]!);
      let found: { at: number; txn: number; length: number; crc: number } | undefined;
      for (let at = SECTOR_HEADER_BYTES; at + RECORD_HEADER_BYTES <= this.sectorSize;) {
        if (!parseRecordHeader(cells, at, header)) break;
        const total = paddedLength(header.length);
        if (at + total > this.sectorSize) break;
        if (header.type === RecordType.CheckpointEnd && header.flags & FLAG_COMMIT) {
          found = { at, txn: header.txn, length: header.length, crc: header.payloadCrc };
        }
        at += total;
      }
      if (!found) continue;
      const p = found.at + RECORD_HEADER_BYTES;
      if (crc32(cells, p, p + found.length) !== found.crc) return undefined;
      const end = decodeCheckpointEnd(cells, p, found.length);
      if (!end) return undefined;
      const index = end.firstSeq - inRange.seq[0]!;
      const sector = Math.floor(end.firstAddress / this.sectorSize);
      // Its first piece's sector was collected (or reused): a full replay it is.
      if (index < 0 || index > i || inRange.sector[index]! !== sector) return undefined;
      return {
        ...end,
        txn: found.txn,
        index,
        offset: end.firstAddress % this.sectorSize,
        endIndex: i,
        endAt: found.at,
      };
    }
    return undefined;
  }

  /**
   * Walks the snapshot's sectors as its body is decoded, each sector read and walked once
   * (CRCs, prevEnd, torn bytes) with the pieces' payloads copied from its cells straight
   * into the decoder's window: the body is read from flash once, never assembled. The
   * sectors wholly inside the snapshot are done here; the one holding its end record is
   * the replay's from there on (end() says where the snapshot's records stop in it).
   */
  private snapshotWalk(
    start: SnapshotStart,
    inRange: SectorHeaders,
    chunks: { sector(index: number, keep: boolean): Buffer },
    notes: MountNote[],
    body: SnapshotBody,
    tails: Array<[number, number]>,
  ): SnapshotWalk {
    const first = start.index;
    let j = first - 1;
    let previousEnd = -1;
    let cells: Buffer = Buffer.alloc(0);
    // The current sector's pieces (offset in its cells, length), and how far they were copied.
    const pieces: number[] = [];
    let next = 0;
    let within = 0;
    let endOffset = -1;
    const walkNext = () => {
      if (++j >= inRange.length) throw new SnapshotRejected('its end record was not reached');
      const sector = inRange.sector[j]!;
      const prevEnd = inRange.prevEnd[j]!;
      if (j > first && prevEnd !== previousEnd) throw this.prevEndMismatch(inRange, j, previousEnd);
      cells = chunks.sector(j, false);
      pieces.length = 0;
      next = 0;
      within = 0;
      const base = sector * this.sectorSize;
      const walk = this.walkRecords(sector, cells, (record, header) => {
        // Past the end record: the replay's records.
        if (endOffset >= 0) return;
        const offset = record.address - base;
        if (header.type === RecordType.Tail) tails.push([record.address, record.total]);
        // Before the first piece: records the snapshot describes.
        else if (j === first && offset < start.offset) return;
        else if (header.txn !== start.txn) {
          throw new SnapshotRejected(`a record of transaction ${header.txn} inside it`);
        } else if (header.type === RecordType.Checkpoint) {
          body.add(record.length);
          pieces.push(offset + RECORD_HEADER_BYTES, record.length);
        } else if (header.type === RecordType.CheckpointEnd) {
          endOffset = offset;
        }
      });
      if (endOffset >= 0) return;
      // A sector wholly inside the snapshot: the replay will not see it again.
      if (walk.damage) throw new CorruptImageError(`sector ${sector}: ${walk.damage}`);
      this.checked[sector] = 1;
      if (j < inRange.length - 1) this.sealOf[sector] = crc32(cells);
      if (walk.garbage.length) {
        notes.push({ sector, message: `torn write at offset ${walk.garbage[0]![0]} (ignored)` });
      }
      previousEnd = walk.end;
      this.order.push(sector);
    };
    const fill = (into: Uint8Array): number => {
      let filled = 0;
      while (filled < into.length) {
        if (next >= pieces.length) {
          if (endOffset >= 0) break;
          walkNext();
          continue;
        }
        const at = pieces[next]!;
        const length = pieces[next + 1]!;
        const n = Math.min(length - within, into.length - filled);
        cells.copy(into, filled, at + within, at + within + n);
        filled += n;
        within += n;
        if (within === length) {
          next += 2;
          within = 0;
        }
      }
      return filled;
    };
    const window = new Uint32Array(Math.min(BODY_WINDOW_WORDS, start.bytes / 4));
    return {
      stream: new WordStream(start.bytes / 4, window, fill),
      end: () => {
        if (endOffset >= 0) return { endIndex: j, endOffset, previousEnd };
        // The sectors of pieces the decoder did not ask for (the tables' pages): read and
        // checked when a page needs them. Where their records end is not known yet: the
        // end sector's prevEnd is checked when the piece before it is read.
        for (let k = j + 1; k < start.endIndex; k++) this.order.push(inRange.sector[k]!);
        j = start.endIndex;
        endOffset = start.endAt;
        previousEnd = UNKNOWN_END;
        return { endIndex: j, endOffset, previousEnd };
      },
    };
  }

  /**
   * Checks a snapshot against the log before anything trusts it: the pieces add up, every
   * address it holds is a record before its first piece in a sector still in use, and the
   * live bytes it claims are the bytes of those records. Then hands it to the owner.
   */
  private loadSnapshot(
    body: SnapshotBody,
    start: SnapshotStart,
    owner: LogOwner,
    inRange: SectorHeaders,
    walk: SnapshotWalk,
  ): void {
    // Addresses must lie before the snapshot's first piece in the log as it stood then
    // (sectors collected since are fine: replay meets the copies and moves them). Per
    // sector, where a record the snapshot names may end: the sector's end for one before the
    // first piece, the first piece for its own sector, nowhere for any other.
    const size = this.sectorSize;
    const limit = new Uint32Array(this.sectorCount);
    // Sectors collected since the snapshot: replay meets the copies (README, invariant 12).
    const gone = new Uint8Array(this.sectorCount);
    let claimed = 0;
    let wrong = 0;
    /** The sector of a record of `total` bytes the snapshot may name at address, or -1. */
    const fits = (address: number, total: number): number => {
      const sector = Math.floor(address / size);
      const offset = address - sector * size;
      return sector < this.sectorCount &&
        address % 4 === 0 &&
        offset >= SECTOR_HEADER_BYTES &&
        offset + total <= limit[sector]!
        ? sector
        : -1;
    };
    const record = (address: number, total: number): void => {
      if (fits(address, total) < 0) wrong++;
      claimed += total;
    };
    const byValue = SNAPSHOT_TABLES.indexOf('credentialsByValue');
    let anyGone = false;
    const check = (head: Snapshot): SnapshotCheck => {
      if (head.keyHashBits !== (owner.keyHashBits ?? 32)) {
        throw new SnapshotRejected(`its keys are hashed to ${head.keyHashBits} bits`);
      }
      this.checkSnapshotSectors(head, start);
      for (let s = 0; s < this.sectorCount; s++) {
        const then = head.seqs[s]!;
        if (then !== 0 && then < start.firstSeq) limit[s] = size;
        else if (then !== 0 && then === start.firstSeq) limit[s] = start.offset;
        if (then !== 0 && then !== (this.state[s] === 'used' ? this.seqOf[s] : 0)) {
          gone[s] = 1;
          anyGone = true;
        }
      }
      return {
        // Entries in sectors collected since are counted per page now (counts() is right at
        // once); otherwise each page is checked as it is read.
        streamTables: anyGone,
        recordAt: (address, length) => fits(address, paddedLength(length)) >= 0,
        entries: (table, words, from, end, step) => {
          let collected = 0;
          let bytes = 0;
          for (let e = from; e < end; e += step) {
            const address = words[e + 2]!;
            if (address === 1) continue; // a deleted slot
            const total = paddedLength(words[e + 3]!);
            const sector = fits(address, total);
            if (sector < 0) wrong++;
            else collected += gone[sector]!;
            bytes += total;
          }
          // The by-value table mirrors the by-id one: its records are counted once.
          if (table !== byValue) claimed += bytes;
          return collected;
        },
        collected: (address) => gone[Math.floor(address / size)] === 1,
      };
    };
    const snapshot = decodeSnapshot(walk.stream, this.sectorCount, { source: body, check });
    if (typeof snapshot === 'string') throw new SnapshotRejected(snapshot);
    walk.end();
    body.locate(inRange);
    this.claimSeals(snapshot.seals, start.index, inRange);
    forEachSnapshotRecord(snapshot, record);
    if (snapshot.tailAddress >= 0) record(snapshot.tailAddress, snapshot.tailTotal);
    let live = 0;
    for (let s = 0; s < this.sectorCount; s++) live += snapshot.live[s]!;
    if (wrong) throw new SnapshotRejected(`${wrong} addresses outside the log before it`);
    this.checkSnapshotRecords(snapshot, gone);
    // Paged tables not streamed at mount: their records are counted by fsck, not here.
    const counted = !snapshot.paged || anyGone;
    if (counted && live !== claimed) {
      throw new SnapshotRejected(`it counts ${live} live bytes, its records make ${claimed}`);
    }
    // Pages of its tables are read from its pieces until the tables are all in.
    this.pagedFromSeq = start.firstSeq;
    owner.load(snapshot);
    this.live.set(snapshot.live);
    this.liveTotal = live;
    this.tailAddress = snapshot.tailAddress;
    this.tailTotal = snapshot.tailTotal;
  }

  /**
   * Reads the 16-byte header of every sector. A sector whose header reads erased is taken
   * as erased and verified (erased again if need be) only when it is opened: reading the
   * whole part at every mount would cost more than the rest of mount.
   */
  private readSectorHeaders(notes: MountNote[]): SectorHeaders {
    // The headers found, in sector order; objects only at the end, in sequence order.
    const foundSector = new Int32Array(this.sectorCount);
    const foundSeq = new Uint32Array(this.sectorCount);
    const foundPrevEnd = new Uint32Array(this.sectorCount);
    let found = 0;
    // The heads of many sectors per call, packed: a file image reads the part a megabyte at
    // a time and decodes only the heads (one small read per header costs a system call each).
    const perRead = this.device.readSectorHeads ? HEADS_PER_SCAN : 1;
    // Word views of the packed heads: the compares below are plain array loads.
    const words = new Int32Array((Math.min(perRead, this.sectorCount) * SECTOR_HEADER_BYTES) >>> 2);
    const cells = Buffer.from(words.buffer);
    // Mount runs once: this loop runs 65,536 times at 256 MiB mostly before it is optimised,
    // so it does little per sector (locals, four word loads, typed arrays, no objects).
    const { state, seqOf, unverified, sectorCount } = this;
    let erased = 0;
    for (let scanned = 0; scanned < sectorCount; scanned += perRead) {
      const count = Math.min(perRead, sectorCount - scanned);
      if (this.device.readSectorHeads) {
        this.device.readSectorHeads(scanned, count, SECTOR_HEADER_BYTES, cells);
      } else {
        cells.set(this.device.read(scanned * this.sectorSize, SECTOR_HEADER_BYTES));
      }
      for (let i = 0; i < count; i++) {
        const s = scanned + i;
        const w = i << 2;
        const w0 = words[w]!;
        // Erased headers are most of a young part: four word loads, no parse.
        if ((w0 & words[w + 1]! & words[w + 2]! & words[w + 3]!) === -1) {
          state[s] = 'erased';
          unverified[s] = 1;
          erased++;
          continue;
        }
        // A valid header is parsed from the words where they are the format's (little-endian)
        // order: no object per header (a million credentials fill ~33,000 sectors).
        let valid = false;
        if (w0 === SECTOR_MAGIC_WORD) {
          const at = w << 2;
          if (!HOST_LITTLE_ENDIAN) {
            const header = parseSectorHeader(cells, at);
            if (header) {
              foundSeq[found] = header.seq;
              foundPrevEnd[found] = header.prevEnd;
              valid = true;
            }
          } else if (words[w + 3] === (crc32(cells, at, at + 12) | 0)) {
            foundSeq[found] = words[w + 1]!;
            foundPrevEnd[found] = words[w + 2]!;
            valid = true;
          }
        }
        if (valid) {
          state[s] = 'used';
          seqOf[s] = foundSeq[found]!;
          foundSector[found++] = s;
        } else {
          state[s] = 'dirty';
          notes.push({
            sector: s,
            message: 'no valid sector header and not erased (torn erase or open)',
          });
        }
      }
    }
    this.erased = erased;
    // Sectors are opened round robin, so in sector order the sequence numbers usually rise
    // but for one wrap: then the order is a rotation, and strictly rising means no duplicates.
    let wrap = 0;
    while (wrap + 1 < found && foundSeq[wrap + 1]! > foundSeq[wrap]!) wrap++;
    wrap = found ? (wrap + 1) % found : 0;
    let rotation = true;
    for (let i = 1; i < found && rotation; i++) {
      rotation = foundSeq[(wrap + i) % found]! > foundSeq[(wrap + i - 1) % found]!;
    }
    // In sequence order: the rotation's, or sorted (then duplicates are a damaged image).
    const order = new Uint32Array(found);
    for (let i = 0; i < found; i++) order[i] = rotation ? (wrap + i) % found : i;
    if (!rotation) order.sort((a, b) => foundSeq[a]! - foundSeq[b]!);
    const headers = new SectorHeaders(
      new Int32Array(found),
      new Uint32Array(found),
      new Uint32Array(found),
    );
    for (let i = 0; i < found; i++) {
      const j = order[i]!;
      headers.sector[i] = foundSector[j]!;
      headers.seq[i] = foundSeq[j]!;
      headers.prevEnd[i] = foundPrevEnd[j]!;
      if (i > 0 && headers.seq[i] === headers.seq[i - 1]) {
        throw new CorruptImageError(
          `sectors ${headers.sector[i - 1]} and ${headers.sector[i]} both claim sequence ${headers.seq[i]}`,
        );
      }
    }
    return headers;
  }

  /** The newest log-tail record: every sector starts with one, so this looks at one or two sectors. */
  private findTail(
    headers: SectorHeaders,
  ): { lowSeq: number; erasing: number; retired: number[] } | undefined {
    for (let i = headers.length - 1; i >= 0; i--) {
      const cells = this.readSector(headers.sector[i]!);
      let tail: { lowSeq: number; erasing: number; retired: number[] } | undefined;
      walkSector(cells, (offset, header) => {
        if (header.type !== RecordType.Tail) return;
        const p = offset + RECORD_HEADER_BYTES;
        const retired: number[] = [];
        for (let at = 8; at + 4 <= header.length; at += 4) {
          const s = cells.readUInt32LE(p + at);
          if (s < this.sectorCount) retired.push(s);
        }
        tail = { lowSeq: cells.readUInt32LE(p), erasing: cells.readInt32LE(p + 4), retired };
      });
      if (tail) return tail;
    }
    return undefined;
  }

  private dirtyHasData(sector: number): boolean {
    const cells = this.readSector(sector);
    return !erasedFrom(cells, SECTOR_HEADER_BYTES, this.sectorSize);
  }

  /**
   * Replays the sectors in range, or with `start` only what follows a snapshot: the sectors
   * before it are read and checked but not replayed, the snapshot's pieces are collected and
   * loaded at its end, and the records after it replay as usual.
   */
  private replayAll(
    inRange: SectorHeaders,
    owner: LogOwner,
    notes: MountNote[],
    start?: SnapshotStart,
  ): MountReport {
    let pending = -1;
    let maxTxn = start ? start.txn : 0;
    let records = 0;
    let replayedBytes = 0;
    let previousEnd = -1;
    let walk: SectorWalk | undefined;
    this.order = [];
    this.sealedAtMount = 0;
    const chunks = this.chunkReader(inRange.sector);
    const first = start ? start.index : 0;
    // The sectors before a snapshot are checked when it is loaded, with the CRCs it holds
    // (checkBeforeSnapshot), and not replayed.
    for (let i = 0; i < first; i++) this.order.push(inRange.sector[i]!);
    let i = first;
    /** In the sector of the snapshot's end record: the offsets the snapshot took (up to it). */
    let endIndex = -1;
    let endOffset = -1;
    if (start) {
      const body = new SnapshotBody(start, this.device, this.sectorSize, (sector, cells) => {
        this.checked[sector] = 1;
        if (sector !== this.head && this.sealOf[sector] === 0) this.sealOf[sector] = crc32(cells);
      });
      const tails: Array<[number, number]> = [];
      const snapshot = this.snapshotWalk(start, inRange, chunks, notes, body, tails);
      this.loadSnapshot(body, start, owner, inRange, snapshot);
      for (const [address, total] of tails) this.adoptTail(address, total);
      ({ endIndex, endOffset, previousEnd } = snapshot.end());
      i = endIndex;
    }
    for (; i < inRange.length; i++) {
      const sector = inRange.sector[i]!;
      const prevEnd = inRange.prevEnd[i]!;
      // The first snapshot sector's prevEnd is checked with the sectors before it.
      if (i > first && previousEnd !== UNKNOWN_END && prevEnd !== previousEnd) {
        throw this.prevEndMismatch(inRange, i, previousEnd);
      }
      const cells = chunks.sector(i, true);
      const skip = i === endIndex ? sector * this.sectorSize + endOffset : -1;
      walk = this.walkRecords(sector, cells, (record, header) => {
        // The snapshot's records: taken already. Its sectors' tails: the newest is live.
        if (record.address <= skip) {
          if (header.type === RecordType.Tail) this.adoptTail(record.address, record.total);
          return;
        }
        records++;
        replayedBytes += record.total;
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
      this.checked[sector] = 1;
      // A closed sector's records are checked: its CRC seals it for the next snapshot.
      if (i < inRange.length - 1) this.sealOf[sector] = crc32(cells);
      if (walk.garbage.length) {
        notes.push({ sector, message: `torn write at offset ${walk.garbage[0]![0]} (ignored)` });
      }
      previousEnd = walk.end;
      this.order.push(sector);
    }
    if (start) {
      owner.settle?.();
      // Sectors collected after the snapshot hold nothing live any more.
      const inUse = new Uint8Array(this.sectorCount);
      for (const s of this.order) inUse[s] = 1;
      this.liveTotal = 0;
      for (let s = 0; s < this.sectorCount; s++) {
        if (!inUse[s]) this.live[s] = 0;
        this.liveTotal += this.live[s]!;
      }
    }
    if (pending !== -1) {
      owner.abort(pending);
      notes.push({
        sector: this.order[this.order.length - 1] ?? -1,
        message: 'uncommitted transaction discarded',
      });
    }
    this.nextTxn = maxTxn + 1;
    this.appendedSinceCheckpoint = replayedBytes;
    this.lastCheckpointBytes = start ? start.bytes : 0;
    this.lastCheckpointSeq = start ? start.firstSeq : 0;
    this.nextSeq = inRange.length ? inRange.seq[inRange.length - 1]! + 1 : this.lowSeq;
    if (walk && this.order.length) {
      this.head = this.order[this.order.length - 1]!;
      this.headCells.set(this.readSector(this.head));
      this.mirrored = this.head;
      this.headValidEnd = walk.end;
      // Never reuse bytes that are not 0xFF: resume past any torn bytes, on a page boundary.
      const page = this.device.geometry.pageSize;
      this.headOffset =
        walk.dirtyEnd > walk.end ? Math.ceil(walk.dirtyEnd / page) * page : walk.end;
      this.resync = walk.dirtyEnd > walk.end;
    } else {
      this.head = -1;
    }
    return {
      notes,
      recordsReplayed: records,
      sectorsScanned: inRange.length,
      fromCheckpoint: start !== undefined,
      sectorsSealed: this.sealedAtMount,
    };
  }

  /**
   * The sectors before a snapshot are not read at mount (README, invariant 13): each takes
   * the seal the snapshot holds for it as a claim, checked when the sector is first read
   * (checkSectors): cells with that CRC are as their writer left them; any other sector is
   * walked record by record then, and damage is a CorruptImageError with the message a
   * full replay gives.
   */
  private claimSeals(seals: Uint32Array, first: number, inRange: SectorHeaders): void {
    let claimed = 0;
    for (let i = 0; i < first; i++) {
      const sector = inRange.sector[i]!;
      const seal = seals[sector]!;
      this.sealOf[sector] = seal;
      if (seal !== 0) claimed++;
    }
    this.sealedAtMount = claimed;
  }

  private prevEndMismatch(
    inRange: SectorHeaders,
    i: number,
    previousEnd: number,
  ): CorruptImageError {
    const prevEnd = inRange.prevEnd[i]!;
    return new CorruptImageError(
      `sector ${inRange.sector[i - 1]!}: valid records end at ${previousEnd}, but the next sector ` +
        `recorded ${prevEnd === NO_PREVIOUS ? 'no predecessor' : prevEnd}: records were damaged`,
    );
  }

  /** Finishes what a power cut interrupted: erases collected or torn sectors, restores the reserve. */
  private repair(notes: MountNote[]): void {
    // Repairs write: every sector in use is checked first, so a damaged image is refused
    // before anything changes (a mount with nothing to repair reads them at first use).
    let dirty = 0;
    for (let s = 0; s < this.sectorCount; s++) if (this.state[s] === 'dirty') dirty++;
    if (dirty > 0 || this.erased < this.reserve) {
      for (const sector of this.order) if (!this.checked[sector]) this.checkSectors(sector);
    }
    for (let s = 0; s < this.sectorCount; s++) {
      if (this.state[s] !== 'dirty') continue;
      this.unverified[s] = 0;
      if (!this.eraseOrRetire(s)) continue;
      this.device.sync();
      this.state[s] = 'erased';
      this.erased++;
    }
    if (this.erased < this.reserve && this.order.length > 1) {
      notes.push({ sector: this.order[0]!, message: 'garbage collection redone' });
      try {
        this.collectUntil(this.reserve, 0);
      } catch (err) {
        // A full flash still mounts (reads work); writes report StoreFullError.
        if (!(err instanceof StoreFullError)) throw err;
      }
    }
  }

  // ---- writing -------------------------------------------------------------------------

  /** Starts a transaction: records appended until commit() apply together or not at all. */
  begin(writeClass: WriteClass = 'host'): number {
    if (this.openTxn) throw new StoreError('a transaction is already open');
    if (this.retired.length > MAX_RETIRED_SECTORS) {
      throw new StoreError(
        `flash is failing: ${this.retired.length} sectors are worn out; the store takes no more writes`,
      );
    }
    const txn = this.nextTxn;
    this.nextTxn = this.nextTxn >= 0xfffffffe ? 1 : this.nextTxn + 1;
    this.openTxn = {
      txn,
      fromSeq: this.head >= 0 ? this.seqOf[this.head]! : this.nextSeq,
      writeClass,
    };
    return txn;
  }

  /**
   * Whether a device write of `total` bytes would find room without touching the host
   * reserve, judged without writing or erasing anything (the reader refuses a presentation
   * it could not log before deciding it).
   */
  deviceRoomFor(total: number): boolean {
    if (this.head >= 0 && this.headOffset + paddedLength(total) <= this.sectorSize) return true;
    const keep = this.reserve + this.hostReserve;
    if (this.erased - 1 >= keep) return true;
    if (this.isFutile(keep)) return false;
    return this.victimsFor(keep - (this.erased - 1)) >= 0;
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

  /**
   * The cells of the run of sectors holding the record at address, the record at
   * payloadOffset(address) in them (lookups read them in place).
   */
  cellsOf(address: number): Buffer {
    const sector = Math.floor(address / this.sectorSize);
    if (!this.checked[sector]) this.checkSectors(sector);
    // Resident cells without entering readSector(): its read path's closure makes that call
    // allocate a context, 40 bytes on every lookup.
    if (!this.resident[sector]) this.readCold(sector);
    return this.runs[Math.floor(sector / CELL_RUN)]!;
  }

  /**
   * Cells a lookup needs that are not in RAM: their run is read, and each page of it read
   * once here. On a VM the first user-space read of a page the kernel just filled costs
   * microseconds (p90 of the 100k lookups after a snapshot mount: 6.9 us, 2.3 us with the
   * pages touched): the cold read pays it once instead of the next lookups in the run.
   */
  private readCold(sector: number): void {
    this.readSector(sector);
    const runStart = sector - (sector % READ_RUN);
    const runEnd = Math.min(runStart + READ_RUN, this.sectorCount);
    const cells = this.runs[Math.floor(sector / CELL_RUN)]!;
    for (let s = runStart; s < runEnd; s++) {
      if (!this.resident[s]) continue;
      const at = (s % CELL_RUN) * this.sectorSize;
      for (let i = at; i < at + this.sectorSize; i += 1024) this.pageSum ^= cells[i]!;
    }
  }

  /**
   * Checks the records of a sector mount did not walk, and of the sectors read with it:
   * damage there is a CorruptImageError, as a full replay would have found, never a record
   * decoded from damaged bytes.
   */
  private checkSectors(first: number): void {
    for (let s = first; s < this.sectorCount && s < first + READ_RUN; s++) {
      if (this.checked[s] || this.state[s] !== 'used') {
        if (s === first) this.checked[s] = 1;
        continue;
      }
      const cells = this.readSector(s);
      const crc = crc32(cells);
      // Its cells as they were when their records were checked (the seal a snapshot holds).
      if (this.sealOf[s] !== 0 && this.sealOf[s] === crc) {
        this.checked[s] = 1;
        continue;
      }
      const walk = walkSector(cells, () => undefined);
      if (walk.damage) throw new CorruptImageError(`sector ${s}: ${walk.damage}`);
      // Valid records must end where the next sector says they did.
      const next = this.order[this.seqOf[s]! - this.seqOf[this.order[0]!]! + 1];
      if (next !== undefined) {
        const prevEnd = parseSectorHeader(this.readSector(next), 0)?.prevEnd;
        if (prevEnd !== walk.end) {
          throw new CorruptImageError(
            `sector ${s}: valid records end at ${walk.end}, but the next sector recorded ` +
              `${prevEnd === NO_PREVIOUS ? 'no predecessor' : (prevEnd ?? 'nothing')}: records were damaged`,
          );
        }
      }
      this.checked[s] = 1;
      // Known good now: its CRC seals it for the next snapshot (the head is never sealed).
      if (s !== this.head) this.sealOf[s] = crc;
    }
  }

  /** Where the payload of the record at address starts within cellsOf(address). */
  payloadOffset(address: number): number {
    return (address % this.runBytes) + RECORD_HEADER_BYTES;
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
      total > this.sectorSize - SECTOR_HEADER_BYTES - this.tailBytes() ||
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
    this.appendedSinceCheckpoint += total;
    return { address, header };
  }

  /**
   * Makes room for `total` bytes in the head: a new sector, collecting the oldest first to
   * keep the reserve (and, for a device write, the host reserve too).
   */
  private ensureRoom(total: number): void {
    const fits = () => this.head >= 0 && this.headOffset + total <= this.sectorSize;
    if (fits()) return;
    if (!this.collecting) {
      const keep = this.reserve + (this.openTxn?.writeClass === 'device' ? this.hostReserve : 0);
      // Collecting cannot help when nearly everything written is still live: say so before
      // rewriting the whole part in vain.
      if (this.erased - 1 < keep && this.deadBytes() < total + 2 * this.sectorSize) {
        throw new StoreFullError(
          `flash is full: ${this.liveTotal} B live, ${this.deadBytes()} B reclaimable, ${total} B needed`,
        );
      }
      if (this.erased - 1 < keep) this.collectUntil(keep + 1, total);
      // Collection may have left the head in a fresh sector that has room.
      if (fits()) return;
    }
    this.openSector();
  }

  /**
   * Collects oldest sectors until `keep` sectors are erased, but only as many as a plan
   * says will get there (live bytes copied against sectors freed): a collection that cannot
   * succeed erases nothing, and one that failed is not retried until dead bytes change, so
   * a full store costs no erases per refused write.
   */
  private collectUntil(keep: number, total: number): void {
    const deadBytes = this.deadBytes();
    if (this.isFutile(keep)) throw new StoreFullError(this.futile!.message);
    const refuse = (why: string): never => {
      const message = `flash is full: ${why} (${this.liveTotal} B live, ${deadBytes} B reclaimable, ${total} B needed)`;
      this.futile = { deadBytes, keep, bound: this.collectBound(), message };
      throw new StoreFullError(message);
    };
    // A sector that retires instead of coming back erased costs one more round of the plan.
    for (let round = 0; round <= MAX_RETIRED_SECTORS; round++) {
      const victims = this.victimsFor(keep - this.erased);
      if (victims < 0) refuse('collection cannot free a sector');
      this.readyToCollect(victims);
      const retired = this.retired.length;
      for (let i = 0; i < victims && this.erased < keep; i++) this.collectOldest();
      if (this.erased >= keep) {
        this.futile = undefined;
        return;
      }
      if (this.retired.length === retired) break;
    }
    refuse('collection freed less than planned');
  }

  /**
   * Before the oldest `victims` sectors are collected: each is checked (invariant 13: a
   * sector mount did not read is checked at its first read) and the tables' pages are in
   * if a snapshot's sectors are among them, so damage found there refuses the collection
   * before it has moved anything.
   */
  private readyToCollect(victims: number): void {
    for (let i = 0; i < victims && i < this.order.length; i++) {
      const victim = this.order[i]!;
      if (this.pagedFromSeq !== 0 && this.seqOf[victim]! >= this.pagedFromSeq) {
        this.owner!.pageIn?.();
        this.pagedFromSeq = 0;
      }
      if (!this.checked[victim]) this.checkSectors(victim);
    }
  }

  /** A collection that failed faced the same dead bytes and limits: it would fail again. */
  private isFutile(keep: number): boolean {
    const f = this.futile;
    return (
      f !== undefined &&
      f.deadBytes === this.deadBytes() &&
      f.keep <= keep &&
      f.bound === this.collectBound()
    );
  }

  /** The oldest sequence number collection may not take: an open transaction's first sector. */
  private collectBound(): number {
    return this.openTxn ? this.openTxn.fromSeq : Infinity;
  }

  /**
   * The fewest oldest sectors whose collection frees `deficit` sectors net (-1: none do):
   * their live bytes, plus a log tail each, must fit in the head's room and in fewer fresh
   * sectors than they free, counting each fresh sector's header, tail and a slack for
   * records that do not split across sectors.
   */
  private victimsFor(deficit: number): number {
    if (deficit <= 0) return 0;
    const tail = RECORD_HEADER_BYTES + this.tailBytes();
    const usable = this.sectorSize - SECTOR_HEADER_BYTES - tail - this.sectorSize / 8;
    const headRoom = this.head >= 0 ? this.sectorSize - this.headOffset : 0;
    let copied = 0;
    for (let k = 1; k < this.order.length; k++) {
      const victim = this.order[k - 1]!;
      if (victim === this.head) break;
      if (this.openTxn && this.seqOf[victim]! >= this.openTxn.fromSeq) break;
      copied += this.live[victim]! + tail;
      const fresh = Math.max(0, Math.ceil((copied - headRoom) / usable));
      if (k - fresh >= deficit) return k;
    }
    return -1;
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
    if (this.resident[sector])
      this.runs[Math.floor(sector / CELL_RUN)]!.set(bytes, address % this.runBytes);
    if (sector === this.mirrored) this.headCells.set(bytes, address - sector * this.sectorSize);
  }

  private erase(sector: number): void {
    this.evict(sector);
    this.checked[sector] = 0;
    this.sealOf[sector] = 0;
    if (sector === this.mirrored) this.mirrored = -1;
    this.device.erase(sector);
  }

  /** Opens the next erased sector as head and starts it with the log tail. */
  private openSector(): void {
    for (;;) {
      const next = this.nextErasedSector();
      if (next < 0) throw new StoreFullError('flash is full: no erased sector left');
      if (this.unverified[next]) {
        // A torn erase can leave the header erased and the body not: finish the erase.
        this.unverified[next] = 0;
        if (!this.device.blankCheck(next)) {
          if (!this.eraseOrRetire(next)) continue;
          this.device.sync();
        }
      }
      const prevEnd = this.head >= 0 ? this.headValidEnd : NO_PREVIOUS;
      const seq = this.nextSeq;
      try {
        this.program(next * this.sectorSize, encodeSectorHeader({ seq, prevEnd }));
      } catch (err) {
        if (!(err instanceof WornSectorError)) throw err;
        // Nothing was programmed: take the next sector, whose tail will list this one.
        this.markRetired(next);
        continue;
      }
      this.nextSeq++;
      // The head closes: its cells never change again until collection erases it.
      if (this.head >= 0 && this.mirrored === this.head)
        this.sealOf[this.head] = crc32(this.headCells);
      this.headCells.fill(0xff);
      this.headCells.set(encodeSectorHeader({ seq, prevEnd }), 0);
      this.mirrored = next;
      this.checked[next] = 1;
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
      return;
    }
  }

  /**
   * Erases a sector, or retires it when it is worn (false): it leaves the part's erased
   * pool for good, and the next log tail lists it so mount leaves it alone.
   */
  private eraseOrRetire(sector: number): boolean {
    try {
      this.erase(sector);
      return true;
    } catch (err) {
      if (!(err instanceof WornSectorError)) throw err;
      this.markRetired(sector);
      if (this.head >= 0) {
        this.writeTail();
        this.device.sync();
      }
      return false;
    }
  }

  private markRetired(sector: number): void {
    if (this.state[sector] === 'erased') this.erased--;
    this.state[sector] = 'retired';
    this.unverified[sector] = 0;
    this.evict(sector);
    this.sealOf[sector] = 0;
    if (sector === this.mirrored) this.mirrored = -1;
    if (!this.retired.includes(sector)) this.retired.push(sector);
    if (this.retired.length > MAX_RETIRED_SECTORS) {
      throw new StoreError(
        `flash is failing: ${this.retired.length} sectors are worn out; the store takes no more writes`,
      );
    }
  }

  /** Bytes of a log tail record: lowSeq, erasing, then the retired sectors. */
  private tailBytes(): number {
    return paddedLength(8 + 4 * this.retired.length);
  }

  private writeTail(): void {
    const payload = Buffer.allocUnsafe(8 + 4 * this.retired.length);
    payload.writeUInt32LE(this.lowSeq, 0);
    payload.writeInt32LE(this.erasing, 4);
    this.retired.forEach((s, i) => payload.writeUInt32LE(s, 8 + 4 * i));
    const { address } = this.place(SELF_COMMITTED, RecordType.Tail, FLAG_COMMIT, payload, false);
    this.adoptTail(address, paddedLength(payload.length));
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
    if (this.pagedFromSeq !== 0 && seq >= this.pagedFromSeq) {
      // The snapshot's pieces are about to go: its tables' pages come in now.
      owner.pageIn?.();
      this.pagedFromSeq = 0;
    }
    this.collecting = true;
    try {
      if (!this.checked[victim]) this.checkSectors(victim);
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
      this.order.shift();
      this.liveTotal -= this.live[victim]!;
      this.live[victim] = 0;
      this.unverified[victim] = 0;
      this.state[victim] = 'dirty';
      this.erasing = -1;
      if (this.eraseOrRetire(victim)) {
        this.device.sync();
        this.state[victim] = 'erased';
        this.erased++;
      }
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
    const record = LogRecord.of(0, 0, 0, 0, NO_CELLS);
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
  private chunkReader(sectors: ArrayLike<number>): {
    sector(index: number, keep: boolean): Buffer;
  } {
    const most = Math.max(1, Math.floor(SCAN_BYTES / this.sectorSize));
    let first = -1;
    let count = 0;
    let kept = false;
    let cells: Buffer = Buffer.alloc(0);
    let scan: Buffer | undefined;
    return {
      /** The sector's cells; kept in RAM (keep) or in a buffer the next read reuses. */
      sector: (index: number, keep: boolean) => {
        if (this.resident[sectors[index]!]) return this.sectorCells(sectors[index]!);
        if (first < 0 || index < first || index >= first + count || (keep && !kept)) {
          first = index;
          count = 1;
          while (count < most && sectors[index + count] === sectors[index]! + count) count++;
          const address = sectors[index]! * this.sectorSize;
          kept = keep || !this.device.readInto;
          if (kept) {
            // Straight into the runs' buffers: these sectors are resident from now on.
            this.readResident(sectors[index]!, sectors[index]! + count);
          } else {
            scan ??= Buffer.allocUnsafe(most * this.sectorSize);
            cells = scan.subarray(0, count * this.sectorSize);
            this.device.readInto!(address, cells);
          }
        }
        if (kept) return this.sectorCells(sectors[index]!);
        const at = (index - first) * this.sectorSize;
        return cells.subarray(at, at + this.sectorSize);
      },
    };
  }

  private readSector(sector: number): Buffer {
    if (this.resident[sector]) return this.sectorCells(sector);
    // Sectors in use are read a run at a time, the runs aligned: after a mount from a
    // snapshot, random lookups fill RAM in a few hundred reads instead of one per sector.
    const runStart = sector - (sector % READ_RUN);
    const runEnd = Math.min(runStart + READ_RUN, this.sectorCount);
    const wanted = (s: number) => this.state[s] === 'used' && !this.resident[s];
    let from = sector;
    let to = sector + 1;
    while (from > runStart && wanted(from - 1)) from--;
    while (to < runEnd && wanted(to)) to++;
    this.readResident(from, to);
    return this.sectorCells(sector);
  }

  /** A resident sector's cells: a view of its run's buffer. */
  private sectorCells(sector: number): Buffer {
    const at = (sector % CELL_RUN) * this.sectorSize;
    return this.runs[Math.floor(sector / CELL_RUN)]!.subarray(at, at + this.sectorSize);
  }

  /**
   * Reads sectors [from, to) from the device into their runs' buffers; they are resident
   * from now on. A run's buffer is allocated uninitialised: only resident sectors are read
   * from it, and the pages of sectors never read are never touched (nor counted in RSS).
   */
  private readResident(from: number, to: number): void {
    for (let s = from; s < to;) {
      const run = Math.floor(s / CELL_RUN);
      const runStart = run * CELL_RUN;
      const end = Math.min(to, runStart + CELL_RUN);
      const cells = (this.runs[run] ??= Buffer.allocUnsafeSlow(
        (Math.min(runStart + CELL_RUN, this.sectorCount) - runStart) * this.sectorSize,
      ));
      const into = cells.subarray(
        (s - runStart) * this.sectorSize,
        (end - runStart) * this.sectorSize,
      );
      if (this.device.readInto) this.device.readInto(s * this.sectorSize, into);
      else into.set(this.device.read(s * this.sectorSize, into.length));
      for (; s < end; s++) {
        if (this.resident[s]) continue;
        this.resident[s] = 1;
        this.residentInRun[run]++;
      }
    }
  }

  /** A sector's cells leave RAM (it is erased or retired); its run's with its last one. */
  private evict(sector: number): void {
    if (!this.resident[sector]) return;
    this.resident[sector] = 0;
    const run = Math.floor(sector / CELL_RUN);
    if (--this.residentInRun[run]! === 0) this.runs[run] = undefined;
  }

  // ---- checkpoints ---------------------------------------------------------------------

  /**
   * Whether enough was appended since the last snapshot to write one: the budget, and at
   * least SNAPSHOT_SPACING times the last snapshot's size, so snapshots add a bounded share
   * to what is programmed (and worn) per write.
   */
  checkpointDue(budgetBytes: number): boolean {
    if (this.openTxn || this.appendedSinceCheckpoint < budgetBytes) return false;
    // Collection took the last snapshot's first sector: mount has none to start from.
    if (this.lastCheckpointSeq < this.lowSeq) return true;
    return this.appendedSinceCheckpoint >= SNAPSHOT_SPACING * this.lastCheckpointBytes;
  }

  /**
   * Writes a snapshot of the index (and the log's live bytes and tail) as one transaction:
   * pieces of a sector each, then the checkpoint-end commit record. Skipped (false) when it
   * would need a collection: a snapshot must describe the log as it stood before its first
   * piece, so nothing may move while it is written.
   */
  writeCheckpoint(
    snapshotOf: () => Omit<Snapshot, 'live' | 'seqs' | 'seals' | 'tailAddress' | 'tailTotal'>,
    /** The body's format: the current one but in tests of images older code wrote. */
    format = SNAPSHOT_FORMAT_PAGED,
  ): boolean {
    if (this.openTxn || this.head < 0) return false;
    const piece =
      // Room for the tail of a sector opened meanwhile, should one more sector retire.
      (this.sectorSize -
        SECTOR_HEADER_BYTES -
        paddedLength(8 + 4 * this.retired.length + (this.retired.length ? 4 : 0)) -
        RECORD_HEADER_BYTES) &
      ~3;
    let body: Buffer;
    for (let attempts = 0; ; attempts++) {
      const words = encodeSnapshot(
        {
          ...snapshotOf(),
          live: this.live,
          seqs: this.sectorSeqs(),
          seals: this.sealOf,
          tailAddress: this.tailAddress,
          tailTotal: this.tailTotal,
        },
        format,
      );
      body = Buffer.from(words.buffer, words.byteOffset, words.byteLength);
      if (this.erased - this.sectorsToOpen(body.length, piece) >= this.reserve) break;
      // Collect first, outside the snapshot's transaction, while dead bytes pay for it.
      if (
        attempts > this.order.length ||
        this.deadBytes() < body.length + 2 * this.sectorSize ||
        this.victimsFor(1) < 0
      ) {
        return false;
      }
      this.collectOldest();
    }
    const pieces = Math.ceil(body.length / piece);
    let firstSeq = 0;
    this.begin();
    try {
      let firstAddress = -1;
      for (let at = 0; at < body.length; at += piece) {
        const address = this.append(RecordType.Checkpoint, body.subarray(at, at + piece));
        if (firstAddress < 0) firstAddress = address;
      }
      firstSeq = this.seqOf[Math.floor(firstAddress / this.sectorSize)]!;
      this.commit(
        RecordType.CheckpointEnd,
        encodeCheckpointEnd({ firstAddress, firstSeq, pieces, bytes: body.length }),
      );
    } catch (err) {
      this.abort();
      throw err;
    }
    this.appendedSinceCheckpoint = 0;
    this.lastCheckpointBytes = body.length;
    this.lastCheckpointSeq = firstSeq;
    return true;
  }

  /**
   * The sectors before the snapshot must be the ones it describes: every sector it saw in
   * use and not collected since still holds its sequence number, and no other sector holds
   * one of those. A swapped, duplicated, erased or reused sector would otherwise leave its
   * addresses pointing at other records.
   */
  private checkSnapshotSectors(snapshot: Snapshot, start: SnapshotStart): void {
    const low = this.lowSeq;
    const first = start.firstSeq;
    for (let s = 0; s < this.sectorCount; s++) {
      const then = snapshot.seqs[s]!;
      const now = this.state[s] === 'used' ? this.seqOf[s]! : 0;
      const before = (then >= low && then < first) || (now >= low && now < first);
      if (then > first || (before && then !== now)) {
        throw new SnapshotRejected(
          `sector ${s} holds sequence ${now || 'none'}, the snapshot saw ${then || 'none'}`,
        );
      }
    }
  }

  /**
   * The database meta and ack records the snapshot names must say what it says. One in a
   * sector collected since is not there to read: it was live, so collection copied it, and
   * replay meets that copy (or a newer record) and takes its version from the log.
   */
  private checkSnapshotRecords(s: Snapshot, gone: Uint8Array): void {
    const header: RecordHeader = { type: 0, flags: 0, length: 0, txn: 0, payloadCrc: 0 };
    const here = (slot: SlotRef | undefined): slot is SlotRef =>
      slot !== undefined && gone[Math.floor(slot.address / this.sectorSize)] !== 1;
    const payloadOf = (slot: { address: number; length: number }, type: number) => {
      const cells = this.cellsOf(slot.address);
      const at = slot.address % this.runBytes;
      const h = parseRecordHeader(cells, at, header);
      if (!h || h.type !== type || h.length !== slot.length) {
        throw new SnapshotRejected(`no ${RECORD_TYPE_NAMES[type]} record at ${slot.address}`);
      }
      return at + RECORD_HEADER_BYTES;
    };
    if (here(s.meta)) {
      const cells = this.cellsOf(s.meta.address);
      const p = payloadOf(s.meta, RecordType.DatabaseMeta);
      if (cells.readUInt32LE(p) !== s.generation || cells.readUInt32LE(p + 4) !== s.version) {
        throw new SnapshotRejected('its database version is not the one on flash');
      }
    } else if (!s.meta && (s.generation !== 0 || s.version !== 0)) {
      throw new SnapshotRejected('it names a database version but no record of it');
    }
    if (here(s.ack)) {
      const p = payloadOf(s.ack, RecordType.Ack);
      if (this.cellsOf(s.ack.address).readUInt32LE(p) !== s.ackedSeq) {
        throw new SnapshotRejected('its acknowledged sequence is not the one on flash');
      }
    } else if (!s.ack && s.ackedSeq !== 0) {
      throw new SnapshotRejected('it names an acknowledgement but no record of it');
    }
    if (here(s.config)) payloadOf(s.config, RecordType.Config);
  }

  private sectorSeqs(): Uint32Array {
    const seqs = new Uint32Array(this.sectorCount);
    for (const s of this.order) seqs[s] = this.seqOf[s]!;
    return seqs;
  }

  /** Sectors the pieces of a snapshot (and its end record) would open, placed as place() does. */
  private sectorsToOpen(bytes: number, piece: number): number {
    let opened = 0;
    let room = this.sectorSize - this.headOffset;
    const fresh = this.sectorSize - SECTOR_HEADER_BYTES - this.tailBytes();
    for (let at = 0; at <= bytes; at += piece) {
      const total = at < bytes ? paddedLength(Math.min(piece, bytes - at)) : paddedLength(16);
      if (total > room) {
        opened++;
        room = fresh;
      }
      room -= total;
    }
    return opened;
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
    retiredSectors: number;
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
      retiredSectors: this.retired.length,
    };
  }

  /** The sectors retired for good (failed to erase or to take a header), in the order retired. */
  retiredSectors(): readonly number[] {
    return [...this.retired];
  }

  /** Bytes a new transaction of `bytes` could get: free space plus what collection reclaims. */
  reclaimable(): number {
    const s = this.stats();
    return s.freeBytes + s.deadBytes - this.reserve * this.sectorSize;
  }
}
