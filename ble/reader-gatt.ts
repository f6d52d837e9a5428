import { EventEmitter } from 'node:events';
import type { RunningReader } from '../firmware/running-reader';
import type { Timer } from '../firmware/foundation/clock';
import type { ConfigChange } from '../firmware/config';
import type { BleRadioStatus, PhoneInRange } from '../firmware/ports';
import { ReaderLog, SILENT_LOG } from '../firmware/foundation/log';
import { parsePresentation } from '../firmware/foundation/presentation';
import { FIRMWARE_VERSION } from '../firmware/version';
import { readerAdvertisement } from './advertising';
import { encodeCbor } from './cbor';
import { parseCredentialWrite, parseEnrollRecord, proofOf } from './credential-check';
import { PhonesInRange } from './phones-in-range';
import { CHARACTERISTIC_UUIDS, READER_SERVICE_UUID } from './gatt-uuids';
import {
  ErrorReason,
  MAX_WRITE_BYTES,
  PROTOCOL_VERSION,
  ReaderInfo,
  ReaderMode,
  ResultMessage,
} from './protocol';
import { LinkSession } from './session';
import { PkocReaderService } from './pkoc/reader-service';

/* eslint-disable @typescript-eslint/no-explicit-any -- bleno ships no types */
type Bleno = any;
type ReadCallback = (result: number, data?: Buffer) => void;
type WriteCallback = (result: number) => void;
type Notify = (data: Buffer) => void;

/** What the service answered a write with (tests, the bench and the start banner listen). */
export interface GattOutcome {
  handle: number;
  write: 'credential' | 'enroll' | 'pkoc';
  /** The reader-sim device id, or the PKOC credential number. */
  deviceId?: string;
  message: ResultMessage;
}

/** How long `start` waits for the adapter to power on. */
const POWER_ON_TIMEOUT_MS = 10_000;
/** How long to wait for the controller's Read RSSI answer before deciding without it. */
const RSSI_READ_TIMEOUT_MS = 1000;
/** How often the link RSSI of every connected phone is read again (reader clock). */
export const RSSI_REFRESH_MS = 1000;

/**
 * The reader's GATT service on @stoprocent/bleno (one service, five characteristics, see
 * docs/MOBILE.md). The radio outlives the firmware: `attach` gives it the booted reader and
 * `detach` takes it away at power-off; while detached every write is answered `unavailable`.
 *
 * Credential write: CBOR/COSE parse -> cooldown -> link RSSI -> nonce spent -> the signature
 * and challenge verdicts go into Presentation.proof and the reader's own decision gives the
 * reason. A write that cannot be parsed is answered with an `error` result and changes
 * nothing (no event, nonce kept, no LED result).
 *
 * Phones in range: `phones()` lists the links (address, deviceId once presented or enrolled,
 * link RSSI read on connect and every RSSI_REFRESH_MS of the reader's clock, session state)
 * and phones gone for less than the retention; 'phones' is emitted with the list on change.
 *
 * Events: 'outcome' (GattOutcome), 'connect' / 'disconnect' (handle), 'phones' (list).
 */
export class ReaderGattService extends EventEmitter implements BleRadioStatus {
  private firmware: RunningReader | undefined;
  private readonly sessions = new Map<number, LinkSession>();
  private readonly resultSubscribers = new Map<number, Notify>();
  /** Monotonic time until which a device's next presentation is refused (cooldown). */
  private readonly cooldownUntil = new Map<string, number>();
  private readonly log: ReaderLog;
  private readonly inRange: PhonesInRange;
  private lastPhones = '[]';
  private refreshTimer: Timer | undefined;
  private mode: ReaderMode = 'access';
  private advertisedAs = '';
  private started: Promise<void> | undefined;
  private readonly pkoc: PkocReaderService;
  /** Which services are registered now ('' before power-on). */
  private servicesAs = '';

  constructor(
    private readonly bleno: Bleno,
    options: { log?: ReaderLog; goneRetentionMs?: number } = {},
  ) {
    super();
    this.log = options.log ?? SILENT_LOG;
    this.inRange = new PhonesInRange(options.goneRetentionMs);
    this.pkoc = new PkocReaderService(bleno, {
      firmware: () => this.firmware,
      identified: (handle, value) => {
        this.inRange.identified(handle, value, 'pkoc');
        this.phonesChanged();
      },
      processing: (handle) => this.session(handle).beginEnroll(),
      answered: (handle) => {
        this.session(handle).answered();
        this.phonesChanged();
      },
      linkRssi: async (handle) => {
        const rssi = await this.linkRssi(handle);
        if (rssi !== undefined) this.inRange.rssiRead(handle, rssi, this.firmware?.clock.now());
        return rssi;
      },
      outcome: (handle, deviceId, status, reason) => {
        const message: ResultMessage = { status, ...(status === 'granted' ? {} : { reason }) };
        if (status === 'granted' || status === 'enrolled') message.led = 'green';
        else if (status === 'denied') message.led = 'red';
        this.phonesChanged();
        this.log.info({ handle, write: 'pkoc', deviceId, ...message }, 'BLE result');
        this.emit('outcome', { handle, write: 'pkoc', deviceId, message } satisfies GattOutcome);
      },
      log: this.log,
    });
  }

  /** The phones linked now and those gone within the retention, nearest first. */
  phones(): PhoneInRange[] {
    return this.inRange.snapshot((handle) => this.sessions.get(handle)?.state ?? 'connected');
  }

  watchPhones(listener: (phones: PhoneInRange[]) => void): () => void {
    this.on('phones', listener);
    return () => this.off('phones', listener);
  }

  /**
   * Powers the radio on, registers the service; advertising starts once a reader is attached.
   * Fails if the adapter is unsupported or not powered on within `timeoutMs`.
   */
  start(timeoutMs = POWER_ON_TIMEOUT_MS): Promise<void> {
    this.started ??= this.powerOn(timeoutMs);
    return this.started;
  }

  /** The booted firmware now answers; advertising follows its id and enroll mode. */
  attach(firmware: RunningReader): void {
    this.detach();
    this.firmware = firmware;
    firmware.reader.on('enroll', this.onEnroll);
    firmware.config.on('change', this.onConfig);
    this.mode = firmware.reader.enrolling !== undefined ? 'enroll' : 'access';
    this.registerServices();
    this.advertise();
    this.scheduleRefresh();
  }

  /** The firmware went away (power-off): writes are answered `unavailable` until attach. */
  detach(): void {
    if (!this.firmware) return;
    this.pkoc.powerOff();
    // The refresh runs on the firmware's clock: it stops with it and restarts at attach.
    this.firmware.clock.clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.firmware.reader.off('enroll', this.onEnroll);
    this.firmware.config.off('change', this.onConfig);
    this.firmware = undefined;
  }

  /** Ends every link and stops advertising (the bleno host itself keeps its HCI socket). */
  stop(): void {
    this.detach();
    try {
      this.bleno.stopAdvertising();
      this.bleno.disconnect();
    } catch {
      // Not powered on: nothing to stop.
    }
  }

  get advertisedMode(): ReaderMode {
    return this.mode;
  }

  private async powerOn(timeoutMs: number): Promise<void> {
    const { bleno } = this;
    bleno.on('accept', this.onAccept);
    bleno.on('disconnect', this.onDisconnect);
    await new Promise<void>((resolve, reject) => {
      // Adapter I/O, not reader time: a real timer.
      const timer = setTimeout(() => {
        finish(
          new Error(`BLE adapter not powered on within ${timeoutMs} ms (state ${bleno.state})`),
        );
      }, timeoutMs);
      const finish = (err?: Error) => {
        clearTimeout(timer);
        bleno.off('stateChange', onState);
        if (err) reject(err);
        else resolve();
      };
      const onState = (state: string) => {
        if (state === 'poweredOn') finish();
        else if (state === 'unsupported' || state === 'unauthorized') {
          finish(new Error(`BLE adapter ${state}`));
        }
      };
      if (bleno.state === 'poweredOn') finish();
      else bleno.on('stateChange', onState);
    });
    this.registerServices();
    if (this.firmware) this.advertise();
  }

  private readonly onEnroll = ({ active }: { userId: string; active: boolean }) => {
    this.mode = active ? 'enroll' : 'access';
    this.advertise();
  };

  /** A new reader id is advertised at once (the name is the reader id). */
  private readonly onConfig = ({ changed }: ConfigChange) => {
    if (changed.includes('bleReaderSimService') || changed.includes('blePkocService')) {
      this.registerServices();
    }
    this.advertise();
  };

  /** Which of the two phone services the config offers (both until a firmware says). */
  private offered(): { readerSim: boolean; pkoc: boolean } {
    const cfg = this.firmware?.config.get();
    return { readerSim: cfg?.bleReaderSimService ?? true, pkoc: cfg?.blePkocService ?? true };
  }

  /** Registers the offered services (again, when the config changed which). */
  private registerServices(): void {
    if (this.bleno.state !== 'poweredOn') return;
    const offered = this.offered();
    const key = `${offered.readerSim}/${offered.pkoc}`;
    if (key === this.servicesAs) return;
    this.servicesAs = key;
    const services: unknown[] = [];
    if (offered.readerSim) services.push(this.service());
    if (offered.pkoc) services.push(this.pkoc.service());
    this.bleno.setServices(services);
  }

  private advertise(): void {
    const firmware = this.firmware;
    if (!firmware || this.bleno.state !== 'poweredOn') return;
    const readerId = firmware.config.get().readerId;
    const offered = this.offered();
    const key = `${readerId}/${this.mode}/${offered.readerSim}/${offered.pkoc}`;
    if (key === this.advertisedAs) return;
    this.advertisedAs = key;
    const { advertisement, scanResponse } = readerAdvertisement(readerId, this.mode, offered);
    this.bleno.startAdvertisingWithEIRData(advertisement, scanResponse, (err?: Error) => {
      if (err) this.log.warn({ err }, 'BLE advertising did not start');
    });
  }

  private readonly onAccept = (address: string, handle: number) => {
    this.sessions.set(handle, new LinkSession(handle));
    this.inRange.connected(handle, address);
    this.phonesChanged();
    void this.refreshRssi(handle);
    this.scheduleRefresh();
    // Amber from connection until the result (BEHAVIOR.md "Unlocking with the phone").
    this.firmware?.indicator.showTemporary('processing');
    this.log.info({ phone: address, handle }, 'BLE connected');
    this.emit('connect', handle);
  };

  private readonly onDisconnect = (address: string, handle: number) => {
    const session = this.sessions.get(handle);
    this.sessions.delete(handle);
    this.resultSubscribers.delete(handle);
    this.pkoc.disconnected(handle);
    this.inRange.disconnected(handle, this.firmware?.clock.now());
    this.phonesChanged();
    // A phone that leaves without a result must not leave the LED amber.
    const indicator = this.firmware?.indicator;
    if (
      session &&
      session.state !== 'answered' &&
      !session.busy &&
      indicator?.status().visible === 'processing'
    ) {
      indicator.clearTemporary();
    }
    this.log.info({ phone: address, handle }, 'BLE disconnected');
    this.emit('disconnect', handle);
  };

  private session(handle: number): LinkSession {
    let session = this.sessions.get(handle);
    if (!session) {
      session = new LinkSession(handle);
      this.sessions.set(handle, session);
    }
    return session;
  }

  private service(): unknown {
    const { bleno } = this;
    const { Characteristic, PrimaryService } = bleno;
    const readerInfo = new Characteristic({
      uuid: CHARACTERISTIC_UUIDS.readerInfo,
      properties: ['read'],
      onReadRequest: (handle: number, offset: number, callback: ReadCallback) =>
        this.read(handle, 'readerInfo', offset, callback, () => encodeCbor(this.readerInfo())),
    });
    const challenge = new Characteristic({
      uuid: CHARACTERISTIC_UUIDS.challenge,
      properties: ['read', 'notify'],
      onReadRequest: (handle: number, offset: number, callback: ReadCallback) =>
        this.read(handle, 'challenge', offset, callback, () => this.challengeBytes(handle)),
      onSubscribe: (handle: number, _max: number, notify: Notify) => {
        const bytes = this.challengeBytes(handle);
        if (bytes) notify(bytes);
      },
    });
    // The two writable characteristics differ only in what the write carries.
    const writable = (kind: 'credential' | 'enroll') =>
      new Characteristic({
        uuid: CHARACTERISTIC_UUIDS[kind],
        properties: ['write'],
        onWriteRequest: (
          handle: number,
          data: Buffer,
          offset: number,
          _withoutResponse: boolean,
          callback: WriteCallback,
        ) => this.write(handle, kind, data, offset, callback),
      });
    const credential = writable('credential');
    const enroll = writable('enroll');
    const result = new Characteristic({
      uuid: CHARACTERISTIC_UUIDS.result,
      properties: ['notify'],
      onSubscribe: (handle: number, _max: number, notify: Notify) =>
        this.resultSubscribers.set(handle, notify),
      onUnsubscribe: (handle: number) => this.resultSubscribers.delete(handle),
    });
    return new PrimaryService({
      uuid: READER_SERVICE_UUID,
      characteristics: [readerInfo, challenge, credential, enroll, result],
    });
  }

  private readerInfo(): ReaderInfo | undefined {
    const firmware = this.firmware;
    if (!firmware) return undefined;
    const cfg = firmware.config.get();
    return {
      v: PROTOCOL_VERSION,
      readerId: cfg.readerId,
      // This build has no site setting: the access point names the place.
      siteId: cfg.accessPointId,
      mode: this.mode,
      minRssi: firmware.config.minRssi(),
      fw: FIRMWARE_VERSION,
    };
  }

  private challengeBytes(handle: number): Buffer | undefined {
    const firmware = this.firmware;
    if (!firmware) return undefined;
    const now = firmware.clock.now();
    const cfg = firmware.config.get();
    const nonce = this.session(handle).challenge(
      now,
      firmware.clock.monotonic(),
      cfg.bleChallengeTtlMs,
    );
    this.phonesChanged();
    return encodeCbor(
      new Map<string, unknown>([
        ['nonce', nonce.value],
        ['readerId', cfg.readerId],
        ['exp', nonce.exp],
        ['now', now],
      ]),
    );
  }

  /** Reads: offset 0 computes the value, Read Blob continuations slice the same bytes. */
  private read(
    handle: number,
    name: string,
    offset: number,
    callback: ReadCallback,
    value: () => Buffer | undefined,
  ): void {
    const session = this.session(handle);
    let bytes = offset === 0 ? value() : session.readCache.get(name);
    if (offset === 0 && bytes) session.readCache.set(name, bytes);
    if (!bytes) {
      callback(this.bleno.Characteristic.RESULT_UNLIKELY_ERROR);
      return;
    }
    if (offset > bytes.length) {
      callback(this.bleno.Characteristic.RESULT_INVALID_OFFSET);
      return;
    }
    bytes = bytes.subarray(offset);
    callback(this.bleno.Characteristic.RESULT_SUCCESS, bytes);
  }

  private write(
    handle: number,
    kind: 'credential' | 'enroll',
    data: Buffer,
    offset: number,
    callback: WriteCallback,
  ): void {
    const { Characteristic } = this.bleno;
    if (offset !== 0) {
      callback(Characteristic.RESULT_INVALID_OFFSET);
      return;
    }
    if (!Buffer.isBuffer(data) || data.length > MAX_WRITE_BYTES) {
      // Answered with a result, not an ATT error: @stoprocent/noble never settles a long
      // write whose Execute Write gets an ATT error, so a phone on it would hang.
      callback(Characteristic.RESULT_SUCCESS);
      this.refuse(handle, kind, 'too_large');
      return;
    }
    callback(Characteristic.RESULT_SUCCESS);
    const work = kind === 'credential' ? this.credential(handle, data) : this.enroll(handle, data);
    work.catch((err: unknown) => {
      // The reader refused it (shutting down): the connection may present again.
      const session = this.sessions.get(handle);
      if (session?.busy) session.answered();
      this.log.error({ err, kind }, 'BLE write failed');
      this.answer(handle, kind, { status: 'error', reason: 'unavailable' });
    });
  }

  private refuse(handle: number, kind: GattOutcome['write'], reason: ErrorReason): void {
    this.answer(handle, kind, { status: 'error', reason });
  }

  private async credential(handle: number, data: Buffer): Promise<void> {
    const firmware = this.firmware;
    const session = this.session(handle);
    if (!firmware) return this.refuse(handle, 'credential', 'unavailable');
    if (session.busy) return this.refuse(handle, 'credential', 'busy');
    const parsed = parseCredentialWrite(data);
    if (!parsed) return this.refuse(handle, 'credential', 'bad_request');
    if (firmware.reader.enrolling !== undefined)
      return this.refuse(handle, 'credential', 'enroll_mode');
    const { clock, config, store, reader } = firmware;
    const { deviceId } = parsed.payload;
    this.inRange.identified(handle, deviceId);
    this.phonesChanged();
    if ((this.cooldownUntil.get(deviceId) ?? -Infinity) > clock.monotonic())
      return this.refuse(handle, 'credential', 'cooldown');

    const now = clock.now();
    const cfg = config.get();
    const nonceFresh = session.spend(parsed.payload.nonce, clock.monotonic());
    this.phonesChanged();
    const enrolled = store.database.findCredential('mobile', deviceId);
    const proof = proofOf(parsed, {
      enrolledKey: enrolled ? (enrolled.publicKey ?? '') : undefined,
      nonceFresh,
      readerId: cfg.readerId,
      now,
      skewMs: cfg.bleClockSkewMs,
    });
    this.notifyResult(handle, { status: 'received' });
    const rssi = await this.linkRssi(handle);
    if (rssi !== undefined) this.inRange.rssiRead(handle, rssi, clock.now());
    // Enroll mode may have begun while the RSSI was read: the reader would capture this.
    if (firmware.reader.enrolling !== undefined) {
      session.answered();
      return this.refuse(handle, 'credential', 'enroll_mode');
    }
    const presentation = parsePresentation({
      kind: 'mobile',
      value: deviceId,
      source: 'ble',
      profile: 'reader-sim',
      accessPointId: cfg.accessPointId,
      at: now,
      proof,
      ...(rssi === undefined ? {} : { rssi }),
    });
    const { decision, error } = await reader.present(presentation);
    session.answered();
    if (enrolled && proof.signatureValid) {
      this.cooldownUntil.set(deviceId, clock.monotonic() + config.get().blePhoneCooldownMs);
    }
    if (error) return this.refuse(handle, 'credential', 'unavailable');
    switch (decision.outcome) {
      case 'grant':
        return this.answer(handle, 'credential', { status: 'granted', led: 'green' }, deviceId);
      case 'deny':
      case 'need_pin':
        return this.answer(
          handle,
          'credential',
          { status: 'denied', reason: decision.reason, led: 'red' },
          deviceId,
        );
      case 'capture':
        // Enroll mode began while this presentation waited: it carried no key to capture.
        return this.refuse(handle, 'credential', 'enroll_mode');
      case 'panel':
        // osdp-pd role: the credential went to the panel, whose answer shows on the LED.
        return this.answer(handle, 'credential', { status: 'forwarded' }, deviceId);
    }
  }

  private async enroll(handle: number, data: Buffer): Promise<void> {
    const firmware = this.firmware;
    const session = this.session(handle);
    if (!firmware) return this.refuse(handle, 'enroll', 'unavailable');
    if (session.busy) return this.refuse(handle, 'enroll', 'busy');
    const record = parseEnrollRecord(data);
    if (!record) return this.refuse(handle, 'enroll', 'bad_request');
    if (firmware.reader.enrolling === undefined)
      return this.refuse(handle, 'enroll', 'not_enroll_mode');
    session.beginEnroll();
    this.inRange.identified(handle, record.deviceId);
    this.phonesChanged();
    const { clock, config, reader } = firmware;
    // The same capture path as the host API's sim control: enroll mode turns a mobile
    // presentation into Raw Data. It proves nothing, so if enroll mode ended meanwhile
    // the decision denies it (bad_signature) instead of judging it as a credential.
    const { decision, error } = await reader.present(
      parsePresentation({
        kind: 'mobile',
        value: record.deviceId,
        publicKey: record.publicKey,
        source: 'ble',
        profile: 'reader-sim',
        accessPointId: config.get().accessPointId,
        at: clock.now(),
        proof: { signatureValid: false, challengeFresh: false },
      }),
    );
    session.answered();
    if (error) return this.refuse(handle, 'enroll', 'unavailable');
    if (decision.outcome === 'capture') {
      return this.answer(handle, 'enroll', { status: 'enrolled', led: 'green' }, record.deviceId);
    }
    return this.refuse(handle, 'enroll', 'not_enroll_mode');
  }

  /** The final answer to a write: notified to this connection (if subscribed) and reported. */
  private answer(
    handle: number,
    write: GattOutcome['write'],
    message: ResultMessage,
    deviceId?: string,
  ): void {
    this.phonesChanged();
    this.notifyResult(handle, message);
    this.log.info({ handle, write, deviceId, ...message }, 'BLE result');
    this.emit('outcome', { handle, write, deviceId, message } satisfies GattOutcome);
  }

  private notifyResult(handle: number, message: ResultMessage): void {
    const notify = this.resultSubscribers.get(handle);
    try {
      notify?.(encodeCbor(new Map(Object.entries(message))));
    } catch (err) {
      this.log.warn({ err, handle }, 'result notification failed');
    }
  }

  /** Emits 'phones' when the list differs from the one last emitted. */
  private phonesChanged(): void {
    const phones = this.phones();
    const text = JSON.stringify(phones);
    if (text === this.lastPhones) return;
    this.lastPhones = text;
    this.emit('phones', phones);
  }

  private async refreshRssi(handle: number): Promise<void> {
    const rssi = await this.linkRssi(handle);
    if (rssi === undefined) return;
    this.inRange.rssiRead(handle, rssi, this.firmware?.clock.now());
    this.phonesChanged();
  }

  /**
   * While any phone is listed and a firmware runs: every RSSI_REFRESH_MS of its clock, read
   * each link's RSSI again and drop the gone phones past their retention.
   */
  private scheduleRefresh(): void {
    const clock = this.firmware?.clock;
    if (!clock || this.refreshTimer !== undefined || this.inRange.empty) return;
    this.refreshTimer = clock.setTimeout(() => {
      this.refreshTimer = undefined;
      if (this.inRange.prune(clock.now())) this.phonesChanged();
      for (const handle of this.inRange.handles()) void this.refreshRssi(handle);
      this.scheduleRefresh();
    }, RSSI_REFRESH_MS);
  }

  /** The link RSSI as the controller measures it (HCI Read RSSI), if the binding exposes it. */
  private linkRssi(handle: number): Promise<number | undefined> {
    const hci = this.bleno._bindings?._hci;
    if (!hci || typeof hci.readRssi !== 'function') return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onRssi = (h: number, rssi: number) => {
        if (h !== handle) return;
        done(rssi);
      };
      // I/O timeout on the adapter, not reader time: the real timer is right here.
      const timer = setTimeout(() => done(undefined), RSSI_READ_TIMEOUT_MS);
      const done = (rssi: number | undefined) => {
        clearTimeout(timer);
        hci.off('rssiRead', onRssi);
        resolve(rssi);
      };
      hci.on('rssiRead', onRssi);
      hci.readRssi(handle);
    });
  }
}
