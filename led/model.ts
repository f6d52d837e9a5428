/**
 * The one LED + buzzer data model (after OSDP osdp_LED / osdp_BUZ), used by the engine, every
 * driver, the reader, the tests and the docs. The defaults table of BEHAVIOR.md lives here
 * and nowhere else.
 */
import { DEFAULT_UNLOCK_MS } from '../firmware/foundation/model';

export type LedColor = 'off' | 'red' | 'green' | 'amber';

/** How each colour is drawn on a screen (front panel, timeline SVG): the hues live here only. */
export const LED_DISPLAY_COLORS: Readonly<Record<LedColor, string>> = Object.freeze({
  off: '#3b3f45',
  red: '#e02424',
  green: '#16a34a',
  amber: '#f59e0b',
});

/** How each colour is drawn on a terminal (ANSI SGR), and the code that ends it. */
export const LED_ANSI_COLORS: Readonly<Record<LedColor, string>> = Object.freeze({
  off: '\x1b[90m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  amber: '\x1b[33m',
});
export const ANSI_RESET = '\x1b[0m';

/** A blink pattern: onColor for onMs, then offColor for offMs, repeating. offMs 0 = steady onColor. */
export interface LedPattern {
  onColor: LedColor;
  offColor: LedColor;
  onMs: number;
  offMs: number;
}

/** Beeps of onMs separated by offMs; count 0 = continuous (until the situation ends). */
export interface BuzzerPattern {
  onMs: number;
  offMs: number;
  count: number;
}

export type Situation =
  | 'idle'
  | 'processing'
  | 'granted'
  | 'denied'
  | 'enroll'
  | 'enrolled'
  | 'unlocked'
  | 'lockdown'
  | 'alarm';

export interface SituationIndication {
  led: LedPattern;
  /** Temporary only: the pattern runs this many on/off cycles, then the temporary ends. */
  ledCount?: number;
  /** Temporary only: the timer when no count is given and the caller passes no duration. */
  durationMs?: number;
  buzzer?: BuzzerPattern;
  /** True for states shown over the permanent one until their count or timer ends. */
  temporary: boolean;
}

const SHORT_BEEP: BuzzerPattern = { onMs: 100, offMs: 0, count: 1 };

export const SITUATIONS: Record<Situation, SituationIndication> = {
  idle: { led: steady('red'), temporary: false },
  // Safety timer: a presentation that is never answered cannot leave the LED amber forever.
  processing: { led: steady('amber'), durationMs: 30_000, temporary: true },
  // The reader passes its configured unlock time; this is the default door's.
  granted: {
    led: steady('green'),
    durationMs: DEFAULT_UNLOCK_MS,
    buzzer: SHORT_BEEP,
    temporary: true,
  },
  // Each of the three beeps starts with a red flash.
  denied: {
    led: blink('red', 200, 200),
    ledCount: 3,
    buzzer: { onMs: 100, offMs: 300, count: 3 },
    temporary: true,
  },
  enroll: { led: blink('amber', 500, 500), temporary: false },
  enrolled: {
    led: blink('green', 200, 200),
    ledCount: 3,
    buzzer: { onMs: 200, offMs: 0, count: 1 },
    temporary: true,
  },
  unlocked: { led: steady('green'), temporary: false },
  lockdown: { led: blink('red', 100, 100), temporary: false },
  alarm: {
    led: { onColor: 'red', offColor: 'amber', onMs: 250, offMs: 250 },
    buzzer: { onMs: 1, offMs: 0, count: 0 },
    temporary: false,
  },
};

/** Two-LED hardware (the Pi profile: red + green lines) shows amber as both on. */
export function redGreenLines(color: LedColor): { red: boolean; green: boolean } {
  return {
    red: color === 'red' || color === 'amber',
    green: color === 'green' || color === 'amber',
  };
}

export function isSituation(value: string): value is Situation {
  return Object.prototype.hasOwnProperty.call(SITUATIONS, value);
}

function steady(color: LedColor): LedPattern {
  return { onColor: color, offColor: color, onMs: 1, offMs: 0 };
}

function blink(color: LedColor, onMs: number, offMs: number): LedPattern {
  return { onColor: color, offColor: 'off', onMs, offMs };
}
