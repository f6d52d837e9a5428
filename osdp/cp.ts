import { EventEmitter } from 'node:events';
import type { Clock } from '../firmware/foundation/clock';
import type { Channel } from './channel';
import { COMMAND, commandName, NAK, REPLY, REPLY_ADDRESS_BIT, replyName, SCS } from './codes';
import {
  decodeCapabilities,
  decodeCard,
  decodeComSettings,
  decodeDeviceId,
  decodeKeypad,
  encodeBuzzer,
  encodeComSettings,
  encodeKeyset,
  encodeLed,
  encodeOutputs,
  type BuzzerRecord,
  type Capability,
  type CardRead,
  type ComSettings,
  type DeviceId,
  type KeypadRead,
  type LedRecord,
  type OutputRecord,
} from './messages';
import { encodeFrame, nextSqn, PacketParser, type Frame, type SecurityBlock } from './packet';
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

export interface CpOptions {
  channel: Channel;
  clock: Clock;
  /** The PD's address (0..0x7E, or 0x7F to reach whichever PD is on the line). */
  address: number;
  /** CRC-16 (default) or the 8-bit checksum. */
  crc?: boolean;
  /** How long to wait for a reply (the specification gives the PD 200 ms). */
  replyTimeoutMs?: number;
}

/** A reply as the CP understood it: data already decrypted. */
export interface CpReply {
  code: number;
  data: Buffer;
  /** It came MAC'd inside the session. */
  secure: boolean;
  frame: Frame;
}

export class OsdpNakError extends Error {
  constructor(
    readonly command: number,
    readonly reason: number,
  ) {
    super(
      `${commandName(command)} refused: NAK 0x${reason.toString(16).padStart(2, '0')} (${nakText(reason)})`,
    );
  }
}

export class OsdpTimeoutError extends Error {}

export function nakText(reason: number): string {
  const names: Record<number, string> = {
    [NAK.CHECK_CHARACTER]: 'bad check character',
    [NAK.COMMAND_LENGTH]: 'command length',
    [NAK.UNKNOWN_COMMAND]: 'unknown command',
    [NAK.SEQUENCE]: 'unexpected sequence number',
    [NAK.SECURITY_CONDITIONS]: 'security conditions not met',
    [NAK.ENCRYPTION_REQUIRED]: 'encryption required',
    [NAK.UNABLE_TO_PROCESS]: 'unable to process',
  };
  return names[reason] ?? 'unknown reason';
}

/** One line of a packet trace. */
export interface TraceEntry {
  direction: 'cp->pd' | 'pd->cp';
  at: number;
  name: string;
  sqn: number;
  scb?: number;
  bytes: Buffer;
}

/** BUSY replies are retried this often before giving up. */
const BUSY_RETRIES = 5;

/**
 * An OSDP control panel for one PD: one command in flight at a time, replies matched by
 * sequence number, the secure-channel handshake and the session's MAC chain. Tests, the
 * bench and `reader-sim osdp cp` drive a PD through it.
 *
 * Events: 'trace' (TraceEntry) for every packet each way.
 */
export class ControlPanel extends EventEmitter {
  private readonly parser = new PacketParser();
  private readonly unsubscribe: () => void;
  private sqn = 0;
  private session: SecureSession | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private waiting: ((frame: Frame) => void) | undefined;

  constructor(private readonly options: CpOptions) {
    super();
    this.unsubscribe = options.channel.onData((bytes) => this.receive(bytes));
  }

  get secure(): boolean {
    return this.session !== undefined;
  }

  close(): void {
    this.unsubscribe();
  }

  /** Starts the link over (SQN 0): the PD forgets its session too. */
  restart(): void {
    this.sqn = 0;
    this.session = undefined;
  }

  /**
   * Sends one command and resolves with its reply (NAKs included: see `expect`). Inside a
   * session the command is MAC'd and its data encrypted unless `clear` is set.
   */
  send(
    code: number,
    data: Buffer = Buffer.alloc(0),
    opts: { clear?: boolean; scb?: SecurityBlock } = {},
  ): Promise<CpReply> {
    const run = this.tail.then(() => this.exchange(code, data, opts));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Sends and checks the reply code; a NAK becomes an OsdpNakError. */
  async expect(code: number, data: Buffer, replyCode: number): Promise<CpReply> {
    const reply = await this.send(code, data);
    if (reply.code === REPLY.NAK) throw new OsdpNakError(code, reply.data[0]);
    if (reply.code !== replyCode)
      throw new Error(
        `${commandName(code)} answered ${replyName(reply.code)}, not ${replyName(replyCode)}`,
      );
    return reply;
  }

  /**
   * The handshake: CHLNG (SCS_11), check the PD's cryptogram, SCRYPT (SCS_13), check RMAC_I.
   * `scbk` absent = the default key (a PD in install mode).
   */
  async startSecureChannel(scbk?: Buffer): Promise<void> {
    this.session = undefined;
    const keyByte = scbk ? 0x01 : 0x00;
    const key = scbk ?? SCBK_DEFAULT;
    const rndA = randomChallenge();
    const chlng = await this.send(COMMAND.CHLNG, rndA, {
      scb: { type: SCS.CHLNG, data: Buffer.from([keyByte]) },
    });
    if (chlng.code === REPLY.NAK) throw new OsdpNakError(COMMAND.CHLNG, chlng.data[0]);
    if (chlng.code !== REPLY.CCRYPT || chlng.data.length !== 32)
      throw new Error('the PD did not answer CHLNG with CCRYPT');
    const rndB = chlng.data.subarray(8, 16);
    const keys = sessionKeys(key, rndA);
    if (!sameBytes(clientCryptogram(keys, rndA, rndB), chlng.data.subarray(16, 32)))
      throw new Error("the PD's cryptogram does not verify: it has another key");
    const serverCrypt = serverCryptogram(keys, rndA, rndB);
    const scrypt = await this.send(COMMAND.SCRYPT, serverCrypt, {
      scb: { type: SCS.SCRYPT, data: Buffer.from([keyByte]) },
    });
    if (scrypt.code === REPLY.NAK) throw new OsdpNakError(COMMAND.SCRYPT, scrypt.data[0]);
    if (scrypt.code !== REPLY.RMAC_I || scrypt.frame.scb?.data[0] !== 0x01)
      throw new Error('the PD refused our cryptogram');
    const rmac = initialRmac(keys, serverCrypt);
    if (!sameBytes(rmac, scrypt.data)) throw new Error("the PD's initial R-MAC does not verify");
    const session = new SecureSession(keys, rndA, rndB);
    session.rMac = rmac;
    this.session = session;
  }

  async poll(): Promise<CpReply> {
    return this.send(COMMAND.POLL);
  }

  async id(): Promise<DeviceId> {
    return decodeDeviceId((await this.expect(COMMAND.ID, Buffer.from([0]), REPLY.PDID)).data)!;
  }

  async capabilities(): Promise<Capability[]> {
    return decodeCapabilities(
      (await this.expect(COMMAND.CAP, Buffer.from([0]), REPLY.PDCAP)).data,
    )!;
  }

  async localStatus(): Promise<{ tamper: boolean; power: boolean }> {
    const { data } = await this.expect(COMMAND.LSTAT, Buffer.alloc(0), REPLY.LSTATR);
    return { tamper: data[0] === 1, power: data[1] === 1 };
  }

  async inputStatus(): Promise<boolean[]> {
    const { data } = await this.expect(COMMAND.ISTAT, Buffer.alloc(0), REPLY.ISTATR);
    return [...data].map((b) => b === 1);
  }

  async outputStatus(): Promise<boolean[]> {
    const { data } = await this.expect(COMMAND.OSTAT, Buffer.alloc(0), REPLY.OSTATR);
    return [...data].map((b) => b === 1);
  }

  async led(records: LedRecord[]): Promise<void> {
    await this.expect(COMMAND.LED, encodeLed(records), REPLY.ACK);
  }

  async buzzer(record: BuzzerRecord): Promise<void> {
    await this.expect(COMMAND.BUZ, encodeBuzzer(record), REPLY.ACK);
  }

  async output(records: OutputRecord[]): Promise<void> {
    await this.expect(COMMAND.OUT, encodeOutputs(records), REPLY.ACK);
  }

  async comset(settings: ComSettings): Promise<ComSettings> {
    return decodeComSettings(
      (await this.expect(COMMAND.COMSET, encodeComSettings(settings), REPLY.COM)).data,
    )!;
  }

  /** Sets the PD's base key (only inside a session); the next handshake must use it. */
  async keyset(scbk: Buffer): Promise<void> {
    if (!this.session) throw new Error('KEYSET goes only through the secure channel');
    await this.expect(COMMAND.KEYSET, encodeKeyset(scbk), REPLY.ACK);
  }

  /** Follows a COMSET: later commands go to the new address. */
  setAddress(address: number): void {
    this.options.address = address;
  }

  private async exchange(
    code: number,
    data: Buffer,
    opts: { clear?: boolean; scb?: SecurityBlock },
  ): Promise<CpReply> {
    const session = opts.clear || opts.scb ? undefined : this.session;
    const sqn = this.sqn;
    const encrypted = session !== undefined && data.length > 0;
    const bytes = encodeFrame({
      address: this.options.address,
      sqn,
      crc: this.options.crc ?? true,
      ...(opts.scb
        ? { scb: opts.scb }
        : session
          ? { scb: { type: encrypted ? SCS.CMD_ENC : SCS.CMD_MAC, data: Buffer.alloc(0) } }
          : {}),
      code,
      data: encrypted ? session.encryptCommand(data) : data,
      ...(session ? { mac: (input: Buffer) => session.macCommand(input) } : {}),
    });
    let frame: Frame | undefined;
    for (let attempt = 0; ; attempt++) {
      frame = await this.transmit(bytes, sqn);
      if (frame.code !== REPLY.BUSY || attempt >= BUSY_RETRIES) break;
      await this.options.clock.sleep(20);
    }
    this.sqn = nextSqn(sqn);
    let replyData = frame.data;
    const replySecure = frame.scb?.type === SCS.REPLY_MAC || frame.scb?.type === SCS.REPLY_ENC;
    if (session && replySecure) {
      if (!frame.mac || !session.verifyReply(frame.macInput, frame.mac)) {
        this.session = undefined;
        throw new Error(`the reply to ${commandName(code)} has a bad MAC: session closed`);
      }
      if (frame.scb!.type === SCS.REPLY_ENC) {
        const clear = session.decryptReply(frame.data);
        if (!clear) {
          this.session = undefined;
          throw new Error(`the reply to ${commandName(code)} does not decrypt: session closed`);
        }
        replyData = clear;
      }
    } else if (session) {
      // The PD answered a session command in clear: it has dropped the session.
      this.session = undefined;
    }
    return {
      code: frame.code,
      data: replyData,
      secure: session !== undefined && replySecure,
      frame,
    };
  }

  private transmit(bytes: Buffer, sqn: number): Promise<Frame> {
    const { clock, channel } = this.options;
    return new Promise<Frame>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        this.waiting = undefined;
        // The PD may have missed it or answered garbage: start the link over next time.
        this.restart();
        reject(
          new OsdpTimeoutError(
            `no reply from PD 0x${this.options.address.toString(16)} within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
      this.waiting = (frame) => {
        if (frame.sqn !== sqn) return;
        clock.clearTimeout(timer);
        this.waiting = undefined;
        resolve(frame);
      };
      this.trace('cp->pd', bytes);
      channel.write(bytes);
    });
  }

  private get timeoutMs(): number {
    return this.options.replyTimeoutMs ?? 200;
  }

  private receive(bytes: Buffer): void {
    for (const event of this.parser.push(bytes)) {
      if (event.kind !== 'frame') continue;
      const frame = event.frame;
      if (
        frame.address !== ((this.options.address | REPLY_ADDRESS_BIT) & 0xff) &&
        this.options.address !== 0x7f
      )
        continue;
      this.trace('pd->cp', frame.bytes, frame);
      this.waiting?.(frame);
    }
  }

  private trace(direction: TraceEntry['direction'], bytes: Buffer, frame?: Frame): void {
    if (this.listenerCount('trace') === 0) return;
    const parsed = frame ?? decodeForTrace(bytes);
    this.emit('trace', {
      direction,
      at: this.options.clock.now(),
      name: parsed
        ? direction === 'cp->pd'
          ? commandName(parsed.code)
          : replyName(parsed.code)
        : '?',
      sqn: parsed?.sqn ?? -1,
      ...(parsed?.scb ? { scb: parsed.scb.type } : {}),
      bytes,
    } satisfies TraceEntry);
  }
}

function decodeForTrace(bytes: Buffer): Frame | undefined {
  const [event] = new PacketParser().push(bytes);
  return event?.kind === 'frame' ? event.frame : undefined;
}

/** Card data from a POLL reply, or undefined when the reply is something else. */
export function cardFromReply(reply: CpReply): CardRead | undefined {
  return reply.code === REPLY.RAW ? decodeCard(reply.data) : undefined;
}

export function keypadFromReply(reply: CpReply): KeypadRead | undefined {
  return reply.code === REPLY.KEYPAD ? decodeKeypad(reply.data) : undefined;
}
