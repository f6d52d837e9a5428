import type { BuzzerPattern, LedColor, LedPattern, Situation } from './model';

/** One situation on show (or waiting under a higher one), timed from startedAt. */
export interface Layer {
  /** 'panel': a pattern an OSDP panel set (osdp_LED), not one of the table's situations. */
  situation: Situation | 'panel';
  startedAt: number;
  /** Temporary layers only: when the layer ends. */
  endsAt?: number;
  led: LedPattern;
  buzzer?: BuzzerPattern;
}

/** The LED colour and buzzer of a layer at time t (t >= startedAt): pure arithmetic, no state. */
export function layerOutput(layer: Layer, t: number): { color: LedColor; buzzer: boolean } {
  const elapsed = t - layer.startedAt;
  return { color: ledAt(layer.led, elapsed), buzzer: buzzerAt(layer.buzzer, elapsed) };
}

/** The next time after t at which the layer's output may change (or it ends); undefined = never. */
export function nextLayerChange(layer: Layer, t: number): number | undefined {
  // Runs at every LED change of every reader: no intermediate arrays.
  const elapsed = t - layer.startedAt;
  const led = ledEdge(layer.led, elapsed);
  const buzzer = buzzerEdge(layer.buzzer, elapsed);
  let next = led === undefined ? undefined : layer.startedAt + led;
  if (buzzer !== undefined) next = earlier(next, layer.startedAt + buzzer);
  if (layer.endsAt !== undefined && layer.endsAt > t) next = earlier(next, layer.endsAt);
  return next;
}

/** The earlier of two times, undefined standing for never. */
export function earlier(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}

function ledAt(pattern: LedPattern, elapsed: number): LedColor {
  if (pattern.offMs <= 0) return pattern.onColor;
  const phase = elapsed % (pattern.onMs + pattern.offMs);
  return phase < pattern.onMs ? pattern.onColor : pattern.offColor;
}

/** Elapsed time of the LED's next on/off edge after `elapsed`. */
function ledEdge(pattern: LedPattern, elapsed: number): number | undefined {
  if (pattern.offMs <= 0 || pattern.onColor === pattern.offColor) return undefined;
  return cycleEdge(pattern.onMs, pattern.onMs + pattern.offMs, elapsed);
}

function buzzerAt(pattern: BuzzerPattern | undefined, elapsed: number): boolean {
  if (!pattern) return false;
  if (pattern.count === 0 && pattern.offMs <= 0) return true;
  const period = pattern.onMs + Math.max(0, pattern.offMs);
  if (pattern.count > 0 && elapsed >= lastBeepEnd(pattern)) return false;
  return elapsed % period < pattern.onMs;
}

function buzzerEdge(pattern: BuzzerPattern | undefined, elapsed: number): number | undefined {
  if (!pattern) return undefined;
  if (pattern.count === 0 && pattern.offMs <= 0) return undefined;
  if (pattern.count > 0 && elapsed >= lastBeepEnd(pattern)) return undefined;
  return cycleEdge(pattern.onMs, pattern.onMs + Math.max(0, pattern.offMs), elapsed);
}

function lastBeepEnd(pattern: BuzzerPattern): number {
  return (pattern.count - 1) * (pattern.onMs + Math.max(0, pattern.offMs)) + pattern.onMs;
}

/** Next edge of an on/off cycle (on for onMs of every periodMs) strictly after elapsed. */
function cycleEdge(onMs: number, periodMs: number, elapsed: number): number {
  const cycleStart = Math.floor(elapsed / periodMs) * periodMs;
  const phase = elapsed - cycleStart;
  return cycleStart + (phase < onMs ? onMs : periodMs);
}
