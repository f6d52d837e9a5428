import { Clock, SystemClock, Timer } from '../../firmware/foundation/clock';

/** How close to its due time a delivery on the system clock waits on the event loop. */
const SPIN_MS = 1;

interface Pending {
  due: number;
  fn: () => void;
}

/**
 * An ordered channel from the air to one receiver. Items leave in push order, each no
 * earlier than its due time: a later packet never overtakes an earlier one, even when
 * timers of different lengths would fire out of order. In fast mode items leave on the
 * next turn of the event loop (setImmediate: no radio delay, but never re-entrant).
 */
export class Delivery {
  private readonly queue: Pending[] = [];
  private timer: Timer | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private paused = false;

  constructor(
    private readonly clock: Clock,
    private readonly fast: boolean,
    private readonly ledger: RadioLedger,
  ) {}

  /** `waitFrom` (default now): since when the receiver has been waiting on the radio. */
  push(delayMs: number, fn: () => void, waitFrom?: number): void {
    const now = this.clock.now();
    const due = now + Math.max(0, delayMs);
    this.ledger.add(Math.min(waitFrom ?? now, now), due);
    this.queue.push({ due, fn });
    this.arm();
  }

  pause(): void {
    this.paused = true;
    this.disarm();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.arm();
  }

  clear(): void {
    this.queue.length = 0;
    this.disarm();
  }

  private disarm(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  private arm(): void {
    if (this.paused || this.timer || this.immediate || this.queue.length === 0) return;
    const wait = this.queue[0]!.due - this.clock.now();
    // On the system clock, a timer fires up to a millisecond late: stop a millisecond short
    // and finish on the event loop. A virtual clock only moves when advanced: use its timer.
    const spin = this.clock instanceof SystemClock ? SPIN_MS : 0;
    if (this.fast || wait <= spin) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.drain();
      });
    } else {
      // Clock timers have 1 ms resolution; round up so nothing leaves before its time.
      this.timer = this.clock.setTimeout(
        () => {
          this.timer = undefined;
          this.drain();
        },
        Math.ceil(wait - spin),
      );
    }
  }

  private drain(): void {
    const now = this.clock.now();
    while (!this.paused && this.queue.length > 0 && (this.fast || this.queue[0]!.due <= now)) {
      this.queue.shift()!.fn();
    }
    this.arm();
  }
}

/**
 * Radio time: the intervals during which some receiver was waiting on the radio model
 * (an advertising event, a connection anchor, airtime). A benchmark compares wall time
 * with the union of these intervals to see what the host stacks and the emulator add.
 */
export class RadioLedger {
  private intervals: Array<[number, number]> = [];
  private recording = false;

  start(): void {
    this.intervals = [];
    this.recording = true;
  }

  add(from: number, to: number): void {
    if (this.recording && to > from) this.intervals.push([from, to]);
  }

  /** Length of the union of the recorded intervals clipped to [from, to]. */
  busyMs(from: number, to: number): number {
    const clipped = this.intervals
      .map(([a, b]): [number, number] => [Math.max(a, from), Math.min(b, to)])
      .filter(([a, b]) => b > a)
      .sort((x, y) => x[0] - y[0]);
    let total = 0;
    let end = -Infinity;
    for (const [a, b] of clipped) {
      if (b <= end) continue;
      total += b - Math.max(a, end);
      end = b;
    }
    return total;
  }

  stop(): void {
    this.recording = false;
  }
}
