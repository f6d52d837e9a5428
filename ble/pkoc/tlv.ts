/** One TLV: a 1-byte type, a 1-byte length and that many bytes of value. */
export interface Tlv {
  tag: number;
  value: Buffer;
}

export function encodeTlvs(items: readonly Tlv[]): Buffer {
  const parts: Buffer[] = [];
  for (const { tag, value } of items) {
    if (!Number.isInteger(tag) || tag < 0 || tag > 0xff) throw new RangeError(`TLV tag ${tag}`);
    if (value.length > 0xff) throw new RangeError(`TLV 0x${tag.toString(16)} longer than 255`);
    parts.push(Buffer.from([tag, value.length]), value);
  }
  return Buffer.concat(parts);
}

/**
 * Splits bytes into TLVs; undefined when they do not split exactly (a length running past the
 * end, a lone trailing byte). Values are copies: nothing aliases the caller's buffer.
 */
export function decodeTlvs(bytes: Buffer): Tlv[] | undefined {
  const items: Tlv[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) return undefined;
    const tag = bytes[at]!;
    const length = bytes[at + 1]!;
    const end = at + 2 + length;
    if (end > bytes.length) return undefined;
    items.push({ tag, value: Buffer.from(bytes.subarray(at + 2, end)) });
    at = end;
  }
  return items;
}
