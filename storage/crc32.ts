import * as zlib from 'node:zlib';

/** CRC-32 (IEEE 802.3, reflected 0xEDB88320), the checksum of every header and payload. */
const TABLE = buildTable();
// Node >= 20.15 has a native CRC-32; it is the same polynomial, so images stay compatible.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

function buildTable(): Int32Array {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (nativeCrc32 && end - start > 160) return nativeCrc32(bytes.subarray(start, end)) >>> 0;
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
