import * as fs from 'node:fs';

/**
 * HCI capture in the btsnoop format (RFC 1761 style, datalink 1002 = HCI UART/H4), the
 * format Wireshark, tshark and Android's HCI snoop log use. One file per controller.
 */

/** Microseconds from 0000-01-01 to 1970-01-01, the btsnoop timestamp epoch. */
const BTSNOOP_EPOCH_OFFSET_US = 0x00dcddb30f2f8000n;
const DATALINK_H4 = 1002;

export type CaptureDirection = 'host-to-controller' | 'controller-to-host';

export class BtsnoopWriter {
  private fd: number | undefined;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w');
    const header = Buffer.alloc(16);
    header.write('btsnoop\0', 0, 'latin1');
    header.writeUInt32BE(1, 8);
    header.writeUInt32BE(DATALINK_H4, 12);
    fs.writeSync(this.fd, header);
  }

  /** Appends one H4 packet (indicator byte included) seen at `epochMs`. */
  record(packet: Buffer, direction: CaptureDirection, epochMs: number): void {
    if (this.fd === undefined || packet.length === 0) return;
    const indicator = packet[0];
    // Flags: bit 0 = received (controller to host), bit 1 = command or event.
    const flags =
      (direction === 'controller-to-host' ? 1 : 0) |
      (indicator === 0x01 || indicator === 0x04 ? 2 : 0);
    const rec = Buffer.alloc(24);
    rec.writeUInt32BE(packet.length, 0);
    rec.writeUInt32BE(packet.length, 4);
    rec.writeUInt32BE(flags, 8);
    rec.writeUInt32BE(0, 12);
    rec.writeBigUInt64BE(BigInt(Math.round(epochMs * 1000)) + BTSNOOP_EPOCH_OFFSET_US, 16);
    fs.writeSync(this.fd, Buffer.concat([rec, packet]));
  }

  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
