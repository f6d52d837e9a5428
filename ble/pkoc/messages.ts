import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  KeyObject,
} from 'node:crypto';
import {
  PKOC_FEATURE_CCM,
  PKOC_RESPONSES,
  PKOC_SIZES,
  PKOC_SPEC_VERSION,
  PKOC_TAGS,
  PKOC_VENDOR_COMPANY_ID,
  PKOC_VENDOR_VERSION,
  PkocResponseName,
  responseName,
} from './spec';
import { decodeTlvs, encodeTlvs, Tlv } from './tlv';

/** The protocol version TLV's value: spec version, vendor version, feature bits. */
export interface PkocVersion {
  spec: number;
  vendor: number;
  features: number;
}

export const READER_VERSION: PkocVersion = {
  spec: PKOC_SPEC_VERSION,
  vendor: PKOC_VENDOR_VERSION,
  features: PKOC_FEATURE_CCM,
};

export function encodeVersion(v: PkocVersion): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt8(v.spec, 0);
  b.writeUInt16BE(v.vendor, 1);
  b.writeUInt16BE(v.features, 3);
  return b;
}

/** A 2-byte value carries the vendor version only; a 5-byte one all three. */
export function decodeVersion(b: Buffer): PkocVersion | undefined {
  if (b.length === 2) return { spec: 0, vendor: b.readUInt16BE(0), features: 0 };
  if (b.length === 5)
    return { spec: b.readUInt8(0), vendor: b.readUInt16BE(1), features: b.readUInt16BE(3) };
  return undefined;
}

/**
 * What the reader notifies when the phone subscribes (the normal flow): its version, the
 * transaction identifier (a fresh compressed P-256 transient public key the phone signs),
 * its location and its site.
 */
export interface ReaderHello {
  version: PkocVersion;
  transactionId: Buffer;
  readerLocationId: Buffer;
  siteId: Buffer;
}

export function encodeReaderHello(h: ReaderHello): Buffer {
  return encodeTlvs([
    { tag: PKOC_TAGS.protocolVersion, value: encodeVersion(h.version) },
    { tag: PKOC_TAGS.compressedTransientKey, value: h.transactionId },
    { tag: PKOC_TAGS.readerLocationId, value: h.readerLocationId },
    { tag: PKOC_TAGS.siteId, value: h.siteId },
  ]);
}

export function decodeReaderHello(bytes: Buffer): ReaderHello | undefined {
  const map = uniqueTags(decodeTlvs(bytes));
  const version = map?.get(PKOC_TAGS.protocolVersion);
  const transactionId = map?.get(PKOC_TAGS.compressedTransientKey);
  const readerLocationId = map?.get(PKOC_TAGS.readerLocationId);
  const siteId = map?.get(PKOC_TAGS.siteId);
  const v = version && decodeVersion(version);
  if (!v || !transactionId || !readerLocationId || !siteId) return undefined;
  if (transactionId.length !== PKOC_SIZES.compressedTransientKey) return undefined;
  return { version: v, transactionId, readerLocationId, siteId };
}

/** What the phone writes: its public key, its signature over the transaction id, and extras. */
export interface CredentialMessage {
  /** 65 bytes, uncompressed P-256 (0x04 || X || Y). */
  publicKey: Buffer;
  /** 64 bytes, r || s of ECDSA-SHA256 over the transaction identifier. */
  signature: Buffer;
  /** Seconds since the epoch the phone's credential last changed (optional). */
  lastUpdateTime?: number;
  version?: PkocVersion;
}

export function encodeCredentialMessage(m: CredentialMessage): Buffer {
  const items: Tlv[] = [
    { tag: PKOC_TAGS.publicKey, value: m.publicKey },
    { tag: PKOC_TAGS.signature, value: m.signature },
  ];
  if (m.lastUpdateTime !== undefined) {
    const t = Buffer.alloc(4);
    t.writeUInt32BE(m.lastUpdateTime >>> 0);
    items.push({ tag: PKOC_TAGS.lastUpdateTime, value: t });
  }
  if (m.version) items.push({ tag: PKOC_TAGS.protocolVersion, value: encodeVersion(m.version) });
  return encodeTlvs(items);
}

/**
 * A credential write, strictly: every TLV known to this message, each at most once and of
 * its exact size, the key an uncompressed point on P-256. Undefined for anything else.
 */
export function decodeCredentialMessage(
  bytes: Buffer,
): { message: CredentialMessage; key: KeyObject } | undefined {
  const map = uniqueTags(decodeTlvs(bytes));
  if (!map) return undefined;
  const allowed = new Set<number>([
    PKOC_TAGS.publicKey,
    PKOC_TAGS.signature,
    PKOC_TAGS.lastUpdateTime,
    PKOC_TAGS.protocolVersion,
  ]);
  for (const tag of map.keys()) if (!allowed.has(tag)) return undefined;
  const publicKey = map.get(PKOC_TAGS.publicKey);
  const signature = map.get(PKOC_TAGS.signature);
  if (publicKey?.length !== PKOC_SIZES.publicKey || signature?.length !== PKOC_SIZES.signature)
    return undefined;
  const key = keyFromUncompressed(publicKey);
  if (!key) return undefined;
  const message: CredentialMessage = { publicKey, signature };
  const time = map.get(PKOC_TAGS.lastUpdateTime);
  if (time !== undefined) {
    if (time.length !== PKOC_SIZES.lastUpdateTime) return undefined;
    message.lastUpdateTime = time.readUInt32BE(0);
  }
  const version = map.get(PKOC_TAGS.protocolVersion);
  if (version !== undefined) {
    const v = decodeVersion(version);
    if (!v) return undefined;
    message.version = v;
  }
  return { message, key };
}

/** The reader's answer: the response code, and (our 0x80 TLV) the reason in words. */
export interface ReaderResponse {
  code: PkocResponseName;
  reason?: string;
}

/** Just the response TLV: what goes out by notification, so any PKOC app can read it. */
export function encodeResponse(code: PkocResponseName): Buffer {
  return encodeTlvs([{ tag: PKOC_TAGS.response, value: Buffer.from([PKOC_RESPONSES[code]]) }]);
}

/** The response and the reason, for a read of the read characteristic after the answer. */
export function encodeResponseWithReason(r: ReaderResponse): Buffer {
  const items: Tlv[] = [{ tag: PKOC_TAGS.response, value: Buffer.from([PKOC_RESPONSES[r.code]]) }];
  if (r.reason) {
    const company = Buffer.alloc(2);
    company.writeUInt16LE(PKOC_VENDOR_COMPANY_ID);
    const text = Buffer.from(r.reason.slice(0, 200), 'utf8');
    items.push({ tag: PKOC_TAGS.manufacturerSpecific, value: Buffer.concat([company, text]) });
  }
  return encodeTlvs(items);
}

export function decodeResponse(bytes: Buffer): ReaderResponse | undefined {
  const map = uniqueTags(decodeTlvs(bytes));
  const value = map?.get(PKOC_TAGS.response);
  if (value?.length !== 1) return undefined;
  const code = responseName(value[0]!);
  if (!code) return undefined;
  const response: ReaderResponse = { code };
  const vendor = map!.get(PKOC_TAGS.manufacturerSpecific);
  if (vendor && vendor.length > 2 && vendor.readUInt16LE(0) === PKOC_VENDOR_COMPANY_ID) {
    response.reason = vendor.subarray(2).toString('utf8');
  }
  return response;
}

/** TLVs by tag; undefined when a tag repeats (a message names each field once). */
function uniqueTags(items: Tlv[] | undefined): Map<number, Buffer> | undefined {
  if (!items) return undefined;
  const map = new Map<number, Buffer>();
  for (const { tag, value } of items) {
    if (map.has(tag)) return undefined;
    map.set(tag, value);
  }
  return map;
}

/** Keys already parsed, by their bytes: importing a key costs more than verifying with it. */
const keyCache = new Map<string, KeyObject | undefined>();
const KEY_CACHE_SIZE = 1024;

/** A P-256 public key from its 65-byte uncompressed form; undefined off the curve. */
export function keyFromUncompressed(raw: Buffer): KeyObject | undefined {
  if (raw.length !== PKOC_SIZES.publicKey || raw[0] !== 0x04) return undefined;
  const id = raw.toString('hex');
  if (keyCache.has(id)) return keyCache.get(id);
  const key = importKey(raw);
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(id, key);
  return key;
}

function importKey(raw: Buffer): KeyObject | undefined {
  try {
    return createPublicKey({
      format: 'jwk',
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33, 65).toString('base64url'),
      },
    });
  } catch {
    return undefined;
  }
}

/** The 65-byte uncompressed form of a P-256 public key. */
export function uncompressedOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([
    Buffer.from([0x04]),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ]);
}

/**
 * The credential number PKOC derives from a public key: the low `bits` of the X coordinate
 * (64 by default), as an unsigned decimal, which is what a reader hands a panel.
 */
export function credentialNumber(publicKey: Buffer, bits: number): string {
  if (!Number.isInteger(bits) || bits < 64 || bits > 256) {
    throw new RangeError(`credential bits must be 64..256, got ${bits}`);
  }
  const x = BigInt(`0x${publicKey.subarray(1, 33).toString('hex')}`);
  return (x & ((1n << BigInt(bits)) - 1n)).toString(10);
}

/** ECDSA-SHA256 over `message`, as 64 bytes r || s. */
export function signTransaction(message: Buffer, privateKey: KeyObject): Buffer {
  return createSign('sha256').update(message).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' });
}

export function verifyTransaction(message: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return createVerify('sha256')
      .update(message)
      .verify({ key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/*
 * The ECDHE perfect-secrecy flow (docs/PKOC.md): the phone sends its own transient key, the
 * reader proves the site by signing both transient keys' X with the site key, and the phone's
 * credential comes back encrypted under the ECDH shared secret with AES-256-CCM.
 */

/** What both sides sign in the ECDHE flow: site id, reader location id, phone X, reader X. */
export function ecdheSignedData(
  hello: Pick<ReaderHello, 'siteId' | 'readerLocationId' | 'transactionId'>,
  phoneTransientKey: Buffer,
): Buffer {
  return Buffer.concat([
    hello.siteId,
    hello.readerLocationId,
    phoneTransientKey.subarray(1, 33),
    hello.transactionId.subarray(1, 33),
  ]);
}

/** The phone's first ECDHE write: its transient key (0x07, 65 bytes) and optionally a version. */
export function encodePhoneTransientKey(key: Buffer, version?: PkocVersion): Buffer {
  const items: Tlv[] = [{ tag: PKOC_TAGS.uncompressedTransientKey, value: key }];
  if (version) items.push({ tag: PKOC_TAGS.protocolVersion, value: encodeVersion(version) });
  return encodeTlvs(items);
}

export function decodePhoneTransientKey(bytes: Buffer): Buffer | undefined {
  const map = uniqueTags(decodeTlvs(bytes));
  if (!map) return undefined;
  for (const tag of map.keys()) {
    if (tag !== PKOC_TAGS.uncompressedTransientKey && tag !== PKOC_TAGS.protocolVersion)
      return undefined;
  }
  const key = map.get(PKOC_TAGS.uncompressedTransientKey);
  const version = map.get(PKOC_TAGS.protocolVersion);
  if (version !== undefined && !decodeVersion(version)) return undefined;
  return key && keyFromUncompressed(key) ? key : undefined;
}

/** The AES-256 key both sides derive: SHA-256 of the ECDH shared secret (X coordinate). */
export function ecdheSessionKey(sharedSecret: Buffer): Buffer {
  return createHash('sha256').update(sharedSecret).digest();
}

/** AES-CCM nonce: 8 fixed bytes `00..01`, then the message counter (big-endian, from 1). */
function ccmNonce(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt8(1, 7);
  iv.writeUInt32BE(counter >>> 0, 8);
  return iv;
}

const CCM_TAG_BYTES = 16;

/** The encrypted credential: AES-256-CCM of the credential TLVs, inside one 0x40 TLV. */
export function encodeEncryptedCredential(plain: Buffer, key: Buffer, counter: number): Buffer {
  const cipher = createCipheriv('aes-256-ccm', key, ccmNonce(counter), {
    authTagLength: CCM_TAG_BYTES,
  });
  const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return encodeTlvs([{ tag: PKOC_TAGS.encryptedDataFollows, value: body }]);
}

/** The credential TLVs inside a 0x40 TLV; undefined when it is not one or does not decrypt. */
export function decodeEncryptedCredential(
  bytes: Buffer,
  key: Buffer,
  counter: number,
): Buffer | undefined {
  const map = uniqueTags(decodeTlvs(bytes));
  if (!map || map.size !== 1) return undefined;
  const body = map.get(PKOC_TAGS.encryptedDataFollows);
  if (!body || body.length <= CCM_TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-ccm', key, ccmNonce(counter), {
      authTagLength: CCM_TAG_BYTES,
    });
    decipher.setAuthTag(body.subarray(body.length - CCM_TAG_BYTES));
    return Buffer.concat([
      decipher.update(body.subarray(0, body.length - CCM_TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return undefined;
  }
}

/** The reader's signature TLV of the ECDHE flow (0x03, 64 bytes). */
export function encodeReaderSignature(signature: Buffer): Buffer {
  return encodeTlvs([{ tag: PKOC_TAGS.signature, value: signature }]);
}

export function decodeReaderSignature(bytes: Buffer): Buffer | undefined {
  const map = uniqueTags(decodeTlvs(bytes));
  const sig = map?.get(PKOC_TAGS.signature);
  return map?.size === 1 && sig?.length === PKOC_SIZES.signature ? sig : undefined;
}

/** A P-256 key pair from a 32-byte private scalar (the configured site key). */
export function siteKeyPair(hex: string): { privateKey: KeyObject; publicKey: KeyObject } {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(hex, 'hex'));
  const raw = ecdh.getPublicKey();
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: raw.subarray(1, 33).toString('base64url'),
    y: raw.subarray(33, 65).toString('base64url'),
  };
  return {
    privateKey: createPrivateKey({
      format: 'jwk',
      key: { ...jwk, d: Buffer.from(hex, 'hex').toString('base64url') },
    }),
    publicKey: createPublicKey({ format: 'jwk', key: jwk }),
  };
}
