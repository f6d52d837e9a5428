import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openRig, rigName } from '../../firmware/testkit/rig';
import type { ScenarioResult } from '../hil/scenario';
import { ownChildren } from '../children';
import { SimulatedGpiodTools } from './gpiod-sim';

const ROOT = path.join(__dirname, '../..');
const children = ownChildren();

/** The default wiring of DEFAULT_PI_CONFIG: outputs to sense lines, drive lines to inputs. */
const WIRES: Array<[number, number]> = [
  [17, 5], // LED red -> sense
  [27, 6], // LED green -> sense
  [22, 13], // buzzer -> sense
  [23, 19], // relay -> sense
  [20, 24], // drive -> REX
  [21, 25], // drive -> door contact
];

function runJest(
  env: Record<string, string>,
  files: string[],
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = children.spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/jest/bin/jest.js'),
        '--selectProjects',
        'unit',
        '--runInBand',
        '--verbose',
        ...files,
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

describe('RIG=pi', () => {
  let sim: SimulatedGpiodTools;
  let dir: string;
  let noBle: string;
  beforeEach(() => {
    sim = new SimulatedGpiodTools([{ name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 }]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pi-rig-'));
    noBle = path.join(dir, 'pi.json');
    fs.writeFileSync(noBle, JSON.stringify({ ble: { adapter: 'none' }, badge: null }));
  });
  afterEach(() => {
    sim.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('RIG must be sim or pi', () => {
    expect(rigName({})).toBe('sim');
    expect(() => rigName({ RIG: 'bench' })).toThrow("RIG must be sim or pi, got 'bench'");
  });

  it('here (no Bluetooth sockets) fails fast naming the adapter problem and its fix', async () => {
    await expect(openRig({ RIG: 'pi', RIG_GPIOD_TOOLS: sim.toolsDir })).rejects.toThrow(
      /^RIG=pi: BLE: this kernel has no Bluetooth sockets .*setcap cap_net_raw,cap_net_admin\+eip/,
    );
    expect(sim.calls()).toEqual([]);
  });

  it('without the libgpiod tools says which one and how to install', async () => {
    await expect(
      openRig({ RIG: 'pi', RIG_PI_CONFIG: noBle, RIG_GPIOD_TOOLS: path.join(dir, 'none') }),
    ).rejects.toThrow(
      'RIG=pi: libgpiod tools not found (gpiodetect): install them with `sudo apt install gpiod`',
    );
  });

  it('checks its own wiring first and lists exactly the loopbacks that are missing', async () => {
    for (const [from, to] of WIRES.slice(0, 4)) sim.wire(from, to);
    const err = (await openRig({
      RIG: 'pi',
      RIG_PI_CONFIG: noBle,
      RIG_GPIOD_TOOLS: sim.toolsDir,
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^RIG=pi: wiring check failed \(2 of 6 loopbacks; docs\/PI\.md, HIL rig\): /,
    );
    expect(err.message).toContain(
      'REX GPIO20 -> GPIO24: GPIO24 stays low while driven high (wire missing or on another pin)',
    );
    expect(err.message).toContain(
      'door contact GPIO21 -> GPIO25: GPIO25 stays low while driven high',
    );
    expect(err.message).not.toContain('LED red');
    expect(sim.held()).toEqual([]);
  });

  it('a sense line that is also a reader line is refused before anything is driven', async () => {
    fs.writeFileSync(
      noBle,
      JSON.stringify({ ble: { adapter: 'none' }, badge: null, hil: { sense: { red: 24 } } }),
    );
    await expect(
      openRig({ RIG: 'pi', RIG_PI_CONFIG: noBle, RIG_GPIOD_TOOLS: sim.toolsDir }),
    ).rejects.toThrow('hil.sense.red GPIO24 is also a reader line');
  });

  /**
   * The whole HIL suite through the shell-script chip, where every LED read and level is a
   * process. On the system clock its real-time windows (the 1 s unlock, a 100 ms blink phase)
   * ran out on a busy 2-core machine; with RIG_CLOCK=virtual they stand still while the rig
   * drives and reads the wires, so only deadlines are left. PI_RIG_SIM_HIL=0 skips it (it is
   * the suite's slowest minute on a quiet machine).
   */
  const simulatedHil = process.env.PI_RIG_SIM_HIL === '0' ? it.skip : it;
  simulatedHil(
    'the same HIL jest files run on the Pi rig (simulated chip, loopback wires) and the report names the rig',
    async () => {
      for (const [from, to] of WIRES) sim.wire(from, to);
      sim.setLevel(24, true); // REX pull-up
      const reports = path.join(dir, 'reports');
      const { code, output } = await runJest(
        {
          RIG: 'pi',
          RIG_PI_CONFIG: noBle,
          RIG_GPIOD_TOOLS: sim.toolsDir,
          HIL_REPORT_DIR: reports,
          // The reader's timers move only when the rig waits: the shell-script chip is slow,
          // and every level still goes through it. No retries: a scenario passes first time.
          RIG_CLOCK: 'virtual',
          // Each scenario is a hundred or so tool processes: minutes on a busy 2-core machine.
          HIL_SCENARIO_MS: '300000',
        },
        // The phone scenarios need BLE on the reader and a second adapter: pi-rig-phone.test.ts.
        ['test/hil/', '--testPathIgnorePatterns', 'test/hil/phone'],
      );
      expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
      expect(output).toMatch(/grant: known badge unlocks.* \[rig=pi\]/);
      const report = JSON.parse(
        fs.readFileSync(path.join(reports, 'report.json'), 'utf8'),
      ) as ScenarioResult[];
      expect(report.map((r) => [r.scenario.split(':')[0], r.rig, r.status]).sort()).toEqual(
        [
          ['REX', 'pi', 'passed'],
          ['deny', 'pi', 'passed'],
          ['door forced', 'pi', 'passed'],
          ['door held', 'pi', 'passed'],
          ['grant', 'pi', 'passed'],
          ['lockdown', 'pi', 'passed'],
        ].sort(),
      );
      expect(fs.readFileSync(path.join(reports, 'report.md'), 'utf8')).toMatch(
        /\| grant: .* \| pi \| passed \|/,
      );
    },
    1_800_000,
  );

  it('npm run test:hil with RIG=pi here fails every scenario fast with the adapter message, reported per rig', async () => {
    const reports = path.join(dir, 'reports');
    const { code, output } = await runJest({ RIG: 'pi', HIL_REPORT_DIR: reports }, [
      'test/hil/lockdown',
    ]);
    expect(code).not.toBe(0);
    expect(output).toContain('RIG=pi: BLE: this kernel has no Bluetooth sockets');
    const report = JSON.parse(
      fs.readFileSync(path.join(reports, 'report.json'), 'utf8'),
    ) as ScenarioResult[];
    expect(report).toEqual([
      expect.objectContaining({
        rig: 'pi',
        status: 'failed',
        error: expect.stringMatching(/^RIG=pi: BLE: /),
      }),
    ]);
  }, 120_000);
});
