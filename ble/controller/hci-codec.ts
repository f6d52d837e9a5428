/** Byte-level encodings HCI uses: little-endian fields, BD_ADDR byte order. */

export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v & 0xffff);
  return b;
}

/** aa:bb:cc:dd:ee:ff -> the six bytes on the wire (least significant first). */
export function addressBytes(address: string): Buffer {
  return Buffer.from(address.split(':').reverse().join(''), 'hex');
}

export function addressText(bytes: Buffer): string {
  return [...bytes]
    .reverse()
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
}

let addressCounter = 0;
/** A public-looking address unique in this process (c0:de:PID:N), for controllers not given one. */
export function freshAddress(): string {
  addressCounter++;
  const pid = process.pid & 0xffff;
  const bytes = [
    0xc0,
    0xde,
    pid >> 8,
    pid & 0xff,
    (addressCounter >> 8) & 0xff,
    addressCounter & 0xff,
  ];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
