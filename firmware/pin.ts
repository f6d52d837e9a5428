import { createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { PIN_DIGITS } from './foundation/presentation';

/**
 * PIN digits never reach flash. A PIN-only credential is looked up by a keyed hash of its
 * digits (HMAC-SHA256 with the reader's pinKey), so lookup stays one O(1) index hit; a
 * badge's second-factor PIN is a salted scrypt hash "scrypt$salt$hash" (base64url parts).
 * The host API, the tests and the reader make and check these values only here.
 */

// Modest cost: about 10 ms per check on a small board, which also slows guessing.
const SCRYPT = { N: 4096, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

export function isPinDigits(digits: string): boolean {
  return PIN_DIGITS.test(digits);
}

function requireDigits(digits: string): void {
  if (!isPinDigits(digits)) throw new Error('PIN must be 4 to 12 digits');
}

/** A fresh per-reader key for pinLookupValue (64 hex digits, the config pinKey format). */
export function newPinKey(): string {
  return randomBytes(32).toString('hex');
}

/** The `value` of a PIN-only credential: "hmac:" + hex HMAC-SHA256(pinKey, digits). */
export function pinLookupValue(digits: string, pinKeyHex: string): string {
  requireDigits(digits);
  if (!/^[0-9a-f]{64}$/.test(pinKeyHex)) throw new Error('pinKey must be 64 hex digits');
  const mac = createHmac('sha256', Buffer.from(pinKeyHex, 'hex')).update(digits).digest('hex');
  return `hmac:${mac}`;
}

/** The `pinHash` of a badge that needs a PIN too. `salt` is for reproducible fixtures only. */
export function hashSecondFactorPin(
  digits: string,
  salt: Buffer = randomBytes(SCRYPT.saltLength),
): string {
  requireDigits(digits);
  const hash = scryptSync(digits, salt, SCRYPT.keyLength, {
    N: SCRYPT.N,
    r: SCRYPT.r,
    p: SCRYPT.p,
  });
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** True when digits match a pinHash; false for a mismatch or a malformed hash. */
export function verifySecondFactorPin(digits: string, pinHash: string): boolean {
  const parts = pinHash.split('$');
  if (parts.length !== 3 || parts[0] !== 'scrypt' || !isPinDigits(digits)) return false;
  const salt = Buffer.from(parts[1]!, 'base64url');
  const expected = Buffer.from(parts[2]!, 'base64url');
  if (salt.length === 0 || expected.length !== SCRYPT.keyLength) return false;
  const actual = scryptSync(digits, salt, SCRYPT.keyLength, {
    N: SCRYPT.N,
    r: SCRYPT.r,
    p: SCRYPT.p,
  });
  return timingSafeEqual(actual, expected);
}
