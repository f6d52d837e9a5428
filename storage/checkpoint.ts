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
const SNAPSHOT_FORMAT = 1;

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
  /** (seq, address, length) per retained event. */
  events: Uint32Array;
  tables: GenerationTables;
  /** Width of the key hashes in the tables: 32 but in tests that force collisions. */
  keyHashBits: number;
}

const FIXED_WORDS = 17;

export function encodeSnapshot(s: Snapshot): Uint32Array {
  let words = FIXED_WORDS + 2 * s.live.length + 1 + s.events.length;
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

/** The snapshot in words, or a reason it cannot be one (then mount replays the whole log). */
export function decodeSnapshot(w: Uint32Array, sectorCount: number): Snapshot | string {
  if (w.length < FIXED_WORDS + 1 || w[0] !== SNAPSHOT_MAGIC) return 'not a snapshot';
  if ((w[1]! & 0xffff00ff) !== SNAPSHOT_FORMAT) return `snapshot format ${w[1]} is not supported`;
  if (w[16] !== sectorCount) return 'snapshot of another geometry';
  const slot = (at: number): SlotRef | undefined =>
    w[at] ? { address: w[at]!, length: w[at + 1]! } : undefined;
  let at = FIXED_WORDS;
  if (at + 2 * sectorCount > w.length) return 'snapshot ends inside its sector tables';
  const live = w.slice(at, at + sectorCount);
  at += sectorCount;
  const seqs = w.slice(at, at + sectorCount);
  at += sectorCount;
  const eventCount = w[at++]!;
  if (at + eventCount * 3 > w.length) return 'snapshot events run past its end';
  const events = w.slice(at, at + eventCount * 3);
  at += eventCount * 3;
  const tables = {} as GenerationTables;
  for (const name of SNAPSHOT_TABLES) {
    if (at + 2 > w.length) return 'snapshot ends inside its tables';
    const count = w[at]!;
    const withCounters = w[at + 1] === 1;
    at += 2;
    const end = at + count * (withCounters ? 5 : 4);
    if (end > w.length) return 'snapshot table runs past its end';
    tables[name] = KeyTable.importEntries(w, at, count, withCounters);
    at = end;
  }
  if (at !== w.length) return 'snapshot has bytes past its tables';
  return {
    generation: w[2]!,
    version: w[3]!,
    firstSeq: w[4]!,
    lastSeq: w[5]!,
    dropped: w[6]!,
    ackedSeq: w[7]!,
    meta: slot(8),
    ack: slot(10),
    config: slot(12),
    tailAddress: w[14] === 0xffffffff ? -1 : w[14]!,
    tailTotal: w[15]!,
    live,
    seqs,
    events,
    tables,
    keyHashBits: (w[1]! >>> 8) & 0xff || 32,
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
