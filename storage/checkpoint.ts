import { KeyTable } from './key-table';
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
const SNAPSHOT_FORMAT = 2;
/** Format 1 had no sector CRCs; such a snapshot still loads (its sectors are walked). */
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
}

const FIXED_WORDS = 17;

export function encodeSnapshot(s: Snapshot): Uint32Array {
  let words = FIXED_WORDS + 3 * s.live.length + 1 + s.events.length;
  for (const name of SNAPSHOT_TABLES) {
    const t = s.tables[name];
    words += 2 + t.size * (t.hasCounters ? 5 : 4);
  }
  const out = new Uint32Array(words);
  const slot = (r: SlotRef | undefined): [number, number] => (r ? [r.address, r.length] : [0, 0]);
  out.set([
    SNAPSHOT_MAGIC,
    // Narrowed hashes (tests only) ride in the format word's second byte: 0 is 32 bits.
    SNAPSHOT_FORMAT | (s.keyHashBits >= 32 ? 0 : s.keyHashBits << 8),
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
  for (const name of SNAPSHOT_TABLES) {
    const t = s.tables[name];
    out[at++] = t.size;
    out[at++] = t.hasCounters ? 1 : 0;
    at = t.exportEntries(out, at);
  }
  return out;
}

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
    totalWords: number,
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

/** The snapshot in words, or a reason it cannot be one (then mount replays the whole log). */
export function decodeSnapshot(
  body: Uint32Array | WordStream,
  sectorCount: number,
): Snapshot | string {
  const w = body instanceof WordStream ? body : WordStream.of(body);
  if (!w.need(FIXED_WORDS + 1)) return 'not a snapshot';
  const head = w.take(FIXED_WORDS)!;
  if (head[0] !== SNAPSHOT_MAGIC) return 'not a snapshot';
  const format = head[1]! & 0xffff00ff;
  if (format !== SNAPSHOT_FORMAT && format !== SNAPSHOT_FORMAT_WITHOUT_SEALS) {
    return `snapshot format ${head[1]} is not supported`;
  }
  if (head[16] !== sectorCount) return 'snapshot of another geometry';
  const slot = (at: number): SlotRef | undefined =>
    head[at] ? { address: head[at]!, length: head[at + 1]! } : undefined;
  const live = w.take(sectorCount);
  const seqs = live && w.take(sectorCount);
  const seals =
    format === SNAPSHOT_FORMAT ? seqs && w.take(sectorCount) : new Uint32Array(sectorCount);
  if (!seqs || !seals) return 'snapshot ends inside its sector tables';
  if (!w.need(1)) return 'snapshot events run past its end';
  const eventCount = w.word();
  const events = w.take(eventCount * 3);
  if (!events) return 'snapshot events run past its end';
  const tables = {} as GenerationTables;
  for (const name of SNAPSHOT_TABLES) {
    if (!w.need(2)) return 'snapshot ends inside its tables';
    const count = w.word();
    const withCounters = w.word() === 1;
    const step = withCounters ? 5 : 4;
    if (count * step > w.remaining) return 'snapshot table runs past its end';
    const table = new KeyTable(count, withCounters);
    // Whole entries at a time, as many as the window holds.
    const most = Math.floor(w.words.length / step);
    for (let left = count; left > 0;) {
      const k = Math.min(left, most);
      if (k === 0 || !w.need(k * step)) return 'snapshot table runs past its end';
      table.importMore(w.words, w.at, k);
      w.advance(k * step);
      left -= k;
    }
    tables[name] = table;
  }
  if (w.remaining !== 0) return 'snapshot has bytes past its tables';
  return {
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
    tables,
    keyHashBits: (head[1]! >>> 8) & 0xff || 32,
  };
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

/** Every record a snapshot holds (the by-value table mirrors the by-id one), with its total size. */
export function forEachSnapshotRecord(
  s: Snapshot,
  visit: (address: number, total: number) => void,
): void {
  for (const name of SNAPSHOT_TABLES) {
    if (name === 'credentialsByValue') continue;
    s.tables[name].forEach((address, length) => visit(address, paddedLength(length)));
  }
  for (let at = 0; at < s.events.length; at += 3)
    visit(s.events[at + 1]!, paddedLength(s.events[at + 2]!));
  for (const slot of [s.meta, s.ack, s.config]) {
    if (slot) visit(slot.address, paddedLength(slot.length));
  }
}
