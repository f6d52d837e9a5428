import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PI_CONFIG } from '../../firmware/pi';
import { SimulatedGpiodTools } from './gpiod-sim';
import { openPty, type PtyPair } from './pty';
import { freePort } from '../free-port';
import { ownChildren } from '../children';
import { cliCommand } from '../cli-command';
import { until } from '../poll';

const cli = cliCommand();
const children = ownChildren();

/** `reader-sim start --profile pi` as a real process; PATH decides which libgpiod tools it finds. */
function start(dir: string, port: number, env: NodeJS.ProcessEnv = {}) {
  const child = children.spawn(
    cli.command,
    [...cli.args, 'start', '--profile', 'pi', '--data', dir, '--api-port', String(port)],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, out, exited };
}

describe('reader-sim start --profile pi', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-pi-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without a Bluetooth adapter exits 1 with one line: the cause and the fix', async () => {
    const run = start(dir, await freePort());
    expect(await run.exited).toBe(1);
    const lines = run.out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^reader-sim start: BLE: this kernel has no Bluetooth sockets \(EAFNOSUPPORT: .*sudo setcap cap_net_raw,cap_net_admin\+eip \$\(readlink -f \$\(which node\)\).*sudo hciconfig hci0 down/,
    );
    // Nothing was mounted: the adapter is checked before the flash.
    expect(fs.existsSync(path.join(dir, 'flash.img'))).toBe(false);
  });

  it('a bad pi.json exits 1 naming the key', async () => {
    fs.writeFileSync(path.join(dir, 'pi.json'), JSON.stringify({ lines: { relay: 99999 } }));
    const run = start(dir, await freePort());
    expect(await run.exited).toBe(1);
    expect(run.out.stderr.trim()).toBe(
      'reader-sim start: pi.json lines.relay: must be an integer 0..511, got 99999',
    );
  });

  describe('with BLE off by choice, the libgpiod tools on PATH and a badge reader on a pty', () => {
    let sim: SimulatedGpiodTools;
    let pty: PtyPair;
    beforeEach(async () => {
      sim = new SimulatedGpiodTools([{ name: 'gpiochip0', label: 'pinctrl-bcm2835', lines: 54 }]);
      pty = await openPty();
      fs.writeFileSync(
        path.join(dir, 'pi.json'),
        JSON.stringify({ ble: { adapter: 'none' }, badge: { path: pty.path } }),
      );
    });
    afterEach(async () => {
      await pty.close();
      sim.remove();
    });

    it('boots on GPIO (LED red, relay locked), denies a serial badge, stops on SIGTERM and releases every line', async () => {
      const { lines } = DEFAULT_PI_CONFIG;
      sim.setLevel(lines.rex, true);
      const run = start(dir, await freePort(), {
        PATH: `${sim.toolsDir}:${process.env.PATH ?? ''}`,
      });
      try {
        await until(() => run.out.stdout.includes('host API listening'));
        expect(run.out.stdout).toContain('"chip":"gpiochip0 [pinctrl-bcm2835]"');
        await until(() => sim.level(lines.red) === 1 && sim.held().includes(lines.red));
        expect(sim.level(lines.relay)).toBe(0);
        pty.write('424242\r\n');
        await until(() => run.out.stdout.includes('unknown_credential'));
      } finally {
        run.child.kill('SIGTERM');
      }
      expect(await run.exited).toBe(0);
      await until(() => sim.held().length === 0);
    });
  });
});
