import { EventEmitter } from 'node:events';
import type { Clock } from '../firmware/foundation/clock';
import { SystemClock } from '../firmware/foundation/clock';
import { decodeCbor, encodeCbor, isBytes, textKeyedMap } from './cbor';
import { coseKeyOf, signSign1 } from './cose';
import type { DeviceKey } from './device-key';
import { CHARACTERISTIC_UUIDS, CharacteristicName, READER_SERVICE_UUID } from './gatt-uuids';
import { PKOC_LEGACY_SERVICE_UUID, PKOC_SERVICE_UUID } from './pkoc/spec';
import {
  Challenge,
  modeFromManufacturerData,
  NONCE_BYTES,
  ReaderInfo,
  ReaderMode,
  ResultMessage,
} from './protocol';

/* eslint-disable @typescript-eslint/no-explicit-any -- noble ships no types */
type Noble = any;
type Peripheral = any;

/** A reader heard on the air. */
export interface FoundReader {
  readerId: string;
  address: string;
  rssi: number;
  mode: ReaderMode | undefined;
  /** The phone protocols it advertises. */
  profiles: PhoneProfile[];
  peripheral: Peripheral;
}

export type PhoneProfile = 'reader-sim' | 'pkoc';

/** The advertised service UUIDs that name each profile. */
const PROFILE_SERVICES: Record<PhoneProfile, string[]> = {
  'reader-sim': [READER_SERVICE_UUID],
  pkoc: [PKOC_SERVICE_UUID, PKOC_LEGACY_SERVICE_UUID],
};

/** The states the phone app shows (BEHAVIOR.md "Unlocking with the phone"). */
export type PhoneState =
  | { state: 'scanning' }
  | { state: 'in range'; readerId: string; rssi: number; mode?: ReaderMode }
  | { state: 'connecting'; readerId: string }
  | { state: 'credential sent' }
  | { state: 'enroll sent' }
  | { state: 'granted' }
  | { state: 'denied'; reason: string }
  | { state: 'enrolled' }
  | { state: 'error'; reason: string };

/** The app's wording: `in range (-48 dBm)`, `denied: too_far`. */
export function describeState(s: PhoneState): string {
  switch (s.state) {
    case 'in range':
      return `in range (${s.rssi} dBm)`;
    case 'denied':
    case 'error':
      return `${s.state}: ${s.reason}`;
    default:
      return s.state;
  }
}

const FINAL_STATUSES = new Set(['granted', 'denied', 'enrolled', 'forwarded', 'error']);

/** How long one step of an unlock or enrollment may take unless the caller says otherwise. */
const DEFAULT_STEP_MS = 5000;

/** `promise`, or a rejection naming the step once `ms` pass first. */
export function within<T>(promise: Promise<T>, ms: number, step: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${step}: no answer from the reader within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** How an unlock goes; the last three are a security tester's. */
export interface UnlockOptions {
  readerId?: string;
  timeoutMs?: number;
  /** Called with exactly the credential bytes written (record). */
  sent?: (bytes: Buffer) => void;
  /** Write these bytes instead of a fresh presentation (replay). */
  bytes?: Buffer;
  /** Present this device id, signed with this phone's key (clone). */
  as?: string;
}

/** One connection to a reader's service: the phone side of the GATT protocol. */
export class PhoneLink {
  private readonly results: ResultMessage[] = [];
  private waiting: Array<() => void> = [];
  private closed = false;

  constructor(
    readonly peripheral: Peripheral,
    private readonly chars: Record<CharacteristicName, any>,
  ) {
    chars.result.on('data', (data: Buffer) => {
      const map = textKeyedMap(decodeCbor(data)?.value);
      if (!map || typeof map.get('status') !== 'string') return;
      this.results.push(Object.fromEntries(map) as unknown as ResultMessage);
      this.waiting.splice(0).forEach((w) => w());
    });
    peripheral.once('disconnect', () => {
      this.closed = true;
      this.waiting.splice(0).forEach((w) => w());
    });
  }

  /** `intervalMs`: the connection interval to ask for (default: the stack's, 7.5-22.5 ms). */
  static async open(found: FoundReader, intervalMs?: number): Promise<PhoneLink> {
    const p = found.peripheral;
    const units = intervalMs === undefined ? undefined : Math.round(intervalMs / 1.25);
    await p.connectAsync(units === undefined ? {} : { minInterval: units, maxInterval: units });
    const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync(
      [READER_SERVICE_UUID],
      Object.values(CHARACTERISTIC_UUIDS),
    );
    const chars: Partial<Record<CharacteristicName, any>> = {};
    for (const [name, uuid] of Object.entries(CHARACTERISTIC_UUIDS)) {
      chars[name as CharacteristicName] = characteristics.find((c: any) => c.uuid === uuid);
    }
    const missing = Object.keys(CHARACTERISTIC_UUIDS).filter(
      (n) => !chars[n as CharacteristicName],
    );
    if (missing.length) {
      await p.disconnectAsync();
      throw new Error(`reader service lacks ${missing.join(', ')}`);
    }
    const link = new PhoneLink(p, chars as Record<CharacteristicName, any>);
    await link.chars.result.subscribeAsync();
    return link;
  }

  async readerInfo(): Promise<ReaderInfo> {
    const map = textKeyedMap(decodeCbor(await this.chars.readerInfo.readAsync())?.value);
    if (!map) throw new Error('reader info is not a CBOR map');
    return Object.fromEntries(map) as unknown as ReaderInfo;
  }

  async challenge(): Promise<Challenge> {
    const map = textKeyedMap(decodeCbor(await this.chars.challenge.readAsync())?.value);
    const nonce = map?.get('nonce');
    const readerId = map?.get('readerId');
    const exp = map?.get('exp');
    const now = map?.get('now');
    if (!isBytes(nonce) || nonce.length !== NONCE_BYTES || typeof readerId !== 'string') {
      throw new Error('challenge is not {nonce: bstr(16), readerId, exp}');
    }
    return { nonce, readerId, exp: Number(exp), ...(typeof now === 'number' ? { now } : {}) };
  }

  /** Writes a credential (long write when it is bigger than the MTU allows). */
  writeCredential(bytes: Buffer): Promise<void> {
    return this.chars.credential.writeAsync(bytes, false);
  }

  writeEnroll(bytes: Buffer): Promise<void> {
    return this.chars.enroll.writeAsync(bytes, false);
  }

  /** The next final result (granted/denied/enrolled/error); `received` is skipped. */
  async result(timeoutMs = 5000): Promise<ResultMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.results.findIndex((r) => FINAL_STATUSES.has(r.status));
      if (index >= 0) return this.results.splice(0, index + 1)[index]!;
      if (this.closed) throw new Error('the reader disconnected before answering');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no result from the reader within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Every notification so far, `received` included (tests). */
  get notifications(): readonly ResultMessage[] {
    return this.results;
  }

  async disconnect(): Promise<void> {
    if (this.closed) return;
    await this.peripheral.disconnectAsync();
  }
}

/**
 * The virtual phone on @stoprocent/noble: finds readers by the service UUID, enrolls its
 * device key, and unlocks with a COSE_Sign1 presentation over the reader's challenge.
 * Emits 'state' (PhoneState) as the app would show it.
 */
export class VirtualPhone extends EventEmitter {
  private readonly clock: Clock;
  private readonly intervalMs: number | undefined;

  constructor(
    readonly noble: Noble,
    readonly key: DeviceKey,
    options: { clock?: Clock; connectionIntervalMs?: number } = {},
  ) {
    super();
    this.clock = options.clock ?? new SystemClock();
    this.intervalMs = options.connectionIntervalMs;
  }

  private show(state: PhoneState): void {
    this.emit('state', state);
  }

  /** Readers heard within `timeoutMs` (each once, strongest report kept) offering `profiles`. */
  async scan(
    timeoutMs = 2000,
    stopAtFirst?: (r: FoundReader) => boolean,
    profiles: PhoneProfile[] = ['reader-sim'],
  ): Promise<FoundReader[]> {
    const { noble } = this;
    await noble.waitForPoweredOnAsync(5000);
    this.show({ state: 'scanning' });
    const found = new Map<string, FoundReader>();
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        noble.removeListener('discover', onDiscover);
        resolve();
      };
      const onDiscover = (p: Peripheral) => {
        const uuids: string[] = p.advertisement?.serviceUuids ?? [];
        const offered = (Object.keys(PROFILE_SERVICES) as PhoneProfile[]).filter((name) =>
          PROFILE_SERVICES[name].some((u) => uuids.includes(u)),
        );
        if (!offered.some((name) => profiles.includes(name))) return;
        const readerId: string | undefined = p.advertisement?.localName;
        if (!readerId) return; // wait for the scan response that names it
        const entry: FoundReader = {
          readerId,
          address: p.address,
          rssi: p.rssi,
          mode: modeFromManufacturerData(p.advertisement?.manufacturerData),
          profiles: offered,
          peripheral: p,
        };
        found.set(p.address, entry);
        if (stopAtFirst?.(entry)) finish();
      };
      noble.on('discover', onDiscover);
      timer = setTimeout(finish, timeoutMs);
      noble
        .startScanningAsync(
          profiles.flatMap((name) => PROFILE_SERVICES[name]),
          true,
        )
        .catch((err: Error) => {
          finish();
          reject(err);
        });
    });
    await noble.stopScanningAsync();
    return [...found.values()];
  }

  /** The first reader heard (with this id, if given); throws when none is in range. */
  async find(
    readerId?: string,
    timeoutMs = 3000,
    profile: PhoneProfile = 'reader-sim',
  ): Promise<FoundReader> {
    const [reader] = await this.scan(
      timeoutMs,
      (r) => readerId === undefined || r.readerId === readerId,
      [profile],
    ).then((all) => all.filter((r) => readerId === undefined || r.readerId === readerId));
    if (!reader) throw new Error(`no reader${readerId ? ` '${readerId}'` : ''} in range`);
    this.show({
      state: 'in range',
      readerId: reader.readerId,
      rssi: reader.rssi,
      mode: reader.mode,
    });
    return reader;
  }

  async connect(reader: FoundReader): Promise<PhoneLink> {
    this.show({ state: 'connecting', readerId: reader.readerId });
    return PhoneLink.open(reader, this.intervalMs);
  }

  /**
   * The signed presentation for a challenge: COSE_Sign1 over {deviceId, readerId, nonce, ts}.
   * `deviceId` presents another phone's identity (signed with this phone's key: a clone).
   */
  presentation(
    challenge: Challenge,
    overrides: { ts?: number; key?: DeviceKey; deviceId?: string } = {},
  ): Buffer {
    const key = overrides.key ?? this.key;
    const payload = encodeCbor(
      new Map<string, unknown>([
        ['deviceId', overrides.deviceId ?? this.key.deviceId],
        ['readerId', challenge.readerId],
        ['nonce', challenge.nonce],
        // The reader's clock when it told us (it may have been set); ours otherwise.
        ['ts', overrides.ts ?? challenge.now ?? this.clock.now()],
      ]),
    );
    return signSign1(payload, key.privateKey);
  }

  /** What the enroll characteristic takes: device id and the public key as a COSE_Key. */
  enrollRecord(extra: { name?: string; app?: string } = {}): Buffer {
    return encodeCbor(
      new Map<string, unknown>([
        ['deviceId', this.key.deviceId],
        ['publicKey', coseKeyOf(this.key.publicKey)],
        ...Object.entries(extra).filter(([, v]) => v !== undefined),
      ]),
    );
  }

  /**
   * The whole unlock, as the app does it: find, connect, challenge, present, result. Each
   * step gets `timeoutMs` (default 5 s): a reader lost mid-exchange leaves noble's calls
   * pending forever, and the app must still give up.
   */
  async unlock(options: UnlockOptions = {}): Promise<ResultMessage> {
    const ms = options.timeoutMs ?? DEFAULT_STEP_MS;
    const reader = await this.find(options.readerId, options.timeoutMs);
    const link = await within(this.connect(reader), ms, 'connect');
    try {
      const challenge = await within(link.challenge(), ms, 'challenge read');
      const bytes = options.bytes ?? this.presentation(challenge, { deviceId: options.as });
      await within(link.writeCredential(bytes), ms, 'credential write');
      options.sent?.(bytes);
      this.show({ state: 'credential sent' });
      const result = await link.result(ms);
      this.showResult(result);
      return result;
    } finally {
      await within(link.disconnect(), ms, 'disconnect').catch(() => undefined);
    }
  }

  /** Enrollment at a reader in enroll mode: sends the device id and public key. */
  async enroll(
    options: { readerId?: string; timeoutMs?: number; name?: string; app?: string } = {},
  ): Promise<ResultMessage> {
    const ms = options.timeoutMs ?? DEFAULT_STEP_MS;
    const reader = await this.find(options.readerId, options.timeoutMs);
    const link = await within(this.connect(reader), ms, 'connect');
    try {
      const record = this.enrollRecord({ name: options.name, app: options.app });
      await within(link.writeEnroll(record), ms, 'enroll write');
      this.show({ state: 'enroll sent' });
      const result = await link.result(ms);
      this.showResult(result);
      return result;
    } finally {
      await within(link.disconnect(), ms, 'disconnect').catch(() => undefined);
    }
  }

  private showResult(result: ResultMessage): void {
    switch (result.status) {
      case 'granted':
        return this.show({ state: 'granted' });
      case 'enrolled':
        return this.show({ state: 'enrolled' });
      case 'denied':
        return this.show({ state: 'denied', reason: result.reason ?? 'unknown' });
      default:
        return this.show({ state: 'error', reason: result.reason ?? 'unknown' });
    }
  }
}

/**
 * The reader this phone hears loudest over a scan of `windowMs`: among a site's readers, the
 * door in front of it. Throws when none is in range.
 */
export async function strongestReader(
  phone: VirtualPhone,
  windowMs = 1500,
  profile: PhoneProfile = 'reader-sim',
): Promise<FoundReader> {
  const heard = await phone.scan(windowMs, undefined, [profile]);
  const best = heard.sort((a, b) => b.rssi - a.rssi)[0];
  if (!best) throw new Error('no reader in range');
  return best;
}
