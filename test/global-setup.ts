import { BUILT_ENV, cliCommand } from './cli-command';

/**
 * Once per jest run, before any test file: builds the transpiled `reader-sim` the suite's
 * child processes run (test/cli-command.ts) and hands its path to every worker through the
 * environment, so no test file pays the build or the check.
 */
export default function globalSetup(): void {
  if (process.env.TEST_CLI === 'ts-node') return;
  const cli = cliCommand();
  process.env[BUILT_ENV] = cli.args[0];
}
