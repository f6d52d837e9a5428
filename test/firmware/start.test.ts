import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownChildren } from '../children';
import { cliCommand } from '../cli-command';
import { freePort } from '../free-port';

const cli = cliCommand();
const children = ownChildren();

/** Runs `reader-sim start` as a real process (JSON logs: stdout is a pipe). */
function startReader(dir: string, port: number) {
  const args = ['start', '--data', dir, '--reader-id', 'lobby-1', '--api-port', String(port)];
  const child = children.spawn(cli.command, [...cli.args, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcessWithoutNullStreams;
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  const waiters: Array<{ test: (l: Record<string, unknown>) => boolean; resolve: () => void }> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const w of waiters.splice(0)) {
          if (w.test(line)) w.resolve();
          else waiters.push(w);
        }
      } catch {
        lines.push({ text });
      }
    }
  });
  const waitFor = (test: (l: Record<string, unknown>) => boolean) =>
    new Promise<void>((resolve) => {
      if (lines.some(test)) resolve();
      else waiters.push({ test, resolve });
    });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, waitFor, exited };
}

describe('reader-sim start', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reader-sim-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('boots on the data dir, decides from the panel, shuts down clean on SIGTERM, keeps state', async () => {
    const first = startReader(dir, await freePort());
    await first.waitFor((l) => l.msg === 'reader booted');
    expect(first.lines.find((l) => l.msg === 'reader booted')).toMatchObject({
      readerId: 'lobby-1',
      accessPointId: 'door-1',
    });
    first.child.stdin.write('badge 12345\nstate lockdown\nfrobnicate\n');
    await first.waitFor((l) => l.msg === 'presentation');
    await first.waitFor((l) => l.msg === 'panel: rejected');
    expect(first.lines.find((l) => l.msg === 'presentation')).toMatchObject({
      decision: 'deny',
      reason: 'unknown_credential',
    });
    expect(first.lines.some((l) => l.msg === 'indicator' && l.led === 'amber')).toBe(true);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.lines.at(-1)).toMatchObject({ msg: 'reader stopped', relay: 'locked' });

    // The second boot finds the stored config (reader id, lockdown) in the flash image.
    const second = startReader(dir, await freePort());
    second.child.stdin.write('status\n');
    await second.waitFor((l) => l.msg === 'status');
    expect(second.lines.find((l) => l.msg === 'reader booted')).toMatchObject({
      readerId: 'lobby-1',
    });
    const status = second.lines.find((l) => l.msg === 'status') as {
      accessPoint: unknown;
      events: { count: number };
    };
    expect(status.accessPoint).toMatchObject({ state: 'lockdown' });
    expect(status.events.count).toBeGreaterThanOrEqual(4); // boot, deny, config change, shutdown, boot
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }, 180_000);

  test('bad flags exit 2 with a one-line reason', async () => {
    for (const [args, reason] of [
      [['--profile', 'cloud'], "profile 'cloud' is not in this build (have: sim, pi)"],
      [['--api-port', '99999'], '--api-port must be 1..65535, got 99999'],
    ] as const) {
      const child = children.spawn(cli.command, [...cli.args, 'start', '--data', dir, ...args]);
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect([code, stderr.trim()]).toEqual([2, `reader-sim start: ${reason}`]);
    }
  }, 180_000);
});
