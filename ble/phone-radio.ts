import type { Clock } from '../firmware/foundation/clock';
import { AirAccess, createController, hciDriverFor, VirtualController } from './controller';
import type { DeviceKey } from './device-key';
import { VirtualPhone } from './phone';

export interface PhoneRadio {
  phone: VirtualPhone;
  controller?: VirtualController;
  close(): void;
}

/**
 * A virtual phone: @stoprocent/noble on a virtual controller `distance` metres from the
 * reader on `air`, or on the host's real HCI adapter when no air is given.
 */
export function startPhoneRadio(options: {
  key: DeviceKey;
  air?: AirAccess;
  distance?: number;
  /** A point on the air instead of a distance from the reader (a site's phone walks among readers). */
  position?: { x: number; y: number };
  clock?: Clock;
  address?: string;
  connectionIntervalMs?: number;
  /** Capture this phone's HCI traffic (virtual controller only) to a btsnoop file. */
  btsnoopPath?: string;
}): PhoneRadio {
  const controller = options.air
    ? createController(options.air, {
        position: options.position ?? options.distance ?? 1,
        address: options.address,
        btsnoopPath: options.btsnoopPath,
      })
    : undefined;
  // Loaded after ./controller, whose import installs the virtual HCI driver seam.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { withBindings } = require('@stoprocent/noble') as {
    withBindings: (type: string, options?: object) => unknown;
  };
  const noble = withBindings('hci', controller ? { hciDriver: hciDriverFor(controller) } : {});
  const phone = new VirtualPhone(noble, options.key, {
    clock: options.clock,
    connectionIntervalMs: options.connectionIntervalMs,
  });
  return {
    phone,
    controller,
    close() {
      (noble as { stop(): void }).stop();
      controller?.close();
    },
  };
}
