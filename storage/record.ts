import { crc32 } from './crc32';

/*
 * On-flash structures (little endian). See README.md "Format".
 *
 * Sector header, 16 B at offset 0 of a sector in use:
 *   magic u32 'RSLG' | seq u32 | prevEnd u32 | crc u32 (over the first 12 bytes)
 * Record, 16 B header then the payload padded to 4 B:
 *   type u8 | flags u8 | length u16 | txn u32 | payloadCrc u32 | headerCrc u32 (over 12 B)
 */
export const SECTOR_MAGIC = 0x474c5352; // 'RSLG'
export const SECTOR_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 16;
export const NO_PREVIOUS = 0xffffffff;

/** Record types. 0xFF is never used: it is what an unwritten header reads as. */
export const enum RecordType {
  /** Latest log tail: sectors below lowSeq are garbage; `erasing` names the sector being erased. */
  Tail = 0x01,
  /** Commit record of a database change: generation and version. */
  DatabaseMeta = 0x02,
  Config = 0x03,
  Ack = 0x04,
  Event = 0x05,
  Uses = 0x06,
  /** First record of a full push: its generation and sizes (mount pre-sizes the tables). */
  GenerationStart = 0x07,
  /** A piece of an index snapshot (see checkpoint.ts); never live, never copied by collection. */
  Checkpoint = 0x08,
  /** Commit record of a snapshot: where its transaction started, its pieces and bytes. */
  CheckpointEnd = 0x09,
  User = 0x10,
  Schedule = 0x11,
  Holiday = 0x12,
  AccessPoint = 0x13,
  Credential = 0x14,
  /** Delete of an entity by id within a generation (delta push). */
  Tombstone = 0x1f,
}

export const RECORD_TYPE_NAMES: Record<number, string> = {
  0x01: 'tail',
  0x02: 'database-meta',
  0x03: 'config',
  0x04: 'ack',
  0x05: 'event',
  0x06: 'uses',
  0x07: 'generation-start',
  0x08: 'checkpoint',
  0x09: 'checkpoint-end',
  0x10: 'user',
  0x11: 'schedule',
  0x12: 'holiday',
  0x13: 'access-point',
  0x14: 'credential',
  0x1f: 'tombstone',
};

export const FLAG_COMMIT = 0x01;
/** First record a writer put after torn bytes it found at mount (see sector-walk.ts). */
export const FLAG_RESYNC = 0x02;
/** Transaction 0: a record that commits itself (garbage-collection copies). */
export const SELF_COMMITTED = 0;

export interface SectorHeader {
  seq: number;
  prevEnd: number;
}

export function encodeSectorHeader(h: SectorHeader): Buffer {
  const b = Buffer.allocUnsafe(SECTOR_HEADER_BYTES);
  b.writeUInt32LE(SECTOR_MAGIC, 0);
  b.writeUInt32LE(h.seq, 4);
  b.writeUInt32LE(h.prevEnd, 8);
  b.writeUInt32LE(crc32(b, 0, 12), 12);
  return b;
}

/** The header, or undefined when the bytes are not a valid sector header. */
export function parseSectorHeader(b: Buffer, at = 0): SectorHeader | undefined {
  if (b.readUInt32LE(at) !== SECTOR_MAGIC) return undefined;
  if (b.readUInt32LE(at + 12) !== crc32(b, at, at + 12)) return undefined;
  return { seq: b.readUInt32LE(at + 4), prevEnd: b.readUInt32LE(at + 8) };
}

export function paddedLength(payloadLength: number): number {
  return RECORD_HEADER_BYTES + ((payloadLength + 3) & ~3);
}

/** Writes a record header for payload into b at offset `at`. */
export function writeRecordHeader(
  b: Buffer,
  at: number,
  type: number,
  flags: number,
  txn: number,
  payload: Uint8Array,
): void {
  b[at] = type;
  b[at + 1] = flags;
  b.writeUInt16LE(payload.length, at + 2);
  b.writeUInt32LE(txn >>> 0, at + 4);
  b.writeUInt32LE(crc32(payload), at + 8);
  b.writeUInt32LE(crc32(b, at, at + 12), at + 12);
}

export interface RecordHeader {
  type: number;
  flags: number;
  length: number;
  txn: number;
  payloadCrc: number;
}

/**
 * Parses a header whose own CRC holds; undefined otherwise (erased, torn or damaged).
 * Fills `into` when given (mount parses a million headers: no garbage per record).
 */
export function parseRecordHeader(
  b: Buffer,
  at: number,
  into?: RecordHeader,
): RecordHeader | undefined {
  if (b.readUInt32LE(at + 12) !== crc32(b, at, at + 12)) return undefined;
  const type = b[at]!;
  if (RECORD_TYPE_NAMES[type] === undefined) return undefined;
  const h = into ?? { type: 0, flags: 0, length: 0, txn: 0, payloadCrc: 0 };
  h.type = type;
  h.flags = b[at + 1]!;
  h.length = b.readUInt16LE(at + 2);
  h.txn = b.readUInt32LE(at + 4);
  h.payloadCrc = b.readUInt32LE(at + 8);
  return h;
}

export function isErased(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0xff) return false;
  return true;
}
