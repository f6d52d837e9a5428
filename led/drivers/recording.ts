import type { IndicatorDriver, IndicatorOutput } from '../engine';

export interface IndicatorStep extends IndicatorOutput {
  at: number;
}

/** Remembers every change exactly as the engine drove it: the test profile's LED and buzzer. */
export class RecordingIndicatorDriver implements IndicatorDriver {
  private readonly steps: IndicatorStep[] = [];

  show(output: IndicatorOutput, at: number): void {
    this.steps.push({ at, color: output.color, buzzer: output.buzzer });
  }

  /** A copy of the changes so far, oldest first. */
  timeline(): IndicatorStep[] {
    return this.steps.map((step) => ({ ...step }));
  }

  /** The changes with times relative to `origin` (tests read patterns, not epoch times). */
  relativeTimeline(origin: number): IndicatorStep[] {
    return this.steps.map((step) => ({ ...step, at: step.at - origin }));
  }

  clear(): void {
    this.steps.length = 0;
  }
}
