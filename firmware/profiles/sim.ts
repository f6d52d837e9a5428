import type { Logger } from 'pino';
import { ConsoleIndicatorDriver, type IndicatorDriver } from '../../led';
import type { RelayDriver } from '../door';
import { SystemClock, type Clock } from '../foundation/clock';
import type { ReaderLog } from '../foundation/log';
import { TtyStatusLine, type StatusTerminal } from '../panel/tty-status';
import { ConsoleRelayDriver } from '../relay-drivers';
import type { RunningReader } from '../running-reader';
import type { ReaderDrivers } from './drivers';

/**
 * What the reader shows on the console (sim and pi): on a terminal, one live status line
 * pinned above the logs (the LED driver, and it follows each booted firmware's door and
 * decisions); elsewhere LED log lines. The relay is a log line either way.
 */
export interface ConsoleFace {
  indicator: IndicatorDriver;
  relay: RelayDriver;
  /** Follows a booted firmware (the status line's door and decisions); returns the unfollow. */
  follow(reader: RunningReader): () => void;
  start(): void;
  stop(): void;
}

export function consoleFace(
  log: Logger,
  terminal: StatusTerminal & { isTTY?: boolean } = process.stdout,
): ConsoleFace {
  const relay = new ConsoleRelayDriver(log);
  if (!terminal.isTTY) {
    return {
      indicator: new ConsoleIndicatorDriver({ logger: log }),
      relay,
      follow: () => () => {},
      start() {},
      stop() {},
    };
  }
  const line = new TtyStatusLine(terminal);
  return {
    indicator: line,
    relay,
    follow: (reader) => line.follow(reader),
    start: () => line.start(),
    stop: () => line.stop(),
  };
}

export interface SimProfileOptions {
  /** The flash image lives at DIR/flash.img. */
  dataDir: string;
  face: ConsoleFace;
  log: ReaderLog;
  readerId?: string;
  clock?: Clock;
}

/** The `sim` profile (`npm start`, Docker): a file flash image, the console face, the system clock. */
export function simDrivers(options: SimProfileOptions): ReaderDrivers {
  return {
    clock: options.clock ?? new SystemClock(),
    store: { dir: options.dataDir },
    indicatorDrivers: [options.face.indicator],
    relay: options.face.relay,
    readerId: options.readerId,
    log: options.log,
    wire: (reader) => options.face.follow(reader),
  };
}
