import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore } from '../../storage';
import { content } from './workload';

const bin = path.join(__dirname, '..', '..', 'bin', 'reader-sim.js');

function cli(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [bin, 'flash', ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('reader-sim flash fsck|inspect', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-cli-'));
    const s = openStore({ dir, imageBytes: 64 * 4096 });
    s.database.replace(content(12, 'v1'));
    for (let i = 0; i < 50; i++) s.recordGrant({ ts: i, type: 'access' }, 'c1');
    s.events.ack(10);
    s.close();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('inspect reports geometry, wear histogram, space, records and database of a good image (exit 0)', () => {
    const { status, out } = cli('inspect', '--data', dir);
    expect(status).toBe(0);
    expect(out).toMatch(/geometry\s+64 sectors x 4096 B/);
    expect(out).toMatch(/wear\s+erase counts min 0/);
    expect(out).toMatch(/\| #+ 64/);
    expect(out).toMatch(/space\s+live .* KiB, dead .* KiB, free/);
    expect(out).toMatch(/credential 12/);
    expect(out).toMatch(/database\s+version 1: 12 credentials/);
    expect(out).toMatch(/acknowledged up to 10/);
    expect(out).toMatch(/problems\s+none/);
  });

  it('fsck --json of a good image', () => {
    const { status, out } = cli('fsck', '--data', dir, '--json');
    expect(status).toBe(0);
    const report = JSON.parse(out) as { problems: string[]; database: { credentials: number } };
    expect(report.problems).toEqual([]);
    expect(report.database.credentials).toBe(12);
  });

  it('fsck of a damaged image reports the problem and exits 1', () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-cli-bad-'));
    try {
      const image = fs.readFileSync(path.join(dir, 'flash.img'));
      image[8192 + 16 + 16 + 3] ^= 0x20; // first record payload of sector 0 (data starts at 8 KiB)
      fs.writeFileSync(path.join(bad, 'flash.img'), image);
      const { status, out } = cli('fsck', '--data', bad);
      expect(status).toBe(1);
      expect(out).toMatch(/PROBLEMS\s+1/);
      expect(out).toMatch(/damaged/);
    } finally {
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });

  it('a foreign file and a missing image exit 1 with a clear reason; bad usage exits 2', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'flash-cli-foreign-'));
    try {
      fs.writeFileSync(path.join(other, 'flash.img'), 'hello');
      const r = cli('inspect', '--data', other);
      expect(r.status).toBe(1);
      expect(r.out).toMatch(/not a reader-sim flash image \(wrong magic\)/);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
    expect(cli('fsck').status).toBe(2);
  });
});
