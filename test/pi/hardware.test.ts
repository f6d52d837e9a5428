import { SystemClock } from '../../firmware/foundation/clock';
import { DoorController } from '../../firmware/door';
import type { BadgeRead } from '../../firmware/inputs';
import { SILENT_LOG } from '../../firmware/foundation/log';
import {
  DEFAULT_PI_CONFIG,
  GpioError,
  openPiHardware,
  parsePiConfig,
  PiBootError,
  type PiConfig,
} from '../../firmware/pi';
import { SimulatedGpiodTools } from './gpiod-sim';
import { openPty, type PtyPair } from './pty';
import { until } from '../poll';

describe('Pi hardware: GPIO LED/buzzer/relay/REX/door on a simulated chip, badge on a pty', () => {
  let sim: SimulatedGpiodTools;
  let pty: PtyPair;
  const clock = new SystemClock();
  const config = (extra: Record<string, unknown> = {}): PiConfig =>
    parsePiConfig({ ble: { adapter: 'none' }, relayActiveLow: true, ...extra });
  beforeEach(async () => {
    sim = new SimulatedGpiodTools([{ name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 }]);
    pty = await openPty();
  });
  afterEach(async () => {
    await pty.close();
    sim.remove();
  });

  it('drives the pin map, active-low relay, contacts with polarity, badge reads', async () => {
    const { lines } = DEFAULT_PI_CONFIG;
    sim.setLevel(lines.rex, true); // pull-up: REX released
    sim.setLevel(lines.door, false); // contact to GND: door shut
    const hw = await openPiHardware({
      config: config({ badge: { path: pty.path } }),
      clock,
      log: SILENT_LOG,
      gpio: { toolsDir: sim.toolsDir },
    });
    try {
      expect(hw.chip.name).toBe('gpiochip0');
      const outputs = [lines.red, lines.green, lines.buzzer, lines.relay].sort((a, b) => a - b);
      await until(() => sim.held().join() === outputs.join());
      expect(sim.level(lines.relay)).toBe(1); // active-low board, coil off
      expect(hw.contacts.rex.active).toBe(false);
      expect(hw.contacts.door.active).toBe(false);

      // The LED engine's output through the two-LED driver: amber = red + green.
      hw.indicator.show({ color: 'amber', buzzer: true }, 0);
      hw.relay.set(true);
      await until(() => sim.level(lines.red) === 1 && sim.level(lines.green) === 1);
      await until(() => sim.level(lines.buzzer) === 1 && sim.level(lines.relay) === 0);

      // REX and the door contact reach a real door controller through connectContacts.
      const relay: boolean[] = [];
      const door = new DoorController(
        clock,
        { set: (e) => relay.push(e) },
        {
          unlockMs: 1000,
          extendedUnlockMs: 1000,
          relockOnClose: true,
          failSafe: false,
          heldOpenMs: 30_000,
        },
      );
      const rex: number[] = [];
      door.on('rex', (at: number) => rex.push(at));
      const unwire = hw.attach(door);
      sim.setLevel(lines.rex, false); // pressed
      await until(() => rex.length === 1);
      expect(door.status().relay).toBe('unlocked');
      sim.setLevel(lines.rex, true);
      sim.setLevel(lines.door, true); // opened
      await until(() => door.status().door === 'open');
      unwire();
      door.stop();

      const reads: BadgeRead[] = [];
      hw.badge!.on('badge', (r: BadgeRead) => reads.push(r));
      pty.write('000042\r\n');
      await until(() => reads.length === 1);
      expect(reads[0].value).toBe('000042');
      expect(sim.calls()).toEqual(
        expect.arrayContaining([
          `gpiomon --bias=pull-up --line-buffered --format=%o %e gpiochip0 ${lines.rex} ${lines.door}`,
          `gpioset --mode=signal --active-low gpiochip0 ${lines.relay}=0`,
        ]),
      );
    } finally {
      await hw.close();
    }
    await until(() => sim.held().length === 0);
  });

  it('checks the BLE adapter before touching GPIO', async () => {
    await expect(
      openPiHardware({
        config: parsePiConfig({}),
        clock,
        log: SILENT_LOG,
        gpio: { toolsDir: sim.toolsDir },
      }),
    ).rejects.toThrow(/^BLE: this kernel has no Bluetooth sockets/);
    expect(sim.calls()).toEqual([]);
  });

  it('a chip with another label, or a badge port that is not there, stops the boot and releases every line', async () => {
    await expect(
      openPiHardware({
        config: config({ chipLabels: ['pinctrl-rp1'] }),
        clock,
        log: SILENT_LOG,
        gpio: { toolsDir: sim.toolsDir },
      }),
    ).rejects.toThrow(GpioError);
    const err = await openPiHardware({
      config: config({ badge: { path: '/dev/ttyNOPE3' } }),
      clock,
      log: SILENT_LOG,
      gpio: { toolsDir: sim.toolsDir },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PiBootError);
    expect((err as Error).message).toMatch(
      /^badge reader \/dev\/ttyNOPE3 cannot be opened .*badge\.path in DATA\/pi\.json/,
    );
    await until(() => sim.held().length === 0);
  });
});
