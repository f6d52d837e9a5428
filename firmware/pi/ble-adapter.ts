import { closeSerialPort, openSerialPort } from '../inputs/serial-port';
import type { PiBleConfig } from './pi-config';

/**
 * The Pi profile's BLE adapter check, run before anything else boots: the reader either has
 * a working adapter or stops with one line naming the cause and the fix. The GATT service
 * (ble/) attaches to the adapter this returns; this module only proves it can be opened.
 */
export type CheckedBleAdapter =
  | { adapter: 'hci-socket'; hciDevice: number; up: boolean }
  | { adapter: 'hci-uart'; path: string; baudRate: number }
  | { adapter: 'none' };

/** What the check needs of @stoprocent/bluetooth-hci-socket (injectable for tests). */
export interface HciSocketLike {
  bindRaw(devId: number): number;
  isDevUp(): boolean;
}
export type HciSocketFactory = () => HciSocketLike;

export class BleAdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BleAdapterError';
  }
}

export const BLE_FIX = {
  capabilities:
    'sudo setcap cap_net_raw,cap_net_admin+eip $(readlink -f $(which node)) (scripts/pi-setup.sh does)',
  bluetoothd: 'sudo systemctl disable --now bluetooth, or sudo hciconfig hci0 down',
  optOut: 'or set "ble": {"adapter": "none"} in DATA/pi.json to run without BLE',
} as const;

/** Maps what the kernel said to the one line an installer needs to read. */
export function explainHciError(
  err: unknown,
  hciDevice: number,
  optOut: string = BLE_FIX.optOut,
): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const dev = `hci${hciDevice}`;
  if (code === 'EAFNOSUPPORT' || /address family not supported/i.test(message)) {
    return `BLE: this kernel has no Bluetooth sockets (EAFNOSUPPORT: ${message}); run on a Pi with Bluetooth enabled, where the reader also needs: ${BLE_FIX.capabilities}; ${BLE_FIX.bluetoothd}; ${optOut}`;
  }
  if (
    code === 'EPERM' ||
    code === 'EACCES' ||
    /operation not permitted|permission denied/i.test(message)
  ) {
    return `BLE: no permission to open the HCI socket for ${dev} (${message}); give node the capabilities instead of running as root: ${BLE_FIX.capabilities}`;
  }
  if (code === 'EBUSY' || /busy/i.test(message)) {
    return `BLE: ${dev} is in use, usually by bluetoothd (${message}); stop it: ${BLE_FIX.bluetoothd}`;
  }
  if (code === 'ENODEV' || /no such device/i.test(message)) {
    return `BLE: no adapter ${dev} (${message}); check \`hciconfig -a\` or set ble.hciDevice in DATA/pi.json, ${optOut}`;
  }
  if (code === 'MODULE_NOT_FOUND' || /addon|\.node|node-gyp-build|No native build/i.test(message)) {
    return `BLE: the HCI socket module cannot load (${message}); run \`npm rebuild @stoprocent/bluetooth-hci-socket\` on the Pi`;
  }
  return `BLE: cannot open ${dev} (${message}); see docs/PI.md (Bluetooth): ${BLE_FIX.capabilities}; ${BLE_FIX.bluetoothd}`;
}

function defaultHciSocket(): HciSocketLike {
  // Loaded only when the pi profile asks: the sim and test profiles never touch the kernel.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const BluetoothHciSocket = require('@stoprocent/bluetooth-hci-socket') as new () => HciSocketLike;
  return new BluetoothHciSocket();
}

export async function checkBleAdapter(
  config: PiBleConfig,
  options: {
    hciSocket?: HciSocketFactory;
    serialBinding?: unknown;
    /** How to run without the adapter, where the pi.json way does not apply (sim, phone). */
    optOut?: string;
  } = {},
): Promise<CheckedBleAdapter> {
  switch (config.adapter) {
    case 'none':
      return config;
    case 'hci-socket': {
      let up: boolean;
      try {
        const socket = (options.hciSocket ?? defaultHciSocket)();
        socket.bindRaw(config.hciDevice);
        up = socket.isDevUp();
        // The probe socket is not started; the addon closes its fd when it is collected.
      } catch (err) {
        throw new BleAdapterError(explainHciError(err, config.hciDevice, options.optOut));
      }
      return { adapter: 'hci-socket', hciDevice: config.hciDevice, up };
    }
    case 'hci-uart': {
      try {
        const port = await openSerialPort({
          path: config.path,
          baudRate: config.baudRate,
          binding: options.serialBinding,
        });
        await closeSerialPort(port);
      } catch (err) {
        throw new BleAdapterError(
          `BLE: the HCI UART controller at ${config.path} cannot be opened (${(err as Error).message}); check the wiring and that the user is in group dialout, ${BLE_FIX.optOut}`,
        );
      }
      return config;
    }
  }
}
