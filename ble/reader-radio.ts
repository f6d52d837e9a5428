import type { ReaderLog } from '../firmware/foundation/log';
import { AirAccess, createController, hciDriverFor, VirtualController } from './controller';
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
 * The reader's BLE side: @stoprocent/bleno on a virtual controller on `air`, or on the host's
 * real HCI adapter when no air is given (Linux, root or CAP_NET_RAW), with the GATT service
 * registered and powered on.
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
  } = {},
): Promise<ReaderRadio> {
  const controller = options.air
    ? createController(options.air, {
        address: options.address ?? READER_BLE_ADDRESS,
        position: options.position ?? 0,
        btsnoopPath: options.btsnoopPath,
      })
    : undefined;
  // Loaded after ./controller, whose import installs the virtual HCI driver seam.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { withBindings } = require('@stoprocent/bleno') as {
    withBindings: (type: string, options?: object) => unknown;
  };
  const bleno = controller
    ? userChannelBleno(withBindings, hciDriverFor(controller))
    : withBindings('hci', options.hciDevice === undefined ? {} : { deviceId: options.hciDevice });
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
 * bleno on the virtual controller in HCI user-channel mode. In raw mode its HCI layer polls
 * "is the device up" every second forever (no way to stop it), which keeps any process that
 * ever ran it alive; a user channel is always up and never polled. bleno reads the mode
 * only from HCI_CHANNEL_USER (its userChannel option is ignored), when its HCI is built.
 */
function userChannelBleno(
  withBindings: (type: string, options?: object) => unknown,
  hciDriver: string,
): unknown {
  const before = process.env.HCI_CHANNEL_USER;
  process.env.HCI_CHANNEL_USER = '1';
  try {
    return withBindings('hci', { hciDriver });
  } finally {
    if (before === undefined) delete process.env.HCI_CHANNEL_USER;
    else process.env.HCI_CHANNEL_USER = before;
  }
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
