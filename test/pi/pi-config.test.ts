import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PI_CONFIG, loadPiConfig, parsePiConfig, PiConfigError } from '../../firmware/pi';

describe('pi.json: the Pi wiring', () => {
  it('an empty file (or none) means every default', () => {
    expect(parsePiConfig({})).toEqual(DEFAULT_PI_CONFIG);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pi-config-'));
    expect(loadPiConfig(dir)).toEqual(DEFAULT_PI_CONFIG);
    fs.rmSync(dir, { recursive: true });
  });

  it('overrides merge over the defaults and round-trip', () => {
    const cfg = parsePiConfig({
      chipLabels: ['pinctrl-rp1'],
      lines: { relay: 26 },
      relayActiveLow: true,
      badge: { path: '/dev/ttyUSB0', format: 'rdm6300' },
      ble: { adapter: 'hci-uart', path: '/dev/ttyAMA0' },
      hil: { sense: { relay: 16 } },
    });
    expect(cfg.lines).toEqual({ ...DEFAULT_PI_CONFIG.lines, relay: 26 });
    expect(cfg.badge).toEqual({ path: '/dev/ttyUSB0', format: 'rdm6300', baudRate: 9600 });
    expect(cfg.ble).toEqual({ adapter: 'hci-uart', path: '/dev/ttyAMA0', baudRate: 1_000_000 });
    expect(cfg.hil.sense.relay).toBe(16);
    expect(parsePiConfig(JSON.parse(JSON.stringify(cfg)))).toEqual(cfg);
    expect(parsePiConfig({ badge: null, ble: { adapter: 'none' } })).toMatchObject({
      badge: null,
      ble: { adapter: 'none' },
    });
  });

  it.each([
    [{ lines: { red: 'x' } }, 'pi.json lines.red: must be an integer 0..511, got "x"'],
    [{ lines: { blue: 3 } }, 'pi.json lines.blue: unknown key'],
    [{ lines: { green: 17 } }, 'pi.json lines.green: line 17 is already red'],
    [{ colour: 1 }, 'pi.json colour: unknown key'],
    [{ relayActiveLow: 'yes' }, 'pi.json relayActiveLow: must be true or false, got "yes"'],
    [
      { inputBias: 'up' },
      'pi.json inputBias: must be one of as-is, pull-up, pull-down, disable, got "up"',
    ],
    [
      { badge: { path: 'COM3' } },
      'pi.json badge.path: must be a device path like /dev/ttyS0, got "COM3"',
    ],
    [
      { ble: { adapter: 'usb' } },
      'pi.json ble.adapter: must be one of hci-socket, hci-uart, none, got "usb"',
    ],
    [{ ble: { adapter: 'none', hciDevice: 1 } }, 'pi.json ble.hciDevice: unknown key'],
    [
      { chipLabels: [] },
      'pi.json chipLabels: must be a non-empty list of chip labels (see gpiodetect)',
    ],
    [[], 'pi.json (file): must be a JSON object'],
  ])('rejects %j with a message naming the key', (raw, message) => {
    expect(() => parsePiConfig(raw)).toThrow(
      new PiConfigError('x', 'y').constructor as typeof Error,
    );
    expect(() => parsePiConfig(raw)).toThrow(message);
  });

  it('a file that is not JSON says so', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pi-config-'));
    fs.writeFileSync(path.join(dir, 'pi.json'), '{ lines: }');
    expect(() => loadPiConfig(dir)).toThrow(/^pi\.json \(file\): not valid JSON/);
    fs.rmSync(dir, { recursive: true });
  });
});
