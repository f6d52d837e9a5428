/**
 * `--hci` on a machine without Bluetooth (this kernel has no Bluetooth sockets): the reader
 * and the phone stop before their BLE stack loads, each with one line that names the cause
 * and the way to run without the adapter, and the reader writes nothing to its data dir.
 * The real-adapter paths themselves run on the same radio and phone interfaces as the
 * virtual air (startReaderRadio / startPhoneRadio without an air).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../free-port';
import { runCli, type CliRun } from '../run-cli';

/** Whether this kernel refuses Bluetooth sockets, as the adapter check sees it. */
function kernelHasNoBluetooth(): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const HciSocket = require('@stoprocent/bluetooth-hci-socket') as new () => {
    bindRaw(dev: number): number;
  };
  try {
    new HciSocket().bindRaw(0);
    return false;
  } catch (err) {
    return (
      (err as NodeJS.ErrnoException).code === 'EAFNOSUPPORT' ||
      /address family not supported/i.test((err as Error).message)
    );
  }
}

const noBluetooth = kernelHasNoBluetooth();
// On a machine with an adapter these paths open it instead: nothing to check here then.
const maybe = noBluetooth ? it : it.skip;

function cli(...argv: string[]): Promise<CliRun> {
  return runCli(argv, { warnings: true });
}

maybe('phone --hci: one line, the cause and how to do without, exit 1', async () => {
  for (const argv of [['scan'], ['unlock', '--profile', 'pkoc', '--key', 'unused.json']]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hci-phone-'));
    try {
      // The key exists for unlock: the adapter is what is missing.
      await cli('phone', 'keygen', '--key', path.join(dir, 'unused.json'));
      const argsIn = argv.map((a) => (a === 'unused.json' ? path.join(dir, a) : a));
      const r = await cli('phone', ...argsIn, '--hci');
      expect({ code: r.code, out: r.out, err: r.err.length }).toEqual({ code: 1, out: [], err: 1 });
      expect(r.err[0]).toMatch(
        /^reader-sim phone: BLE: this kernel has no Bluetooth sockets \(EAFNOSUPPORT/,
      );
      expect(r.err[0]).toMatch(/drop --hci to use the virtual air$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

maybe('start --ble hci: one line, nothing written to the data dir, exit 1', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hci-reader-'));
  try {
    const data = path.join(dir, 'data');
    const r = await cli(
      'start',
      '--data',
      data,
      '--api-port',
      String(await freePort()),
      '--ble',
      'hci',
    );
    expect({ code: r.code, err: r.err.length }).toEqual({ code: 1, err: 1 });
    expect(r.err[0]).toMatch(/^reader-sim start: BLE: this kernel has no Bluetooth sockets/);
    expect(r.err[0]).toMatch(/--ble virtual .* or --ble off$/);
    // Stopped before the flash image or the API: the data dir was never made.
    expect(fs.existsSync(data)).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
