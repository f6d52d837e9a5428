import type { IndicatorDriver, IndicatorOutput } from '../engine';
import { redGreenLines } from '../model';

export type IndicatorLine = 'red' | 'green' | 'buzzer';

/** Digital output lines (GPIO through libgpiod on a Pi, or a test double). */
export interface OutputLines {
  write(line: IndicatorLine, on: boolean): void;
}

/**
 * Two-LED + buzzer hardware (the Pi profile): amber is red and green together. Writes only
 * the lines whose level changes, so a colour change is at most two writes.
 */
export class TwoLedIndicatorDriver implements IndicatorDriver {
  private readonly levels = new Map<IndicatorLine, boolean>();

  constructor(private readonly lines: OutputLines) {}

  show(output: IndicatorOutput, _at: number): void {
    const { red, green } = redGreenLines(output.color);
    this.drive('red', red);
    this.drive('green', green);
    this.drive('buzzer', output.buzzer);
  }

  private drive(line: IndicatorLine, on: boolean): void {
    if (this.levels.get(line) === on) return;
    this.lines.write(line, on);
    this.levels.set(line, on);
  }
}
