import * as path from 'node:path';
import {
  AIR_ENV,
  AirAddress,
  defaultAirAddress,
  formatAirAddress,
  parseAirAddress,
} from '../../ble/controller';
import { BLENO_STACKS, type BlenoStack } from '../../ble/bleno-stack';
import type { BleChoice } from '../../firmware/profiles/radio';
import { UsageError } from '../command';

/** `reader-sim start`'s BLE flags (the reader's GATT service, docs/MOBILE.md). */
export const bleOptions = {
  ble: { type: 'string' },
  air: { type: 'string' },
  'ble-timing': { type: 'string', default: 'fast' },
  btsnoop: { type: 'string' },
  'ble-stack': { type: 'string' },
} as const;

export const BLE_USAGE = [
  'BLE (mobile credentials, docs/MOBILE.md): the GATT service runs on bleno.',
  '  --ble MODE        virtual (sim default): a virtual controller on an air this process',
  '                    serves, so `reader-sim phone unlock` in another terminal finds it;',
  '                    hci (pi default): the real adapter; off: no BLE',
  `  --air ADDR        the served air: socket path or tcp:[HOST:]PORT (default $${AIR_ENV} or`,
  `                    ${formatAirAddress(defaultAirAddress({}))})`,
  '  --ble-timing T    fast (default) or realistic radio timing on the virtual air',
  "  --btsnoop FILE    write the reader controller's HCI traffic to FILE (btsnoop, Wireshark",
  '                    reads it); --ble virtual only',
  '  --ble-stack S     stoprocent (default) or abandonware: the bleno package that serves',
  '                    the GATT services',
  '',
];

export function parseBleOptions(values: {
  profile?: string;
  ble?: string;
  air?: string;
  'ble-timing'?: string;
  btsnoop?: string;
  'ble-stack'?: string;
}): BleChoice {
  const mode = values.ble ?? (values.profile === 'pi' ? 'hci' : 'virtual');
  if (mode !== 'virtual' && mode !== 'hci' && mode !== 'off') {
    throw new UsageError(`--ble must be virtual, hci or off, got '${mode}'`);
  }
  const timing = values['ble-timing'] ?? 'fast';
  if (timing !== 'fast' && timing !== 'realistic') {
    throw new UsageError(`--ble-timing must be fast or realistic, got '${timing}'`);
  }
  if (values.air !== undefined && mode !== 'virtual') {
    throw new UsageError('--air needs --ble virtual');
  }
  if (values.btsnoop !== undefined && mode !== 'virtual') {
    throw new UsageError("--btsnoop needs --ble virtual (the capture is the virtual controller's)");
  }
  if (values.btsnoop === '') throw new UsageError('--btsnoop needs a file name');
  const stack = values['ble-stack'] ?? 'stoprocent';
  if (!(BLENO_STACKS as readonly string[]).includes(stack)) {
    throw new UsageError(`--ble-stack must be ${BLENO_STACKS.join(' or ')}, got '${stack}'`);
  }
  let air: AirAddress;
  try {
    air = values.air !== undefined ? parseAirAddress(values.air) : defaultAirAddress();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    mode,
    air,
    timing,
    ...(values.btsnoop === undefined ? {} : { btsnoopPath: path.resolve(values.btsnoop) }),
    ...(stack === 'stoprocent' ? {} : { stack: stack as BlenoStack }),
  };
}
