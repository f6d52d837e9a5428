/**
 * The virtual BLE controller: a software LE controller that unmodified bleno and noble run
 * on, over a shared virtual air (in-process, or served to other processes on a socket).
 * See ble/controller/README.md.
 */
import { Air, AirOptions } from './air';
import { AirAddress, AirServer, RemoteAir } from './air-link';
import { AirAccess } from './air-port';
import { ControllerOptions, VirtualController } from './controller';
import { VirtualHciSocket } from './hci-socket';
import { installVirtualHci } from './stack-seam';

export { Air } from './air';
export type { AirOptions, TimingMode } from './air';
export { AirServer, RemoteAir } from './air-link';
export type { AirAddress } from './air-link';
export { AIR_ENV, defaultAirAddress, formatAirAddress, parseAirAddress } from './air-address';
export type { AirAccess } from './air-port';
export { VirtualController } from './controller';
export type { ControllerOptions, ControllerStats } from './controller';
export { VirtualHciSocket } from './hci-socket';
export { hciDriverFor, installVirtualHci, useAbandonwareBleno } from './stack-seam';
export { walk } from './motion';
export type { Waypoint } from './motion';
export { DEFAULT_PATH_LOSS } from './radio-model';
export type { PathLossModel } from './radio-model';

// Importing this module installs the @stoprocent driver seam, so an app that imports it
// before @stoprocent/bleno or @stoprocent/noble needs nothing else.
installVirtualHci();

export function createAir(options: AirOptions = {}): Air {
  return new Air(options);
}

export function serveAir(air: AirAccess, address: AirAddress): Promise<AirServer> {
  return AirServer.listen(air, address);
}

export function connectAir(address: AirAddress): Promise<RemoteAir> {
  return RemoteAir.connect(address);
}

export function createController(
  air: AirAccess,
  options: ControllerOptions = {},
): VirtualController {
  return new VirtualController(air, {
    clock: air instanceof Air ? air.clock : undefined,
    ...options,
  });
}

/** A socket object (the bluetooth-hci-socket interface) on `controller`, for hosts that take one directly. */
export function createHciSocket(controller: VirtualController): VirtualHciSocket {
  return new VirtualHciSocket(() => controller);
}
