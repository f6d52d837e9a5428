import type { Clock, Timer } from '../foundation/clock';

/**
 * How long a link waits before its next connection attempt: exponential from `initialMs`,
 * capped at `maxMs`, with "equal jitter" (half fixed, half random) so a fleet that lost its
 * broker together does not come back in step, yet no reader retries at once in a tight loop.
 */
export class ReconnectBackoff {
  private failures = 0;

  constructor(
    private readonly random: () => number,
    private readonly initialMs = 1_000,
    private readonly maxMs = 60_000,
  ) {
    if (!(initialMs > 0) || !(maxMs >= initialMs)) {
      throw new RangeError(`backoff needs 0 < initialMs <= maxMs, got ${initialMs}, ${maxMs}`);
    }
  }

  /** The delay before the next attempt, after one more failure. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /** A connection held: the next failure starts from initialMs again. */
  reset(): void {
    this.failures = 0;
  }
}

/**
 * Spaces the connection attempts of many links in one process: at most `perSecond` start in
 * any second, in the order they asked, so a fleet booting (or a broker coming back) does not
 * open thousands of TLS handshakes at the same instant. One pacer is shared by every link.
 */
export class ConnectionPacer {
  private readonly gapMs: number;
  /** When the next slot is free, on the clock's monotonic time. */
  private nextSlot = -Infinity;

  constructor(
    private readonly clock: Clock,
    perSecond: number,
  ) {
    if (!(perSecond > 0))
      throw new RangeError(`connections per second must be > 0, got ${perSecond}`);
    this.gapMs = 1000 / perSecond;
  }

  /** Runs `start` in the next free slot (now if there is one); returns a cancel. */
  schedule(start: () => void): () => void {
    const now = this.clock.monotonic();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.gapMs;
    if (slot <= now) {
      start();
      return () => undefined;
    }
    let timer: Timer | undefined = this.clock.setTimeout(() => {
      timer = undefined;
      start();
    }, slot - now);
    return () => {
      this.clock.clearTimeout(timer);
      timer = undefined;
    };
  }
}
