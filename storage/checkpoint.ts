import { KeyTable, PAGE_BITMAP_WORDS, PAGE_SLOTS, StaleEntries } from './key-table';
import { SnapshotPageError } from './errors';
import { paddedLength } from './record';
import type { GenerationTables } from './store-index';

/*
 * An index snapshot: everything mount would otherwise rebuild by replaying the log up to a
 * point (key tables, event positions, counters, live bytes per sector). Written as a
 * transaction of `checkpoint` records and committed by a `checkpoint-end` record; mount
 * loads the newest one it can trust and replays only the records after it. See README.md
 * "Checkpoints" for the format and the invariants.
 *
 * The body is 32-bit words in the host's byte order: a table of a million keys loads as
 * typed arrays without converting each word. The magic, read in the other order, does not
 * match, so an image moved to a host of the other order falls back to a full replay.
 */
export const SNAPSHOT_MAGIC = 0x50435352; // 'RSCP'
/** Tables as their slot pages (a bitmap and the occupied slots each): mount pages them in. */
export const SNAPSHOT_FORMAT_PAGED = 3;
/** Tables as lists of entries: mount builds them whole. Still loads; written for tests only. */
export const SNAPSHOT_FORMAT_ENTRIES = 2;
/** Format 1 had no sector CRCs either; such a snapshot still loads (its sectors are walked). */
const SNAPSHOT_FORMAT_WITHOUT_SEALS = 1;

/** The tables in the order the body holds them. */
export const SNAPSHOT_TABLES: ReadonlyArray<keyof GenerationTables> = [
  'credentialsById',
  'credentialsByValue',
  'users',
  'schedules',
  'holidays',
  'accessPoints',
  'uses',
];

export interface SlotRef {
  address: number;
  length: number;
}

export interface Snapshot {
  generation: number;
  version: number;
  firstSeq: number;
  lastSeq: number;
  dropped: number;
  ackedSeq: number;
  meta: SlotRef | undefined;
  ack: SlotRef | undefined;
  config: SlotRef | undefined;
  /** The log tail record live when the snapshot was taken. */
  tailAddress: number;
  tailTotal: number;
  /** Live bytes per sector. */
  live: Uint32Array;
  /** Sequence number of each sector in use (0: not in use) when the snapshot was taken. */
  seqs: Uint32Array;
  /**
   * CRC-32 of each full sector before the snapshot whose records were checked (0: none):
   * mount checks such a sector by its CRC instead of record by record.
   */
  seals: Uint32Array;
  /** (seq, address, length) per retained event. */
  events: Uint32Array;
  tables: GenerationTables;
  /** Width of the key hashes in the tables: 32 but in tests that force collisions. */
  keyHashBits: number;
  /** Decoded from a format 3 body (tables paged in later; set by decodeSnapshot only). */
  paged?: boolean;
}

const FIXED_WORDS = 17;

export function encodeSnapshot(s: Snapshot, format = SNAPSHOT_FORMAT_PAGED): Uint32Array {
  const paged = format === SNAPSHOT_FORMAT_PAGED;
  const headWords = FIXED_WORDS + 3 * s.live.length + 1 + s.events.length;
  let words = headWords;
  const layouts = SNAPSHOT_TABLES.map((name) => (paged ? s.tables[name].pageLayout() : undefined));
  for (let t = 0; t < SNAPSHOT_TABLES.length; t++) {
    const table = s.tables[SNAPSHOT_TABLES[t]!];
    const layout = layouts[t];
    if (layout) {
      const pages = layout.pageWords.length;
      words += TABLE_HEAD_WORDS + 2 * pages + 1;
      for (let p = 0; p < pages; p++) words += layout.pageWords[p]!;
    } else {
      words += 2 + table.size * (table.hasCounters ? 5 : 4);
    }
  }
  const out = new Uint32Array(words);
  const slot = (r: SlotRef | undefined): [number, number] => (r ? [r.address, r.length] : [0, 0]);
  out.set([
    SNAPSHOT_MAGIC,
    // Narrowed hashes (tests only) ride in the format word's second byte: 0 is 32 bits.
    format | (s.keyHashBits >= 32 ? 0 : s.keyHashBits << 8),
    s.generation,
    s.version,
    s.firstSeq,
    s.lastSeq,
    s.dropped,
    s.ackedSeq,
    ...slot(s.meta),
    ...slot(s.ack),
    ...slot(s.config),
    s.tailAddress >>> 0,
    s.tailTotal,
    s.live.length,
  ]);
  let at = FIXED_WORDS;
  out.set(s.live, at);
  at += s.live.length;
  out.set(s.seqs, at);
  at += s.seqs.length;
  out.set(s.seals, at);
  at += s.seals.length;
  out[at++] = s.events.length / 3;
  out.set(s.events, at);
  at += s.events.length;
  if (!paged) {
    for (const name of SNAPSHOT_TABLES) {
      const t = s.tables[name];
      out[at++] = t.size;
      out[at++] = t.hasCounters ? 1 : 0;
      at = t.exportEntries(out, at);
    }
  } else {
    // Every table's directory first (mount reads only these), then every table's pages.
    let page = at;
    for (const layout of layouts) page += TABLE_HEAD_WORDS + 2 * layout!.pageWords.length + 1;
    for (let t = 0; t < SNAPSHOT_TABLES.length; t++) {
      const table = s.tables[SNAPSHOT_TABLES[t]!];
      const { pageWords, pageLive, occupied } = layouts[t]!;
      out[at++] = table.capacity;
      out[at++] = table.size;
      out[at++] = occupied;
      out[at++] = table.hasCounters ? 1 : 0;
      for (let p = 0; p < pageWords.length; p++) {
        out[at++] = page;
        page += pageWords[p]!;
      }
      out[at++] = page;
      out.set(pageLive, at);
      at += pageLive.length;
    }
    for (const name of SNAPSHOT_TABLES) at = s.tables[name].exportPages(out, at);
  }
  if (at !== words) throw new Error(`snapshot of ${at} words, ${words} expected`);
  return out;
}

/** Words before a format 3 table's page starts: capacity, size, occupied, flags. */
const TABLE_HEAD_WORDS = 4;

/**
 * A snapshot body read in order through a window of words: mount streams it out of its
 * pieces on flash into the tables, so the body is never assembled in fresh memory (at a
 * million credentials that copy alone cost 36 MB of page faults).
 */
export class WordStream {
  /** Words of the body not yet consumed. */
  remaining: number;
  at = 0;
  end = 0;

  /**
   * `fill` writes the next bytes of the body into `into` (a multiple of 4, at most its
   * length) and returns how many it wrote.
   */
  constructor(
    readonly totalWords: number,
    readonly words: Uint32Array,
    private readonly fill: ((into: Uint8Array) => number) | undefined,
  ) {
    this.remaining = totalWords;
    // A body already in memory is its own window.
    if (!fill) this.end = totalWords;
  }

  static of(words: Uint32Array): WordStream {
    return new WordStream(words.length, words, undefined);
  }

  /** Makes `count` words (at most the window) readable from words[at]; false past the end. */
  need(count: number): boolean {
    if (count > this.remaining) return false;
    if (this.end - this.at >= count) return true;
    const w = this.words;
    w.copyWithin(0, this.at, this.end);
    this.end -= this.at;
    this.at = 0;
    const bytes = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    while (this.end < count) {
      const got = this.fill!(bytes.subarray(this.end * 4));
      if (got <= 0) return false;
      this.end += got / 4;
    }
    return true;
  }

  /** Words of the body consumed so far: where the next word lies in the body. */
  get position(): number {
    return this.totalWords - this.remaining;
  }

  /** Consumes `count` words the caller has read from words[at]. */
  advance(count: number): void {
    this.at += count;
    this.remaining -= count;
  }

  word(): number {
    const v = this.words[this.at]!;
    this.advance(1);
    return v;
  }

  /** The next `count` words as an array of their own. */
  take(count: number): Uint32Array | undefined {
    if (count > this.remaining) return undefined;
    const out = new Uint32Array(count);
    for (let done = 0; done < count;) {
      const step = Math.min(count - done, this.words.length);
      if (!this.need(step)) return undefined;
      out.set(this.words.subarray(this.at, this.at + step), done);
      this.advance(step);
      done += step;
    }
    return out;
  }
}

/** Reads words of a snapshot's body again, from `at` (in words): pages of its tables. */
export interface BodyWords {
  read(at: number, count: number, into: Uint32Array): void;
}

/** The checks mount runs on the entries of a snapshot's tables. */
export interface SnapshotCheck {
  /**
   * Whether mount reads every page of paged tables now (it must count the entries in
   * sectors collected since); otherwise each page is checked when it is read.
   */
  readonly streamTables: boolean;
  /**
   * The entries of the table SNAPSHOT_TABLES[table] in words[from..end), `step` words each
   * (address at +2, length at +3); deleted slots (address 1) are skipped. Counts the
   * addresses that cannot be the snapshot's records; returns how many lie in sectors
   * collected since.
   */
  entries(table: number, words: Uint32Array, from: number, end: number, step: number): number;
  /** Whether an entry's record may be one of the snapshot's (a page read after mount). */
  recordAt(address: number, length: number): boolean;
  /** Whether an entry's record lies in a sector collected since the snapshot. */
  collected(address: number): boolean;
}

export interface DecodeOptions {
  /** The body on flash, for the pages of paged tables (default: the words decoded). */
  source?: BodyWords;
  /** Given the snapshot but its tables: the checks for their entries (it may throw). */
  check?(head: Snapshot): SnapshotCheck;
}

/** The snapshot in words, or a reason it cannot be one (then mount replays the whole log). */
export function decodeSnapshot(
  body: Uint32Array | WordStream,
  sectorCount: number,
  options: DecodeOptions = {},
): Snapshot | string {
  const w = body instanceof WordStream ? body : WordStream.of(body);
  if (!w.need(FIXED_WORDS + 1)) return 'not a snapshot';
  const head = w.take(FIXED_WORDS)!;
  if (head[0] !== SNAPSHOT_MAGIC) return 'not a snapshot';
  const format = head[1]! & 0xffff00ff;
  if (
    format !== SNAPSHOT_FORMAT_PAGED &&
    format !== SNAPSHOT_FORMAT_ENTRIES &&
    format !== SNAPSHOT_FORMAT_WITHOUT_SEALS
  ) {
    return `snapshot format ${head[1]} is not supported`;
  }
  if (head[16] !== sectorCount) return 'snapshot of another geometry';
  const slot = (at: number): SlotRef | undefined =>
    head[at] ? { address: head[at]!, length: head[at + 1]! } : undefined;
  const live = w.take(sectorCount);
  const seqs = live && w.take(sectorCount);
  const seals =
    format !== SNAPSHOT_FORMAT_WITHOUT_SEALS
      ? seqs && w.take(sectorCount)
      : new Uint32Array(sectorCount);
  if (!seqs || !seals) return 'snapshot ends inside its sector tables';
  if (!w.need(1)) return 'snapshot events run past its end';
  const eventCount = w.word();
  const events = w.take(eventCount * 3);
  if (!events) return 'snapshot events run past its end';
  const snapshot: Snapshot = {
    generation: head[2]!,
    version: head[3]!,
    firstSeq: head[4]!,
    lastSeq: head[5]!,
    dropped: head[6]!,
    ackedSeq: head[7]!,
    meta: slot(8),
    ack: slot(10),
    config: slot(12),
    tailAddress: head[14] === 0xffffffff ? -1 : head[14]!,
    tailTotal: head[15]!,
    live,
    seqs,
    seals,
    events,
    tables: {} as GenerationTables,
    keyHashBits: (head[1]! >>> 8) & 0xff || 32,
  };
  const check = options.check?.(snapshot);
  if (format === SNAPSHOT_FORMAT_PAGED) {
    snapshot.paged = true;
    const problem = decodePagedTables(w, snapshot, check, options.source ?? wordsOf(body));
    if (problem) return problem;
    return snapshot;
  }
  for (let t = 0; t < SNAPSHOT_TABLES.length; t++) {
    const table = decodeEntryTable(w, t, check);
    if (typeof table === 'string') return table;
    snapshot.tables[SNAPSHOT_TABLES[t]!] = table;
  }
  if (w.remaining !== 0) return 'snapshot has bytes past its tables';
  return snapshot;
}

function wordsOf(body: Uint32Array | WordStream): BodyWords {
  const words = body instanceof WordStream ? body.words : body;
  if (body instanceof WordStream && body.totalWords > words.length) {
    throw new Error('a streamed snapshot body needs a source for its pages');
  }
  return { read: (at, count, into) => into.set(words.subarray(at, at + count)) };
}

/** Format 1 and 2 tables: entries in slot order, inserted into a table built whole. */
function decodeEntryTable(
  w: WordStream,
  t: number,
  check: SnapshotCheck | undefined,
): KeyTable | string {
  if (!w.need(2)) return 'snapshot ends inside its tables';
  const count = w.word();
  const withCounters = w.word() === 1;
  const step = withCounters ? 5 : 4;
  if (count * step > w.remaining) return 'snapshot table runs past its end';
  const table = new KeyTable(count, withCounters);
  let stale = 0;
  // Whole entries at a time, as many as the window holds.
  const most = Math.floor(w.words.length / step);
  for (let left = count; left > 0;) {
    const k = Math.min(left, most);
    if (k === 0 || !w.need(k * step)) return 'snapshot table runs past its end';
    if (check) stale += check.entries(t, w.words, w.at, w.at + k * step, step);
    table.importMore(w.words, w.at, k);
    w.advance(k * step);
    left -= k;
  }
  if (stale) table.markStale((address) => check!.collected(address));
  return table;
}

/** A format 3 table's directory: where its pages lie in the body and what they hold. */
interface PagedTable {
  capacity: number;
  size: number;
  occupied: number;
  withCounters: boolean;
  /** Word offset of each page in the body, and where the last one ends. */
  starts: Uint32Array;
  /** Live (not deleted) slots of each page. */
  live: Uint32Array;
}

/**
 * Format 3 tables: every table's directory (capacity, live slots, occupied slots, a
 * counters flag, where each page starts and its live slots), then every table's pages (a
 * bitmap of the page's occupied slots, then those slots: low, high, address, length[,
 * counter]). Mount reads the directories and checks that they add up; a page is read and
 * checked when a probe first reaches it. With `check.streamTables` every page is streamed
 * and checked now instead (its entries in sectors collected since are counted per page).
 */
function decodePagedTables(
  w: WordStream,
  snapshot: Snapshot,
  check: SnapshotCheck | undefined,
  source: BodyWords,
): string | undefined {
  const dirs: PagedTable[] = [];
  for (let t = 0; t < SNAPSHOT_TABLES.length; t++) {
    const dir = readDirectory(w);
    if (typeof dir === 'string') return dir;
    dirs.push(dir);
  }
  // The pages follow the directories, table after table, to the end of the body.
  let next = w.position;
  for (const dir of dirs) {
    if (dir.starts[0] !== next) return 'snapshot table pages are not where its directory says';
    next = dir.starts[dir.starts.length - 1]!;
  }
  if (next !== w.totalWords) return 'snapshot table pages do not end with its body';
  const stream = check?.streamTables ?? !check;
  for (let t = 0; t < dirs.length; t++) {
    const dir = dirs[t]!;
    const name = SNAPSHOT_TABLES[t]!;
    const pages = dir.live.length;
    const step = dir.withCounters ? 5 : 4;
    let perPage: Uint32Array | undefined;
    let stale = 0;
    if (stream) {
      for (let p = 0; p < pages; p++) {
        const count = dir.starts[p + 1]! - dir.starts[p]!;
        if (!w.need(count)) return 'snapshot table runs past its end';
        const problem = pageProblem(w.words, w.at, count, p, dir, undefined);
        if (problem) return `snapshot table ${name}, page ${p}: ${problem}`;
        const collected = check
          ? check.entries(t, w.words, w.at + PAGE_BITMAP_WORDS, w.at + count, step)
          : 0;
        if (collected) {
          perPage ??= new Uint32Array(pages);
          perPage[p] = collected;
          stale += collected;
        }
        w.advance(count);
      }
    }
    const scratch = new Uint32Array(PAGE_BITMAP_WORDS + PAGE_SLOTS * step);
    const pagesFrom = {
      read(page: number, slots: Uint32Array, counters: Uint32Array | undefined): void {
        const from = dir.starts[page]!;
        const count = dir.starts[page + 1]! - from;
        source.read(from, count, scratch.subarray(0, count));
        const problem = pageProblem(scratch, 0, count, page, dir, check);
        if (problem) {
          throw new SnapshotPageError(`snapshot table ${name}, page ${page}: ${problem}`);
        }
        scatterPage(scratch, page, slots, counters);
      },
    };
    const staleEntries: StaleEntries | undefined = perPage && {
      collected: (address) => check!.collected(address),
      perPage,
      total: stale,
    };
    snapshot.tables[name] = KeyTable.paged(
      dir.capacity,
      dir.size,
      dir.occupied,
      dir.withCounters,
      pagesFrom,
      staleEntries,
    );
  }
  return undefined;
}

/** A table's directory, checked against itself (its pages are checked as they are read). */
function readDirectory(w: WordStream): PagedTable | string {
  if (!w.need(TABLE_HEAD_WORDS)) return 'snapshot ends inside its tables';
  const capacity = w.word();
  const size = w.word();
  const occupied = w.word();
  const flags = w.word();
  if (flags > 1) return 'snapshot table has unknown flags';
  const withCounters = flags === 1;
  const step = withCounters ? 5 : 4;
  const pages = Math.ceil(capacity / PAGE_SLOTS);
  // A table grows to about three slots a key at most (it never shrinks, and deleted slots
  // count as occupied): anything far larger is not a table this store wrote.
  if (
    size > occupied ||
    occupied >= capacity ||
    capacity > 4 * occupied + 64 ||
    2 * pages + 1 > w.remaining
  ) {
    return 'snapshot table is not a table';
  }
  const starts = w.take(pages + 1);
  const live = starts && w.take(pages);
  if (!starts || !live) return 'snapshot ends inside its tables';
  let slots = 0;
  let alive = 0;
  for (let p = 0; p < pages; p++) {
    const words = starts[p + 1]! - starts[p]!;
    const n = (words - PAGE_BITMAP_WORDS) / step;
    // starts[] is unsigned: a page that ends before it starts is a huge one here.
    if (!Number.isInteger(n) || n < 0 || n > PAGE_SLOTS || live[p]! > n) {
      return 'snapshot table directory does not add up';
    }
    slots += n;
    alive += live[p]!;
  }
  if (slots !== occupied || alive !== size) return 'snapshot table directory does not add up';
  return { capacity, size, occupied, withCounters, starts, live };
}

/**
 * What is wrong with a page of a paged table (words[at..at+count)), or undefined: its
 * bitmap and slots must be what its directory says, and with `check` every live entry's
 * record must be one the snapshot can name.
 */
function pageProblem(
  words: Uint32Array,
  at: number,
  count: number,
  page: number,
  dir: PagedTable,
  check: SnapshotCheck | undefined,
): string | undefined {
  const step = dir.withCounters ? 5 : 4;
  let n = 0;
  for (let b = 0; b < PAGE_BITMAP_WORDS; b++) n += popcount(words[at + b]!);
  if (PAGE_BITMAP_WORDS + n * step !== count) return 'its bitmap and its slots disagree';
  // Bits past the last slot would place entries outside the table.
  const beyond = (page + 1) * PAGE_SLOTS - dir.capacity;
  if (beyond > 0 && highBitsSet(words, at, PAGE_SLOTS - beyond)) {
    return 'it has slots past the capacity';
  }
  let live = 0;
  for (let e = at + PAGE_BITMAP_WORDS; e < at + count; e += step) {
    const address = words[e + 2]!;
    if (address === EMPTY_SLOT) return 'an empty slot is marked occupied';
    if (address === DELETED_SLOT) continue;
    live++;
    if (check && !check.recordAt(address, words[e + 3]!)) {
      return `an entry names ${address}, not a record the snapshot can hold`;
    }
  }
  if (live !== dir.live[page]) return `${live} live slots, its directory says ${dir.live[page]}`;
  return undefined;
}

/** Slot addresses that mean "no record" (key-table.ts EMPTY and DELETED). */
const EMPTY_SLOT = 0;
const DELETED_SLOT = 1;

/** Writes a page as a snapshot holds it (bitmap, then occupied slots) into the table's arrays. */
function scatterPage(
  words: Uint32Array,
  page: number,
  slots: Uint32Array,
  counters: Uint32Array | undefined,
): void {
  let e = PAGE_BITMAP_WORDS;
  const first = page * PAGE_SLOTS;
  for (let b = 0; b < PAGE_BITMAP_WORDS; b++) {
    let bits = words[b]! | 0;
    while (bits !== 0) {
      const low = bits & -bits;
      bits ^= low;
      const i = (first + b * 32 + 31 - Math.clz32(low)) * 4;
      slots[i] = words[e]!;
      slots[i + 1] = words[e + 1]!;
      slots[i + 2] = words[e + 2]!;
      slots[i + 3] = words[e + 3]!;
      e += 4;
      if (counters) counters[i / 4] = words[e++]!;
    }
  }
}

function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Whether any bit at index `from` (0..PAGE_SLOTS) or above is set in the bitmap at words[at]. */
function highBitsSet(words: Uint32Array, at: number, from: number): boolean {
  for (let b = 0; b < PAGE_BITMAP_WORDS; b++) {
    const lo = b * 32;
    if (from >= lo + 32) continue;
    const mask = from <= lo ? 0xffffffff : ~((1 << (from - lo)) - 1);
    if ((words[at + b]! & mask) !== 0) return true;
  }
  return false;
}

/** Commit record of a snapshot: where its first piece lies (and that sector's seq), pieces, bytes. */
export interface CheckpointEnd {
  firstAddress: number;
  firstSeq: number;
  pieces: number;
  bytes: number;
}

export function encodeCheckpointEnd(e: CheckpointEnd): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeUInt32LE(e.firstAddress, 0);
  b.writeUInt32LE(e.firstSeq, 4);
  b.writeUInt32LE(e.pieces, 8);
  b.writeUInt32LE(e.bytes, 12);
  return b;
}

export function decodeCheckpointEnd(
  b: Buffer,
  at: number,
  length: number,
): CheckpointEnd | undefined {
  if (length !== 16) return undefined;
  return {
    firstAddress: b.readUInt32LE(at),
    firstSeq: b.readUInt32LE(at + 4),
    pieces: b.readUInt32LE(at + 8),
    bytes: b.readUInt32LE(at + 12),
  };
}

/**
 * The records a snapshot names outside its tables (events and the meta, ack and config
 * records), with their total sizes: the tables' entries are checked as they stream in.
 */
export function forEachSnapshotRecord(
  s: Snapshot,
  visit: (address: number, total: number) => void,
): void {
  for (let at = 0; at < s.events.length; at += 3)
    visit(s.events[at + 1]!, paddedLength(s.events[at + 2]!));
  for (const slot of [s.meta, s.ack, s.config]) {
    if (slot) visit(slot.address, paddedLength(slot.length));
  }
}
