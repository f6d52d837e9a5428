import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliCommand, README_CLI, type CliCommand } from '../cli-command';

const exec = promisify(execFile);
const transpiled = cliCommand();

async function run(
  launcher: CliCommand,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(launcher.command, [...launcher.args, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The suite's transpiled CLI (test/cli-command.ts): the same code without ts-node's start. */
const cli = (...args: string[]) => run(transpiled, args);

// A ts-node cold start is seconds on a loaded 2-core machine.
jest.setTimeout(180_000); // real processes (ts-node boots): minutes on a loaded machine

describe('reader-sim command line', () => {
  it('lists its commands with --help, through bin/reader-sim.js as a checkout runs it', async () => {
    const { code, stdout } = await run(README_CLI, ['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: reader-sim COMMAND/);
    expect(stdout).toMatch(/^\s+bench\s/m);
  });

  it('rejects an unknown command with a one-line reason and exit code 2', async () => {
    const { code, stderr } = await cli('frobnicate');
    expect(code).toBe(2);
    expect(stderr.trim()).toBe("reader-sim: unknown command 'frobnicate' (see reader-sim --help)");
  });

  it('rejects an unknown bench suite', async () => {
    const { code, stderr } = await cli('bench', 'nope', '--json');
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown suite nope/);
  });
});
