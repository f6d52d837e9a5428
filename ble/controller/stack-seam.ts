import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { Module } from 'node:module';
import { VirtualController } from './controller';
import { VirtualHciSocket, guardedSocketClass, socketClassFor } from './hci-socket';

/**
 * How unmodified host stacks end up on a VirtualController.
 *
 * @stoprocent/bleno and @stoprocent/noble build their socket with
 * `loadDriver(options.hciDriver)` from @stoprocent/bluetooth-hci-socket, read when their
 * hci.js loads. installVirtualHci() wraps that export so a driver name from
 * hciDriverFor(controller) yields a socket class on that controller; every other name
 * goes to the original, whose class is wrapped by guardedSocketClass (a real adapter passes
 * on whatever a peer sends, and the stacks' L2CAP/ATT parsing throws on some of it). It must
 * run before the stacks are first required.
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
  } catch (err) {
    // That BLE stack is not installed (an optional choice); any other failure is a bug.
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * The module object the stacks themselves will require. Where its native addon cannot load
 * (no prebuilt binary for this platform), a stand-in with only `loadDriver` takes its place in
 * the module cache, so the virtual controller still works without any Bluetooth support.
 */
export function loadSocketModule(resolved: string): { loadDriver: LoadDriver } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(resolved) as { loadDriver: LoadDriver };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const standIn = new Module(resolved);
    standIn.filename = resolved;
    standIn.loaded = true;
    // A socket that never comes up: a stack on it reports poweredOff instead of crashing.
    class NoAdapter extends EventEmitter {
      readonly reason = reason;
      bindRaw(): number {
        return 0;
      }
      bindUser(): number {
        return 0;
      }
      bindControl(): void {}
      start(): void {}
      stop(): void {}
      setFilter(): void {}
      write(): void {}
      isDevUp(): boolean {
        return false;
      }
    }
    standIn.exports = { loadDriver: () => NoAdapter };
    (require.cache as Record<string, unknown>)[resolved] = standIn;
    return standIn.exports as { loadDriver: LoadDriver };
  }
}

/** Idempotent. Returns the stacks whose HCI driver seam is now in place. */
export function installVirtualHci(): string[] {
  const installed: string[] = [];
  for (const stack of ['@stoprocent/bleno', '@stoprocent/noble']) {
    const dir = stackDir(stack);
    if (!dir) continue;
    const socketModule = loadSocketModule(
      require.resolve('@stoprocent/bluetooth-hci-socket', { paths: [dir] }),
    );
    if (!patched.has(socketModule)) {
      const original = socketModule.loadDriver;
      const guarded = new Map<unknown, unknown>();
      socketModule.loadDriver = (name: string) => {
        if (typeof name === 'string' && drivers.has(name)) return drivers.get(name);
        const Base = original(name);
        if (typeof Base !== 'function') return Base;
        if (!guarded.has(Base)) {
          guarded.set(Base, guardedSocketClass(Base as new () => EventEmitter));
        }
        return guarded.get(Base);
      };
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
