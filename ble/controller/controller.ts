import { EventEmitter } from 'node:events';
import { Clock, SystemClock } from '../../firmware/foundation/clock';
import {
  AdvertisingReport,
  AddressType,
  AirAccess,
  ConnectionParams,
  LinkUp,
  RadioPort,
  StationListener,
} from './air-port';
import { BtsnoopWriter } from './btsnoop';
import {
  AclBoundary,
  AdvType,
  Evt,
  H4,
  HARDWARE_ERROR_H4_FRAMING,
  LeSubevent,
  Op,
  Status,
  supportedCommandsField,
} from './hci-spec';
import { Position } from './radio-model';
import { addressBytes, addressText, freshAddress, u16 } from './hci-codec';

export interface ControllerOptions {
  /** BD_ADDR, aa:bb:cc:dd:ee:ff. Default: a fresh locally unique address. */
  address?: string;
  txPowerDbm?: number;
  /** Where the device stands, in metres; a number is a distance along the x axis. */
  position?: Position | number;
  /** Write every HCI packet to this btsnoop file (opens in Wireshark). */
  btsnoopPath?: string;
  /** LE ACL buffers the controller reports (length in bytes, count). */
  aclBuffer?: { length: number; count: number };
  /** Timestamps for the capture; default the system clock. */
  clock?: Clock;
}

/** Counters a test or a status page can read. */
export interface ControllerStats {
  commands: number;
  unknownCommands: number;
  invalidCommands: number;
  aclFromHost: number;
  aclDropped: number;
  aclToHost: number;
  framingErrors: number;
  /** Host sent more ACL packets than the buffers it was told about. */
  bufferOverruns: number;
}

interface Connection {
  handle: number;
  linkId: number;
  role: 'central' | 'peripheral';
  peerAddress: string;
  peerAddressType: AddressType;
  params: ConnectionParams;
  rssi: number;
  inFlight: number;
}

type CommandResult = { complete: Buffer } | { status: number; then?: () => void };
interface CommandSpec {
  /** Exact parameter length. */
  length: number;
  /** Status-type commands answer with Command Status (then events), the rest with Command Complete. */
  kind: 'complete' | 'status';
  run(params: Buffer): CommandResult;
}

const HCI_VERSION_5_0 = 0x09;
/** 0xFFFF: "for use in internal and interoperability tests" (Bluetooth SIG assigned numbers). */
const MANUFACTURER_TEST = 0xffff;
const DEFAULT_EVENT_MASK = Buffer.from('ffffffffff1f0000', 'hex');
const DEFAULT_LE_EVENT_MASK = Buffer.from('1f00000000000000', 'hex');
const VALID_DISCONNECT_REASONS = new Set([0x05, 0x13, 0x14, 0x15, 0x1a, 0x29, 0x3b]);
const FIRST_HANDLE = 0x0040;
const MAX_HANDLE = 0x0eff;

function ok(...fields: Buffer[]): CommandResult {
  return { complete: Buffer.concat([Buffer.from([Status.success]), ...fields]) };
}
function fail(status: number, ...fields: Buffer[]): CommandResult {
  return { complete: Buffer.concat([Buffer.from([status]), ...fields]) };
}

/**
 * A software Bluetooth LE controller. A host stack writes H4 packets (commands, ACL data)
 * with `receive`; the controller answers on 'packet' with H4 events and ACL data, as a
 * real controller would, and transmits on the air it joined. Bad input from a host gets
 * the HCI error a controller gives (Unknown HCI Command, Invalid HCI Command Parameters,
 * Hardware Error for unparseable framing); it never throws.
 */
export class VirtualController extends EventEmitter {
  readonly address: string;
  readonly stats: ControllerStats = {
    commands: 0,
    unknownCommands: 0,
    invalidCommands: 0,
    aclFromHost: 0,
    aclDropped: 0,
    aclToHost: 0,
    framingErrors: 0,
    bufferOverruns: 0,
  };
  private readonly port: RadioPort;
  private readonly clock: Clock;
  private readonly capture: BtsnoopWriter | undefined;
  private readonly aclBuffer: { length: number; count: number };
  private readonly commands: Map<number, CommandSpec>;
  private readonly outbox: Buffer[] = [];
  private flushScheduled = false;
  private closed = false;

  private eventMask = Buffer.from(DEFAULT_EVENT_MASK);
  private leEventMask = Buffer.from(DEFAULT_LE_EVENT_MASK);
  private advParams = { intervalMs: 1.28 * 1000, eventType: AdvType.advInd as number };
  private advData = Buffer.alloc(0);
  private scanRspData = Buffer.alloc(0);
  // Link-layer states (Core Vol 6 Part B 1.1): advertising, scanning, initiating and each
  // connection are independent machines in a multi-role controller, so each has its own field.
  private advertising = false;
  private scanParams = { active: false };
  private scanning = false;
  private initiating: { peer: string; peerType: AddressType } | null = null;
  private readonly connections = new Map<number, Connection>();
  private readonly byLink = new Map<number, Connection>();
  private nextHandle = FIRST_HANDLE;

  constructor(air: AirAccess, options: ControllerOptions = {}) {
    super();
    this.address = (options.address ?? freshAddress()).toLowerCase();
    this.clock = options.clock ?? new SystemClock();
    this.aclBuffer = options.aclBuffer ?? { length: 251, count: 8 };
    const position =
      typeof options.position === 'number'
        ? { x: options.position, y: 0 }
        : (options.position ?? { x: 0, y: 0 });
    this.capture = options.btsnoopPath ? new BtsnoopWriter(options.btsnoopPath) : undefined;
    this.commands = this.commandTable();
    this.port = air.join(
      {
        address: this.address,
        addressType: 'public',
        txPowerDbm: options.txPowerDbm ?? 0,
        position,
      },
      this.listener(),
    );
  }

  /** Moves the device; a distance is along the x axis from the origin (where a reader stands). */
  setPosition(position: Position | number): void {
    this.port.setPosition(typeof position === 'number' ? { x: position, y: 0 } : position);
  }

  /** Open connections, by handle (for tests and status pages). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Leaves the air (peers see a supervision timeout) and closes the capture. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.leave();
    this.capture?.close();
  }

  /** One H4 packet from the host. */
  receive(packet: Buffer): void {
    if (this.closed) return;
    if (!Buffer.isBuffer(packet) || packet.length === 0) return;
    this.capture?.record(packet, 'host-to-controller', this.clock.now());
    switch (packet[0]) {
      case H4.command:
        this.onCommand(packet);
        return;
      case H4.acl:
        this.onAcl(packet);
        return;
      default:
        // SCO, events or garbage from a host: a UART controller loses sync and says so.
        this.stats.framingErrors++;
        this.sendEvent(Evt.hardwareError, Buffer.from([HARDWARE_ERROR_H4_FRAMING]));
    }
  }

  // --- host-bound packets ------------------------------------------------------------

  private toHost(packet: Buffer): void {
    if (this.closed) return;
    this.capture?.record(packet, 'controller-to-host', this.clock.now());
    this.outbox.push(packet);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Never answer inside the host's write(): stacks are not re-entrant.
    setImmediate(() => {
      this.flushScheduled = false;
      for (let p = this.outbox.shift(); p; p = this.outbox.shift()) this.emit('packet', p);
    });
  }

  private eventEnabled(code: number): boolean {
    if (code === Evt.commandComplete || code === Evt.commandStatus) return true;
    if (code === Evt.numberOfCompletedPackets || code === Evt.hardwareError) return true;
    const bit = code - 1;
    return (this.eventMask[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  private sendEvent(code: number, params: Buffer): void {
    if (!this.eventEnabled(code)) return;
    this.toHost(Buffer.concat([Buffer.from([H4.event, code, params.length]), params]));
  }

  private sendLeEvent(subevent: number, params: Buffer): void {
    const bit = subevent - 1;
    if ((this.leEventMask[bit >> 3]! & (1 << (bit & 7))) === 0) return;
    this.sendEvent(Evt.leMeta, Buffer.concat([Buffer.from([subevent]), params]));
  }

  private commandComplete(op: number, returnParams: Buffer): void {
    this.sendEvent(Evt.commandComplete, Buffer.concat([Buffer.from([1]), u16(op), returnParams]));
  }

  private commandStatus(op: number, status: number): void {
    this.sendEvent(Evt.commandStatus, Buffer.concat([Buffer.from([status, 1]), u16(op)]));
  }

  // --- commands ------------------------------------------------------------------------

  private onCommand(packet: Buffer): void {
    this.stats.commands++;
    if (packet.length < 4) {
      // Too short to carry an opcode and a length: framing, not a command.
      this.stats.framingErrors++;
      this.sendEvent(Evt.hardwareError, Buffer.from([HARDWARE_ERROR_H4_FRAMING]));
      return;
    }
    const op = packet.readUInt16LE(1);
    const declared = packet[3]!;
    const params = packet.subarray(4);
    const spec = this.commands.get(op);
    if (!spec) {
      this.stats.unknownCommands++;
      this.commandComplete(op, Buffer.from([Status.unknownCommand]));
      return;
    }
    if (declared !== params.length || params.length !== spec.length) {
      this.stats.invalidCommands++;
      if (spec.kind === 'status') this.commandStatus(op, Status.invalidParameters);
      else this.commandComplete(op, Buffer.from([Status.invalidParameters]));
      return;
    }
    const result = spec.run(params);
    if ('complete' in result) {
      if (result.complete[0] !== Status.success) this.stats.invalidCommands++;
      this.commandComplete(op, result.complete);
    } else {
      if (result.status !== Status.success) this.stats.invalidCommands++;
      this.commandStatus(op, result.status);
      if (result.status === Status.success) result.then?.();
    }
  }

  private commandTable(): Map<number, CommandSpec> {
    const table = new Map<number, CommandSpec>();
    const complete = (op: number, length: number, run: (p: Buffer) => CommandResult) =>
      table.set(op, { length, kind: 'complete', run });
    const status = (op: number, length: number, run: (p: Buffer) => CommandResult) =>
      table.set(op, { length, kind: 'status', run });

    complete(Op.reset, 0, () => {
      this.reset();
      return ok();
    });
    complete(Op.setEventMask, 8, (p) => {
      this.eventMask = Buffer.from(p);
      return ok();
    });
    complete(Op.setEventMaskPage2, 8, () => ok());
    complete(Op.readLeHostSupported, 0, () => ok(Buffer.from([1, 0])));
    complete(Op.writeLeHostSupported, 2, (p) =>
      p[0]! > 1 || p[1]! > 1 ? fail(Status.invalidParameters) : ok(),
    );
    complete(Op.readLocalVersion, 0, () =>
      ok(
        Buffer.from([HCI_VERSION_5_0]),
        u16(0),
        Buffer.from([HCI_VERSION_5_0]),
        u16(MANUFACTURER_TEST),
        u16(0),
      ),
    );
    complete(Op.readLocalCommands, 0, () => ok(supportedCommandsField(table.keys())));
    // LMP features: only "LE Supported (Controller)" (byte 4 bit 6) and "BR/EDR Not Supported" (bit 5).
    complete(Op.readLocalFeatures, 0, () => ok(Buffer.from([0, 0, 0, 0, 0x60, 0, 0, 0])));
    complete(Op.readBufferSize, 0, () => ok(u16(0), Buffer.from([0]), u16(0), u16(0)));
    complete(Op.readBdAddr, 0, () => ok(addressBytes(this.address)));
    complete(Op.readRssi, 2, (p) => {
      const handle = p.readUInt16LE(0);
      const conn = this.connections.get(handle);
      const rssi = Buffer.alloc(1);
      if (!conn) return fail(Status.unknownConnectionId, u16(handle), rssi);
      rssi.writeInt8(conn.rssi);
      return ok(u16(handle), rssi);
    });
    complete(Op.leSetEventMask, 8, (p) => {
      this.leEventMask = Buffer.from(p);
      return ok();
    });
    complete(Op.leReadBufferSize, 0, () =>
      ok(u16(this.aclBuffer.length), Buffer.from([this.aclBuffer.count])),
    );
    // No optional LE features (no encryption, no data length extension, no extended advertising).
    complete(Op.leReadLocalFeatures, 0, () => ok(Buffer.alloc(8)));
    complete(Op.leSetRandomAddress, 6, () =>
      this.advertising || this.scanning ? fail(Status.commandDisallowed) : ok(),
    );
    complete(Op.leSetAdvParams, 15, (p) => this.setAdvParams(p));
    complete(Op.leReadAdvTxPower, 0, () => ok(Buffer.from([0])));
    complete(Op.leSetAdvData, 32, (p) => {
      if (p[0]! > 31) return fail(Status.invalidParameters);
      this.advData = Buffer.from(p.subarray(1, 1 + p[0]!));
      this.pushAdvertising();
      return ok();
    });
    complete(Op.leSetScanRspData, 32, (p) => {
      if (p[0]! > 31) return fail(Status.invalidParameters);
      this.scanRspData = Buffer.from(p.subarray(1, 1 + p[0]!));
      this.pushAdvertising();
      return ok();
    });
    complete(Op.leSetAdvEnable, 1, (p) => {
      if (p[0]! > 1) return fail(Status.invalidParameters);
      this.advertising = p[0] === 1;
      this.pushAdvertising();
      return ok();
    });
    complete(Op.leSetScanParams, 7, (p) => {
      const interval = p.readUInt16LE(1);
      const window = p.readUInt16LE(3);
      if (this.scanning) return fail(Status.commandDisallowed);
      if (
        p[0]! > 1 ||
        interval < 4 ||
        interval > 0x4000 ||
        window < 4 ||
        window > interval ||
        p[5]! > 3 ||
        p[6]! > 3
      ) {
        return fail(Status.invalidParameters);
      }
      this.scanParams = { active: p[0] === 1 };
      return ok();
    });
    complete(Op.leSetScanEnable, 2, (p) => {
      if (p[0]! > 1 || p[1]! > 1) return fail(Status.invalidParameters);
      this.scanning = p[0] === 1;
      this.port.setScanning(
        this.scanning ? { active: this.scanParams.active, filterDuplicates: p[1] === 1 } : null,
      );
      return ok();
    });
    status(Op.leCreateConn, 25, (p) => this.createConnection(p));
    complete(Op.leCreateConnCancel, 0, () => {
      if (!this.initiating) return fail(Status.commandDisallowed);
      this.initiating = null;
      this.port.cancelInitiate();
      // The pending Create Connection ends with Unknown Connection Identifier.
      const after = Buffer.alloc(18);
      after[0] = Status.unknownConnectionId;
      setImmediate(() => this.sendLeEvent(LeSubevent.connectionComplete, after));
      return ok();
    });
    complete(Op.leReadAcceptListSize, 0, () => ok(Buffer.from([0])));
    complete(Op.leClearAcceptList, 0, () => ok());
    status(Op.leConnUpdate, 14, (p) => {
      const conn = this.connections.get(p.readUInt16LE(0));
      if (!conn) return { status: Status.unknownConnectionId };
      const params = this.pickParams(p.subarray(2));
      if (!params) return { status: Status.invalidParameters };
      return {
        status: Status.success,
        then: () => this.port.updateConnection(conn.linkId, params),
      };
    });
    status(Op.leReadRemoteFeatures, 2, (p) => {
      const handle = p.readUInt16LE(0);
      if (!this.connections.has(handle)) return { status: Status.unknownConnectionId };
      return {
        status: Status.success,
        then: () =>
          this.sendLeEvent(
            LeSubevent.readRemoteFeaturesComplete,
            Buffer.concat([Buffer.from([0]), u16(handle), Buffer.alloc(8)]),
          ),
      };
    });
    complete(Op.leLtkNegReply, 2, (p) => {
      const handle = p.readUInt16LE(0);
      return this.connections.has(handle)
        ? ok(u16(handle))
        : fail(Status.unknownConnectionId, u16(handle));
    });
    complete(Op.leReadSupportedStates, 0, () => ok(Buffer.from('ffffffffff030000', 'hex')));
    status(Op.disconnect, 3, (p) => {
      const conn = this.connections.get(p.readUInt16LE(0));
      if (!conn) return { status: Status.unknownConnectionId };
      if (!VALID_DISCONNECT_REASONS.has(p[2]!)) return { status: Status.invalidParameters };
      return { status: Status.success, then: () => this.port.disconnect(conn.linkId, p[2]!) };
    });
    status(Op.readRemoteVersion, 2, (p) => {
      const handle = p.readUInt16LE(0);
      if (!this.connections.has(handle)) return { status: Status.unknownConnectionId };
      return {
        status: Status.success,
        then: () =>
          this.sendEvent(
            Evt.readRemoteVersionComplete,
            Buffer.concat([
              Buffer.from([0]),
              u16(handle),
              Buffer.from([HCI_VERSION_5_0]),
              u16(MANUFACTURER_TEST),
              u16(0),
            ]),
          ),
      };
    });
    return table;
  }

  private reset(): void {
    this.eventMask = Buffer.from(DEFAULT_EVENT_MASK);
    this.leEventMask = Buffer.from(DEFAULT_LE_EVENT_MASK);
    this.advertising = false;
    this.scanning = false;
    this.initiating = null;
    this.advData = Buffer.alloc(0);
    this.scanRspData = Buffer.alloc(0);
    this.port.setAdvertising(null);
    this.port.setScanning(null);
    this.port.cancelInitiate();
    // A reset controller goes silent: its peers see the link time out.
    for (const conn of this.connections.values())
      this.port.disconnect(conn.linkId, Status.connectionTimeout);
    this.connections.clear();
    this.byLink.clear();
  }

  private setAdvParams(p: Buffer): CommandResult {
    if (this.advertising) return fail(Status.commandDisallowed);
    const min = p.readUInt16LE(0);
    const max = p.readUInt16LE(2);
    const type = p[4]!;
    const ownType = p[5]!;
    const channelMap = p[13]!;
    const filter = p[14]!;
    const directed = type === AdvType.advDirectInd || type === 0x04;
    if (!directed && (min < 0x20 || max > 0x4000 || min > max))
      return fail(Status.invalidParameters);
    if (type > 4 || ownType > 3 || channelMap === 0 || channelMap > 7 || filter > 3) {
      return fail(Status.invalidParameters);
    }
    if (directed) return fail(Status.unsupportedFeatureOrParameter);
    this.advParams = { intervalMs: max * 0.625, eventType: type };
    return ok();
  }

  private pushAdvertising(): void {
    this.port.setAdvertising(
      this.advertising
        ? {
            eventType: this.advParams.eventType,
            intervalMs: this.advParams.intervalMs,
            data: this.advData,
            scanResponse: this.scanRspData,
          }
        : null,
    );
  }

  /** Validates interval min/max, latency, timeout (Vol 4 Part E 7.8.12); picks the minimum interval. */
  private pickParams(p: Buffer): ConnectionParams | null {
    const min = p.readUInt16LE(0);
    const max = p.readUInt16LE(2);
    const latency = p.readUInt16LE(4);
    const timeout = p.readUInt16LE(6);
    if (min < 6 || max > 0x0c80 || min > max || latency > 0x01f3) return null;
    if (timeout < 0x0a || timeout > 0x0c80) return null;
    if (timeout * 10 <= (1 + latency) * max * 1.25 * 2) return null;
    return { intervalUnits: min, latency, timeoutUnits: timeout };
  }

  private createConnection(p: Buffer): CommandResult {
    if (this.initiating) return { status: Status.commandDisallowed };
    const scanInterval = p.readUInt16LE(0);
    const scanWindow = p.readUInt16LE(2);
    const filter = p[4]!;
    const peerType = p[5]!;
    const ownType = p[12]!;
    if (scanInterval < 4 || scanInterval > 0x4000 || scanWindow < 4 || scanWindow > scanInterval) {
      return { status: Status.invalidParameters };
    }
    if (filter > 1 || peerType > 3 || ownType > 3) return { status: Status.invalidParameters };
    if (filter === 1) return { status: Status.unsupportedFeatureOrParameter };
    const params = this.pickParams(p.subarray(13));
    if (!params) return { status: Status.invalidParameters };
    const peer = addressText(p.subarray(6, 12));
    if (this.connections.size >= MAX_HANDLE - FIRST_HANDLE)
      return { status: Status.connectionLimitExceeded };
    this.initiating = { peer, peerType: peerType & 1 ? 'random' : 'public' };
    return { status: Status.success, then: () => this.port.initiate(peer, params) };
  }

  private allocateHandle(): number {
    while (this.connections.has(this.nextHandle)) {
      this.nextHandle = this.nextHandle >= MAX_HANDLE ? FIRST_HANDLE : this.nextHandle + 1;
    }
    const handle = this.nextHandle;
    this.nextHandle = handle >= MAX_HANDLE ? FIRST_HANDLE : handle + 1;
    return handle;
  }

  // --- ACL data ----------------------------------------------------------------------

  private onAcl(packet: Buffer): void {
    this.stats.aclFromHost++;
    if (packet.length < 5) {
      this.stats.aclDropped++;
      return;
    }
    const handle = packet.readUInt16LE(1) & 0x0fff;
    const boundary = (packet.readUInt16LE(1) >> 12) & 0x3;
    const length = packet.readUInt16LE(3);
    const data = packet.subarray(5);
    const conn = this.connections.get(handle);
    // Unknown handle, wrong length, oversize or reserved boundary flag: a controller drops it.
    if (!conn || length !== data.length || length > this.aclBuffer.length || boundary === 0x3) {
      this.stats.aclDropped++;
      return;
    }
    let inFlight = 0;
    for (const c of this.connections.values()) inFlight += c.inFlight;
    if (inFlight >= this.aclBuffer.count) this.stats.bufferOverruns++;
    conn.inFlight++;
    const llBoundary =
      boundary === AclBoundary.continuing ? AclBoundary.continuing : AclBoundary.firstFlushable;
    this.port.sendAcl(conn.linkId, llBoundary, data);
  }

  // --- the air's side --------------------------------------------------------------------

  private listener(): StationListener {
    return {
      advertisingReport: (report) => this.onReport(report),
      advertisingEnded: () => {
        this.advertising = false;
      },
      linkUp: (link) => this.onLinkUp(link),
      aclData: (linkId, boundary, data) => {
        const conn = this.byLink.get(linkId);
        if (!conn) return;
        this.stats.aclToHost++;
        const header = Buffer.alloc(5);
        header[0] = H4.acl;
        header.writeUInt16LE(conn.handle | (boundary << 12), 1);
        header.writeUInt16LE(data.length, 3);
        this.toHost(Buffer.concat([header, data]));
      },
      aclTransmitted: (linkId, packets) => {
        const conn = this.byLink.get(linkId);
        if (!conn) return;
        conn.inFlight = Math.max(0, conn.inFlight - packets);
        this.sendEvent(
          Evt.numberOfCompletedPackets,
          Buffer.concat([Buffer.from([1]), u16(conn.handle), u16(packets)]),
        );
      },
      linkUpdated: (linkId, params) => {
        const conn = this.byLink.get(linkId);
        if (!conn) return;
        conn.params = params;
        this.sendLeEvent(
          LeSubevent.connectionUpdateComplete,
          Buffer.concat([
            Buffer.from([0]),
            u16(conn.handle),
            u16(params.intervalUnits),
            u16(params.latency),
            u16(params.timeoutUnits),
          ]),
        );
      },
      linkRssi: (linkId, rssi) => {
        const conn = this.byLink.get(linkId);
        if (conn) conn.rssi = rssi;
      },
      linkDown: (linkId, reason) => {
        const conn = this.byLink.get(linkId);
        if (!conn) return;
        this.byLink.delete(linkId);
        this.connections.delete(conn.handle);
        this.sendEvent(
          Evt.disconnectionComplete,
          Buffer.concat([Buffer.from([0]), u16(conn.handle), Buffer.from([reason])]),
        );
      },
    };
  }

  private onReport(report: AdvertisingReport): void {
    if (!this.scanning) return;
    // Passive scanners never send SCAN_REQ, so they never see a scan response.
    if (report.eventType === AdvType.scanRsp && !this.scanParams.active) return;
    const rssi = Buffer.alloc(1);
    rssi.writeInt8(report.rssi);
    this.sendLeEvent(
      LeSubevent.advertisingReport,
      Buffer.concat([
        Buffer.from([1, report.eventType, report.addressType === 'random' ? 1 : 0]),
        addressBytes(report.address),
        Buffer.from([report.data.length]),
        report.data,
        rssi,
      ]),
    );
  }

  private onLinkUp(link: LinkUp): void {
    if (link.role === 'central') {
      if (!this.initiating) {
        // Cancelled while CONNECT_IND was in the air: the link is not wanted.
        this.port.disconnect(link.linkId, Status.localHostTerminated);
        return;
      }
      this.initiating = null;
    } else {
      this.advertising = false;
    }
    const conn: Connection = {
      handle: this.allocateHandle(),
      linkId: link.linkId,
      role: link.role,
      peerAddress: link.peerAddress,
      peerAddressType: link.peerAddressType,
      params: link.params,
      rssi: link.rssi,
      inFlight: 0,
    };
    this.connections.set(conn.handle, conn);
    this.byLink.set(link.linkId, conn);
    this.sendLeEvent(
      LeSubevent.connectionComplete,
      Buffer.concat([
        Buffer.from([0]),
        u16(conn.handle),
        Buffer.from([link.role === 'central' ? 0 : 1, link.peerAddressType === 'random' ? 1 : 0]),
        addressBytes(link.peerAddress),
        u16(link.params.intervalUnits),
        u16(link.params.latency),
        u16(link.params.timeoutUnits),
        Buffer.from([0]),
      ]),
    );
  }
}
