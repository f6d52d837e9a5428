import { EventEmitter } from 'node:events';
import type { Clock, Timer } from '../foundation/clock';

export const KEYPAD_DEFAULTS = Object.freeze({
  /** Longest entry accepted (the longest PIN a host may push); longer is rejected whole on '#'. */
  maxLength: 12,
  /** A half-typed entry is forgotten after this long without a key (needs a clock). */
  idleTimeoutMs: 10_000,
});

export interface KeypadOptions {
  maxLength?: number;
  /** Enables the idle timeout and stamps events with the reader's time. */
  clock?: Clock;
  idleTimeoutMs?: number;
}

export type KeypadRejection = 'too-long' | 'empty';

export interface KeypadEntry {
  digits: string;
  at?: number;
}

/**
 * A 12-key keypad: digits, '#' = enter, '*' = clear. Keys come from a serial keypad or are
 * pushed by the sim's controls.
 * Events: 'key' ({ key, at }) on each key; 'entry' (KeypadEntry) on '#';
 * 'rejected' ({ reason: KeypadRejection, length, at }) for '#' on an empty or too-long entry;
 * 'clear' ({ reason: 'star' | 'timeout', at }) when a partial entry is dropped.
 * Keys are PIN digits: 'key' is for the front panel's echo and must not be logged.
 */
export class Keypad extends EventEmitter {
  readonly maxLength: number;
  private readonly idleTimeoutMs: number;
  private digits = '';
  /** Digits typed in this entry; past maxLength they are not kept and '#' rejects the entry. */
  private typed = 0;
  private idleTimer: Timer | undefined;

  constructor(private readonly options: KeypadOptions = {}) {
    super();
    this.maxLength = options.maxLength ?? KEYPAD_DEFAULTS.maxLength;
    this.idleTimeoutMs = options.idleTimeoutMs ?? KEYPAD_DEFAULTS.idleTimeoutMs;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1) {
      throw new RangeError(`keypad maxLength must be a positive integer, got ${this.maxLength}`);
    }
    if (!(this.idleTimeoutMs > 0)) {
      throw new RangeError(`keypad idleTimeoutMs must be positive, got ${this.idleTimeoutMs}`);
    }
  }

  /** Number of digits typed in the current entry (not the digits: they are a PIN). */
  get pendingLength(): number {
    return this.typed;
  }

  press(key: string): void {
    if (!isKey(key)) throw new RangeError(`not a keypad key: ${JSON.stringify(key)}`);
    const at = this.options.clock?.now();
    this.emit('key', { key, at });
    if (key === '#') return this.enter(at);
    if (key === '*') return this.clear('star', at);
    this.typed++;
    if (this.typed <= this.maxLength) this.digits += key;
    this.armIdleTimer();
  }

  /** Presses each key of a string (sim controls: type('1234#')); stops at the first bad key. */
  type(keys: string): void {
    for (const key of keys) this.press(key);
  }

  /** Stops the idle timer (shutdown). */
  stop(): void {
    this.options.clock?.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private enter(at: number | undefined): void {
    const digits = this.digits;
    const typed = this.typed;
    this.reset();
    if (typed > this.maxLength) {
      this.emit('rejected', { reason: 'too-long', length: typed, at });
    } else if (digits.length === 0) {
      this.emit('rejected', { reason: 'empty', length: 0, at });
    } else {
      this.emit('entry', { digits, at } satisfies KeypadEntry);
    }
  }

  private clear(reason: 'star' | 'timeout', at: number | undefined): void {
    const hadEntry = this.typed > 0;
    this.reset();
    if (hadEntry) this.emit('clear', { reason, at });
  }

  private reset(): void {
    this.digits = '';
    this.typed = 0;
    this.stop();
  }

  private armIdleTimer(): void {
    const clock = this.options.clock;
    if (!clock) return;
    clock.clearTimeout(this.idleTimer);
    this.idleTimer = clock.setTimeout(() => {
      this.idleTimer = undefined;
      this.clear('timeout', clock.now());
    }, this.idleTimeoutMs);
  }
}

export function isKey(key: string): boolean {
  return key.length === 1 && '0123456789#*'.includes(key);
}
