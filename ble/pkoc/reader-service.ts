import { createECDH, createHash, ECDH } from 'node:crypto';
import type { RunningReader } from '../../firmware/running-reader';
import type { ReaderLog } from '../../firmware/foundation/log';
import { parsePresentation } from '../../firmware/foundation/presentation';
import { spkiBase64 } from '../cose';
import {
  credentialNumber,
  decodeCredentialMessage,
  decodeEncryptedCredential,
  decodePhoneTransientKey,
  ecdheSessionKey,
  ecdheSignedData,
  encodeReaderHello,
  encodeReaderSignature,
  encodeResponse,
  encodeResponseWithReason,
  READER_VERSION,
  ReaderResponse,
  signTransaction,
  siteKeyPair,
  verifyTransaction,
} from './messages';
import { PKOC_CHARACTERISTIC_UUIDS, PKOC_SERVICE_UUID, PkocResponseName } from './spec';

/* eslint-disable @typescript-eslint/no-explicit-any -- bleno ships no types */
type Bleno = any;
type Notify = (data: Buffer) => void;

/** Most writes a PKOC credential message can be; longer ones are not read. */
export const PKOC_MAX_WRITE_BYTES = 256;
/** Spent transactions remembered (per reader) to name a replayed signature `replay`. */
const SPENT_REMEMBERED = 64;

/** What the PKOC service needs from the reader's radio it lives in. */
export interface PkocHost {
  firmware(): RunningReader | undefined;
  /** The phone on this link presented this credential number (phones in range). */
  identified(handle: number, value: string): void;
  /** The link's session moves: processing, then answered. */
  processing(handle: number): void;
  answered(handle: number): void;
  linkRssi(handle: number): Promise<number | undefined>;
  /** Reported like every write: tests, the bench and the banner listen. */
  outcome(
    handle: number,
    value: string | undefined,
    status: PkocOutcomeStatus,
    reason?: string,
  ): void;
  log: ReaderLog;
}

/** forwarded: osdp-pd role, the credential went to the access panel (docs/OSDP.md). */
export type PkocOutcomeStatus = 'granted' | 'denied' | 'enrolled' | 'forwarded' | 'error';

/** One connection's PKOC transaction: the transient key whose public half the phone signs. */
interface Transaction {
  id: Buffer;
  /** The transient key pair whose public half is `id` (ECDH in the ECDHE flow). */
  ecdh: ECDH;
  /** Once the phone chose the ECDHE flow: the AES key, the next message counter, what is signed. */
  ecdhe?: { key: Buffer; counter: number; signedData: Buffer };
  /** Monotonic time after which a signature over it is refused. */
  expires: number;
  spent: boolean;
  busy: boolean;
  notify?: Notify;
  /** The last answer, for a read of the read characteristic. */
  answer?: ReaderResponse;
}

/**
 * PKOC over BLE, the reader side (docs/PKOC.md): the service 0xFFF0 with the read/notify and
 * write characteristics. On subscribe the reader sends its hello (version, transaction
 * identifier, location, site); the phone writes its public key and its signature over the
 * transaction identifier; the reader notifies one response TLV.
 *
 * The signature proves the phone holds the key; the credential number derived from the key
 * is the mobile credential value the database is searched by, and a credential that carries
 * a public key must carry this one. Decisions, reasons and events are the reader's own.
 * A write that is not a well-formed credential message is ignored: no answer, no change.
 */
export class PkocReaderService {
  private readonly transactions = new Map<number, Transaction>();
  /** Monotonic time until which a credential number's next presentation is refused. */
  private readonly cooldownUntil = new Map<string, number>();
  private readonly spent: Buffer[] = [];

  constructor(
    private readonly bleno: Bleno,
    private readonly host: PkocHost,
  ) {}

  disconnected(handle: number): void {
    this.transactions.delete(handle);
  }

  /**
   * The firmware lost power: what it held in RAM is gone (open transactions, the spent ones,
   * cooldowns on its monotonic clock). Nothing needs to outlive it: a transaction id is a
   * fresh random key per connection, so a signature recorded before the cut verifies over no
   * transaction offered after it and is refused `bad_signature` (docs/PKOC.md).
   */
  powerOff(): void {
    this.transactions.clear();
    this.cooldownUntil.clear();
    this.spent.length = 0;
  }

  service(): unknown {
    const { Characteristic, PrimaryService } = this.bleno;
    const read = new Characteristic({
      uuid: PKOC_CHARACTERISTIC_UUIDS.read,
      properties: ['read', 'notify'],
      onReadRequest: (
        handle: number,
        offset: number,
        callback: (r: number, d?: Buffer) => void,
      ) => {
        const value = this.readValue(handle);
        if (!value) return callback(Characteristic.RESULT_UNLIKELY_ERROR);
        if (offset > value.length) return callback(Characteristic.RESULT_INVALID_OFFSET);
        callback(Characteristic.RESULT_SUCCESS, value.subarray(offset));
      },
      onSubscribe: (handle: number, _max: number, notify: Notify) => {
        const hello = this.hello(handle);
        if (!hello) return;
        this.transactions.get(handle)!.notify = notify;
        notify(hello);
      },
      onUnsubscribe: (handle: number) => {
        const t = this.transactions.get(handle);
        if (t) t.notify = undefined;
      },
    });
    const write = new Characteristic({
      uuid: PKOC_CHARACTERISTIC_UUIDS.write,
      properties: ['write', 'writeWithoutResponse'],
      onWriteRequest: (
        handle: number,
        data: Buffer,
        offset: number,
        _withoutResponse: boolean,
        callback: (r: number) => void,
      ) => {
        if (offset !== 0) return callback(Characteristic.RESULT_INVALID_OFFSET);
        callback(Characteristic.RESULT_SUCCESS);
        this.credentialWrite(handle, data).catch((err: unknown) => {
          this.host.log.error({ err }, 'PKOC write failed');
          const t = this.transactions.get(handle);
          if (t) t.busy = false;
          this.respond(handle, undefined, 'accessDenied', 'unavailable', 'error');
        });
      },
    });
    return new PrimaryService({ uuid: PKOC_SERVICE_UUID, characteristics: [read, write] });
  }

  /** The identifiers the reader announces (config, or derived from the reader's names). */
  static identifiers(firmware: RunningReader): { readerLocationId: Buffer; siteId: Buffer } {
    const cfg = firmware.config.get();
    return {
      readerLocationId: identifier(cfg.pkocReaderLocationId, `reader:${cfg.readerId}`),
      siteId: identifier(cfg.pkocSiteId, `site:${cfg.accessPointId}`),
    };
  }

  /** A fresh transaction for this link (one per connection), as the hello TLVs. */
  private hello(handle: number): Buffer | undefined {
    const firmware = this.host.firmware();
    if (!firmware) return undefined;
    let t = this.transactions.get(handle);
    if (!t) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      t = {
        id: ecdh.getPublicKey(undefined, 'compressed'),
        ecdh,
        expires: firmware.clock.monotonic() + firmware.config.get().bleChallengeTtlMs,
        spent: false,
        busy: false,
      };
      this.transactions.set(handle, t);
    }
    return encodeReaderHello({
      version: READER_VERSION,
      transactionId: t.id,
      ...PkocReaderService.identifiers(firmware),
    });
  }

  private readValue(handle: number): Buffer | undefined {
    const t = this.transactions.get(handle);
    if (t?.answer) return encodeResponseWithReason(t.answer);
    return this.hello(handle);
  }

  private async credentialWrite(handle: number, data: Buffer): Promise<void> {
    const t = this.transactions.get(handle);
    // Out of order (no hello yet), or a second write while one is decided: nothing to answer.
    if (!t || t.busy || !Buffer.isBuffer(data) || data.length > PKOC_MAX_WRITE_BYTES) return;
    const phoneTransientKey = decodePhoneTransientKey(data);
    if (phoneTransientKey) return this.ecdheStart(handle, t, phoneTransientKey);
    // After the ECDHE start only the encrypted credential is taken, signed over the ECDHE data.
    let plain = data;
    let signedData = t.id;
    if (t.ecdhe) {
      const opened = decodeEncryptedCredential(data, t.ecdhe.key, t.ecdhe.counter);
      if (!opened) return;
      t.ecdhe.counter++;
      plain = opened;
      signedData = t.ecdhe.signedData;
    }
    const parsed = decodeCredentialMessage(plain);
    if (!parsed) return;
    const firmware = this.host.firmware();
    if (!firmware) return this.respond(handle, undefined, 'accessDenied', 'unavailable', 'error');
    const { clock, config, store, reader } = firmware;
    const cfg = config.get();
    const { message, key } = parsed;
    const value = credentialNumber(message.publicKey, cfg.pkocCredentialBits);
    const spki = spkiBase64(key);
    this.host.identified(handle, value);
    if ((this.cooldownUntil.get(value) ?? -Infinity) > clock.monotonic())
      return this.respond(handle, value, 'accessDenied', 'cooldown', 'error');

    t.busy = true;
    this.host.processing(handle);
    const signed = verifyTransaction(signedData, message.signature, key);
    const fresh = !t.spent && clock.monotonic() <= t.expires;
    const wasSpent = t.spent;
    t.spent = true;
    this.remember(signedData);
    const enrolled = store.database.findCredential('mobile', value);
    // A credential pushed with a key holds only that key: a key sharing the number is another phone.
    const keyMatches = !enrolled?.publicKey || enrolled.publicKey === spki;
    // A signature over an earlier transaction is a replay, not a forgery.
    const replayed = !signed && (wasSpent || this.signedEarlier(message.signature, key));
    const proof = {
      signatureValid: (signed || replayed) && keyMatches,
      challengeFresh: fresh && signed,
    };
    const rssi = await this.host.linkRssi(handle);
    const enrolling = reader.enrolling !== undefined;
    if (enrolling && !(signed && fresh)) {
      // Enroll mode captures only a phone that proved it holds the key, in this transaction.
      t.busy = false;
      this.host.answered(handle);
      return this.respond(handle, value, 'signatureInvalid', 'bad_signature', 'error');
    }
    const { decision, error } = await reader.present(
      parsePresentation({
        kind: 'mobile',
        value,
        source: 'ble',
        profile: 'pkoc',
        accessPointId: cfg.accessPointId,
        at: clock.now(),
        proof,
        ...(enrolling ? { publicKey: spki } : {}),
        ...(rssi === undefined ? {} : { rssi }),
      }),
    );
    t.busy = false;
    this.host.answered(handle);
    if (enrolled && signed && keyMatches) {
      this.cooldownUntil.set(value, clock.monotonic() + config.get().blePhoneCooldownMs);
    }
    if (error) return this.respond(handle, value, 'accessDenied', 'unavailable', 'error');
    switch (decision.outcome) {
      case 'grant':
        return this.respond(handle, value, 'accessGranted', 'granted', 'granted');
      case 'capture':
        return this.respond(handle, value, 'completedTransaction', 'enrolled', 'enrolled');
      case 'deny':
      case 'need_pin': {
        const code = decision.reason === 'bad_signature' ? 'signatureInvalid' : 'accessDenied';
        return this.respond(handle, value, code, decision.reason, 'denied');
      }
      case 'panel':
        // osdp-pd role: read and sent on; the panel's answer shows on the LED.
        return this.respond(handle, value, 'completedTransaction', 'forwarded', 'forwarded');
    }
  }

  /**
   * The phone asked for the ECDHE flow with its transient key: derive the session key from
   * the two transient keys and prove the site by signing both X coordinates with the site
   * key. Nothing is decided yet; without a site key, or a second time, the write is ignored.
   */
  private ecdheStart(handle: number, t: Transaction, phoneTransientKey: Buffer): void {
    const firmware = this.host.firmware();
    const siteKey = firmware?.config.get().pkocSiteKey;
    if (!firmware || !siteKey || t.ecdhe || t.spent) return;
    const hello = { transactionId: t.id, ...PkocReaderService.identifiers(firmware) };
    const signedData = ecdheSignedData(hello, phoneTransientKey);
    t.ecdhe = {
      key: ecdheSessionKey(t.ecdh.computeSecret(phoneTransientKey)),
      counter: 1,
      signedData,
    };
    const signature = signTransaction(signedData, siteKeyPair(siteKey).privateKey);
    try {
      t.notify?.(encodeReaderSignature(signature));
    } catch (err) {
      this.host.log.warn({ err, handle }, 'PKOC site signature notification failed');
    }
  }

  private remember(id: Buffer): void {
    if (this.spent.some((s) => s.equals(id))) return;
    this.spent.push(id);
    if (this.spent.length > SPENT_REMEMBERED) this.spent.shift();
  }

  private signedEarlier(signature: Buffer, key: Parameters<typeof verifyTransaction>[2]): boolean {
    return this.spent.some((id) => verifyTransaction(id, signature, key));
  }

  private respond(
    handle: number,
    value: string | undefined,
    code: PkocResponseName,
    reason: string,
    status: PkocOutcomeStatus,
  ): void {
    const t = this.transactions.get(handle);
    if (t) t.answer = { code, reason: status === 'error' ? `error: ${reason}` : reason };
    try {
      t?.notify?.(encodeResponse(code));
    } catch (err) {
      this.host.log.warn({ err, handle }, 'PKOC response notification failed');
    }
    this.host.outcome(handle, value, status, reason);
  }
}

/** A configured UUID as 16 bytes, or 16 bytes derived from a name when none is set. */
function identifier(uuid: string, name: string): Buffer {
  if (uuid) return Buffer.from(uuid.replace(/-/g, ''), 'hex');
  return createHash('sha256').update(name).digest().subarray(0, 16);
}
