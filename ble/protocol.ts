/**
 * Facts of the mobile-credential protocol shared by the reader and the phone (docs/MOBILE.md):
 * version, sizes, the advertised mode and the result notification.
 */
export const PROTOCOL_VERSION = 1;

/** Bytes of the reader's challenge nonce. */
export const NONCE_BYTES = 16;
/** Largest credential / enroll write accepted; more is answered with an error, not read. */
export const MAX_WRITE_BYTES = 512;

/** Manufacturer-specific advertising data: company 0xFFFF (test/unassigned), then the mode byte. */
export const ADV_COMPANY_ID = 0xffff;
export const ADV_MODES = { access: 0x00, enroll: 0x01 } as const;
export type ReaderMode = keyof typeof ADV_MODES;

export function manufacturerData(mode: ReaderMode): Buffer {
  const data = Buffer.alloc(3);
  data.writeUInt16LE(ADV_COMPANY_ID, 0);
  data.writeUInt8(ADV_MODES[mode], 2);
  return data;
}

/** The mode a reader advertises, from its manufacturer data (undefined: not one of ours). */
export function modeFromManufacturerData(data: Buffer | undefined): ReaderMode | undefined {
  if (!data || data.length < 3 || data.readUInt16LE(0) !== ADV_COMPANY_ID) return undefined;
  const byte = data.readUInt8(2);
  return (Object.keys(ADV_MODES) as ReaderMode[]).find((m) => ADV_MODES[m] === byte);
}

/** forwarded: osdp-pd role, the credential went to the access panel, which decides. */
export type ResultStatus = 'received' | 'granted' | 'denied' | 'enrolled' | 'forwarded' | 'error';

/**
 * Reasons of an `error` result: the write was refused before any decision, and nothing
 * changed on the reader (no event, no nonce used, no LED result). Decided denials carry the
 * decision's reason codes (firmware/foundation/reasons.ts) instead.
 */
export const ERROR_REASONS = {
  bad_request: 'not a well-formed presentation / enroll record (CBOR, COSE_Sign1, fields)',
  too_large: `write longer than ${MAX_WRITE_BYTES} bytes`,
  not_enroll_mode: 'enroll write while the reader is not in enroll mode',
  enroll_mode: 'credential write while the reader is in enroll mode',
  busy: 'a presentation is already being processed on this connection',
  cooldown: 'this phone was answered less than the cooldown ago',
  unavailable: 'the reader firmware is not running (booting or shutting down)',
} as const;
export type ErrorReason = keyof typeof ERROR_REASONS;

export interface ResultMessage {
  status: ResultStatus;
  reason?: string;
  /** LED colour the reader shows for this result. */
  led?: string;
}

export interface ReaderInfo {
  v: number;
  readerId: string;
  siteId: string;
  mode: ReaderMode;
  minRssi: number;
  fw: string;
}

export interface Challenge {
  nonce: Buffer;
  readerId: string;
  /** Reader clock time (ms since the epoch) after which the nonce is refused. */
  exp: number;
  /** The reader clock when the challenge was read: a phone stamps `ts` with it. */
  now?: number;
}

/** What the phone signs. `ts`: the phone's clock (or the reader's, from the challenge), ms since the epoch. */
export interface PresentationPayload {
  deviceId: string;
  readerId: string;
  nonce: Buffer;
  ts: number;
}

export interface EnrollRecord {
  deviceId: string;
  /** Base64 SPKI DER, or (on the wire) a COSE_Key map / SPKI DER bstr. */
  publicKey: string;
  name?: string;
  app?: string;
}
