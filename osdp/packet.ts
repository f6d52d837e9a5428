import { checksum8, crc16 } from './check';
import { SCS } from './codes';

/** Start of message: every packet begins with it. */
export const SOM = 0x53;
/** SOM, address, two length bytes, control. */
const HEADER = 5;
/** The smallest packet: header, code, one checksum byte. */
export const MIN_PACKET = HEADER + 1 + 1;
/** The largest packet this implementation sends or accepts (what PDCAP reports). */
export const MAX_PACKET = 1024;
/** The MAC's length on the wire: the first 4 bytes of the 16-byte block. */
export const MAC_LENGTH = 4;

const CTRL_SQN = 0x03;
const CTRL_CRC = 0x04;
const CTRL_SCB = 0x08;
const CTRL_MULTI = 0x80;

/** A secure-channel block: its type (SCS_11..18) and data. */
export interface SecurityBlock {
  type: number;
  data: Buffer;
}

/** One packet as it was on the wire, checked. */
export interface Frame {
  /** The address byte as sent (replies have bit 7 set). */
  address: number;
  sqn: number;
  /** CRC-16 (true) or checksum (false). */
  crc: boolean;
  /** CTRL bit 7: the sender marked it as part of a multi-part message. */
  multi: boolean;
  scb?: SecurityBlock;
  code: number;
  /** The data as on the wire (still encrypted under SCS_17/18). */
  data: Buffer;
  /** The 4 MAC bytes (SCS_15..18). */
  mac?: Buffer;
  /** SOM through the end of data: what the MAC covers. */
  macInput: Buffer;
  /** The whole packet. */
  bytes: Buffer;
}

/** SCS_15..18 carry a MAC after the data. */
export function hasMac(scbType: number | undefined): boolean {
  return scbType !== undefined && scbType >= SCS.CMD_MAC && scbType <= SCS.REPLY_ENC;
}

export interface FrameFields {
  address: number;
  sqn: number;
  crc?: boolean;
  scb?: SecurityBlock;
  code: number;
  data?: Buffer;
  /** Computes the 4 MAC bytes over SOM..data (needed when scb is SCS_15..18). */
  mac?: (macInput: Buffer) => Buffer;
}

export function encodeFrame(f: FrameFields): Buffer {
  const crc = f.crc ?? true;
  const data = f.data ?? Buffer.alloc(0);
  const scbBytes = f.scb
    ? Buffer.concat([Buffer.from([f.scb.data.length + 2, f.scb.type]), f.scb.data])
    : Buffer.alloc(0);
  const withMac = hasMac(f.scb?.type);
  if (withMac && !f.mac) throw new Error('a secure-channel block of this type needs a MAC');
  const length =
    HEADER + scbBytes.length + 1 + data.length + (withMac ? MAC_LENGTH : 0) + (crc ? 2 : 1);
  if (length > MAX_PACKET) throw new RangeError(`packet of ${length} bytes exceeds ${MAX_PACKET}`);
  const ctrl = (f.sqn & CTRL_SQN) | (crc ? CTRL_CRC : 0) | (f.scb ? CTRL_SCB : 0);
  const head = Buffer.from([SOM, f.address & 0xff, length & 0xff, length >> 8, ctrl]);
  const macInput = Buffer.concat([head, scbBytes, Buffer.from([f.code]), data]);
  const mac = withMac ? f.mac!(macInput).subarray(0, MAC_LENGTH) : Buffer.alloc(0);
  const body = Buffer.concat([macInput, mac]);
  const check = crc
    ? Buffer.from([crc16(body) & 0xff, crc16(body) >> 8])
    : Buffer.from([checksum8(body)]);
  return Buffer.concat([body, check]);
}

/** What the parser found in the byte stream. */
export type ParseEvent =
  | { kind: 'frame'; frame: Frame }
  /** Well-framed but its CRC/checksum is wrong (the PD NAKs it if addressed to it). */
  | { kind: 'bad-check'; address: number; sqn: number; bytes: Buffer }
  /** Its header or security block does not hang together: dropped, the parser resynchronised. */
  | { kind: 'malformed'; address: number; sqn: number; bytes: Buffer; why: string }
  /** Bytes skipped looking for a SOM. */
  | { kind: 'garbage'; count: number };

/**
 * A streaming packet parser: feed it bytes as they come (split or run together), get back
 * whole frames. It skips to the next SOM on garbage, drops a packet whose check fails, and
 * holds a partial packet until the rest comes or `discardPartial()` is called.
 */
export class PacketParser {
  private buffer = Buffer.alloc(0);

  get pending(): number {
    return this.buffer.length;
  }

  discardPartial(): number {
    const n = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    return n;
  }

  push(chunk: Buffer): ParseEvent[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : Buffer.from(chunk);
    const events: ParseEvent[] = [];
    for (;;) {
      const start = this.buffer.indexOf(SOM);
      if (start < 0) {
        if (this.buffer.length) events.push({ kind: 'garbage', count: this.buffer.length });
        this.buffer = Buffer.alloc(0);
        break;
      }
      if (start > 0) {
        events.push({ kind: 'garbage', count: start });
        this.buffer = this.buffer.subarray(start);
      }
      if (this.buffer.length < HEADER) break;
      const length = this.buffer[2] | (this.buffer[3] << 8);
      if (length < MIN_PACKET || length > MAX_PACKET) {
        // Not a packet start after all: look for the next SOM after this one.
        events.push({ kind: 'garbage', count: 1 });
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      if (this.buffer.length < length) break;
      const bytes = Buffer.from(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
      events.push(decodeChecked(bytes));
    }
    return events;
  }
}

/** Decodes one packet of exactly its stated length. */
export function decodeChecked(bytes: Buffer): ParseEvent {
  const address = bytes[1];
  const ctrl = bytes[4];
  const sqn = ctrl & CTRL_SQN;
  const crc = (ctrl & CTRL_CRC) !== 0;
  const checkLength = crc ? 2 : 1;
  const body = bytes.subarray(0, bytes.length - checkLength);
  const good = crc
    ? crc16(body) === (bytes[bytes.length - 2] | (bytes[bytes.length - 1] << 8))
    : checksum8(body) === bytes[bytes.length - 1];
  if (!good) return { kind: 'bad-check', address, sqn, bytes };
  const malformed = (why: string): ParseEvent => ({ kind: 'malformed', address, sqn, bytes, why });
  let at = HEADER;
  let scb: SecurityBlock | undefined;
  if (ctrl & CTRL_SCB) {
    const scbLength = body[at];
    if (scbLength === undefined || scbLength < 2 || at + scbLength >= body.length)
      return malformed('security block length');
    scb = { type: body[at + 1], data: Buffer.from(body.subarray(at + 2, at + scbLength)) };
    at += scbLength;
  }
  const macLength = hasMac(scb?.type) ? MAC_LENGTH : 0;
  const dataEnd = body.length - macLength;
  if (at >= dataEnd) return malformed('no command or reply code');
  const code = body[at];
  const frame: Frame = {
    address,
    sqn,
    crc,
    multi: (ctrl & CTRL_MULTI) !== 0,
    code,
    data: Buffer.from(body.subarray(at + 1, dataEnd)),
    macInput: Buffer.from(body.subarray(0, dataEnd)),
    bytes,
  };
  if (scb) frame.scb = scb;
  if (macLength) frame.mac = Buffer.from(body.subarray(dataEnd));
  return { kind: 'frame', frame };
}

/** Sequence numbers run 1, 2, 3, 1, ...; 0 only starts (or restarts) a link. */
export function nextSqn(sqn: number): number {
  return sqn >= 3 ? 1 : sqn + 1;
}
