import pino, { Logger } from 'pino';
import pretty from 'pino-pretty';

/** What firmware modules need from a logger (pino's call shape). */
export interface ReaderLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything (tests, benchmarks). */
export const SILENT_LOG: ReaderLog = { info() {}, warn() {}, error() {} };

/**
 * The process logger: JSON lines on stdout (Docker, CI, pipes), pretty and coloured when
 * stdout is a terminal. pino-pretty runs in-process so a crash cannot swallow the last lines.
 */
export function createLogger(
  options: { level?: string; pretty?: boolean; name?: string } = {},
): Logger {
  const wantPretty = options.pretty ?? process.stdout.isTTY === true;
  const base = { level: options.level ?? 'info', name: options.name ?? 'reader-sim' };
  if (!wantPretty) return pino(base);
  return pino(base, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', sync: true }));
}
