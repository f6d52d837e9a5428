import type { ReaderLog } from '../firmware/foundation/log';
import { BlenoStack, loadBleno } from './bleno-stack';
import { AirAccess, createController, VirtualController } from './controller';
import { ReaderGattService } from './reader-gatt';

/** Address of the reader's virtual controller (a fixed one: phones and captures can name it). */
export const READER_BLE_ADDRESS = 'c0:de:0a:00:00:01';

export interface ReaderRadio {
  gatt: ReaderGattService;
  /** The virtual controller, when the reader runs on the virtual air. */
  controller?: VirtualController;
  close(): void;
}

/**
 * The reader's BLE side: bleno (@stoprocent by default, or @abandonware) on a virtual
 * controller on `air`, or on the host's real HCI adapter when no air is given (Linux, root or
 * CAP_NET_RAW), with the GATT service registered and powered on.
 */
export async function startReaderRadio(
  options: {
    air?: AirAccess;
    address?: string;
    /** Metres along the air, or a point on it (a site's readers stand apart). */
    position?: number | { x: number; y: number };
    btsnoopPath?: string;
    log?: ReaderLog;
    /** The real adapter (hciN) when no air is given; default bleno's (BLENO_HCI_DEVICE_ID or 0). */
    hciDevice?: number;
    /** Which bleno package serves the GATT services (ble/bleno-stack.ts). */
    stack?: BlenoStack;
  } = {},
): Promise<ReaderRadio> {
  const controller = options.air
    ? createController(options.air, {
        address: options.address ?? READER_BLE_ADDRESS,
        position: options.position ?? 0,
        btsnoopPath: options.btsnoopPath,
      })
    : undefined;
  const bleno = loadBleno(options.stack ?? 'stoprocent', {
    controller,
    hciDevice: options.hciDevice,
  });
  const gatt = new ReaderGattService(bleno, { log: options.log });
  try {
    await gatt.start();
  } catch (err) {
    stopBleno(bleno);
    controller?.close();
    throw err;
  }
  return {
    gatt,
    controller,
    close() {
      gatt.stop();
      stopBleno(bleno);
      controller?.close();
    },
  };
}

/**
 * Stops bleno for good. In raw HCI mode (a real adapter) its "is the device up" poll keeps
 * rescheduling itself after stop(), and on a stopped socket it can throw: the poll is made
 * to end at its next tick, reporting the state it last saw.
 */
function stopBleno(bleno: unknown): void {
  const stack = bleno as {
    stop(): void;
    _bindings?: { _hci?: Record<string, unknown> & { _isDevUp?: boolean } };
  };
  stack.stop();
  const hci = stack._bindings?._hci;
  if (!hci) return;
  hci.pollIsDevUp = () => undefined;
  // The pending tick still holds the old method: give it a socket that reports no change.
  const lastSeen = hci._isDevUp === true;
  hci._socket = { isDevUp: () => lastSeen, write: () => undefined, stop: () => undefined };
}
