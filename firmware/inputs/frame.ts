/** What a serial badge parser yields: a badge, or a bad frame that is counted and never decided on. */

export type BadgeFormat = 'isonas-ascii' | 'rdm6300';

export type BadFrameReason =
  /** ISONAS line or RDM6300 frame with the wrong number of characters. */
  | 'wrong-length'
  /** ISONAS line with a character that is not a digit. */
  | 'non-digit'
  /** RDM6300 frame with a character that is not a hex digit. */
  | 'non-hex'
  /** RDM6300 checksum is not the XOR of the five data bytes. */
  | 'bad-checksum'
  /** Bytes outside any frame (RDM6300: before an STX). */
  | 'garbage'
  /** A line or frame far longer than any valid one: dropped up to the next terminator. */
  | 'overlong'
  /** A frame cut off by the start of the next one, or by closing the port. */
  | 'truncated';

export type BadgeFrame =
  | { kind: 'badge'; value: string; format: BadgeFormat }
  | { kind: 'bad-frame'; reason: BadFrameReason; bytes: Buffer };

/** Incremental parser: bytes in any chunking give the same frames in the same order. */
export interface BadgeParser {
  readonly format: BadgeFormat;
  push(chunk: Buffer): BadgeFrame[];
  /** Reports a partial frame left in the buffer (port closing) and resets. */
  flush(): BadgeFrame[];
}

export function badFrame(reason: BadFrameReason, bytes: ArrayLike<number>): BadgeFrame {
  return { kind: 'bad-frame', reason, bytes: Buffer.from(Array.from(bytes)) };
}
