import { badFrame, type BadgeFrame, type BadgeParser } from './frame';

const CR = 0x0d;
const LF = 0x0a;
/** ISONAS RS-232 credentials are 2-9 ASCII digits. */
export const ISONAS_MIN_DIGITS = 2;
export const ISONAS_MAX_DIGITS = 9;
/** A line longer than this is noise (wrong baud rate, a stuck line): drop it to the next CR/LF. */
export const ISONAS_MAX_LINE = 32;

/**
 * ISONAS-style ASCII credential lines: digits terminated by CR, LF or CR LF. Empty lines
 * (the LF of a CR LF pair) are not frames. A bad line is reported once and the parser
 * starts afresh after its terminator.
 */
export class IsonasAsciiParser implements BadgeParser {
  readonly format = 'isonas-ascii' as const;
  private line: number[] = [];
  /** The current line overflowed and was reported: skip to the terminator. */
  private discarding = false;

  push(chunk: Buffer): BadgeFrame[] {
    const frames: BadgeFrame[] = [];
    for (const byte of chunk) {
      if (byte === CR || byte === LF) {
        if (!this.discarding && this.line.length > 0) frames.push(this.finishLine());
        this.line = [];
        this.discarding = false;
        continue;
      }
      if (this.discarding) continue;
      this.line.push(byte);
      if (this.line.length > ISONAS_MAX_LINE) {
        frames.push(badFrame('overlong', this.line));
        this.line = [];
        this.discarding = true;
      }
    }
    return frames;
  }

  flush(): BadgeFrame[] {
    const frames = this.line.length > 0 ? [badFrame('truncated', this.line)] : [];
    this.line = [];
    this.discarding = false;
    return frames;
  }

  private finishLine(): BadgeFrame {
    const text = Buffer.from(this.line).toString('latin1');
    if (!/^[0-9]+$/.test(text)) return badFrame('non-digit', this.line);
    if (text.length < ISONAS_MIN_DIGITS || text.length > ISONAS_MAX_DIGITS) {
      return badFrame('wrong-length', this.line);
    }
    return { kind: 'badge', value: text, format: this.format };
  }
}
