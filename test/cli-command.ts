/**
 * How the suite runs `reader-sim` as a child process: `cliCommand()` gives the program and
 * the arguments that go before the CLI's own, e.g.
 *
 *   const cli = cliCommand();
 *   children.spawn(cli.command, [...cli.args, 'start', '--data', dir, '--api-port', port]);
 *
 * It is the same TypeScript `bin/reader-sim.js` runs, transpiled to plain JavaScript once per
 * jest run (test/global-setup.ts; a file run on its own builds it on first use), so a child
 * starts without ts-node's per-process compile: about 1 s instead of 3-5 s on a loaded 2-core
 * machine. The build is cached by content in node_modules/.cache and written atomically, so
 * jest workers that ask at once share it. Tests about how users start the CLI (the README's
 * `npx reader-sim`, ts-node in a checkout) use `README_CLI` instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readerLauncher } from '../scripts/dev/soak/reader-build';
import { ROOT, transpiledTree } from '../scripts/dev/transpiled';

export interface CliCommand {
  command: string;
  args: string[];
}

/** Set by the global setup once the tree is built: later asks in the run skip the check. */
export const BUILT_ENV = 'READER_SIM_TEST_CLI';

/** `bin/reader-sim.js` as users run it from a checkout (through ts-node). */
export const README_CLI: CliCommand = {
  command: process.execPath,
  args: [path.join(__dirname, '..', 'bin', 'reader-sim.js')],
};

/**
 * The transpiled `reader-sim` (see above). `TEST_CLI=ts-node` gives `README_CLI` instead, to
 * compare the two or to debug through ts-node.
 */
export function cliCommand(): CliCommand {
  if (process.env.TEST_CLI === 'ts-node') return README_CLI;
  const built = process.env[BUILT_ENV];
  if (built) return { command: process.execPath, args: [built] };
  const launcher = readerLauncher();
  return { command: launcher.command, args: launcher.args };
}

/** `[...cli.args, ...argv]`: the argument list for `spawn(cli.command, ...)`. */
export function cliArgv(argv: string[], cli: CliCommand = cliCommand()): string[] {
  return [...cli.args, ...argv];
}

/**
 * Another program of the reader's sources (firmware/, led/, ble/, storage/, scripts/) as its
 * transpiled module, for `spawn(process.execPath, [transpiledModule(file), ...])` without
 * `-r ts-node/register`: the same tree `cliCommand()` runs.
 */
export function transpiledModule(source: string): string {
  const built = process.env[BUILT_ENV];
  const tree = built ? path.dirname(built) : transpiledTree();
  const module = path.join(tree, path.relative(ROOT, source)).replace(/\.ts$/, '.js');
  if (!fs.existsSync(module)) {
    throw new Error(`${source} is not in the transpiled tree (only the reader's sources are)`);
  }
  return module;
}
