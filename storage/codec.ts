import { StoreError } from './errors';
import { CREDENTIAL_KINDS, Credential, CredentialKind } from '../firmware/foundation/model';

/*
 * Payload encodings. Credentials are a compact binary record with the lookup keys first,
 * so mount can hash (kind, value) and id straight from flash bytes; the small entities
 * (users, schedules, holidays, access points, events, config) are JSON.
 *
 * credential: gen u32 | kind u8 | flags u8 | str value | str id | str userId
 *             | [start f64] [end f64] [useLimit u32] | u16 n, n * str accessPoint
 *             | [str scheduleId] [str pinHash] [str publicKey]        (str = u16 length + UTF-8)
 * entity:     gen u32 | str id | JSON
 * tombstone:  gen u32 | type u8 | 0 u8 | str id
 * uses:       gen u32 | count u32 | str credentialId
 */
const ENABLED = 1;
const START = 2;
const END = 4;
const USE_LIMIT = 8;
const SCHEDULE = 16;
const PIN_HASH = 32;
const PUBLIC_KEY = 64;

export function kindCode(kind: CredentialKind): number {
  const code = CREDENTIAL_KINDS.indexOf(kind);
  if (code < 0) throw new StoreError(`unknown credential kind '${String(kind)}'`);
  return code;
}

/**
 * Builds a payload in a buffer it reuses: a full push encodes a million records through
 * one writer instead of allocating for each. What bytes() returns is valid until the next
 * encode with the same writer.
 */
export class PayloadWriter {
  buf: Buffer;
  at = 0;
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }
  reset(): this {
    this.at = 0;
    return this;
  }
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16LE(v, this.at);
    this.at += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.at);
    this.at += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.at);
    this.at += 8;
  }
  /** u16 byte length + UTF-8; ASCII (ids, badge numbers) is copied without the encoder. */
  str(s: string): void {
    const length = s.length;
    this.room(2 + length);
    const buf = this.buf;
    const start = this.at + 2;
    let i = 0;
    while (i < length) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[start + i] = c;
      i++;
    }
    if (i === length && length <= 0xffff) {
      buf.writeUInt16LE(length, this.at);
      this.at = start + length;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    if (n > 0xffff) throw new StoreError(`string of ${n} bytes is too long to store`);
    this.room(2 + n);
    this.buf.writeUInt16LE(n, this.at);
    this.buf.write(s, this.at + 2, n, 'utf8');
    this.at += 2 + n;
  }
  /** UTF-8 without a length prefix: the rest of the payload (JSON). */
  text(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.room(n);
    this.buf.write(s, this.at, n, 'utf8');
    this.at += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

export function encodeCredential(gen: number, c: Credential, writer?: PayloadWriter): Buffer {
  const w = writer?.reset() ?? new PayloadWriter(96);
  w.u32(gen);
  w.u8(kindCode(c.kind));
  let flags = c.enabled ? ENABLED : 0;
  if (c.start !== undefined) flags |= START;
  if (c.end !== undefined) flags |= END;
  if (c.useLimit !== undefined) flags |= USE_LIMIT;
  if (c.scheduleId !== undefined) flags |= SCHEDULE;
  if (c.pinHash !== undefined) flags |= PIN_HASH;
  if (c.publicKey !== undefined) flags |= PUBLIC_KEY;
  w.u8(flags);
  w.str(c.value);
  w.str(c.id);
  w.str(c.userId);
  if (c.start !== undefined) w.f64(c.start);
  if (c.end !== undefined) w.f64(c.end);
  if (c.useLimit !== undefined) w.u32(c.useLimit);
  w.u16(c.accessPoints.length);
  for (const ap of c.accessPoints) w.str(ap);
  if (c.scheduleId !== undefined) w.str(c.scheduleId);
  if (c.pinHash !== undefined) w.str(c.pinHash);
  if (c.publicKey !== undefined) w.str(c.publicKey);
  return w.bytes();
}

/**
 * Decodes the credential whose payload starts at p[start]. Straight-line reads, no reader
 * object: a lookup's cost is mostly the strings it must create (see storedText). `value`,
 * when the caller already holds it (a lookup by value that matched), is reused instead of
 * decoded again.
 */
export function decodeCredential(p: Buffer, start = 0, value?: string): Credential {
  const kind = CREDENTIAL_KINDS[p[start + 4]!];
  if (!kind) throw new StoreError('credential record has an unknown kind');
  const flags = p[start + 5]!;
  let at = start + 6;
  let n = p.readUInt16LE(at);
  value ??= storedText(p, at + 2, at + 2 + n);
  at += 2 + n;
  n = p.readUInt16LE(at);
  const id = storedText(p, at + 2, at + 2 + n);
  at += 2 + n;
  n = p.readUInt16LE(at);
  const userId = storedText(p, at + 2, at + 2 + n);
  at += 2 + n;
  let startsAt: number | undefined;
  let endsAt: number | undefined;
  let useLimit: number | undefined;
  if (flags & START) {
    startsAt = p.readDoubleLE(at);
    at += 8;
  }
  if (flags & END) {
    endsAt = p.readDoubleLE(at);
    at += 8;
  }
  if (flags & USE_LIMIT) {
    useLimit = p.readUInt32LE(at);
    at += 4;
  }
  const count = p.readUInt16LE(at);
  at += 2;
  // Sized once: an array grown by push() reserves room for 16 more (a lookup's largest object).
  const accessPoints = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    n = p.readUInt16LE(at);
    accessPoints[i] = storedText(p, at + 2, at + 2 + n);
    at += 2 + n;
  }
  const c: Credential = { id, userId, kind, value, enabled: (flags & ENABLED) !== 0, accessPoints };
  if (startsAt !== undefined) c.start = startsAt;
  if (endsAt !== undefined) c.end = endsAt;
  if (useLimit !== undefined) c.useLimit = useLimit;
  if (flags & SCHEDULE) {
    n = p.readUInt16LE(at);
    c.scheduleId = storedText(p, at + 2, at + 2 + n);
    at += 2 + n;
  }
  if (flags & PIN_HASH) {
    n = p.readUInt16LE(at);
    c.pinHash = storedText(p, at + 2, at + 2 + n);
    at += 2 + n;
  }
  if (flags & PUBLIC_KEY) {
    n = p.readUInt16LE(at);
    c.publicKey = storedText(p, at + 2, at + 2 + n);
  }
  return c;
}

/** Longest string storedText() builds from char codes; longer ones are decoded natively. */
const SHORT_TEXT = 24;
/** One array of char codes per short length, reused: building a string allocates only it. */
const CHAR_CODES: number[][] = Array.from({ length: SHORT_TEXT + 1 }, (_, n) =>
  new Array<number>(n).fill(0),
);

/**
 * The UTF-8 string at p[start, end), as p.toString('utf8', start, end) returns it. Ids,
 * badge numbers and keys are ASCII: a short one is built from its char codes (a native
 * decode costs several times more than the string), a long one decoded as Latin-1 (the
 * same characters, without UTF-8 validation); anything else goes to the UTF-8 decoder.
 */
function storedText(p: Buffer, start: number, end: number): string {
  const n = end - start;
  if (end > p.length) return p.toString('utf8', start, end);
  if (n <= SHORT_TEXT) {
    const codes = CHAR_CODES[n]!;
    let high = 0;
    for (let i = 0; i < n; i++) {
      const c = p[start + i]!;
      high |= c;
      codes[i] = c;
    }
    if (high < 0x80) return String.fromCharCode.apply(null, codes);
    return p.toString('utf8', start, end);
  }
  for (let i = start; i < end; i++) {
    if (p[i]! >= 0x80) return p.toString('utf8', start, end);
  }
  return p.toString('latin1', start, end);
}

/**
 * Whether the credential payload at p[start] holds (kind, value), compared byte by byte
 * against the string without encoding it (ASCII; other strings are encoded once).
 */
export function credentialHasKey(p: Buffer, start: number, kind: number, value: string): boolean {
  if (p[start + 4] !== kind) return false;
  const n = p.readUInt16LE(start + 6);
  const at = start + 8;
  if (n !== value.length) return n >= value.length && p.toString('utf8', at, at + n) === value;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return p.toString('utf8', at, at + n) === value;
    if (p[at + i] !== c) return false;
  }
  return true;
}

/** Where the keys of a credential payload sit: value at [valueStart, valueEnd), id after. */
export function credentialKeys(
  p: Buffer,
  at = 0,
): {
  kind: number;
  valueStart: number;
  valueEnd: number;
  idStart: number;
  idEnd: number;
} {
  const kind = p[at + 4]!;
  const valueStart = at + 8;
  const valueEnd = valueStart + p.readUInt16LE(at + 6);
  const idStart = valueEnd + 2;
  const idEnd = idStart + p.readUInt16LE(valueEnd);
  return { kind, valueStart, valueEnd, idStart, idEnd };
}

export function encodeEntity(
  gen: number,
  id: string,
  value: unknown,
  writer?: PayloadWriter,
): Buffer {
  const w = writer?.reset() ?? new PayloadWriter(64);
  w.u32(gen);
  w.str(id);
  w.text(JSON.stringify(value));
  return w.bytes();
}

/** id range of an entity, tombstone or uses payload (they share "gen, ..., str id" framing). */
export function entityIdRange(p: Buffer, idAt: number): [number, number] {
  const n = p.readUInt16LE(idAt);
  return [idAt + 2, idAt + 2 + n];
}

export function decodeEntity<T>(p: Buffer): T {
  const [, end] = entityIdRange(p, 4);
  return JSON.parse(p.toString('utf8', end)) as T;
}

export function encodeTombstone(gen: number, type: number, id: string): Buffer {
  const w = new PayloadWriter(16 + id.length);
  w.u32(gen);
  w.u8(type);
  w.u8(0);
  w.str(id);
  return w.bytes();
}

export function encodeUses(gen: number, count: number, credentialId: string): Buffer {
  const w = new PayloadWriter(12 + credentialId.length);
  w.u32(gen);
  w.u32(count);
  w.str(credentialId);
  return w.bytes();
}

export function encodeU32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 4);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4));
  return b;
}

/** An event record's payload: seq, firstSeq, dropped (u32 LE each), then the event as JSON. */
export function encodeEventPayload(
  seq: number,
  firstSeq: number,
  dropped: number,
  json: string,
): Buffer {
  // One buffer, written in place: every presentation of every reader comes through here.
  const b = Buffer.allocUnsafe(EVENT_HEAD_BYTES + Buffer.byteLength(json, 'utf8'));
  b.writeUInt32LE(seq >>> 0, 0);
  b.writeUInt32LE(firstSeq >>> 0, 4);
  b.writeUInt32LE(dropped >>> 0, 8);
  b.write(json, EVENT_HEAD_BYTES, 'utf8');
  return b;
}

const EVENT_HEAD_BYTES = 12;

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
