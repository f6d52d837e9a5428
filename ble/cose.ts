import { createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto';
import { decodeCbor, encodeCbor, isBytes } from './cbor';

/**
 * COSE_Sign1 with ES256 (RFC 9052 / 9053), node:crypto only. The signature is raw r||s
 * (IEEE P1363, 64 bytes), as COSE requires, not DER.
 */
export const COSE_ALG_ES256 = -7;
/** Header label 1 = alg. */
const HEADER_ALG = 1;
/** CBOR tag of a COSE_Sign1 (optional on the wire). */
const COSE_SIGN1_TAG = 18;

/** The protected header we send: {1: -7}, as its encoded bstr. */
export const PROTECTED_ES256 = encodeCbor(new Map([[HEADER_ALG, COSE_ALG_ES256]]));

/** A 4-item array and the text "Signature1": how every Sig_structure of a COSE_Sign1 starts. */
const SIG_STRUCTURE_HEAD = Buffer.from([0x84, 0x6a, ...Buffer.from('Signature1', 'ascii')]);
/** An empty byte string: the external_aad we never use. */
const EMPTY_BSTR = 0x40;

/**
 * ["Signature1", protected, external_aad (empty), payload], the bytes the signature covers,
 * written directly (every presentation verifies one): the same bytes a CBOR encoder writes,
 * lengths in their shortest form (RFC 8949 section 4.2.1).
 */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(
    SIG_STRUCTURE_HEAD.length +
      bstrHeadBytes(protectedBytes.length) +
      protectedBytes.length +
      1 +
      bstrHeadBytes(payload.length) +
      payload.length,
  );
  let at = SIG_STRUCTURE_HEAD.copy(out, 0);
  at = writeBstr(out, at, protectedBytes);
  out[at++] = EMPTY_BSTR;
  writeBstr(out, at, payload);
  return out;
}

function bstrHeadBytes(length: number): number {
  return length < 24 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/** A CBOR byte string (major type 2) at `at`; returns the offset after it. */
function writeBstr(out: Buffer, at: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n < 24) out[at++] = 0x40 | n;
  else if (n < 0x100) {
    out[at++] = 0x58;
    out[at++] = n;
  } else if (n < 0x10000) {
    out[at++] = 0x59;
    at = out.writeUInt16BE(n, at);
  } else {
    out[at++] = 0x5a;
    at = out.writeUInt32BE(n, at);
  }
  out.set(bytes, at);
  return at + n;
}

/** Signs `payload` (already CBOR) into an untagged COSE_Sign1 array. */
export function signSign1(payload: Buffer, privateKey: KeyObject): Buffer {
  const signature = sign('sha256', sigStructure(PROTECTED_ES256, payload), {
    key: privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return encodeCbor([PROTECTED_ES256, new Map(), payload, signature]);
}

export interface Sign1 {
  protectedBytes: Buffer;
  payload: Buffer;
  signature: Buffer;
}

/** Parses a COSE_Sign1 (tagged or not) whose protected header says ES256; undefined if not. */
export function parseSign1(bytes: Buffer): Sign1 | undefined {
  const decoded = decodeCbor(bytes);
  if (!decoded) return undefined;
  let value = decoded.value;
  if (isTag(value)) {
    if (value.tag !== COSE_SIGN1_TAG) return undefined;
    value = value.value;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [protectedBytes, unprotected, payload, signature] = value as unknown[];
  if (!isBytes(protectedBytes) || !(unprotected instanceof Map)) return undefined;
  if (!isBytes(payload) || !isBytes(signature) || signature.length !== 64) return undefined;
  // Phones send exactly {1: -7}: those bytes need no decoding (any other encoding is decoded).
  if (!protectedBytes.equals(PROTECTED_ES256)) {
    const header = decodeCbor(protectedBytes)?.value;
    if (!(header instanceof Map) || header.get(HEADER_ALG) !== COSE_ALG_ES256) return undefined;
  }
  return { protectedBytes, payload, signature };
}

/** Whether the Sign1's signature verifies under `publicKey`. */
export function verifySign1(sign1: Sign1, publicKey: KeyObject): boolean {
  try {
    return verify(
      'sha256',
      sigStructure(sign1.protectedBytes, sign1.payload),
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      sign1.signature,
    );
  } catch {
    // Untrusted bytes OpenSSL cannot even check (wrong size or encoding) do not verify.
    return false;
  }
}

function isTag(value: unknown): value is { tag: number; value: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { tag?: unknown }).tag === 'number' &&
    'value' in value
  );
}

export function newDeviceKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** Base64 SPKI DER: how the database and the host API carry a device key. */
export function spkiBase64(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** A P-256 public key from base64 SPKI DER; undefined for anything else. */
export function publicKeyFromSpki(base64: string): KeyObject | undefined {
  try {
    const key = createPublicKey({
      key: Buffer.from(base64, 'base64'),
      format: 'der',
      type: 'spki',
    });
    return isP256(key) ? key : undefined;
  } catch {
    // Untrusted text: whatever OpenSSL refuses to parse is simply not a P-256 key.
    return undefined;
  }
}

/**
 * A P-256 public key from what an enroll write may carry: a COSE_Key map (kty 2 = EC2,
 * crv 1 = P-256, x -2, y -3) or SPKI DER bytes. Undefined for anything else.
 */
export function publicKeyFromWire(value: unknown): KeyObject | undefined {
  try {
    if (isBytes(value)) {
      const key = createPublicKey({ key: value, format: 'der', type: 'spki' });
      return isP256(key) ? key : undefined;
    }
    if (!(value instanceof Map)) return undefined;
    const x = value.get(-2);
    const y = value.get(-3);
    if (value.get(1) !== 2 || value.get(-1) !== 1) return undefined;
    if (!isBytes(x) || !isBytes(y) || x.length !== 32 || y.length !== 32) return undefined;
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: x.toString('base64url'), y: y.toString('base64url') },
      format: 'jwk',
    });
    return isP256(key) ? key : undefined;
  } catch {
    // Untrusted bytes: whatever OpenSSL refuses to parse is simply not a P-256 key.
    return undefined;
  }
}

/** The COSE_Key (EC2, P-256) map of a public key: what the virtual phone enrolls with. */
export function coseKeyOf(publicKey: KeyObject): Map<number, number | Buffer> {
  const jwk = publicKey.export({ format: 'jwk' });
  return new Map<number, number | Buffer>([
    [1, 2],
    [-1, 1],
    [-2, Buffer.from(jwk.x!, 'base64url')],
    [-3, Buffer.from(jwk.y!, 'base64url')],
  ]);
}

function isP256(key: KeyObject): boolean {
  return (
    key.type === 'public' &&
    key.asymmetricKeyType === 'ec' &&
    key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
  );
}
