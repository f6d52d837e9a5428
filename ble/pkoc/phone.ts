import { createECDH, KeyObject } from 'node:crypto';
import type { DeviceKey } from '../device-key';
import type { FoundReader, PhoneState, VirtualPhone } from '../phone';
import { within } from '../phone';
import type { ResultMessage } from '../protocol';
import {
  decodeReaderHello,
  decodeReaderSignature,
  decodeResponse,
  ecdheSessionKey,
  ecdheSignedData,
  encodeCredentialMessage,
  encodeEncryptedCredential,
  encodePhoneTransientKey,
  ReaderHello,
  ReaderResponse,
  READER_VERSION,
  signTransaction,
  uncompressedOf,
  verifyTransaction,
} from './messages';
import {
  PKOC_CHARACTERISTIC_UUIDS,
  PKOC_LEGACY_SERVICE_UUID,
  PKOC_SERVICE_UUID,
  PKOC_TAGS,
} from './spec';

/* eslint-disable @typescript-eslint/no-explicit-any -- noble ships no types */

const DEFAULT_STEP_MS = 5000;

/**
 * The ECDHE flow's refusal on the phone's side: the reader's signature does not verify with
 * the site public key the phone was given (another site, or an impostor). The phone sends
 * no credential.
 */
export class SiteNotProven extends Error {
  constructor() {
    super('the reader did not prove the site (ECDHE signature does not verify)');
    this.name = 'SiteNotProven';
  }
}

/** One connection to a reader's PKOC service: the phone side of the normal flow. */
export class PkocLink {
  private readonly notes: Buffer[] = [];
  private waiting: Array<() => void> = [];
  private closed = false;

  private constructor(
    readonly peripheral: any,
    private readonly read: any,
    private readonly write: any,
  ) {
    read.on('data', (data: Buffer, isNotification: boolean) => {
      // noble reports reads here too: only notifications are the reader speaking on its own.
      if (!isNotification) return;
      this.notes.push(Buffer.from(data));
      this.waiting.splice(0).forEach((w) => w());
    });
    peripheral.once('disconnect', () => {
      this.closed = true;
      this.waiting.splice(0).forEach((w) => w());
    });
  }

  static async open(found: FoundReader): Promise<PkocLink> {
    const p = found.peripheral;
    // The service the reader advertised: 0xFFF0, or the legacy one an older reader offers.
    const advertised: string[] = p.advertisement?.serviceUuids ?? [];
    const service = advertised.includes(PKOC_SERVICE_UUID)
      ? PKOC_SERVICE_UUID
      : PKOC_LEGACY_SERVICE_UUID;
    await p.connectAsync({});
    let characteristics: any[];
    try {
      ({ characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync(
        [service],
        Object.values(PKOC_CHARACTERISTIC_UUIDS),
      ));
    } catch (err) {
      await p.disconnectAsync().catch(() => undefined);
      throw err instanceof Error ? err : new Error(String(err));
    }
    const read = characteristics.find((c: any) => c.uuid === PKOC_CHARACTERISTIC_UUIDS.read);
    const write = characteristics.find((c: any) => c.uuid === PKOC_CHARACTERISTIC_UUIDS.write);
    if (!read || !write) {
      await p.disconnectAsync();
      throw new Error('reader has no PKOC read and write characteristics');
    }
    return new PkocLink(p, read, write);
  }

  /** Subscribes; the reader answers with its hello (version, transaction, location, site). */
  async hello(timeoutMs = DEFAULT_STEP_MS): Promise<ReaderHello> {
    await this.read.subscribeAsync();
    const bytes = await this.next(timeoutMs, (b) => b[0] === PKOC_TAGS.protocolVersion);
    const hello = decodeReaderHello(bytes);
    if (!hello) throw new Error('the reader hello is not the PKOC TLVs');
    return hello;
  }

  /** Notifications received and not yet taken by hello() or response() (tests). */
  get unread(): readonly Buffer[] {
    return this.notes;
  }

  /**
   * The ECDHE flow's first step: send a transient key, check the reader's signature with
   * the site's public key. Returns what the credential must be signed over and encrypted
   * with; throws when the reader does not prove the site.
   */
  async ecdhe(
    hello: ReaderHello,
    sitePublicKey: KeyObject,
    timeoutMs = DEFAULT_STEP_MS,
  ): Promise<{ signedData: Buffer; key: Buffer }> {
    const ecdh = createECDH('prime256v1');
    const transient = ecdh.generateKeys();
    await this.writeCredential(encodePhoneTransientKey(transient, READER_VERSION));
    const signature = decodeReaderSignature(
      await this.next(timeoutMs, (b) => b[0] === PKOC_TAGS.signature),
    );
    const signedData = ecdheSignedData(hello, transient);
    if (!signature || !verifyTransaction(signedData, signature, sitePublicKey)) {
      throw new SiteNotProven();
    }
    return { signedData, key: ecdheSessionKey(ecdh.computeSecret(hello.transactionId)) };
  }

  writeCredential(bytes: Buffer): Promise<void> {
    return this.write.writeAsync(bytes, false);
  }

  /** The response TLV, with the reason the reader gives on a read after it. */
  async response(timeoutMs = DEFAULT_STEP_MS): Promise<ReaderResponse> {
    const bytes = await this.next(timeoutMs, (b) => b[0] === PKOC_TAGS.response);
    const response = decodeResponse(bytes);
    if (!response) throw new Error('the reader response is not a PKOC response TLV');
    const detailed = decodeResponse(await this.read.readAsync());
    return detailed?.code === response.code ? detailed : response;
  }

  async disconnect(): Promise<void> {
    if (this.closed) return;
    await this.peripheral.disconnectAsync();
  }

  private async next(timeoutMs: number, match: (b: Buffer) => boolean): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.notes.findIndex(match);
      if (index >= 0) return this.notes.splice(0, index + 1)[index]!;
      if (this.closed) throw new Error('the reader disconnected before answering');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no PKOC answer from the reader within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }
}

/**
 * The credential message for a hello: `identity`'s public key and a signature over the
 * transaction identifier by `signer` (the same key, unless a tester clones another phone).
 */
export function pkocCredential(
  hello: Pick<ReaderHello, 'transactionId'>,
  signer: KeyObject,
  identity: KeyObject,
  lastUpdateTime?: number,
  signedData: Buffer = hello.transactionId,
): Buffer {
  return encodeCredentialMessage({
    publicKey: uncompressedOf(identity),
    signature: signTransaction(signedData, signer),
    ...(lastUpdateTime === undefined ? {} : { lastUpdateTime }),
    version: READER_VERSION,
  });
}

/** The reader's PKOC answer in the words of the app (and the reason codes of docs/READER.md). */
export function resultOf(response: ReaderResponse): ResultMessage {
  const reason = response.reason;
  if (response.code === 'accessGranted') return { status: 'granted' };
  if (response.code === 'completedTransaction' && reason === 'enrolled')
    return { status: 'enrolled' };
  // osdp-pd role: the reader read it and sent it on to the access panel.
  if (response.code === 'completedTransaction' && reason === 'forwarded')
    return { status: 'forwarded' };
  if (reason?.startsWith('error: ')) return { status: 'error', reason: reason.slice(7) };
  return {
    status: 'denied',
    reason: reason ?? (response.code === 'signatureInvalid' ? 'bad_signature' : response.code),
  };
}

export interface PkocPresentOptions {
  readerId?: string;
  timeoutMs?: number;
  /** The credential bytes to send instead of a fresh signature (replay). */
  bytes?: Buffer;
  /** Present this public key instead of the phone's own, signed with the phone's key (clone). */
  as?: KeyObject;
  /** Called with exactly the bytes written. */
  sent?: (bytes: Buffer) => void;
  /** Use the ECDHE flow with this site's public key (else the normal flow). */
  sitePublicKey?: KeyObject;
}

/**
 * One PKOC presentation as an app makes it: find a reader offering 0xFFF0, connect,
 * subscribe for the hello, write the credential, wait for the response.
 */
export async function pkocPresent(
  phone: VirtualPhone,
  key: DeviceKey,
  options: PkocPresentOptions = {},
): Promise<ResultMessage> {
  const ms = options.timeoutMs ?? DEFAULT_STEP_MS;
  const show = (s: PhoneState) => phone.emit('state', s);
  const reader = await phone.find(options.readerId, options.timeoutMs, 'pkoc');
  show({ state: 'connecting', readerId: reader.readerId });
  const link = await within(PkocLink.open(reader), ms, 'connect');
  try {
    const hello = await link.hello(ms);
    let bytes: Buffer;
    if (options.bytes) bytes = options.bytes;
    else if (options.sitePublicKey) {
      const session = await link.ecdhe(hello, options.sitePublicKey, ms);
      const plain = pkocCredential(
        hello,
        key.privateKey,
        options.as ?? key.publicKey,
        undefined,
        session.signedData,
      );
      bytes = encodeEncryptedCredential(plain, session.key, 1);
    } else bytes = pkocCredential(hello, key.privateKey, options.as ?? key.publicKey);
    await within(link.writeCredential(bytes), ms, 'credential write');
    options.sent?.(bytes);
    show({ state: 'credential sent' });
    const result = resultOf(await link.response(ms));
    if (result.status === 'granted' || result.status === 'enrolled') show({ state: result.status });
    else if (result.status === 'denied') show({ state: 'denied', reason: result.reason ?? '?' });
    else show({ state: 'error', reason: result.reason ?? '?' });
    return result;
  } finally {
    await within(link.disconnect(), ms, 'disconnect').catch(() => undefined);
  }
}
