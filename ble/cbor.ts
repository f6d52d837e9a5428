import { Decoder, Encoder } from 'cbor-x';

/**
 * CBOR for the GATT payloads: plain maps and arrays, byte strings as Buffers, no cbor-x
 * records or typed-array tags, so any CBOR implementation (a phone app's) reads the same.
 */
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });
// Maps decode as Map: integer keys (COSE) stay integers and no key reaches an object prototype.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });

export function encodeCbor(value: unknown): Buffer {
  return Buffer.from(encoder.encode(value));
}

/** Decodes exactly one CBOR item from untrusted bytes; undefined for anything malformed. */
export function decodeCbor(bytes: Buffer): { value: unknown } | undefined {
  try {
    return { value: decoder.decode(bytes) };
  } catch {
    // Truncated, trailing bytes, absurd lengths, nesting deep enough to exhaust the stack.
    return undefined;
  }
}

/** A decoded CBOR map with text keys, as a plain lookup; undefined if not such a map. */
export function textKeyedMap(value: unknown): Map<string, unknown> | undefined {
  if (!(value instanceof Map)) return undefined;
  for (const key of value.keys()) if (typeof key !== 'string') return undefined;
  return value as Map<string, unknown>;
}

export function isBytes(value: unknown): value is Buffer {
  return Buffer.isBuffer(value);
}
