import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';

const bin = path.join(__dirname, '..', '..', 'bin', 'reader-sim.js');
const exec = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Each test spawns the real bin (ts-node, a cold start): seconds on a loaded 2-core machine.
jest.setTimeout(180_000); // real processes (ts-node boots): minutes on a loaded machine

describe('reader-sim command line', () => {
  it('lists its commands with --help', async () => {
    const { code, stdout } = await cli('--help');
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
