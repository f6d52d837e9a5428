import { CheckedPresentation, parsePresentation } from '../foundation/presentation';
import type { BadFrameReason, BadgeFormat, BadgeFrame, BadgeParser } from './frame';
import { IsonasAsciiParser } from './isonas-ascii';
import { Rdm6300Parser } from './rdm6300';
import type { SerialLineOptions } from './serial-line';
import { SerialInput } from './serial-input';

export type { BadgeFormat } from './frame';

export interface BadgeRead {
  value: string;
  format: BadgeFormat;
  /** Clock time of the read (when a clock was given). */
  at?: number;
}

/** A badge read as the reader takes it: parsed once, here at the input edge. */
export function badgePresentation(
  read: BadgeRead,
  where: { accessPointId: string; now: number },
): CheckedPresentation {
  return parsePresentation({
    kind: 'badge',
    value: read.value,
    source: 'badge-serial',
    accessPointId: where.accessPointId,
    at: read.at ?? where.now,
  });
}

export interface BadFrameReport {
  reason: BadFrameReason;
  bytes: Buffer;
  at?: number;
}

export interface BadgeSerialOptions extends SerialLineOptions {
  format: BadgeFormat;
  /**
   * Modules repeat a card's frame while it stays in the field: the same value within this
   * many ms of its last read is dropped (counted in `repeats`). 0 (default) keeps every read.
   */
  repeatSuppressMs?: number;
}

export function createBadgeParser(format: BadgeFormat): BadgeParser {
  switch (format) {
    case 'isonas-ascii':
      return new IsonasAsciiParser();
    case 'rdm6300':
      return new Rdm6300Parser();
    default:
      throw new RangeError(`unknown badge format '${String(format)}'`);
  }
}

/**
 * A serial badge reader. Events: 'badge' (BadgeRead), 'bad-frame' (BadFrameReport),
 * 'port-error' (Error: the port failed; the process keeps running), 'closed' ({ unexpected }),
 * 'reopened' () when a lost port is back (reopenAfterMs). Bad frames are counted, never
 * turned into badges.
 */
export class BadgeSerialInput extends SerialInput {
  private readonly parser: BadgeParser;
  private badFrameCount = 0;
  private repeatCount = 0;
  private lastRead: { value: string; at: number } | undefined;

  constructor(private readonly options: BadgeSerialOptions) {
    super(options);
    this.parser = createBadgeParser(options.format);
    const suppress = options.repeatSuppressMs ?? 0;
    if (!Number.isFinite(suppress) || suppress < 0) {
      throw new RangeError(`repeatSuppressMs must be >= 0, got ${suppress}`);
    }
    if (suppress > 0 && !options.clock) throw new RangeError('repeatSuppressMs needs a clock');
  }

  get badFrames(): number {
    return this.badFrameCount;
  }

  /** Reads dropped as repeats of the card still in the field. */
  get repeats(): number {
    return this.repeatCount;
  }

  /** Bytes as they came off the wire (also used directly by the sim's badge writer). */
  receive(chunk: Buffer): void {
    this.deliver(this.parser.push(chunk));
  }

  /** A frame cut off by the port going away is reported, not kept for the next open. */
  protected override lineClosed(): void {
    this.deliver(this.parser.flush());
  }

  private deliver(frames: BadgeFrame[]): void {
    const at = this.options.clock?.now();
    for (const frame of frames) {
      if (frame.kind === 'bad-frame') {
        this.badFrameCount++;
        this.emit('bad-frame', {
          reason: frame.reason,
          bytes: frame.bytes,
          at,
        } satisfies BadFrameReport);
        continue;
      }
      if (this.isRepeat(frame.value, at)) {
        this.repeatCount++;
        continue;
      }
      this.emit('badge', { value: frame.value, format: frame.format, at } satisfies BadgeRead);
    }
  }

  private isRepeat(value: string, at: number | undefined): boolean {
    const window = this.options.repeatSuppressMs ?? 0;
    if (window <= 0 || at === undefined) return false;
    const last = this.lastRead;
    // Every read refreshes the window: a card held in the field stays one read.
    this.lastRead = { value, at };
    // A clock set backwards (host time sync) must not turn every read into a repeat.
    const since = last !== undefined && last.value === value ? at - last.at : -1;
    return since >= 0 && since < window;
  }
}
