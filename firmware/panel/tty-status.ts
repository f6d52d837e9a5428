import type { RunningReader } from '../running-reader';
import type { DoorPosition, RelayState } from '../door';
import type { PresentationResult } from '../reader';
import type { IndicatorDriver, IndicatorOutput } from '../../led/engine';
import { ANSI_RESET, LED_ANSI_COLORS } from '../../led/model';

/** What the one-line status shows. */
export interface TtyStatus {
  led: IndicatorOutput;
  relay: RelayState;
  door: DoorPosition;
  /** The last access decision (reason code of firmware/foundation/reasons.ts) and when it was made. */
  decision?: { decision: 'grant' | 'deny'; reason: string; at: number };
}

/** A terminal the status line is drawn on (process.stdout on a TTY). */
export interface StatusTerminal {
  write(text: string): unknown;
  rows?: number;
  columns?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

const BOLD = '\x1b[1m';

/**
 * The status line's text: LED glyph in its colour, buzzer, relay, door, last decision.
 * Cut to `columns` visible characters (escape codes do not count).
 */
export function ttyStatusLine(status: TtyStatus, columns = 120): string {
  const { led, relay, door, decision } = status;
  const parts: [string, string][] = [
    [`\u25cf ${led.color.padEnd(5)}`, LED_ANSI_COLORS[led.color]],
    [led.buzzer ? 'BEEP' : '    ', BOLD],
    [`relay ${relay.padEnd(8)}`, relay === 'unlocked' ? '\x1b[36m' : ''],
    [`door ${door.padEnd(11)}`, door === 'forced-open' || door === 'held-open' ? '\x1b[31m' : ''],
  ];
  if (decision) {
    const time = new Date(decision.at).toISOString().slice(11, 23);
    const color = decision.decision === 'grant' ? '\x1b[32m' : '\x1b[31m';
    parts.push([`last ${decision.decision} ${decision.reason} ${time}`, color]);
  } else {
    parts.push(['last -', '']);
  }
  let left = columns;
  const out: string[] = [];
  for (const [text, style] of parts) {
    if (left <= 0) break;
    const shown = text.slice(0, left);
    out.push(style ? `${style}${shown}${ANSI_RESET}` : shown);
    left -= shown.length + 2;
  }
  return out.join('  ');
}

/**
 * `reader-sim start` on a terminal: one live status line pinned above the scrolling logs
 * (a scroll region of rows 2..N keeps line 1 for it). It is the LED driver (show) and
 * follows the door and the decisions of each booted firmware (follow). Use it only when
 * stdout is a TTY; JSON logs stay as they are otherwise.
 */
export class TtyStatusLine implements IndicatorDriver {
  private status: TtyStatus = {
    led: { color: 'off', buzzer: false },
    relay: 'locked',
    door: 'closed',
  };
  private started = false;
  private readonly onResize = () => this.reserve();

  constructor(private readonly terminal: StatusTerminal) {}

  /** Reserves line 1 and draws the line. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.terminal.on?.('resize', this.onResize);
    this.reserve();
  }

  /** Gives the whole screen back to the logs. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.terminal.off?.('resize', this.onResize);
    this.terminal.write(`\x1b7\x1b[1;1H\x1b[2K\x1b8\x1b[r\x1b[${this.rows()};1H`);
  }

  show(output: IndicatorOutput): void {
    this.status = { ...this.status, led: { ...output } };
    this.draw();
  }

  /** Follows a booted firmware's relay, door and decisions; returns the unsubscribe. */
  follow(running: Pick<RunningReader, 'door' | 'reader'>): () => void {
    const { door, reader } = running;
    const onDoorChange = () => {
      const s = door.status();
      this.status = { ...this.status, relay: s.relay, door: s.position };
      this.draw();
    };
    const onDecision = ({ result }: { result: PresentationResult }) => {
      const event = result.event;
      if (!event || (event.decision !== 'grant' && event.decision !== 'deny')) return;
      this.status = {
        ...this.status,
        decision: { decision: event.decision, reason: event.reason ?? '?', at: event.ts },
      };
      this.draw();
    };
    door.on('relay', onDoorChange);
    door.on('door', onDoorChange);
    door.on('alarm', onDoorChange);
    reader.on('decision', onDecision);
    onDoorChange();
    return () => {
      door.off('relay', onDoorChange);
      door.off('door', onDoorChange);
      door.off('alarm', onDoorChange);
      reader.off('decision', onDecision);
    };
  }

  current(): TtyStatus {
    return { ...this.status };
  }

  private rows(): number {
    return this.terminal.rows ?? 24;
  }

  private reserve(): void {
    // Scroll region 2..rows (the cursor goes home), then back to the bottom for the logs.
    this.terminal.write(`\x1b[2;${this.rows()}r\x1b[${this.rows()};1H`);
    this.draw();
  }

  private draw(): void {
    if (!this.started) return;
    const line = ttyStatusLine(this.status, this.terminal.columns ?? 120);
    // Save the cursor, draw on line 1, restore: the log output carries on where it was.
    this.terminal.write(`\x1b7\x1b[1;1H\x1b[2K${line}\x1b8`);
  }
}
