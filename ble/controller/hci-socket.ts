import { EventEmitter } from 'node:events';
import { AclBoundary, Evt, H4 } from './hci-spec';
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
  /** Host-bound ACL the stacks' L2CAP reassembly cannot take safely (see L2capGuard). */
  readonly l2capGuard = new L2capGuard();
  /**
   * Packets the host stack threw on while handling them (bleno reads ATT request fields
   * without checking the PDU is long enough): counted and dropped, so a malformed packet
   * from a peer costs that packet, not the process.
   */
  readonly stackFaults: { count: number; last?: string } = { count: 0 };

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
    if (!this.started || !this.l2capGuard.accepts(packet) || !this.passes(packet)) return;
    emitCountingFaults(this.stackFaults, () => this.emit('data', packet));
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

export type L2capDropReason = 'short-header' | 'no-start' | 'overrun';

/**
 * Drops host-bound ACL data that the stacks' L2CAP reassembly cannot take safely. bleno and
 * noble read the 4-byte L2CAP header of a start fragment without checking it is there (a
 * RangeError thrown from the socket's 'data' handler: the process dies), and append
 * continuation fragments until they add up to the announced length exactly (one that
 * overruns it is kept and grown forever). A real controller passes such fragments on from a
 * hostile peer, so the socket is where they stop: counted by reason, never delivered.
 */
export class L2capGuard {
  readonly dropped: Record<L2capDropReason, number> = {
    'short-header': 0,
    'no-start': 0,
    overrun: 0,
  };
  /** Per connection handle: bytes of the L2CAP frame in progress still to come. */
  private readonly pending = new Map<number, number>();

  accepts(packet: Buffer): boolean {
    if (packet[0] === H4.event) {
      // A link that went down takes its half-reassembled frame with it.
      if (packet[1] === Evt.disconnectionComplete && packet.length >= 6) {
        this.pending.delete(packet.readUInt16LE(4) & 0x0fff);
      }
      return true;
    }
    if (packet[0] !== H4.acl || packet.length < 5) return true;
    const handle = packet.readUInt16LE(1) & 0x0fff;
    const boundary = (packet.readUInt16LE(1) >> 12) & 0x3;
    const data = packet.subarray(5);
    if (boundary === AclBoundary.continuing) {
      const left = this.pending.get(handle);
      if (left === undefined) return this.drop('no-start');
      if (data.length > left) {
        this.pending.delete(handle);
        return this.drop('overrun');
      }
      if (data.length === left) this.pending.delete(handle);
      else this.pending.set(handle, left - data.length);
      return true;
    }
    if (boundary !== AclBoundary.firstFlushable) return true;
    // A start fragment replaces any frame in progress on its handle, as in the stacks.
    this.pending.delete(handle);
    if (data.length < 4) return this.drop('short-header');
    const rest = data.readUInt16LE(0) - (data.length - 4);
    if (rest < 0) return this.drop('overrun');
    if (rest > 0) this.pending.set(handle, rest);
    return true;
  }

  private drop(reason: L2capDropReason): false {
    this.dropped[reason]++;
    return false;
  }
}

/** Hands a packet to the stack; a stack that throws on it costs that packet, counted. */
function emitCountingFaults(
  faults: { count: number; last?: string },
  emit: () => boolean,
): boolean {
  try {
    return emit();
  } catch (err) {
    faults.count++;
    faults.last = err instanceof Error ? err.message : String(err);
    return false;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the mixin pattern needs any[]
type SocketClass = new (...args: any[]) => EventEmitter;

export interface GuardedSocket {
  readonly l2capGuard: L2capGuard;
  readonly stackFaults: { count: number; last?: string };
}

/**
 * The same protection for a real adapter's socket class (bluetooth-hci-socket's native, usb
 * or uart driver, which emit 'data' straight into the stack): a subclass whose 'data'
 * packets pass an L2capGuard, and whose stack throwing on a packet costs that packet.
 */
export function guardedSocketClass<T extends SocketClass>(
  Base: T,
): new (...args: ConstructorParameters<T>) => InstanceType<T> & GuardedSocket {
  class Guarded extends Base {
    readonly l2capGuard = new L2capGuard();
    readonly stackFaults: { count: number; last?: string } = { count: 0 };

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      const packet = args[0];
      if (event !== 'data' || !Buffer.isBuffer(packet)) return super.emit(event, ...args);
      if (!this.l2capGuard.accepts(packet)) return false;
      return emitCountingFaults(this.stackFaults, () => super.emit(event, ...args));
    }
  }
  return Guarded as unknown as new (
    ...args: ConstructorParameters<T>
  ) => InstanceType<T> & GuardedSocket;
}

/** A socket class (what `loadDriver` returns) whose instances all talk to `controller`. */
export function socketClassFor(controller: () => VirtualController): new () => VirtualHciSocket {
  return class extends VirtualHciSocket {
    constructor() {
      super(controller);
    }
  };
}
