import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore } from '../../storage';
import { examineImage } from '../../storage/fsck';
import { cliCommand } from '../cli-command';
import { content } from './workload';

const launcher = cliCommand();

interface Run {
  status: number | null;
  out: string;
}

/** Runs `reader-sim flash ...` as a child process (the suite's transpiled CLI). */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(launcher.command, [...launcher.args, 'flash', ...args]);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, out }));
  });
}

describe('reader-sim flash fsck|inspect', () => {
  let root: string;
  let good: string;
  const runs: Record<string, Run> = {};

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-cli-'));
    good = path.join(root, 'good');
    const s = openStore({ dir: good, imageBytes: 64 * 4096 });
    s.database.replace(content(12, 'v1'));
    for (let i = 0; i < 50; i++) s.recordGrant({ ts: i, type: 'access' }, 'c1');
    s.events.ack(10);
    s.close();
    const bad = path.join(root, 'bad');
    fs.mkdirSync(bad);
    const image = fs.readFileSync(path.join(good, 'flash.img'));
    image[8192 + 16 + 24 + 16 + 3] ^= 0x20; // a payload byte of the first record after sector 0's tail
    fs.writeFileSync(path.join(bad, 'flash.img'), image);
    const foreign = path.join(root, 'foreign');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'flash.img'), 'hello');
    // The CLI runs are slow to start (TypeScript): run them side by side.
    const [inspect, fsckBad, inspectForeign, usage] = await Promise.all([
      cli('inspect', '--data', good),
      cli('fsck', '--data', bad),
      cli('inspect', '--data', foreign),
      cli('fsck'),
    ]);
    Object.assign(runs, { inspect, fsckBad, inspectForeign, usage });
  }, 120000);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('inspect reports geometry, wear histogram, space, records and database of a good image (exit 0)', () => {
    const { status, out } = runs.inspect!;
    expect(out).toMatch(/geometry\s+64 sectors x 4096 B/);
    expect(out).toMatch(/format\s+2 \(cells stored inverted/);
    expect(status).toBe(0);
    expect(out).toMatch(/wear\s+erase counts min 0/);
    expect(out).toMatch(/\| #+ 64/);
    expect(out).toMatch(/space\s+live .* KiB, dead .* KiB, free/);
    expect(out).toMatch(/credential 12/);
    expect(out).toMatch(/database\s+version 1: 12 credentials/);
    expect(out).toMatch(/acknowledged up to 10/);
    expect(out).toMatch(/problems\s+none/);
  });

  it('fsck of a damaged image reports the problem and exits 1', () => {
    const { status, out } = runs.fsckBad!;
    expect(out).toMatch(/PROBLEMS\s+1/);
    expect(out).toMatch(/damaged/);
    expect(status).toBe(1);
  });

  it('a foreign file exits 1 with a clear reason; bad usage exits 2', () => {
    expect(runs.inspectForeign!.out).toMatch(/not a reader-sim flash image \(wrong magic\)/);
    expect(runs.inspectForeign!.status).toBe(1);
    expect(runs.usage!.status).toBe(2);
  });

  it('the --json report carries the same facts', () => {
    const report = examineImage(good);
    expect(report.problems).toEqual([]);
    expect(report.database?.credentials).toBe(12);
    expect(report.wear?.histogram.reduce((n, b) => n + b.sectors, 0)).toBe(64);
    expect(examineImage(path.join(root, 'missing')).problems).toEqual([
      expect.stringMatching(/no flash image/),
    ]);
  });
});
