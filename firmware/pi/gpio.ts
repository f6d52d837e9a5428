import type { EventEmitter } from 'node:events';

/** Pull resistor of an input line (libgpiod's --bias). 'as-is' leaves the board's setting. */
export type LineBias = 'as-is' | 'pull-up' | 'pull-down' | 'disable';

/** One GPIO line of a chip, by offset (on a Pi's main chip the offset is the BCM number). */
export interface LineSpec {
  offset: number;
  /** Output: drive low for "on" (e.g. active-low relay boards). */
  activeLow?: boolean;
  bias?: LineBias;
}

/** An output line held at a level until released. set() is ordered: writes apply in call order. */
export interface GpioOutput {
  readonly offset: number;
  /** The level last asked for (logical: with activeLow, true drives the pin low). */
  readonly level: boolean;
  set(on: boolean): void;
  /** Resolves once every write asked for so far has reached the chip. */
  settled(): Promise<void>;
  /** Stops holding the line. */
  release(): Promise<void>;
}

/** An edge seen on a monitored input: the new raw level (true = high). */
export interface GpioEdge {
  offset: number;
  high: boolean;
}

export interface GpioMonitor {
  close(): Promise<void>;
}

/**
 * A GPIO chip as the Pi profile uses it: hold outputs, read inputs, watch inputs for edges.
 * Implemented by LibgpiodChip (the libgpiod 1.6 tools; tests run it against simulated tools). Errors after the call returned (a tool that died) are 'error' events.
 */
export interface GpioChip extends EventEmitter {
  /** The kernel's name (gpiochip0) and label (pinctrl-bcm2711). */
  readonly name: string;
  readonly label: string;
  readonly lines: number;
  output(spec: LineSpec, initial: boolean): Promise<GpioOutput>;
  /** The raw levels (true = high) of input lines, in the order given. */
  read(specs: LineSpec[]): Promise<boolean[]>;
  monitor(specs: LineSpec[], onEdge: (edge: GpioEdge) => void): Promise<GpioMonitor>;
  /** Releases every output and monitor. */
  close(): Promise<void>;
}

/** A chip as gpiodetect lists it. */
export interface ChipInfo {
  name: string;
  label: string;
  lines: number;
}

/** Thrown for anything the GPIO layer cannot do; the message names the line and the fix. */
export class GpioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpioError';
  }
}

export function checkOffset(chip: { name: string; lines: number }, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset >= chip.lines) {
    throw new GpioError(`${chip.name} has lines 0..${chip.lines - 1}; no line ${offset}`);
  }
}
