/**
 * OSDP command and reply codes (SIA OSDP v2.2 / IEC 60839-11-5), defined once: the PD, the
 * CP, the trace and docs/OSDP.md all name them from here.
 */
export const COMMAND = {
  POLL: 0x60,
  ID: 0x61,
  CAP: 0x62,
  LSTAT: 0x64,
  ISTAT: 0x65,
  OSTAT: 0x66,
  RSTAT: 0x67,
  OUT: 0x68,
  LED: 0x69,
  BUZ: 0x6a,
  TEXT: 0x6b,
  TDSET: 0x6d,
  COMSET: 0x6e,
  KEYSET: 0x75,
  CHLNG: 0x76,
  SCRYPT: 0x77,
  ACURXSIZE: 0x7b,
  FILETRANSFER: 0x7c,
  MFG: 0x80,
  KEEPACTIVE: 0xa7,
} as const;

export const REPLY = {
  ACK: 0x40,
  NAK: 0x41,
  PDID: 0x45,
  PDCAP: 0x46,
  LSTATR: 0x48,
  ISTATR: 0x49,
  OSTATR: 0x4a,
  RSTATR: 0x4b,
  RAW: 0x50,
  FMT: 0x51,
  KEYPAD: 0x53,
  COM: 0x54,
  CCRYPT: 0x76,
  RMAC_I: 0x78,
  BUSY: 0x79,
} as const;

export type CommandName = keyof typeof COMMAND;
export type ReplyName = keyof typeof REPLY;

/** The reason byte of an osdp_NAK. */
export const NAK = {
  /** Bad CRC or checksum. */
  CHECK_CHARACTER: 0x01,
  /** The command's data has the wrong length for it. */
  COMMAND_LENGTH: 0x02,
  /** A command code this PD does not know or does not support. */
  UNKNOWN_COMMAND: 0x03,
  /** A sequence number out of order. */
  SEQUENCE: 0x04,
  /** Unsupported security block, or its conditions not met (bad MAC, wrong key, no session). */
  SECURITY_CONDITIONS: 0x05,
  /** The command must come through the secure channel. */
  ENCRYPTION_REQUIRED: 0x06,
  /** The PD cannot do what the record asks (an LED, output or reader it does not have). */
  UNABLE_TO_PROCESS: 0x09,
} as const;

export type NakReason = (typeof NAK)[keyof typeof NAK];

/** Secure-channel block types (the SCB's second byte). */
export const SCS = {
  /** CP -> PD, osdp_CHLNG: RND.A. */
  CHLNG: 0x11,
  /** PD -> CP, osdp_CCRYPT: cUID, RND.B, client cryptogram. */
  CCRYPT: 0x12,
  /** CP -> PD, osdp_SCRYPT: server cryptogram. */
  SCRYPT: 0x13,
  /** PD -> CP, osdp_RMAC_I: the initial R-MAC. */
  RMAC_I: 0x14,
  /** CP -> PD, MAC, data (if any) in clear. */
  CMD_MAC: 0x15,
  /** PD -> CP, MAC, data (if any) in clear. */
  REPLY_MAC: 0x16,
  /** CP -> PD, MAC, data encrypted. */
  CMD_ENC: 0x17,
  /** PD -> CP, MAC, data encrypted. */
  REPLY_ENC: 0x18,
} as const;

const COMMAND_NAMES = new Map<number, string>(Object.entries(COMMAND).map(([k, v]) => [v, k]));
const REPLY_NAMES = new Map<number, string>(Object.entries(REPLY).map(([k, v]) => [v, k]));

/** `osdp_LED`, or the hex code when it is not one we know. */
export function commandName(code: number): string {
  const name = COMMAND_NAMES.get(code);
  return name ? `osdp_${name}` : `0x${code.toString(16).padStart(2, '0')}`;
}

export function replyName(code: number): string {
  const name = REPLY_NAMES.get(code);
  return name ? `osdp_${name}` : `0x${code.toString(16).padStart(2, '0')}`;
}

/** The address replies carry: the PD's address with the top bit set. */
export const REPLY_ADDRESS_BIT = 0x80;
/** Every PD answers commands sent to this address (configuration only, one PD on the bus). */
export const BROADCAST_ADDRESS = 0x7f;
