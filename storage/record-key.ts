import { KeyMatch, NO_PREFIX, STALE } from './key-table';

/** Where the key of a table's entries sits in the records they point at. */
export type KeyPlace = 'credentialId' | 'credentialValue' | 'entityId' | 'usesId';

/** Reads a record's payload in place (the log's cells in RAM). */
export interface RecordCells {
  cellsOf(address: number): Buffer;
  payloadOffset(address: number): number;
}

/**
 * The real-key check behind a table hit: the key at hand (bytes of another record, or a
 * string from a caller) against the key stored in the record an entry points at. One
 * instance is reused for every check, so comparing allocates nothing for ASCII keys.
 */
export class RecordKeyMatch implements KeyMatch {
  private place: KeyPlace = 'entityId';
  private kind = NO_PREFIX;
  private bytes: Uint8Array | undefined;
  private start = 0;
  private end = 0;
  private text: string | undefined;

  constructor(private readonly log: RecordCells) {}

  /** The key at hand is bytes [start, end) (a credential value also has its kind code). */
  ofBytes(place: KeyPlace, bytes: Uint8Array, start: number, end: number, kind = NO_PREFIX): this {
    this.place = place;
    this.kind = kind;
    this.bytes = bytes;
    this.start = start;
    this.end = end;
    this.text = undefined;
    return this;
  }

  /** The key at hand is a string (a credential value also has its kind code). */
  ofText(place: KeyPlace, text: string, kind = NO_PREFIX): this {
    this.place = place;
    this.kind = kind;
    this.text = text;
    this.bytes = undefined;
    return this;
  }

  /** The key at hand is the key of the record at `address`. */
  ofRecord(place: KeyPlace, address: number): this {
    const cells = this.log.cellsOf(address);
    const at = this.log.payloadOffset(address);
    const start = keyStart(place, cells, at);
    return this.ofBytes(place, cells, start, keyEnd(cells, start), kindOf(place, cells, at));
  }

  matches(address: number): boolean {
    // A record gone since the snapshot mount loaded: replay (a key from a record) goes by
    // the hashes, as a copy of that record is on its way; a lookup never takes it.
    if (address & STALE) return this.text === undefined;
    const cells = this.log.cellsOf(address);
    const at = this.log.payloadOffset(address);
    if (this.place === 'credentialValue' && cells[at + 4] !== this.kind) return false;
    const start = keyStart(this.place, cells, at);
    const end = keyEnd(cells, start);
    if (this.text !== undefined) return sameText(cells, start, end, this.text);
    const bytes = this.bytes!;
    if (end - start !== this.end - this.start) return false;
    for (let i = 0; i < end - start; i++) {
      if (cells[start + i] !== bytes[this.start + i]) return false;
    }
    return true;
  }
}

/**
 * Offset of a key's bytes in a record's payload, found the way the codec lays them out:
 * each key is a u16 length and its UTF-8 bytes; keyEnd() reads the length before start.
 */
function keyStart(place: KeyPlace, cells: Buffer, at: number): number {
  switch (place) {
    case 'credentialValue':
      return at + 8;
    case 'credentialId':
      return at + 8 + cells.readUInt16LE(at + 6) + 2;
    case 'entityId':
      return at + 6;
    case 'usesId':
      return at + 10;
  }
}

function keyEnd(cells: Buffer, start: number): number {
  return start + cells.readUInt16LE(start - 2);
}

function kindOf(place: KeyPlace, cells: Buffer, at: number): number {
  return place === 'credentialValue' ? cells[at + 4]! : NO_PREFIX;
}

function sameText(cells: Buffer, start: number, end: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return cells.toString('utf8', start, end) === text;
    if (start + i >= end || cells[start + i] !== c) return false;
  }
  return end - start === text.length;
}
