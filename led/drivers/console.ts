import pino, { type Logger } from 'pino';
import type { IndicatorDriver, IndicatorOutput } from '../engine';
import { ANSI_RESET, LED_ANSI_COLORS } from '../model';

export interface ConsoleIndicatorOptions {
  /** Where the TTY status line goes (default process.stdout). */
  stream?: { write(text: string): unknown; isTTY?: boolean };
  /** Logger for the JSON line per change when not on a TTY (default: pino to stdout). */
  logger?: Logger;
  /** Overrides TTY detection (tests, --log-format). */
  tty?: boolean;
}

/**
 * The sim profile's LED and buzzer: on a TTY one coloured status line rewritten in place,
 * otherwise one JSON log line per change (Docker, CI and HIL rigs parse these).
 */
export class ConsoleIndicatorDriver implements IndicatorDriver {
  private readonly stream: { write(text: string): unknown; isTTY?: boolean };
  private readonly tty: boolean;
  private logger: Logger | undefined;

  constructor(options: ConsoleIndicatorOptions = {}) {
    this.stream = options.stream ?? process.stdout;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.logger = options.logger;
  }

  show(output: IndicatorOutput, at: number): void {
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${statusLine(output, at)}`);
      return;
    }
    this.logger ??= pino();
    this.logger.info({ led: output.color, buzzer: output.buzzer, at }, 'indicator');
  }
}

/** The TTY line: a coloured dot, the colour name, and the buzzer when it sounds. */
export function statusLine(output: IndicatorOutput, at: number): string {
  const time = new Date(at).toISOString().slice(11, 23);
  const buzzer = output.buzzer ? '  \x1b[1mBEEP\x1b[0m' : '';
  return `${time} LED ${LED_ANSI_COLORS[output.color]}\u25cf ${output.color.padEnd(5)}${ANSI_RESET}${buzzer}`;
}
