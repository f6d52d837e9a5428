/**
 * `reader-sim phone`: in-process against a reader whose air this test serves on a socket
 * (the phone joins it as from another terminal), then the real thing: `reader-sim start` in
 * a child process and `reader-sim phone unlock` in another.
 */
import { ChildProcessWithoutNullStreams, execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';
import { AirServer, serveAir } from '../../ble/controller';
import { loadDeviceKey, rawDataOf } from '../../ble/device-key';
import { HostClient } from '../../firmware/api/client';
import { onePhoneDatabase } from '../../firmware/profiles/test';
import type { DatabaseContent } from '../../firmware/foundation/model';
import { cliCommand } from '../cli-command';
import { runCli, type CliRun } from '../run-cli';
import { MobileRig, startMobileRig } from './harness';

jest.setTimeout(180_000); // real processes (ts-node boots): minutes on a loaded machine

const ROOT = path.join(__dirname, '..', '..');
/** `reader-sim` as a child process: the suite's transpiled CLI (test/cli-command.ts). */
const launcher = cliCommand();

/** Alice with the phone whose key is in keyFile. */
function databaseFor(keyFile: string): DatabaseContent {
  return onePhoneDatabase(loadDeviceKey(keyFile));
}

/** Runs the CLI in-process; its exit code and what it printed. */
function cli(...argv: string[]): Promise<CliRun> {
  return runCli(argv);
}

describe('reader-sim phone (in-process, on a served air)', () => {
  let dir: string;
  let rig: MobileRig;
  let server: AirServer;
  let sock: string;
  let keyFile: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phone-cli-'));
    // The CLI phone signs with the system clock: the reader's virtual clock starts at now.
    rig = await startMobileRig(Date.now());
    sock = path.join(dir, 'air.sock');
    server = await serveAir(rig.air, { path: sock });
    keyFile = path.join(dir, 'phone.json');
    await rig.client.push({ ...databaseFor(await keygen()), credentials: [] });
  });

  async function keygen(): Promise<string> {
    const { code, out } = await cli(
      'phone',
      'keygen',
      '--key',
      keyFile,
      '--device-id',
      'cli-phone',
    );
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('cli-phone');
    return keyFile;
  }

  afterAll(async () => {
    await server?.close();
    await rig?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keygen keeps the key in a 0600 file and refuses to overwrite it', async () => {
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const again = await cli('phone', 'keygen', '--key', keyFile);
    expect(again.code).toBe(2);
    expect(again.err.join('\n')).toContain('--force');
    expect(loadDeviceKey(keyFile).deviceId).toBe('cli-phone');
  });

  it('scans, enrolls into the host API, then unlocks once pushed, printing the app states', async () => {
    const scan = await cli('phone', 'scan', '--air', sock, '--timeout', '300');
    expect(scan.code).toBe(0);
    expect(scan.out).toEqual(['reader-1  -40 dBm  access  c0:de:0a:00:00:01  reader-sim,pkoc']);

    const enrollment = await rig.client.enroll('alice');
    const enroll = await cli('phone', 'enroll', '--air', sock, '--key', keyFile);
    expect(enroll.out).toEqual(['in range (-40 dBm)', 'connecting', 'enroll sent', 'enrolled']);
    expect(enroll.code).toBe(0);
    expect(await rig.client.enrollment(enrollment.id)).toMatchObject({
      state: 'captured',
      rawData: rawDataOf(loadDeviceKey(keyFile)),
    });
    await rig.client.push(databaseFor(keyFile));

    const unlock = await cli('phone', 'unlock', '--air', sock, '--key', keyFile, '--distance', '2');
    expect(unlock.out).toEqual(['in range (-48 dBm)', 'connecting', 'credential sent', 'granted']);
    expect(unlock.code).toBe(0);
  });

  it('--json prints one object a line; --distance far enough is too_far (exit 1)', async () => {
    await rig.clock.advanceAsync(6_000);
    const { code, out } = await cli(
      'phone',
      'unlock',
      '--air',
      sock,
      '--key',
      keyFile,
      '--distance',
      '30',
      '--json',
    );
    expect(code).toBe(1);
    const lines = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ state: 'in range', rssi: -77, readerId: 'reader-1' });
    expect(lines.slice(1).map((l) => l.state ?? 'result')).toEqual([
      'connecting',
      'credential sent',
      'denied',
      'result',
    ]);
    expect(lines[lines.length - 1]).toEqual({
      result: { status: 'denied', reason: 'too_far', led: 'red' },
    });
  });

  it('answers bad usage with exit 2 and one line', async () => {
    for (const argv of [
      ['phone', 'fly'],
      ['phone', 'unlock', '--distance', '-1'],
      ['phone', 'unlock', '--timeout', 'soon'],
      ['phone', 'unlock', '--key', path.join(dir, 'missing.json'), '--air', sock],
      ['phone', 'unlock', '--air', 'nowhere', '--key', keyFile],
      ['phone', 'scan', '--air', sock, '--hci'],
    ]) {
      const { code, err } = await cli(...argv);
      expect({ argv, code }).toEqual({ argv, code: 2 });
      expect(err).toHaveLength(1);
    }
    const noReader = await cli(
      'phone',
      'unlock',
      '--air',
      path.join(dir, 'none.sock'),
      '--key',
      keyFile,
    );
    expect(noReader.code).toBe(1);
    expect(noReader.err.join('')).toContain('reader-sim start');
  });
});

describe('reader-sim start + reader-sim phone unlock, two processes', () => {
  let dir: string;
  let reader: ChildProcessWithoutNullStreams | undefined;

  afterAll(async () => {
    if (reader && reader.exitCode === null) {
      reader.kill('SIGKILL');
      await once(reader, 'exit');
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the air, prints the phone command, grants the pushed phone, and stops cleanly', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phone-start-'));
    const sock = path.join(dir, 'air.sock');
    const port = 20_000 + (process.pid % 20_000);
    reader = spawn(
      launcher.command,
      [
        ...launcher.args,
        'start',
        '--data',
        dir,
        '--api-port',
        String(port),
        '--air',
        sock,
        '--btsnoop',
        path.join(dir, 'reader.btsnoop'),
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const logs: Array<Record<string, unknown>> = [];
    const banner = new Promise<Record<string, unknown>>((resolve, reject) => {
      readline.createInterface({ input: reader!.stdout }).on('line', (line) => {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (String(entry.msg).startsWith('BLE reader service up')) resolve(entry);
        } catch {
          // not a log line
        }
      });
      reader!.once('exit', (code) => reject(new Error(`reader exited ${code}`)));
    });
    const up = await banner;
    expect(up).toMatchObject({ ble: 'virtual', air: sock, timing: 'fast' });
    expect(up.msg).toContain(`reader-sim phone unlock --air ${sock}`);

    const keyFile = path.join(dir, 'phone.json');
    expect((await cli('phone', 'keygen', '--key', keyFile)).code).toBe(0);
    const token = fs.readFileSync(path.join(dir, 'api-token'), 'utf8').trim();
    await new HostClient(`http://127.0.0.1:${port}`, token).push(databaseFor(keyFile));

    const phone = await promisify(execFile)(
      launcher.command,
      [...launcher.args, 'phone', 'unlock', '--air', sock, '--key', keyFile],
      { cwd: ROOT, timeout: 30_000 },
    );
    expect(phone.stdout.trim().split('\n')).toEqual([
      'in range (-40 dBm)',
      'connecting',
      'credential sent',
      'granted',
    ]);

    // A second reader on the same air would strand this one's phones: refused in one line.
    const second = await cli('start', '--data', path.join(dir, 'second'), '--air', sock);
    expect(second.code).toBe(1);
    expect(second.err.join('\n')).toContain(`another reader serves the BLE air at ${sock}`);

    reader.kill('SIGINT');
    const [code] = (await once(reader, 'exit')) as [number];
    expect(code).toBe(0);
    expect(logs.some((l) => l.msg === 'BLE result' && l.status === 'granted')).toBe(true);

    // `start --btsnoop` captured the reader's side: both services registered, the unlock's write.
    const capture = execFileSync('tshark', ['-r', path.join(dir, 'reader.btsnoop'), '-V'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(capture).toMatch(/0xfff0/i);
    expect(capture).toMatch(/Write Request/);
    expect(capture).not.toMatch(/Malformed/);
  });
});
