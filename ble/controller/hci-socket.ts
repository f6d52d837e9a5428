import { EventEmitter } from 'node:events';
import { H4 } from './hci-spec';
import { VirtualController } from './controller';

/**
 * The object a BLE host stack takes for its Linux HCI socket (the interface of
 * bluetooth-hci-socket: bindRaw/bindUser/bindControl/start/stop/setFilter/isDevUp/write,
 * 'data' events), wired to a VirtualController instead of the kernel.
 *
 * A stack may construct several: bleno opens a management (control) socket per connection.
 * Only a raw or user-channel bind attaches to the controller; a control socket stays idle.
 */
export class VirtualHciSocket extends EventEmitter {
  private attached = false;
  private started = false;
  private filter: { types: number; events: [number, number] } | undefined;
  private readonly onPacket = (packet: Buffer) => this.deliver(packet);

  constructor(private readonly controller: () => VirtualController) {
    super();
  }

  bindRaw(deviceId?: number): number {
    return this.attach(deviceId);
  }

  bindUser(deviceId?: number): number {
    return this.attach(deviceId);
  }

  /** Management socket: nothing on it is modelled (pairing keys are not stored). */
  bindControl(): void {}

  start(): void {
    this.started = true;
  }

  stop(): void {
    this.started = false;
    if (this.attached) this.controller().off('packet', this.onPacket);
    this.attached = false;
  }

  isDevUp(): boolean {
    return this.attached;
  }

  /** The kernel's raw-socket filter: a packet-type mask and a 64-bit event mask. */
  setFilter(filter: Buffer): void {
    if (!Buffer.isBuffer(filter) || filter.length < 12) return;
    this.filter = {
      types: filter.readUInt32LE(0),
      events: [filter.readUInt32LE(4), filter.readUInt32LE(8)],
    };
  }

  write(packet: Buffer): void {
    if (!this.attached) return;
    this.controller().receive(packet);
  }

  private attach(deviceId?: number): number {
    if (!this.attached) {
      this.controller().on('packet', this.onPacket);
      this.attached = true;
    }
    return deviceId ?? 0;
  }

  private deliver(packet: Buffer): void {
    if (!this.started || !this.passes(packet)) return;
    this.emit('data', packet);
  }

  private passes(packet: Buffer): boolean {
    if (!this.filter) return true;
    const type = packet[0]!;
    if ((this.filter.types & (1 << type)) === 0) return false;
    if (type !== H4.event) return true;
    const code = packet[1]!;
    const word = this.filter.events[code >> 5] ?? 0;
    return (word & (1 << (code & 31))) !== 0;
  }
}

/** A socket class (what `loadDriver` returns) whose instances all talk to `controller`. */
export function socketClassFor(controller: () => VirtualController): new () => VirtualHciSocket {
  return class extends VirtualHciSocket {
    constructor() {
      super(controller);
    }
  };
}
