import { crc32 } from './crc32';
import {
  FLAG_RESYNC,
  RecordHeader,
  RECORD_HEADER_BYTES,
  SECTOR_HEADER_BYTES,
  paddedLength,
  parseRecordHeader,
} from './record';

/** What walking one sector's records found. */
export interface SectorWalk {
  /** Offset just past the last valid record (SECTOR_HEADER_BYTES when none). */
  end: number;
  /** Offset past the last byte that is not 0xFF (where a writer may resume, page-rounded by the caller). */
  dirtyEnd: number;
  /** Byte ranges that hold neither a valid record nor erased cells (torn writes). */
  garbage: Array<[number, number]>;
  /** Set when valid data follows damaged bytes without a resync mark: the image was altered. */
  damage: string | undefined;
  records: number;
}

const ERASED = Buffer.alloc(1 << 16, 0xff);

export function erasedFrom(cells: Buffer, start: number, end: number): boolean {
  for (let at = start; at < end; at += ERASED.length) {
    const to = Math.min(end, at + ERASED.length);
    if (cells.compare(ERASED, 0, to - at, at, to) !== 0) return false;
  }
  return true;
}

/**
 * Visits every valid record of a sector in order. A record is valid when its header CRC
 * holds, it fits in the sector and its payload CRC holds. Past an invalid spot the walk
 * searches forward for the next valid header: a writer that resumed after a torn write
 * flags its first record FLAG_RESYNC, so a valid record after garbage without that flag
 * means the bytes were damaged after they were written.
 */
export function walkSector(
  cells: Buffer,
  visit: (offset: number, header: RecordHeader) => void,
): SectorWalk {
  const size = cells.length;
  const walk: SectorWalk = {
    end: SECTOR_HEADER_BYTES,
    dirtyEnd: SECTOR_HEADER_BYTES,
    garbage: [],
    damage: undefined,
    records: 0,
  };
  let garbageStart: number | undefined;
  let at = SECTOR_HEADER_BYTES;
  // The header handed to visitors, valid during the visit only: one per walk, because a
  // visitor may walk another sector (a lookup checking a sector it reads first).
  const scratch: RecordHeader = { type: 0, flags: 0, length: 0, txn: 0, payloadCrc: 0 };
  while (at + RECORD_HEADER_BYTES <= size) {
    const header = validRecordAt(cells, at, scratch);
    if (header) {
      if (garbageStart !== undefined) {
        walk.garbage.push([garbageStart, at]);
        if (!(header.flags & FLAG_RESYNC) && walk.damage === undefined) {
          walk.damage = `valid record at offset ${at} follows damaged bytes at ${garbageStart}`;
        }
        garbageStart = undefined;
      }
      visit(at, header);
      walk.records++;
      at += paddedLength(header.length);
      walk.end = at;
      walk.dirtyEnd = at;
      continue;
    }
    if (garbageStart === undefined) {
      if (erasedFrom(cells, at, size)) break;
      garbageStart = at;
    }
    at += 4;
  }
  if (garbageStart !== undefined) {
    let last = size;
    while (last > garbageStart && cells[last - 1] === 0xff) last--;
    walk.garbage.push([garbageStart, last]);
    walk.dirtyEnd = last;
  }
  return walk;
}

function validRecordAt(cells: Buffer, at: number, scratch: RecordHeader): RecordHeader | undefined {
  if (cells[at] === 0xff && cells[at + 12] === 0xff) return undefined;
  const header = parseRecordHeader(cells, at, scratch);
  if (!header) return undefined;
  const start = at + RECORD_HEADER_BYTES;
  if (at + paddedLength(header.length) > cells.length) return undefined;
  if (crc32(cells, start, start + header.length) !== header.payloadCrc) return undefined;
  return header;
}
