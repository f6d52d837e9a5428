import { EventEmitter } from 'node:events';
import type { Clock, ClockChange, Timer } from '../firmware/foundation/clock';
import {
  isSituation,
  SITUATIONS,
  type BuzzerPattern,
  type LedColor,
  type LedPattern,
  type Situation,
} from './model';
import { earlier, layerOutput, nextLayerChange, type Layer } from './pattern';

export interface IndicatorOutput {
  color: LedColor;
  buzzer: boolean;
}

/** Hardware (or a test) behind the engine; called once per change of the visible output. */
export interface IndicatorDriver {
  show(output: IndicatorOutput, at: number): void;
}

export type IndicatorChange = IndicatorOutput & { at: number };

/** Which layer is on show, for status pages and the host API. */
export interface IndicatorStatus {
  /** 'panel': an OSDP panel's own pattern (osdp-pd role). */
  permanent: Situation | 'panel' | undefined;
  temporary: Situation | 'panel' | undefined;
  alarm: boolean;
  visible: Situation | 'panel' | undefined;
  output: IndicatorOutput;
}

/**
 * The LED + buzzer pattern engine (OSDP style): a permanent state, a temporary state with a
 * count or timer, and an alarm. Priorities, highest first:
 *   1. alarm      - setAlarm(true), or a permanent state of 'alarm' (door forced / held open
 *                   must not be hidden by a badge read);
 *   2. temporary  - until its count or timer ends, clearTemporary(), or a newer temporary;
 *   3. permanent  - idle, unlocked, lockdown, enroll, ...
 * A hidden temporary keeps running on its own timer, so it reappears only if it has time
 * left when the alarm clears. Each layer's pattern is timed from the moment it was set.
 * All timing is on the injected Clock; one timer is pending at most, never later than the
 * next change (it may wake earlier, then it only re-arms).
 *
 * Events: 'change' (IndicatorChange) on every change of colour or buzzer;
 *         'driver-error' (error) when a driver throws (the engine keeps running).
 */
export class IndicatorEngine extends EventEmitter {
  private permanent: Layer | undefined;
  private temporary: Layer | undefined;
  private alarm: Layer | undefined;
  /** osdp_BUZ: the panel's beeps, on their own clock, heard over whatever layer shows. */
  private panelBuzzer: Layer | undefined;
  private output: IndicatorOutput = { color: 'off', buzzer: false };
  private timer: Timer | undefined;
  /** When the pending timer fires, on the wall clock (moved along with a clock set). */
  private timerDue = 0;
  private readonly onDue = () => {
    this.timer = undefined;
    this.update();
  };
  /** Layers are timed in wall-clock ms: a clock set (host time sync) moves them along. */
  private readonly onClockChange = ({ from, to }: ClockChange) => {
    // Timers keep their delays across a clock set: the pending one now fires at a new time.
    this.timerDue += to - from;
    for (const shown of [this.permanent, this.temporary, this.alarm]) {
      if (!shown) continue;
      shown.startedAt += to - from;
      if (shown.endsAt !== undefined) shown.endsAt += to - from;
    }
    this.update();
  };

  constructor(
    private readonly clock: Clock,
    private readonly drivers: IndicatorDriver[],
  ) {
    super();
    clock.on('change', this.onClockChange);
  }

  /** The base state. Setting the same situation again keeps its blink phase. */
  setPermanent(situation: Situation): void {
    checkSituation(situation);
    if (this.permanent?.situation === situation) return;
    this.permanent = layer(situation, this.clock.now());
    this.update();
  }

  /**
   * Shows a situation over the permanent one, replacing any temporary on show. Its end: the
   * given duration, else the table's count of blinks, else the table's timer.
   */
  showTemporary(situation: Situation, durationMs?: number): void {
    checkSituation(situation);
    if (durationMs !== undefined && !(Number.isFinite(durationMs) && durationMs > 0)) {
      throw new RangeError(`durationMs must be a positive number of ms, got ${durationMs}`);
    }
    const now = this.clock.now();
    const entry = SITUATIONS[situation];
    const cycleMs = entry.led.onMs + entry.led.offMs;
    const length =
      durationMs ??
      (entry.ledCount !== undefined && entry.led.offMs > 0
        ? entry.ledCount * cycleMs
        : entry.durationMs);
    if (length === undefined) {
      throw new RangeError(`'${situation}' has no count or timer: pass durationMs`);
    }
    this.temporary = { ...layer(situation, now), endsAt: now + length };
    this.update();
  }

  clearTemporary(): void {
    if (!this.temporary) return;
    this.temporary = undefined;
    this.update();
  }

  /**
   * osdp-pd role: the panel's permanent LED state (osdp_LED), in place of the table's
   * situations; priorities stay as they are (the door alarm still outranks it).
   */
  setPanelPermanent(led: LedPattern): void {
    this.permanent = { situation: 'panel', startedAt: this.clock.now(), led: checkPattern(led) };
    this.update();
  }

  /** The panel's temporary LED state for durationMs (osdp_LED temporary timer). */
  showPanelTemporary(led: LedPattern, durationMs: number): void {
    if (!(Number.isFinite(durationMs) && durationMs > 0)) {
      throw new RangeError(`durationMs must be a positive number of ms, got ${durationMs}`);
    }
    const now = this.clock.now();
    this.temporary = {
      situation: 'panel',
      startedAt: now,
      led: checkPattern(led),
      endsAt: now + durationMs,
    };
    this.update();
  }

  /** The panel's buzzer (osdp_BUZ); undefined silences it. */
  setPanelBuzzer(pattern: BuzzerPattern | undefined): void {
    this.panelBuzzer = pattern && {
      situation: 'panel',
      startedAt: this.clock.now(),
      led: { onColor: 'off', offColor: 'off', onMs: 0, offMs: 0 },
      buzzer: pattern,
    };
    this.update();
  }

  /** The alarm layer (door forced / held open): outranks everything until cleared. */
  setAlarm(active: boolean): void {
    if (active === (this.alarm !== undefined)) return;
    this.alarm = active ? layer('alarm', this.clock.now()) : undefined;
    this.update();
  }

  current(): IndicatorOutput {
    return { ...this.output };
  }

  status(): IndicatorStatus {
    this.dropExpired(this.clock.now());
    return {
      permanent: this.permanent?.situation,
      temporary: this.temporary?.situation,
      alarm: this.alarm !== undefined,
      visible: this.visible()?.situation,
      output: this.current(),
    };
  }

  /** Stops the timer and clock listener (shutdown); the output stays as it is. */
  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.clock.off('change', this.onClockChange);
  }

  private visible(): Layer | undefined {
    if (this.alarm) return this.alarm;
    if (this.permanent?.situation === 'alarm') return this.permanent;
    return this.temporary ?? this.permanent;
  }

  private dropExpired(now: number): void {
    if (this.temporary?.endsAt !== undefined && this.temporary.endsAt <= now) {
      this.temporary = undefined;
    }
  }

  /** Re-evaluates the visible output at now, tells the drivers if it changed, re-arms the timer. */
  private update(): void {
    const now = this.clock.now();
    this.dropExpired(now);
    const shown = this.visible();
    const next: IndicatorOutput = shown ? layerOutput(shown, now) : { color: 'off', buzzer: false };
    if (this.panelBuzzer && layerOutput(this.panelBuzzer, now).buzzer) next.buzzer = true;
    if (next.color !== this.output.color || next.buzzer !== this.output.buzzer) {
      this.output = next;
      this.publish(now);
    }
    const due = earlier(
      shown && nextLayerChange(shown, now),
      this.panelBuzzer && nextLayerChange(this.panelBuzzer, now),
    );
    // A pending timer due no later stays: waking early only re-evaluates (nothing shows a
    // change before `due`) and re-arms. A busy reader then re-arms every few seconds, not
    // twice per presentation (processing, then granted).
    if (due !== undefined && this.timer !== undefined && this.timerDue <= due) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (due === undefined) return;
    this.timerDue = due;
    this.timer = this.clock.setTimeout(this.onDue, due - now);
  }

  private publish(at: number): void {
    const { color, buzzer } = this.output;
    // Each driver and listener gets its own copy: none can change what the engine shows.
    for (const driver of this.drivers) {
      try {
        driver.show({ color, buzzer }, at);
      } catch (error) {
        this.emit('driver-error', error);
      }
    }
    this.emit('change', { color, buzzer, at } satisfies IndicatorChange);
  }
}

const LED_COLORS: readonly LedColor[] = ['off', 'red', 'green', 'amber'];

function checkPattern(led: LedPattern): LedPattern {
  const times = [led.onMs, led.offMs];
  if (!LED_COLORS.includes(led.onColor) || !LED_COLORS.includes(led.offColor))
    throw new RangeError(`LED colours must be one of ${LED_COLORS.join(', ')}`);
  if (times.some((t) => !Number.isFinite(t) || t < 0))
    throw new RangeError('LED on/off times must be ms >= 0');
  return { ...led };
}

function layer(situation: Situation, startedAt: number): Layer {
  const entry = SITUATIONS[situation];
  return { situation, startedAt, led: entry.led, buzzer: entry.buzzer };
}

function checkSituation(situation: string): asserts situation is Situation {
  if (!isSituation(situation)) throw new RangeError(`unknown indicator situation '${situation}'`);
}
