/** One `reader-sim` subcommand, loaded from its module when it runs (its name and summary are its CommandEntry's). */
export interface Command {
  /** Full help text for `reader-sim NAME --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/**
 * A line of a command table (scripts/commands/index.ts, scripts/dev/tools.ts): enough for
 * `reader-sim --help` without loading the command, whose imports only its own run pays for.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** A failure the user caused (bad flag, missing file): printed as one line, exit code 2. */
export class UsageError extends Error {}

export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
