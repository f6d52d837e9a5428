import { EventEmitter } from 'node:events';

/**
 * The reader's one source of time. No module calls Date.now() or setTimeout directly:
 * the composition root hands every component a Clock, so tests can run a simulated day
 * on a VirtualClock in milliseconds and get the same timeline every run.
 *
 * Events: 'change' ({ from, to }) when the wall clock is set (host time sync, DST tests):
 * schedules recompute their state from the windows rather than trusting the last tick.
 */
export interface Clock {
  /** Wall-clock time in ms since the Unix epoch (the reader's notion, host-settable). */
  now(): number;
  /**
   * Milliseconds on a clock nobody sets: for lifetimes and cooldowns, which must not jump
   * when the wall clock is moved. Only differences between readings mean anything.
   */
  monotonic(): number;
  /** Runs fn once after ms of this clock's time; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
  /** Resolves after ms of this clock's time. */
  sleep(ms: number): Promise<void>;
  /** Moves the wall clock to `epochMs` (as a host time sync does); pending timers keep their delays. */
  set(epochMs: number): void;
  on(event: 'change', listener: (change: ClockChange) => void): this;
  off(event: 'change', listener: (change: ClockChange) => void): this;
}

export interface ClockChange {
  from: number;
  to: number;
}

/** Opaque timer handle. */
export interface Timer {
  readonly id: number;
}

interface SystemTimer extends Timer {
  readonly handle: NodeJS.Timeout;
}

/** Real time, with an offset that a host time sync can adjust. */
export class SystemClock extends EventEmitter implements Clock {
  /** `offsetMs`: how far this clock runs from the host's (a battery-backed RTC restores it). */
  constructor(private offsetMs = 0) {
    super();
  }

  /** How far this clock runs from the host's, in ms. */
  offset(): number {
    return this.offsetMs;
  }
  private nextId = 1;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  monotonic(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number): Timer {
    // The handle rides in the timer itself: a fleet arms thousands a second, no table to keep.
    const timer: SystemTimer = { id: this.nextId++, handle: setTimeout(fn, Math.max(0, ms)) };
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    const handle = (timer as SystemTimer | undefined)?.handle;
    // Only this kind of clock's timers carry a Node handle; anything else is not ours to clear.
    if (handle !== undefined) clearTimeout(handle);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  set(epochMs: number): void {
    const from = this.now();
    this.offsetMs = epochMs - Date.now();
    this.emit('change', { from, to: this.now() });
  }
}

interface PendingTimer {
  id: number;
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * Simulated time for tests and benchmarks. Time stands still until advanced; timers fire
 * in (due time, creation order), each seeing now() equal to its due time.
 */
export class VirtualClock extends EventEmitter implements Clock {
  private current: number;
  /** Sum of the wall-clock jumps made by set(): monotonic time does not include them. */
  private jumped = 0;
  private readonly pending = new Map<number, PendingTimer>();
  private nextId = 1;
  private seq = 0;

  constructor(startEpochMs: number = Date.UTC(2026, 0, 5, 8, 0, 0)) {
    super();
    this.current = startEpochMs;
  }

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.current - this.jumped;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = this.nextId++;
    this.pending.set(id, { id, due: this.current + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer) this.pending.delete(timer.id);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  set(epochMs: number): void {
    const from = this.current;
    const shift = epochMs - from;
    this.current = epochMs;
    this.jumped += shift;
    // Timers are relative delays: a wall-clock jump does not make them fire early or late.
    for (const timer of this.pending.values()) timer.due += shift;
    this.emit('change', { from, to: epochMs });
  }

  /** Number of timers waiting to fire. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Due time of the next timer, or undefined when none is pending. */
  nextDue(): number | undefined {
    return this.earliest()?.due;
  }

  /**
   * Advances time by ms synchronously, firing every timer that falls due on the way
   * (including timers those timers set). Promise continuations do not run in between:
   * use advanceAsync for code that awaits.
   */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let timer = this.earliest(); timer && timer.due <= target; timer = this.earliest()) {
      this.pending.delete(timer.id);
      this.current = Math.max(this.current, timer.due);
      timer.fn();
    }
    this.current = target;
  }

  /**
   * Advances time by ms, letting promise continuations and I/O callbacks settle before
   * and after each timer, so async code observes the same order it would in real time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (let timer = this.earliest(); timer && timer.due <= target; timer = this.earliest()) {
      this.pending.delete(timer.id);
      this.current = Math.max(this.current, timer.due);
      timer.fn();
      await settle();
    }
    this.current = target;
    await settle();
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const timer of this.pending.values()) {
      if (!best || timer.due < best.due || (timer.due === best.due && timer.seq < best.seq)) {
        best = timer;
      }
    }
    return best;
  }
}

/** Lets queued promise jobs and immediates run (no wall-clock time passes). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
