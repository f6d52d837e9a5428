import * as path from 'node:path';
import { Module } from 'node:module';
import { VirtualController } from './controller';
import { VirtualHciSocket, socketClassFor } from './hci-socket';

/**
 * How unmodified host stacks end up on a VirtualController.
 *
 * @stoprocent/bleno and @stoprocent/noble build their socket with
 * `loadDriver(options.hciDriver)` from @stoprocent/bluetooth-hci-socket, read when their
 * hci.js loads. installVirtualHci() wraps that export so a driver name from
 * hciDriverFor(controller) yields a socket class on that controller; every other name
 * goes to the original. It must run before the stacks are first required.
 *
 * @abandonware/bleno requires @abandonware/bluetooth-hci-socket directly and is a process
 * singleton: useAbandonwareBleno(controller) puts our socket class into the module cache
 * under that module's resolved path, then requires the stack. Plain Node only (jest has
 * its own registry: run the abandonware peripheral in a child process, as the tests do).
 */

const DRIVER_PREFIX = 'virtual-hci:';
const drivers = new Map<string, new () => VirtualHciSocket>();
let nextDriver = 1;
type LoadDriver = (name: string) => unknown;
const patched = new WeakSet<object>();

function stackDir(stack: string): string | undefined {
  try {
    return path.dirname(require.resolve(`${stack}/package.json`));
  } catch {
    return undefined;
  }
}

/** Idempotent. Returns the stacks whose HCI driver seam is now in place. */
export function installVirtualHci(): string[] {
  const installed: string[] = [];
  for (const stack of ['@stoprocent/bleno', '@stoprocent/noble']) {
    const dir = stackDir(stack);
    if (!dir) continue;
    // The seam is the module object the stacks themselves require: a dynamic require.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const socketModule = require(
      require.resolve('@stoprocent/bluetooth-hci-socket', { paths: [dir] }),
    ) as { loadDriver: LoadDriver };
    if (!patched.has(socketModule)) {
      const original = socketModule.loadDriver;
      socketModule.loadDriver = (name: string) =>
        typeof name === 'string' && drivers.has(name) ? drivers.get(name) : original(name);
      patched.add(socketModule);
    }
    installed.push(stack);
  }
  return installed;
}

/** A driver name for `withBindings('hci', { hciDriver })` that runs the stack on `controller`. */
export function hciDriverFor(controller: VirtualController): string {
  installVirtualHci();
  const name = `${DRIVER_PREFIX}${nextDriver++}`;
  drivers.set(
    name,
    socketClassFor(() => controller),
  );
  return name;
}

interface CachedModule {
  exports: unknown;
}

/**
 * Loads @abandonware/bleno (the singleton) on `controller`. Throws if the stack was already
 * loaded in this process on something else: it cannot be moved.
 */
export function useAbandonwareBleno(controller: VirtualController): unknown {
  const blenoDir = stackDir('@abandonware/bleno');
  if (!blenoDir) throw new Error('@abandonware/bleno is not installed');
  const socketPath = require.resolve('@abandonware/bluetooth-hci-socket', { paths: [blenoDir] });
  const blenoMain = require.resolve('@abandonware/bleno');
  const cache = require.cache as Record<string, CachedModule | undefined>;
  if (cache[blenoMain]) {
    const current = cache[socketPath]?.exports as
      { virtualController?: VirtualController } | undefined;
    if (current?.virtualController === controller) return cache[blenoMain]!.exports;
    throw new Error('@abandonware/bleno is already loaded in this process');
  }
  const socketClass = socketClassFor(() => controller);
  Object.assign(socketClass, { virtualController: controller });
  const stub = new Module(socketPath);
  stub.filename = socketPath;
  stub.loaded = true;
  stub.exports = socketClass;
  cache[socketPath] = stub;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(blenoMain);
}
