import { badFrame, type BadgeFrame, type BadgeParser } from './frame';

const STX = 0x02;
const ETX = 0x03;
/** 10 hex digits of card data + 2 hex digits of checksum between STX and ETX. */
const BODY_LENGTH = 12;
/** Bytes outside frames are reported in runs of at most this many (bounded memory). */
export const RDM6300_MAX_GARBAGE = 64;

type State = 'between' | 'in-frame' | 'discard';

/**
 * RDM6300 125 kHz module frames: 0x02, 10 ASCII hex data digits, 2 ASCII hex checksum (XOR of
 * the five data bytes), 0x03. Badge value: "hex:" + the 10 data digits, upper case.
 * Resynchronises on every STX: a frame cut short by a new STX is reported as truncated.
 */
export class Rdm6300Parser implements BadgeParser {
  readonly format = 'rdm6300' as const;
  private state: State = 'between';
  private bytes: number[] = [];

  push(chunk: Buffer): BadgeFrame[] {
    const frames: BadgeFrame[] = [];
    for (const byte of chunk) {
      switch (this.state) {
        case 'between':
          if (byte === STX) {
            if (this.bytes.length > 0) frames.push(badFrame('garbage', this.bytes));
            this.startFrame();
          } else {
            this.bytes.push(byte);
            if (this.bytes.length >= RDM6300_MAX_GARBAGE) {
              frames.push(badFrame('garbage', this.bytes));
              this.bytes = [];
            }
          }
          break;
        case 'in-frame':
          if (byte === STX) {
            frames.push(badFrame('truncated', this.bytes));
            this.startFrame();
          } else if (byte === ETX) {
            this.bytes.push(byte);
            frames.push(this.finishFrame());
            this.bytes = [];
            this.state = 'between';
          } else {
            this.bytes.push(byte);
            if (this.bytes.length > BODY_LENGTH + 1) {
              frames.push(badFrame('overlong', this.bytes));
              this.bytes = [];
              this.state = 'discard';
            }
          }
          break;
        case 'discard':
          // The rest of an overlong frame, already reported: silent up to its ETX.
          if (byte === STX) this.startFrame();
          else if (byte === ETX) this.state = 'between';
          break;
      }
    }
    return frames;
  }

  flush(): BadgeFrame[] {
    const frames: BadgeFrame[] = [];
    if (this.bytes.length > 0) {
      frames.push(badFrame(this.state === 'in-frame' ? 'truncated' : 'garbage', this.bytes));
    }
    this.bytes = [];
    this.state = 'between';
    return frames;
  }

  private startFrame(): void {
    this.bytes = [STX];
    this.state = 'in-frame';
  }

  /** bytes: STX, body, ETX. */
  private finishFrame(): BadgeFrame {
    const body = Buffer.from(this.bytes.slice(1, -1)).toString('latin1');
    if (body.length !== BODY_LENGTH) return badFrame('wrong-length', this.bytes);
    if (!/^[0-9A-Fa-f]+$/.test(body)) return badFrame('non-hex', this.bytes);
    const data = Buffer.from(body.slice(0, 10), 'hex');
    const expected = data.reduce((sum, byte) => sum ^ byte, 0);
    if (expected !== parseInt(body.slice(10), 16)) return badFrame('bad-checksum', this.bytes);
    return { kind: 'badge', value: `hex:${body.slice(0, 10).toUpperCase()}`, format: this.format };
  }
}

/** Builds a valid frame for a 10-hex-digit card (the sim's badge writer and tests). */
export function rdm6300Frame(cardHex: string): Buffer {
  if (!/^[0-9A-Fa-f]{10}$/.test(cardHex)) {
    throw new RangeError(`an RDM6300 card is 10 hex digits, got '${cardHex}'`);
  }
  const checksum = Buffer.from(cardHex, 'hex').reduce((sum, byte) => sum ^ byte, 0);
  const body = `${cardHex.toUpperCase()}${checksum.toString(16).toUpperCase().padStart(2, '0')}`;
  return Buffer.concat([Buffer.from([STX]), Buffer.from(body, 'latin1'), Buffer.from([ETX])]);
}
