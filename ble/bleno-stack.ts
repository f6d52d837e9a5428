import { EventEmitter } from 'node:events';
import { hciDriverFor, useAbandonwareBleno, VirtualController } from './controller';

/**
 * The two bleno packages the reader's GATT services run on, behind one shape: the one
 * @stoprocent/bleno has, where every characteristic callback and the accept / disconnect
 * events name the link (its HCI connection handle) first. The services are written once
 * against that shape; @abandonware/bleno is adapted to it here.
 */
export type BlenoStack = 'stoprocent' | 'abandonware';
export const BLENO_STACKS: readonly BlenoStack[] = ['stoprocent', 'abandonware'];

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports -- bleno ships no types */
type Bleno = any;

/**
 * bleno on `controller` (the virtual air), or on the host's real adapter when there is none
 * (`hciDevice`, default the stack's own: BLENO_HCI_DEVICE_ID or hci0). @abandonware/bleno is
 * a process singleton: one reader per process, plain Node only (not under jest).
 */
export function loadBleno(
  stack: BlenoStack,
  target: { controller?: VirtualController; hciDevice?: number },
): Bleno {
  if (stack === 'abandonware') {
    if (target.controller) return new OneLinkBleno(useAbandonwareBleno(target.controller));
    if (target.hciDevice !== undefined) process.env.BLENO_HCI_DEVICE_ID = String(target.hciDevice);
    return new OneLinkBleno(require('@abandonware/bleno'));
  }
  // Loaded after ./controller, whose import installs the virtual HCI driver seam.
  const { withBindings } = require('@stoprocent/bleno') as {
    withBindings: (type: string, options?: object) => unknown;
  };
  if (target.controller) return userChannelBleno(withBindings, hciDriverFor(target.controller));
  return withBindings('hci', target.hciDevice === undefined ? {} : { deviceId: target.hciDevice });
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

const LINK_CALLBACKS = ['onReadRequest', 'onWriteRequest', 'onSubscribe', 'onUnsubscribe'];

/**
 * @abandonware/bleno seen as @stoprocent/bleno. It serves one central at a time, so the link
 * of every callback is the one connection it holds; its handle is the controller's, read from
 * the bindings when the link is accepted (the RSSI read and the phones in range use it).
 */
class OneLinkBleno extends EventEmitter {
  readonly Characteristic: Bleno;
  readonly PrimaryService: Bleno;
  readonly Descriptor: Bleno;
  private link: number | undefined;

  constructor(private readonly inner: Bleno) {
    super();
    const current = () => this.link ?? 0;
    inner.on('stateChange', (state: string) => this.emit('stateChange', state));
    inner.on('accept', (address: string) => {
      this.link = inner._bindings?._handle ?? 0;
      this.emit('accept', address, this.link);
    });
    inner.on('disconnect', (address: string) => {
      const link = current();
      this.link = undefined;
      this.emit('disconnect', address, link);
    });
    const Base = inner.Characteristic;
    this.Characteristic = class extends Base {
      constructor(options: Record<string, unknown>) {
        const adapted: Record<string, unknown> = { ...options };
        for (const name of LINK_CALLBACKS) {
          const callback = options[name];
          if (typeof callback === 'function') {
            adapted[name] = (...args: unknown[]) => callback(current(), ...args);
          }
        }
        super(adapted);
      }
    };
    this.PrimaryService = inner.PrimaryService;
    this.Descriptor = inner.Descriptor;
  }

  get state(): string {
    return this.inner.state;
  }

  get _bindings(): unknown {
    return this.inner._bindings;
  }

  setServices(services: unknown[], callback?: (err?: Error) => void): void {
    this.inner.setServices(services, callback);
  }

  startAdvertisingWithEIRData(
    advertisement: Buffer,
    scanResponse: Buffer,
    callback?: (err?: Error) => void,
  ): void {
    this.inner.startAdvertisingWithEIRData(advertisement, scanResponse, callback);
  }

  stopAdvertising(callback?: () => void): void {
    this.inner.stopAdvertising(callback);
  }

  disconnect(): void {
    this.inner.disconnect();
  }

  /** The singleton cannot be stopped: its services are withdrawn and its link ended instead. */
  stop(): void {
    this.removeAllListeners();
    try {
      this.inner.stopAdvertising();
      this.inner.disconnect();
    } catch {
      // Never powered on: nothing to end.
    }
  }
}
