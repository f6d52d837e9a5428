import { EventEmitter } from 'node:events';
import type { Clock, Timer } from '../firmware/foundation/clock';
import type { Channel } from './channel';
import {
  BROADCAST_ADDRESS,
  COMMAND,
  NAK,
  REPLY,
  REPLY_ADDRESS_BIT,
  SCS,
  type NakReason,
} from './codes';
import {
  decodeBuzzer,
  decodeComSettings,
  decodeKeyset,
  decodeLed,
  decodeOutputs,
  encodeCapabilities,
  encodeCard,
  encodeComSettings,
  encodeDeviceId,
  encodeKeypad,
  type BuzzerRecord,
  type Capability,
  type CardRead,
  type ComSettings,
  type DeviceId,
  type KeypadRead,
  type LedRecord,
  type OutputRecord,
  STANDARD_BAUDS,
} from './messages';
import {
  encodeFrame,
  nextSqn,
  PacketParser,
  type Frame,
  type ParseEvent,
  type SecurityBlock,
} from './packet';
import {
  clientCryptogram,
  initialRmac,
  randomChallenge,
  sameBytes,
  SCBK_DEFAULT,
  SecureSession,
  serverCryptogram,
  sessionKeys,
} from './secure-channel';

/** What the PD asks of the device behind it (the reader, or a test double). */
export interface PdDevice {
  id: DeviceId;
  capabilities: Capability[];
  /** Tamper and power failure, for osdp_LSTATR. */
  localStatus(): { tamper: boolean; power: boolean };
  /** One entry per input (osdp_ISTATR), true = active. */
  inputs(): boolean[];
  /** One entry per output (osdp_OSTATR). */
  outputs(): boolean[];
  /** False: a record names an LED or reader the device does not have (NAK 0x09). */
  led(records: LedRecord[]): boolean;
  buzzer(record: BuzzerRecord): boolean;
  output(records: OutputRecord[]): boolean;
  /** Persists the new base key before the ACK goes out (it must survive a power cut). */
  keyset(scbk: Buffer): void;
  /** Called after the osdp_COM reply has gone out. */
  comset?(settings: ComSettings): void;
  /** The panel stopped polling: go to the offline-safe state. */
  offline?(): void;
}

export interface PdOptions {
  address: number;
  channel: Channel;
  clock: Clock;
  device: PdDevice;
  /** The stored base key; absent = install mode (only SCBK-D is accepted). */
  scbk?: Buffer;
  /** Only POLL, ID, CAP and the handshake in clear; everything else needs the secure channel. */
  requireSecure?: boolean;
  /** No valid command for this long: offline (the specification's 8 s). */
  offlineAfterMs?: number;
}

/** The PD's link as an edge shows it. */
export interface PdLinkStatus {
  address: number;
  online: boolean;
  secure: boolean;
  installMode: boolean;
  lastCommandAt?: number;
  counters: {
    commands: number;
    replies: number;
    naks: number;
    badCheck: number;
    malformed: number;
    garbageBytes: number;
    macFailures: number;
    /** Bugs caught at the packet boundary (the packet got no answer): should stay 0. */
    internalErrors: number;
  };
}

/** A reply before the secure-channel wrapping. */
interface Reply {
  code: number;
  data?: Buffer;
  /** SCS_12/SCS_14 replies carry their own block. */
  scb?: SecurityBlock;
  /** Applied once the reply is on the wire (COMSET, a finished handshake). */
  after?: () => void;
}

/** A partial packet older than this is dropped when new bytes come (a few bytes' time at 9600). */
export const INTER_CHARACTER_TIMEOUT_MS = 100;

/** Answered in clear even when requireSecure is set. */
const CLEAR_COMMANDS = new Set<number>([COMMAND.POLL, COMMAND.ID, COMMAND.CAP]);

const nak = (reason: NakReason): Reply => ({ code: REPLY.NAK, data: Buffer.from([reason]) });

/**
 * An OSDP peripheral device: parses what the channel brings, answers commands addressed to
 * it (every reply synchronously, well inside the 200 ms the specification allows), runs the
 * secure-channel handshake and keeps the session, and queues card and keypad data for the
 * next POLL. Bad input gets a NAK or silence; nothing here throws into the channel.
 *
 * Events: 'online', 'offline', 'secure' (boolean), 'command' ({ code, secure }).
 */
export class PeripheralDevice extends EventEmitter {
  private address: number;
  private scbk: Buffer | undefined;
  private readonly parser = new PacketParser();
  private readonly unsubscribe: () => void;
  private session: SecureSession | undefined;
  private pending: { session: SecureSession; keyByte: number } | undefined;
  private lastSqn: number | undefined;
  private lastCommand: Buffer | undefined;
  private lastReply: Buffer | undefined;
  private readonly queue: Array<{ code: number; data: Buffer }> = [];
  private reported: { local?: string; inputs?: string; outputs?: string } = {};
  private offlineTimer: Timer | undefined;
  private online = false;
  private lastCommandAt: number | undefined;
  private readonly counters: PdLinkStatus['counters'] = {
    commands: 0,
    replies: 0,
    naks: 0,
    badCheck: 0,
    malformed: 0,
    garbageBytes: 0,
    macFailures: 0,
    internalErrors: 0,
  };
  private closed = false;
  private lastByteAt = 0;

  constructor(private readonly options: PdOptions) {
    super();
    this.address = options.address;
    this.scbk = options.scbk;
    this.unsubscribe = options.channel.onData((bytes) => this.receive(bytes));
  }

  status(): PdLinkStatus {
    return {
      address: this.address,
      online: this.online,
      secure: this.session !== undefined,
      installMode: this.scbk === undefined,
      ...(this.lastCommandAt === undefined ? {} : { lastCommandAt: this.lastCommandAt }),
      counters: { ...this.counters },
    };
  }

  /** A card read for the panel: goes out as osdp_RAW on a coming POLL. */
  queueCard(read: CardRead): void {
    this.queue.push({ code: REPLY.RAW, data: encodeCard(read) });
  }

  /** Keys pressed, for the panel: osdp_KEYPAD on a coming POLL. */
  queueKeypad(read: KeypadRead): void {
    this.queue.push({ code: REPLY.KEYPAD, data: encodeKeypad(read) });
  }

  get queued(): number {
    return this.queue.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.options.clock.clearTimeout(this.offlineTimer);
  }

  /** Feeds bytes as if they came from the channel (the fuzz test's way in). */
  receive(bytes: Buffer): void {
    if (this.closed) return;
    // A packet cut short on the wire is not completed by bytes that come much later.
    const now = this.options.clock.monotonic();
    if (this.parser.pending > 0 && now - this.lastByteAt > INTER_CHARACTER_TIMEOUT_MS) {
      this.counters.malformed++;
      this.parser.discardPartial();
    }
    this.lastByteAt = now;
    let events: ParseEvent[];
    try {
      events = this.parser.push(bytes);
    } catch {
      this.parser.discardPartial();
      return;
    }
    for (const event of events) {
      try {
        this.handle(event);
      } catch (err) {
        // A bug must not take the link down: answer nothing and let the CP retry.
        this.counters.internalErrors++;
        this.emit('internal-error', err);
      }
    }
  }

  private forMe(address: number): boolean {
    if (address & REPLY_ADDRESS_BIT) return false; // another PD's reply on the bus
    return address === this.address || address === BROADCAST_ADDRESS;
  }

  private handle(event: ParseEvent): void {
    switch (event.kind) {
      case 'garbage':
        this.counters.garbageBytes += event.count;
        return;
      case 'bad-check':
        if (!this.forMe(event.address)) return;
        this.counters.badCheck++;
        return this.send(event.sqn, nak(NAK.CHECK_CHARACTER), undefined);
      case 'malformed':
        if (!this.forMe(event.address)) return;
        this.counters.malformed++;
        return this.send(event.sqn, nak(NAK.COMMAND_LENGTH), undefined);
      case 'frame':
        if (!this.forMe(event.frame.address)) return;
        return this.command(event.frame);
    }
  }

  private command(frame: Frame): void {
    this.counters.commands++;
    // SQN 0 starts the link over: the CP restarted, so any session it had is gone too.
    if (frame.sqn === 0) {
      this.endSession();
      this.lastSqn = undefined;
    } else if (frame.sqn === this.lastSqn && this.lastReply) {
      // The CP did not hear our reply and sent the same packet again: the same answer.
      if (this.lastCommand && sameBytes(frame.bytes, this.lastCommand)) {
        this.markAlive();
        this.options.channel.write(this.lastReply);
        this.counters.replies++;
        return;
      }
      return this.send(frame.sqn, nak(NAK.SEQUENCE), undefined);
    } else if (this.lastSqn !== undefined && frame.sqn !== nextSqn(this.lastSqn)) {
      return this.send(frame.sqn, nak(NAK.SEQUENCE), undefined);
    }
    this.markAlive();
    const { reply, session } = this.secured(frame);
    this.lastSqn = frame.sqn;
    this.lastCommand = frame.bytes;
    this.send(frame.sqn, reply, session);
  }

  /** Unwraps the secure channel and dispatches; `session` is the one to wrap the reply in. */
  private secured(frame: Frame): { reply: Reply; session?: SecureSession } {
    const scb = frame.scb;
    if (!scb) {
      // Once the channel is up, nothing is answered in clear: a clear packet is an intruder
      // or a confused CP, and neither gets data out of us nor takes the session down.
      if (this.session) return { reply: nak(NAK.ENCRYPTION_REQUIRED) };
      if (frame.code === COMMAND.KEYSET) return { reply: nak(NAK.ENCRYPTION_REQUIRED) };
      if (this.options.requireSecure && !CLEAR_COMMANDS.has(frame.code))
        return { reply: nak(NAK.ENCRYPTION_REQUIRED) };
      return { reply: this.dispatch(frame.code, frame.data, false) };
    }
    switch (scb.type) {
      case SCS.CHLNG:
        return { reply: this.challenge(frame, scb) };
      case SCS.SCRYPT:
        return { reply: this.serverCryptogram(frame, scb) };
      case SCS.CMD_MAC:
      case SCS.CMD_ENC: {
        const session = this.session;
        if (!session || !frame.mac) return { reply: nak(NAK.SECURITY_CONDITIONS) };
        if (!session.verifyCommand(frame.macInput, frame.mac)) {
          this.counters.macFailures++;
          this.endSession();
          return { reply: nak(NAK.SECURITY_CONDITIONS) };
        }
        let data = frame.data;
        if (scb.type === SCS.CMD_ENC) {
          const clear = session.decryptCommand(frame.data);
          if (!clear) {
            this.endSession();
            return { reply: nak(NAK.SECURITY_CONDITIONS) };
          }
          data = clear;
        } else if (data.length > 0 && frame.code !== COMMAND.POLL) {
          // Data travels encrypted inside a session (SCS_17); in clear it is refused.
          return { reply: nak(NAK.SECURITY_CONDITIONS), session };
        }
        if (frame.code === COMMAND.CHLNG || frame.code === COMMAND.SCRYPT)
          return { reply: nak(NAK.SECURITY_CONDITIONS), session };
        return { reply: this.dispatch(frame.code, data, true), session };
      }
      default:
        return { reply: nak(NAK.SECURITY_CONDITIONS) };
    }
  }

  /** osdp_CHLNG under SCS_11: a new handshake (any session so far ends). */
  private challenge(frame: Frame, scb: SecurityBlock): Reply {
    this.endSession();
    if (frame.code !== COMMAND.CHLNG || scb.data.length !== 1) return nak(NAK.SECURITY_CONDITIONS);
    if (frame.data.length !== 8) return nak(NAK.COMMAND_LENGTH);
    const keyByte = scb.data[0];
    // The default key only in install mode; the stored key only once there is one.
    const key =
      keyByte === 0x00 && this.scbk === undefined
        ? SCBK_DEFAULT
        : keyByte === 0x01
          ? this.scbk
          : undefined;
    if (!key) return nak(NAK.SECURITY_CONDITIONS);
    const rndA = frame.data;
    const rndB = randomChallenge();
    const keys = sessionKeys(key, rndA);
    this.pending = { session: new SecureSession(keys, rndA, rndB), keyByte };
    const cuid = encodeDeviceId(this.options.device.id).subarray(0, 8);
    return {
      code: REPLY.CCRYPT,
      data: Buffer.concat([cuid, rndB, clientCryptogram(keys, rndA, rndB)]),
      scb: { type: SCS.CCRYPT, data: Buffer.from([keyByte]) },
    };
  }

  /** osdp_SCRYPT under SCS_13: the CP proves it has the key; the session starts. */
  private serverCryptogram(frame: Frame, scb: SecurityBlock): Reply {
    const pending = this.pending;
    this.pending = undefined;
    if (
      !pending ||
      frame.code !== COMMAND.SCRYPT ||
      scb.data.length !== 1 ||
      scb.data[0] !== pending.keyByte
    )
      return nak(NAK.SECURITY_CONDITIONS);
    if (frame.data.length !== 16) return nak(NAK.COMMAND_LENGTH);
    const { session } = pending;
    const expected = serverCryptogram(session.keys, session.rndA, session.rndB);
    if (!sameBytes(expected, frame.data)) {
      this.counters.macFailures++;
      return {
        code: REPLY.RMAC_I,
        data: Buffer.alloc(0),
        scb: { type: SCS.RMAC_I, data: Buffer.from([0xff]) },
      };
    }
    const rmac = initialRmac(session.keys, frame.data);
    session.rMac = rmac;
    return {
      code: REPLY.RMAC_I,
      data: rmac,
      scb: { type: SCS.RMAC_I, data: Buffer.from([0x01]) },
      after: () => {
        this.session = session;
        this.emit('secure', true);
      },
    };
  }

  private dispatch(code: number, data: Buffer, secure: boolean): Reply {
    const device = this.options.device;
    this.emit('command', { code, secure });
    const noData = (reply: () => Reply): Reply =>
      data.length === 0 ? reply() : nak(NAK.COMMAND_LENGTH);
    switch (code) {
      case COMMAND.POLL:
        return noData(() => this.pollReply());
      case COMMAND.ID:
        return data.length === 1
          ? { code: REPLY.PDID, data: encodeDeviceId(device.id) }
          : nak(NAK.COMMAND_LENGTH);
      case COMMAND.CAP:
        return data.length === 1
          ? { code: REPLY.PDCAP, data: encodeCapabilities(device.capabilities) }
          : nak(NAK.COMMAND_LENGTH);
      case COMMAND.LSTAT:
        return noData(() => this.localStatusReply());
      case COMMAND.ISTAT:
        return noData(() => this.inputStatusReply());
      case COMMAND.OSTAT:
        return noData(() => this.outputStatusReply());
      case COMMAND.OUT: {
        const records = decodeOutputs(data);
        if (!records) return nak(NAK.COMMAND_LENGTH);
        return device.output(records) ? { code: REPLY.ACK } : nak(NAK.UNABLE_TO_PROCESS);
      }
      case COMMAND.LED: {
        const records = decodeLed(data);
        if (!records) return nak(NAK.COMMAND_LENGTH);
        return device.led(records) ? { code: REPLY.ACK } : nak(NAK.UNABLE_TO_PROCESS);
      }
      case COMMAND.BUZ: {
        const record = decodeBuzzer(data);
        if (!record) return nak(NAK.COMMAND_LENGTH);
        return device.buzzer(record) ? { code: REPLY.ACK } : nak(NAK.UNABLE_TO_PROCESS);
      }
      case COMMAND.COMSET: {
        const settings = decodeComSettings(data);
        if (!settings) return nak(NAK.COMMAND_LENGTH);
        const baudOk = (STANDARD_BAUDS as readonly number[]).includes(settings.baud);
        if (settings.address > 0x7e || !baudOk) return nak(NAK.UNABLE_TO_PROCESS);
        return {
          code: REPLY.COM,
          data: encodeComSettings(settings),
          after: () => {
            this.address = settings.address;
            device.comset?.(settings);
          },
        };
      }
      case COMMAND.KEYSET: {
        if (!secure) return nak(NAK.ENCRYPTION_REQUIRED);
        const key = decodeKeyset(data);
        if (!key) return nak(NAK.COMMAND_LENGTH);
        try {
          device.keyset(key);
        } catch {
          // Not stored (flash full or failing): the panel must not believe the key is set.
          return nak(NAK.UNABLE_TO_PROCESS);
        }
        this.scbk = key;
        return { code: REPLY.ACK };
      }
      default:
        // TEXT (no display on this reader) and everything outside the Basic profile.
        return nak(NAK.UNKNOWN_COMMAND);
    }
  }

  /** Card and keypad data first, then a status that changed since it was last reported. */
  private pollReply(): Reply {
    const next = this.queue.shift();
    if (next) return next;
    const local = this.localStatusReply();
    if (local.data!.toString('hex') !== this.reported.local) return local;
    const inputs = this.inputStatusReply();
    if (inputs.data!.toString('hex') !== this.reported.inputs) return inputs;
    const outputs = this.outputStatusReply();
    if (outputs.data!.toString('hex') !== this.reported.outputs) return outputs;
    return { code: REPLY.ACK };
  }

  private localStatusReply(): Reply {
    const s = this.options.device.localStatus();
    const data = Buffer.from([s.tamper ? 1 : 0, s.power ? 1 : 0]);
    return { code: REPLY.LSTATR, data, after: () => (this.reported.local = data.toString('hex')) };
  }

  private inputStatusReply(): Reply {
    const data = Buffer.from(this.options.device.inputs().map((on) => (on ? 1 : 0)));
    return { code: REPLY.ISTATR, data, after: () => (this.reported.inputs = data.toString('hex')) };
  }

  private outputStatusReply(): Reply {
    const data = Buffer.from(this.options.device.outputs().map((on) => (on ? 1 : 0)));
    return {
      code: REPLY.OSTATR,
      data,
      after: () => (this.reported.outputs = data.toString('hex')),
    };
  }

  private send(sqn: number, reply: Reply, session: SecureSession | undefined): void {
    if (reply.code === REPLY.NAK) this.counters.naks++;
    const data = reply.data ?? Buffer.alloc(0);
    let bytes: Buffer;
    if (session && !reply.scb) {
      const encrypted = data.length > 0;
      bytes = encodeFrame({
        address: this.address | REPLY_ADDRESS_BIT,
        sqn,
        scb: { type: encrypted ? SCS.REPLY_ENC : SCS.REPLY_MAC, data: Buffer.alloc(0) },
        code: reply.code,
        data: encrypted ? session.encryptReply(data) : data,
        mac: (input) => session.macReply(input),
      });
    } else {
      bytes = encodeFrame({
        address: this.address | REPLY_ADDRESS_BIT,
        sqn,
        ...(reply.scb ? { scb: reply.scb } : {}),
        code: reply.code,
        data,
      });
    }
    this.lastReply = bytes;
    this.options.channel.write(bytes);
    this.counters.replies++;
    reply.after?.();
  }

  private endSession(): void {
    this.pending = undefined;
    if (this.session) {
      this.session = undefined;
      this.emit('secure', false);
    }
  }

  private markAlive(): void {
    const { clock } = this.options;
    this.lastCommandAt = clock.now();
    clock.clearTimeout(this.offlineTimer);
    this.offlineTimer = clock.setTimeout(
      () => this.goOffline(),
      this.options.offlineAfterMs ?? 8000,
    );
    if (!this.online) {
      this.online = true;
      this.emit('online');
    }
  }

  private goOffline(): void {
    this.offlineTimer = undefined;
    this.online = false;
    this.endSession();
    this.lastSqn = undefined;
    this.parser.discardPartial();
    this.options.device.offline?.();
    this.emit('offline');
  }
}
