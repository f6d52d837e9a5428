/**
 * Facts of PKOC over BLE (PSIA Public Key Open Credential) that both sides use, defined once.
 * Where each comes from: docs/PKOC.md.
 */

/** The PKOC primary service: the Bluetooth SIG 16-bit 0xFFF0, as noble and bleno spell it. */
export const PKOC_SERVICE_UUID = 'fff0';
/** The 128-bit service UUID earlier PKOC readers used; the phone looks for either. */
export const PKOC_LEGACY_SERVICE_UUID = '41fb60a1d4d04ae98cbbb62b5ae81810';

export const PKOC_CHARACTERISTIC_UUIDS = {
  /** The phone writes its credential message here (write, write without response). */
  write: 'fe278a8589ae191f5dde841202693835',
  /** The reader notifies its identification and its response here (read, notify). */
  read: 'e5b1b3b53cca3f76cd86a884cc239692',
} as const;

/** TLV tags of the BLE messages (1-byte type, 1-byte length). */
export const PKOC_TAGS = {
  publicKey: 0x01,
  compressedTransientKey: 0x02,
  signature: 0x03,
  response: 0x04,
  uncompressedTransientKey: 0x07,
  lastUpdateTime: 0x09,
  protocolVersion: 0x0c,
  readerLocationId: 0x0d,
  siteId: 0x0e,
  encryptedDataFollows: 0x40,
  manufacturerSpecific: 0x80,
} as const;
export type PkocTagName = keyof typeof PKOC_TAGS;

/** Response codes of the 0x04 TLV (one byte). */
export const PKOC_RESPONSES = {
  unknown: 0,
  completedTransaction: 1,
  accessDenied: 2,
  accessGranted: 3,
  decryptionErrorGcm: 4,
  invalidSecurityStatus: 5,
  signatureInvalid: 6,
  decryptionErrorCcm: 7,
  unrecognized: 8,
} as const;
export type PkocResponseName = keyof typeof PKOC_RESPONSES;

export function responseName(code: number): PkocResponseName | undefined {
  return (Object.keys(PKOC_RESPONSES) as PkocResponseName[]).find(
    (n) => PKOC_RESPONSES[n] === code,
  );
}

/**
 * The protocol version the reader offers: specification version, vendor version (2 bytes,
 * big-endian) and feature bits (2 bytes; bit 0 AES-CCM, bit 1 AES-GCM for the ECDHE flow).
 */
export const PKOC_SPEC_VERSION = 0x03;
export const PKOC_VENDOR_VERSION = 0x0000;
export const PKOC_FEATURE_CCM = 0x0001;

/** Sizes the TLVs must have. */
export const PKOC_SIZES = {
  publicKey: 65,
  signature: 64,
  compressedTransientKey: 33,
  lastUpdateTime: 4,
  protocolVersion: [2, 5],
  identifier: [16, 32],
} as const;

/** Bits of the credential number derived from the public key unless configured otherwise. */
export const PKOC_DEFAULT_CREDENTIAL_BITS = 64;

/** Company id of our 0x80 TLV (0xFFFF: test / unassigned), then the reason in UTF-8. */
export const PKOC_VENDOR_COMPANY_ID = 0xffff;
