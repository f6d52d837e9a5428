import fs from 'node:fs';
import {
  GpioError,
  LibgpiodChip,
  parseGpiodetect,
  parseGpioinfo,
  type GpioEdge,
  type LibgpiodOptions,
} from '../../firmware/pi';
import { SimulatedGpiodTools } from './gpiod-sim';
import { until } from '../poll';

describe('GPIO through the libgpiod 1.6 tools (simulated chip)', () => {
  let sim: SimulatedGpiodTools;
  let opened: LibgpiodChip[];
  /** Every chip a test opens is closed after it, passed or failed: no holder outlives it. */
  async function open(labels: string[], options: LibgpiodOptions = {}): Promise<LibgpiodChip> {
    const chip = await LibgpiodChip.open(labels, { toolsDir: sim.toolsDir, ...options });
    opened.push(chip);
    return chip;
  }
  beforeEach(() => {
    opened = [];
    sim = new SimulatedGpiodTools([
      { name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 },
      { name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
    ]);
  });
  afterEach(async () => {
    try {
      await Promise.all(opened.map((chip) => chip.close()));
    } finally {
      sim.remove();
    }
  });

  it('parses gpioinfo output: used lines and their consumers', () => {
    expect(
      parseGpioinfo(
        [
          'gpiochip0 - 58 lines:',
          '\tline   0:     "ID_SDA"       unused   input  active-high ',
          '\tline  17:      unnamed  "gpioset"  output  active-high [used]',
          '\tline  24:   "GPIO24"  "gpiomon"   input  active-high [used]',
          '\tline  29:  "LAN_RUN"       kernel  output  active-high [used]',
        ].join('\n'),
      ),
    ).toEqual(
      new Map([
        [17, 'gpioset'],
        [24, 'gpiomon'],
        [29, 'kernel'],
      ]),
    );
  });

  it('parses gpiodetect output', () => {
    expect(
      parseGpiodetect(
        'gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n',
      ),
    ).toEqual([
      { name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 },
      { name: 'gpiochip1', label: 'raspberrypi-exp-gpio', lines: 8 },
    ]);
    expect(parseGpiodetect('garbage\n')).toEqual([]);
  });

  it('finds the chip by label, first match of the list wins', async () => {
    const chip = await open(['pinctrl-rp1', 'raspberrypi-exp-gpio', 'pinctrl-bcm2711']);
    expect(chip.name).toBe('gpiochip1');
    expect(chip.lines).toBe(8);
    await expect(LibgpiodChip.open(['pinctrl-rp1'], { toolsDir: sim.toolsDir })).rejects.toThrow(
      'no GPIO chip labelled pinctrl-rp1 (found: gpiochip0 [pinctrl-bcm2711], gpiochip1 [raspberrypi-exp-gpio]); set chipLabel',
    );
  });

  it('says which tool is missing and how to install it', async () => {
    const err = await LibgpiodChip.open(['pinctrl-bcm2711'], {
      toolsDir: `${sim.dir}/nothing`,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpioError);
    expect((err as Error).message).toMatch(
      /^libgpiod tools not found \(gpiodetect\): install them with `sudo apt install gpiod`/,
    );
  });

  it('holds outputs with gpioset --mode=signal, active-low inverts, a new level replaces the holder', async () => {
    const chip = await open(['pinctrl-bcm2711']);
    const led = await chip.output({ offset: 17 }, true);
    const relay = await chip.output({ offset: 23, activeLow: true }, false);
    // output() resolves once gpioinfo shows the line held: nothing left to wait for.
    expect(sim.level(17)).toBe(1);
    expect(sim.level(23)).toBe(1); // off on an active-low board = high
    expect(sim.held()).toEqual([17, 23]);
    relay.set(true);
    led.set(false);
    await Promise.all([relay.settled(), led.settled()]);
    expect([sim.level(23), sim.level(17)]).toEqual([0, 0]);
    expect(sim.calls()).toEqual(
      expect.arrayContaining([
        'gpiodetect ',
        'gpioset --mode=signal gpiochip0 17=1',
        'gpioset --mode=signal --active-low gpiochip0 23=0',
        'gpioset --mode=signal --active-low gpiochip0 23=1',
        'gpioset --mode=signal gpiochip0 17=0',
      ]),
    );
    // Writes that pile up collapse to the last level: no gpioset for the ones in between.
    const holders = () => sim.calls().filter((c) => c.startsWith('gpioset')).length;
    const before = holders();
    for (let i = 0; i < 10; i++) led.set(i % 2 === 0);
    await led.settled();
    expect(sim.level(17)).toBe(0);
    expect(sim.held()).toContain(17);
    expect(holders() - before).toBeLessThanOrEqual(2);
    await chip.close();
    expect(sim.held()).toEqual([]);
  });

  it('refuses an offset the chip does not have, and reports a line already in use', async () => {
    const chip = await open(['pinctrl-bcm2711']);
    await expect(chip.output({ offset: 58 }, false)).rejects.toThrow(
      'gpiochip0 has lines 0..57; no line 58',
    );
    const first = await chip.output({ offset: 4 }, true);
    expect(sim.held()).toContain(4);
    await expect(chip.output({ offset: 4 }, false)).rejects.toThrow(
      'line 4 is in use by "gpioset" (Device or resource busy)',
    );
    await first.release();
    await chip.close();
  });

  it('reads raw levels with gpioget and reports edges from gpiomon', async () => {
    const chip = await open(['pinctrl-bcm2711']);
    sim.setLevel(24, true);
    expect(await chip.read([{ offset: 24, bias: 'pull-up' }, { offset: 25 }])).toEqual([
      true,
      false,
    ]);
    const edges: GpioEdge[] = [];
    const monitor = await chip.monitor(
      [
        { offset: 24, bias: 'pull-up' },
        { offset: 25, bias: 'pull-up' },
      ],
      (e) => edges.push(e),
    );
    // monitor() resolves once gpiomon watches: the edges below cannot be missed.
    sim.setLevel(24, false);
    await until(() => edges.length === 1);
    sim.setLevel(25, true);
    await until(() => edges.length === 2);
    expect(edges).toEqual([
      { offset: 24, high: false },
      { offset: 25, high: true },
    ]);
    expect(sim.calls()).toContain(
      'gpiomon --bias=pull-up --line-buffered --format=%o %e gpiochip0 24 25',
    );
    await monitor.close();
    await expect(
      chip.monitor([{ offset: 1, bias: 'pull-up' }, { offset: 2 }], () => undefined),
    ).rejects.toThrow('lines monitored together must share one bias');
    await chip.close();
  });

  it('a holder that dies is an error event, not a crash', async () => {
    const chip = await open(['pinctrl-bcm2711']);
    const errors: Error[] = [];
    chip.on('error', (e: Error) => errors.push(e));
    await chip.output({ offset: 9 }, true);
    const pid = Number(fs.readFileSync(`${sim.dir}/state/gpiochip0/9.held`, 'utf8'));
    process.kill(pid, 'SIGKILL');
    await until(() => errors.length === 1);
    expect(errors[0].message).toMatch(/^gpioset holding gpiochip0 line 9 exited \(SIGKILL\)/);
    await chip.close();
  });

  it('closing the chip stops its monitors quietly (no error event)', async () => {
    const chip = await open(['pinctrl-bcm2711']);
    const errors: Error[] = [];
    chip.on('error', (e: Error) => errors.push(e));
    await chip.monitor([{ offset: 24 }], () => undefined);
    await chip.close();
    // close() resolved after gpiomon exited: an error event would have come by now.
    expect(errors).toEqual([]);
    expect(sim.running()).toEqual([]);
    expect(sim.calls().filter((c) => c.startsWith('gpiomon'))).toHaveLength(1);
  });
});
