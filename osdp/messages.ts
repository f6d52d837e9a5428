/**
 * The data of the Basic-profile commands and replies, as plain objects and back. Decoders
 * return undefined for a record of the wrong length (the PD answers that with NAK 0x02).
 */

/** OSDP LED colours (0..7). */
export const OSDP_COLORS = [
  'black',
  'red',
  'green',
  'amber',
  'blue',
  'magenta',
  'cyan',
  'white',
] as const;
export type OsdpColor = (typeof OSDP_COLORS)[number];

/** On/off phase of an LED state; times in 100 ms units as on the wire. */
export interface LedPhase {
  onTime: number;
  offTime: number;
  onColor: number;
  offColor: number;
}

/** One osdp_LED record (14 bytes). */
export interface LedRecord {
  reader: number;
  led: number;
  /** 0 no change, 1 cancel the temporary state, 2 set it and start its timer. */
  temporaryControl: number;
  temporary: LedPhase & { timer: number };
  /** 0 no change, 1 set the permanent state. */
  permanentControl: number;
  permanent: LedPhase;
}

const LED_RECORD = 14;

export function encodeLed(records: LedRecord[]): Buffer {
  return Buffer.concat(
    records.map((r) =>
      Buffer.from([
        r.reader,
        r.led,
        r.temporaryControl,
        r.temporary.onTime,
        r.temporary.offTime,
        r.temporary.onColor,
        r.temporary.offColor,
        r.temporary.timer & 0xff,
        r.temporary.timer >> 8,
        r.permanentControl,
        r.permanent.onTime,
        r.permanent.offTime,
        r.permanent.onColor,
        r.permanent.offColor,
      ]),
    ),
  );
}

export function decodeLed(data: Buffer): LedRecord[] | undefined {
  if (data.length === 0 || data.length % LED_RECORD !== 0) return undefined;
  const records: LedRecord[] = [];
  for (let at = 0; at < data.length; at += LED_RECORD) {
    const b = data.subarray(at, at + LED_RECORD);
    records.push({
      reader: b[0],
      led: b[1],
      temporaryControl: b[2],
      temporary: {
        onTime: b[3],
        offTime: b[4],
        onColor: b[5],
        offColor: b[6],
        timer: b[7] | (b[8] << 8),
      },
      permanentControl: b[9],
      permanent: { onTime: b[10], offTime: b[11], onColor: b[12], offColor: b[13] },
    });
  }
  return records;
}

/** osdp_BUZ (5 bytes): tone 0/1 off, 2 default tone; times in 100 ms; count 0 = until told. */
export interface BuzzerRecord {
  reader: number;
  tone: number;
  onTime: number;
  offTime: number;
  count: number;
}

export function encodeBuzzer(r: BuzzerRecord): Buffer {
  return Buffer.from([r.reader, r.tone, r.onTime, r.offTime, r.count]);
}

export function decodeBuzzer(data: Buffer): BuzzerRecord | undefined {
  if (data.length !== 5) return undefined;
  return { reader: data[0], tone: data[1], onTime: data[2], offTime: data[3], count: data[4] };
}

/**
 * One osdp_OUT record (4 bytes). Control: 0 no change, 1 off (cancel a timed state), 2 on
 * (cancel), 3 off (after a timed state ends), 4 on (after), 5 on for `timer`, 6 off for `timer`.
 */
export interface OutputRecord {
  output: number;
  control: number;
  /** 100 ms units. */
  timer: number;
}

export function encodeOutputs(records: OutputRecord[]): Buffer {
  return Buffer.concat(
    records.map((r) => Buffer.from([r.output, r.control, r.timer & 0xff, r.timer >> 8])),
  );
}

export function decodeOutputs(data: Buffer): OutputRecord[] | undefined {
  if (data.length === 0 || data.length % 4 !== 0) return undefined;
  const records: OutputRecord[] = [];
  for (let at = 0; at < data.length; at += 4) {
    records.push({
      output: data[at],
      control: data[at + 1],
      timer: data[at + 2] | (data[at + 3] << 8),
    });
  }
  return records;
}

/** osdp_PDID (12 bytes). */
export interface DeviceId {
  /** IEEE OUI, 3 bytes. */
  vendor: Buffer;
  model: number;
  version: number;
  serial: number;
  firmware: [number, number, number];
}

export function encodeDeviceId(id: DeviceId): Buffer {
  const b = Buffer.alloc(12);
  id.vendor.copy(b, 0, 0, 3);
  b[3] = id.model;
  b[4] = id.version;
  b.writeUInt32LE(id.serial >>> 0, 5);
  b[9] = id.firmware[0];
  b[10] = id.firmware[1];
  b[11] = id.firmware[2];
  return b;
}

export function decodeDeviceId(data: Buffer): DeviceId | undefined {
  if (data.length !== 12) return undefined;
  return {
    vendor: Buffer.from(data.subarray(0, 3)),
    model: data[3],
    version: data[4],
    serial: data.readUInt32LE(5),
    firmware: [data[9], data[10], data[11]],
  };
}

/** PDCAP function codes. */
export const CAPABILITY = {
  CONTACT_STATUS: 1,
  OUTPUT_CONTROL: 2,
  CARD_DATA_FORMAT: 3,
  READER_LED: 4,
  READER_AUDIBLE: 5,
  READER_TEXT: 6,
  TIME_KEEPING: 7,
  CHECK_CHARACTER: 8,
  COMMUNICATION_SECURITY: 9,
  RECEIVE_BUFFER: 10,
  LARGEST_MESSAGE: 11,
  SMART_CARD: 12,
  READERS: 13,
  BIOMETRICS: 14,
  SECURE_PIN: 15,
  OSDP_VERSION: 16,
} as const;

export interface Capability {
  function: number;
  compliance: number;
  count: number;
}

export function encodeCapabilities(caps: Capability[]): Buffer {
  return Buffer.concat(caps.map((c) => Buffer.from([c.function, c.compliance, c.count])));
}

export function decodeCapabilities(data: Buffer): Capability[] | undefined {
  if (data.length % 3 !== 0) return undefined;
  const caps: Capability[] = [];
  for (let at = 0; at < data.length; at += 3)
    caps.push({ function: data[at], compliance: data[at + 1], count: data[at + 2] });
  return caps;
}

/** osdp_RAW: format 0 = a raw bit array, 1 = Wiegand with parity. */
export interface CardRead {
  reader: number;
  format: number;
  bitCount: number;
  data: Buffer;
}

export function encodeCard(c: CardRead): Buffer {
  return Buffer.concat([
    Buffer.from([c.reader, c.format, c.bitCount & 0xff, c.bitCount >> 8]),
    c.data,
  ]);
}

export function decodeCard(data: Buffer): CardRead | undefined {
  if (data.length < 4) return undefined;
  const bitCount = data[2] | (data[3] << 8);
  const bytes = data.subarray(4);
  if (bytes.length !== Math.ceil(bitCount / 8)) return undefined;
  return { reader: data[0], format: data[1], bitCount, data: Buffer.from(bytes) };
}

/** osdp_KEYPAD: the keys pressed as ASCII digits; OSDP sends '#' as 0x0D and '*' as 0x7F. */
export interface KeypadRead {
  reader: number;
  digits: string;
}

export function encodeKeypad(k: KeypadRead): Buffer {
  return Buffer.concat([Buffer.from([k.reader, k.digits.length]), Buffer.from(k.digits, 'latin1')]);
}

export function decodeKeypad(data: Buffer): KeypadRead | undefined {
  if (data.length < 2 || data.length !== 2 + data[1]) return undefined;
  return { reader: data[0], digits: data.subarray(2).toString('latin1') };
}

/** osdp_COMSET / osdp_COM: the new address and baud rate. */
export interface ComSettings {
  address: number;
  baud: number;
}

export function encodeComSettings(c: ComSettings): Buffer {
  const b = Buffer.alloc(5);
  b[0] = c.address;
  b.writeUInt32LE(c.baud >>> 0, 1);
  return b;
}

export function decodeComSettings(data: Buffer): ComSettings | undefined {
  if (data.length !== 5) return undefined;
  return { address: data[0], baud: data.readUInt32LE(1) };
}

/** osdp_KEYSET: key type 1 (SCBK), length, key. */
export function encodeKeyset(key: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x01, key.length]), key]);
}

export function decodeKeyset(data: Buffer): Buffer | undefined {
  if (data.length !== 18 || data[0] !== 0x01 || data[1] !== 16) return undefined;
  return Buffer.from(data.subarray(2));
}

/** Baud rates a PD may be told to use by COMSET. */
export const STANDARD_BAUDS = [9600, 19200, 38400, 57600, 115200, 230400] as const;

/**
 * A credential number as card data: a decimal number becomes its big-endian bytes (at least 4),
 * `hex:...` its bytes, anything else its ASCII bytes; `cardNumber()` reads it back for a format 0 read.
 */
export function cardDataOf(value: string): { bitCount: number; data: Buffer } {
  let data: Buffer;
  if (/^[0-9]{1,77}$/.test(value)) {
    const n = BigInt(value);
    let hex = n.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    data = Buffer.from(hex.padStart(8, '0'), 'hex');
  } else if (/^hex:([0-9A-Fa-f]{2})+$/.test(value)) {
    data = Buffer.from(value.slice(4), 'hex');
  } else {
    data = Buffer.from(value, 'latin1');
  }
  return { bitCount: data.length * 8, data };
}
