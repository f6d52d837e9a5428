/**
 * `reader-sim start` (or any reader-sim command) as a real child process, with its JSON log
 * lines parsed as they come: what the security tests drive over the network.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { ownChildren } from '../children';
import { cliCommand, type CliCommand } from '../cli-command';
export { freePort } from '../free-port';

export const BIN = join(__dirname, '../../bin/reader-sim.js');

export type LogLine = Record<string, unknown>;

export interface ReaderProcess {
  child: ChildProcessWithoutNullStreams;
  lines: LogLine[];
  stderr(): string;
  /** Resolves with the first log line that passes, or rejects when the process exits first. */
  waitFor(test: (line: LogLine) => boolean): Promise<LogLine>;
  exited: Promise<number | null>;
}

/** Readers started by the importing test file, killed after its last test whatever happened. */
const children = ownChildren({ per: 'file' });

/**
 * `launcher`: how to run reader-sim (default: the suite's transpiled CLI, test/cli-command.ts,
 * which starts without ts-node's compile); the production-install test passes its scratch
 * copy's bin.
 */
export function runReaderSim(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  launcher: CliCommand = cliCommand(),
): ReaderProcess {
  const child = children.spawn(launcher.command, [...launcher.args, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  }) as ChildProcessWithoutNullStreams;
  const lines: LogLine[] = [];
  let out = '';
  let err = '';
  const waiters = new Set<{ test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const text = out.slice(0, nl);
      out = out.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { text };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (test: (l: LogLine) => boolean) =>
    new Promise<LogLine>((resolve, reject) => {
      const seen = lines.find(test);
      if (seen) return resolve(seen);
      waiters.add({ test, resolve });
      void exited.then((code) =>
        reject(new Error(`reader-sim exited (${code}) first; stderr: ${err}`)),
      );
    });
  return { child, lines, stderr: () => err, waitFor, exited };
}
