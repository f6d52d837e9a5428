/** One `reader-sim` subcommand. Each lives in scripts/commands/ and is listed in cli.ts. */
export interface Command {
  name: string;
  /** One line for `reader-sim --help`. */
  summary: string;
  /** Full help text for `reader-sim NAME --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A failure the user caused (bad flag, missing file): printed as one line, exit code 2. */
export class UsageError extends Error {}

export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
