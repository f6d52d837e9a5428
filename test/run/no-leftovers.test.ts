import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownChildren } from '../children';

const ROOT = path.join(__dirname, '../..');
const children = ownChildren();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a failing test leaves no process behind', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'no-leftovers-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a child jest runs a test that starts a GPIO holder and a child process, fails, and exits with both gone', async () => {
    const pidsFile = path.join(dir, 'pids.json');
    // The fixture is no *.test.ts: only this run picks it up, with the suite's transform.
    const config = {
      rootDir: ROOT,
      testMatch: ['<rootDir>/test/fixtures/failing/*.fixture.ts'],
      transform: { '^.+\\.ts$': 'ts-jest' },
      testEnvironment: 'node',
    };
    const child = children.spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/jest/bin/jest.js'),
        '--config',
        JSON.stringify(config),
        '--runInBand',
        '--ci',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, LEFTOVER_PIDS_FILE: pidsFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    // Exiting at all is the point: a child handle left open would keep this jest waiting.
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(output).toContain('fails while its processes run');
    expect(output).toContain('Expected: "open"');
    expect(output).not.toContain('did not exit one second after the test run');
    const pids = JSON.parse(fs.readFileSync(pidsFile, 'utf8')) as number[];
    expect(pids).toHaveLength(2);
    expect(pids.filter(alive)).toEqual([]);
  });
});
