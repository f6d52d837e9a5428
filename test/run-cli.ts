/**
 * `reader-sim` in this process, through the CLI's own entry (`run` in scripts/cli.ts):
 * argument parsing, exit codes and what it printed, without a child's boot time.
 */
import { run } from '../scripts/cli';

export interface CliRun {
  code: number;
  /** console.log lines. */
  out: string[];
  /** console.error lines (and console.warn ones when asked). */
  err: string[];
  /** Every captured line in the order printed. */
  all: string[];
}

/**
 * Runs `reader-sim ...argv` with the console captured, one command at a time (the console
 * is shared). `warnings` also captures console.warn, into `err`.
 */
export async function runCli(argv: string[], opts: { warnings?: boolean } = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const all: string[] = [];
  const into =
    (lines: string[]) =>
    (...a: unknown[]) => {
      const line = a.map(String).join(' ');
      lines.push(line);
      all.push(line);
    };
  const spies = [
    jest.spyOn(console, 'log').mockImplementation(into(out)),
    jest.spyOn(console, 'error').mockImplementation(into(err)),
    ...(opts.warnings ? [jest.spyOn(console, 'warn').mockImplementation(into(err))] : []),
  ];
  try {
    return { code: await run(argv), out, err, all };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
