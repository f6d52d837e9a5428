import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDeviceKey } from '../../ble/device-key';
import { AdapterPhone, noPhoneReason } from '../../firmware/testkit/pi-phone';
import { PiRig } from '../../firmware/testkit/pi-rig';
import { openRig } from '../../firmware/testkit/rig';
import { SimulatedGpiodTools } from './gpiod-sim';
import { openPty, type PtyPair } from './pty';

/** The default wiring of DEFAULT_PI_CONFIG (as in pi-rig.test.ts). */
const WIRES: Array<[number, number]> = [
  [17, 5],
  [27, 6],
  [22, 13],
  [23, 19],
  [20, 24],
  [21, 25],
];

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

/**
 * The Pi rig's phone (RIG_PHONE_HCI: noble on a second adapter) here, where the kernel has no
 * Bluetooth sockets: every way it can be missing is named before a scenario runs, or, for a
 * reader without BLE, by the phone scenarios themselves.
 */
describe('RIG=pi phone (a second adapter)', () => {
  let sim: SimulatedGpiodTools;
  let dir: string;
  let piJson: string;
  let pty: PtyPair | undefined;
  beforeEach(() => {
    sim = new SimulatedGpiodTools([{ name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 }]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pi-rig-phone-'));
    piJson = path.join(dir, 'pi.json');
  });
  afterEach(async () => {
    await pty?.close();
    pty = undefined;
    sim.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The reader on an HCI UART controller (a pty that opens): its check passes here. */
  async function readerOnUart(): Promise<Record<string, string>> {
    pty = await openPty();
    fs.writeFileSync(
      piJson,
      JSON.stringify({ ble: { adapter: 'hci-uart', path: pty.path, baudRate: 115_200 } }),
    );
    return { RIG: 'pi', RIG_PI_CONFIG: piJson, RIG_GPIOD_TOOLS: sim.toolsDir };
  }

  it('RIG_PHONE_HCI must be an adapter number or none, checked before anything opens', async () => {
    await expect(
      openRig({ RIG: 'pi', RIG_PHONE_HCI: 'usb0', RIG_GPIOD_TOOLS: sim.toolsDir }),
    ).rejects.toThrow(
      "RIG=pi: RIG_PHONE_HCI must be the phone adapter's number 0-15 (hciN) or none, got 'usb0'",
    );
    await expect(openRig({ RIG: 'pi', RIG_PHONE_HCI: '16' })).rejects.toThrow(/got '16'/);
    expect(sim.calls()).toEqual([]);
  });

  it("the phone cannot use the reader's own adapter", async () => {
    await expect(
      openRig({ RIG: 'pi', RIG_PHONE_HCI: '0', RIG_GPIOD_TOOLS: sim.toolsDir }),
    ).rejects.toThrow(
      "RIG=pi: RIG_PHONE_HCI=0 is the reader's own adapter (pi.json ble.hciDevice 0); the phone needs a second adapter",
    );
    expect(sim.calls()).toEqual([]);
  });

  it("here: the reader's adapter passes, the phone's hci1 meets a kernel without Bluetooth sockets", async () => {
    const env = await readerOnUart();
    await expect(openRig(env)).rejects.toThrow(
      /^RIG=pi: the phone's adapter hci1 \(RIG_PHONE_HCI=1\): BLE: this kernel has no Bluetooth sockets \(EAFNOSUPPORT/,
    );
    // Adapters come before the chip: nothing was driven.
    expect(sim.calls()).toEqual([]);
  });

  it('a missing or down second adapter is named with the fix', async () => {
    const env = await readerOnUart();
    const bound: number[] = [];
    const noDevice = () => ({
      bindRaw(dev: number): number {
        bound.push(dev);
        throw errno('ENODEV', 'No such device');
      },
      isDevUp: () => false,
    });
    await expect(PiRig.open(env, { hciSocket: noDevice })).rejects.toThrow(
      'RIG=pi: no second Bluetooth adapter hci1 for the phone (RIG_PHONE_HCI=1): plug in a USB Bluetooth adapter',
    );
    await expect(
      PiRig.open({ ...env, RIG_PHONE_HCI: '2' }, { hciSocket: noDevice }),
    ).rejects.toThrow(/or RIG_PHONE_HCI=none to run without the phone scenarios/);
    expect(bound).toEqual([1, 2]);
    const down = () => ({ bindRaw: () => 1, isDevUp: () => false });
    await expect(PiRig.open(env, { hciSocket: down })).rejects.toThrow(
      "RIG=pi: the phone's adapter hci1 (RIG_PHONE_HCI=1) is down: sudo hciconfig hci1 up",
    );
    const busy = () => ({
      bindRaw(): number {
        throw errno('EBUSY', 'Device or resource busy');
      },
      isDevUp: () => false,
    });
    await expect(PiRig.open(env, { hciSocket: busy })).rejects.toThrow(
      /^RIG=pi: the phone's adapter hci1 \(RIG_PHONE_HCI=1\): BLE: hci1 is in use, usually by bluetoothd/,
    );
    expect(sim.calls()).toEqual([]);
  });

  it('a reader without BLE opens for the other scenarios; the phone scenarios fail saying why', async () => {
    for (const [from, to] of WIRES) sim.wire(from, to);
    sim.setLevel(24, true); // REX pull-up
    fs.writeFileSync(piJson, JSON.stringify({ ble: { adapter: 'none' }, badge: null }));
    const rig = await openRig({
      RIG: 'pi',
      RIG_PI_CONFIG: piJson,
      RIG_GPIOD_TOOLS: sim.toolsDir,
    });
    try {
      await expect(rig.phoneUnlock(createDeviceKey('hil-phone'))).rejects.toThrow(
        'RIG=pi: no phone on this rig: the reader runs without BLE (pi.json "ble": {"adapter": "none"})',
      );
    } finally {
      await rig.close();
    }
    expect(noPhoneReason('none', { adapter: 'hci-socket', hciDevice: 0 })).toMatch(
      /^no phone on this rig \(RIG_PHONE_HCI=none\); the phone scenarios need a second Bluetooth adapter/,
    );
  }, 300_000);

  it('the phone process (reader-sim phone unlock --hci on hci1) reports what went wrong', async () => {
    const phone = new AdapterPhone(1, 1000);
    try {
      await expect(phone.unlock(createDeviceKey('hil-phone'))).rejects.toThrow(
        // Here the adapter check stops it in one line (no Bluetooth sockets in this kernel).
        /^reader-sim phone unlock --hci on hci1 exited 1 without an answer; it said: reader-sim phone: BLE: this kernel has no Bluetooth sockets/,
      );
    } finally {
      await phone.close();
    }
  }, 300_000);
});
