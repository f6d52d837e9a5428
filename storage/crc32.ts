import * as zlib from 'node:zlib';

/** CRC-32 (IEEE 802.3, reflected 0xEDB88320), the checksum of every header and payload. */
const TABLE = buildTable();
// Node >= 20.15 has a native CRC-32; it is the same polynomial, so images stay compatible.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** Four 256-entry tables for slicing-by-4 (four bytes per step). */
function buildTable(): Int32Array {
  const table = new Int32Array(1024);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 4; t++) {
      const prev = table[(t - 1) * 256 + n]!;
      table[t * 256 + n] = table[prev & 0xff]! ^ (prev >>> 8);
    }
  }
  return table;
}

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (nativeCrc32 && end - start > 512) {
    // A whole buffer goes as it is: a subarray per call shows at a mount's 65,536 sectors.
    const whole = start === 0 && end === bytes.length;
    return nativeCrc32(whole ? bytes : bytes.subarray(start, end)) >>> 0;
  }
  let c = -1;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c =
      TABLE[768 + (c & 0xff)]! ^
      TABLE[512 + ((c >>> 8) & 0xff)]! ^
      TABLE[256 + ((c >>> 16) & 0xff)]! ^
      TABLE[c >>> 24]!;
  }
  for (; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
