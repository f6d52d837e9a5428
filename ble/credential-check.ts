import type { KeyObject } from 'node:crypto';
import { MAX_VALUE_LENGTH } from '../firmware/foundation/presentation';
import { decodeCbor, isBytes, textKeyedMap } from './cbor';
import { parseSign1, publicKeyFromSpki, publicKeyFromWire, spkiBase64, verifySign1 } from './cose';
import { EnrollRecord, NONCE_BYTES, PresentationPayload } from './protocol';

/** Longest optional text field (name, app) of an enroll record. */
const MAX_LABEL_LENGTH = 64;

/** A well-formed credential write: the COSE_Sign1 and its payload. */
export interface CredentialWrite {
  payload: PresentationPayload;
  /** Whether the signature verifies under `key`. */
  verifiesWith(key: KeyObject): boolean;
}

/** Parses a credential write; undefined when it is not a well-formed ES256 presentation. */
export function parseCredentialWrite(bytes: Buffer): CredentialWrite | undefined {
  const sign1 = parseSign1(bytes);
  if (!sign1) return undefined;
  const map = textKeyedMap(decodeCbor(sign1.payload)?.value);
  if (!map) return undefined;
  const deviceId = map.get('deviceId');
  const readerId = map.get('readerId');
  const nonce = map.get('nonce');
  const ts = map.get('ts');
  if (!isDeviceId(deviceId)) return undefined;
  if (typeof readerId !== 'string' || readerId.length === 0 || readerId.length > 64)
    return undefined;
  if (!isBytes(nonce) || nonce.length !== NONCE_BYTES) return undefined;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return undefined;
  return {
    payload: { deviceId, readerId, nonce, ts },
    verifiesWith: (key) => verifySign1(sign1, key),
  };
}

/**
 * The two verdicts the decision needs (firmware/foundation/presentation.ts `proof`):
 * - signatureValid: the signature verifies under the key enrolled for this device. For a
 *   device the database does not know there is no key to check against; the decision then
 *   answers unknown_credential (rule 3), so it is not reported as a bad signature.
 * - challengeFresh: the nonce is this connection's, unused and unexpired, the payload names
 *   this reader.
 * - timestampFresh: `ts` is within the allowed skew of the reader clock (else stale_timestamp).
 */
export function proofOf(
  parsed: CredentialWrite,
  facts: {
    /** undefined: device unknown; '': known without a key; else base64 SPKI. */
    enrolledKey: string | undefined;
    nonceFresh: boolean;
    readerId: string;
    now: number;
    skewMs: number;
  },
): { signatureValid: boolean; challengeFresh: boolean; timestampFresh: boolean } {
  const { payload } = parsed;
  let signatureValid = true;
  if (facts.enrolledKey !== undefined) {
    const key = enrolledKeyObject(facts.enrolledKey);
    signatureValid = key !== undefined && parsed.verifiesWith(key);
  }
  const challengeFresh = facts.nonceFresh && payload.readerId === facts.readerId;
  // A phone clock far from the reader's is its own refusal: the nonce already proves freshness.
  const timestampFresh = Math.abs(payload.ts - facts.now) <= facts.skewMs;
  return { signatureValid, challengeFresh, timestampFresh };
}

/** Parsed enrolled keys by their SPKI text: parsing costs more than the ECDSA verify itself. */
const keyCache = new Map<string, KeyObject | undefined>();
const KEY_CACHE_SIZE = 1024;

function enrolledKeyObject(spki: string): KeyObject | undefined {
  if (keyCache.has(spki)) return keyCache.get(spki);
  const key = publicKeyFromSpki(spki);
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(spki, key);
  return key;
}

/** Parses an enroll write; the key comes back as base64 SPKI whatever form it was sent in. */
export function parseEnrollRecord(bytes: Buffer): EnrollRecord | undefined {
  const decoded = decodeCbor(bytes);
  const map = textKeyedMap(decoded?.value);
  if (!map) return undefined;
  const deviceId = map.get('deviceId');
  if (!isDeviceId(deviceId)) return undefined;
  const wireKey = map.get('publicKey');
  const key = typeof wireKey === 'string' ? publicKeyFromSpki(wireKey) : publicKeyFromWire(wireKey);
  if (!key) return undefined;
  const record: EnrollRecord = { deviceId, publicKey: spkiBase64(key) };
  for (const field of ['name', 'app'] as const) {
    const value = map.get(field);
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > MAX_LABEL_LENGTH) return undefined;
    record[field] = value;
  }
  return record;
}

function isDeviceId(value: unknown): value is string {
  // Printable ASCII: it is logged and used as the database lookup value.
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= MAX_VALUE_LENGTH &&
    /^[\x21-\x7e]+$/.test(value)
  );
}
