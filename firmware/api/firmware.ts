import {
  ACCESS_POINT_STATES,
  type AccessPointState as AccessPointCommandName,
  type LastingState,
} from '../access-point';
import type { Clock } from '../foundation/clock';
import type { ReaderStore } from '../../storage';
import type { TornWriteModel } from '../../storage/power-cut';
import type { EventRecord } from '../foundation/model';
import type { OutputChange } from '../panel/changes';
export type { BleRadioStatus, PhoneInRange } from '../ports';

/**
 * What the host API needs from the running firmware, and nothing more. The composition
 * root implements it over the real reader, door, LED and store (reader-firmware.ts); the
 * API never reaches past it, so the same server runs against the simulator and a Pi.
 */

/** The part of the flash store (storage/) the API reads and writes directly. */
export interface ApiStore {
  database: Pick<
    ReaderStore['database'],
    | 'replace'
    | 'patch'
    | 'version'
    | 'counts'
    | 'content'
    | 'user'
    | 'schedule'
    | 'accessPoint'
    | 'findCredential'
  >;
  events: Pick<ReaderStore['events'], 'list' | 'ack' | 'stats'>;
  health: ReaderStore['health'];
}

/** The lasting access-point states (firmware/access-point.ts). */
export type AccessPointState = LastingState;
/** What the host may command: a lasting state, or `admit` (one momentary unlock). */
export type AccessPointCommand = AccessPointCommandName;
export const ACCESS_POINT_COMMANDS: readonly AccessPointCommand[] = ACCESS_POINT_STATES;

/** What the reader shows and drives right now. */
export interface FirmwareStatus {
  readerId: string;
  accessPointId: string;
  firmware: string;
  bootedAt: number;
  /** scheduleOpen: the unlock schedule's window is open now; enroll: enroll mode shows. */
  accessPoint: { state: AccessPointState; scheduleOpen: boolean; enroll: boolean };
  /** situation: which indicator situation is on show (idle, granted, lockdown, ...). */
  led: { color: string; buzzer: boolean; situation?: string };
  relay: 'locked' | 'unlocked';
  door: { position: string; forced: boolean; heldOpen: boolean; tamper: boolean };
}

/** The Raw Data an enrollment captures: what the phone sends over BLE. */
export interface RawData {
  deviceId: string;
  /** Base64 SPKI DER of the device's P-256 public key. */
  publicKey: string;
  name?: string;
  app?: string;
}

export type EnrollmentState =
  | { id: string; userId: string; state: 'pending'; expiresAt: number }
  | { id: string; userId: string; state: 'captured'; rawData: RawData; capturedAt: number }
  | { id: string; userId: string; state: 'timed_out'; expiredAt: number }
  | { id: string; userId: string; state: 'cancelled' };

export interface FirmwareHandle {
  readonly store: ApiStore;
  readonly clock: Clock;
  status(): FirmwareStatus;
  setAccessPointState(command: AccessPointCommand): void;
  /** A push changed the database (the reader recomputes schedule state, logs it). */
  databaseUpdated(version: number): void;
  /** Host time sync. */
  setTime(epochMs: number): void;
  /** The config as the host may see it (secrets left out). */
  config(): Record<string, unknown>;
  /**
   * A PIN-only credential's stored value for the digits a host pushed: a keyed hash, so the
   * digits never reach flash and the key (config pinKey) never leaves the reader.
   */
  pinLookup(digits: string): string;
  /** Validates, persists and applies; throws an error with a `field` naming the bad key. */
  updateConfig(patch: Record<string, unknown>): string[];
  enrollment: {
    /** timeoutMs: how long enroll mode lasts (default: config enrollTimeoutMs). */
    start(userId: string, timeoutMs?: number): EnrollmentState;
    get(id: string): EnrollmentState | undefined;
  };
  /** Called for every event appended to the log (live stream); returns an unsubscribe. */
  watchEvents(listener: (event: EventRecord) => void): () => void;
  /** Every LED/buzzer, relay and door change (front panel, timelines); returns an unsubscribe. */
  watchOutputs?(listener: (change: OutputChange) => void): () => void;
  /** The simulator's hands on the reader's real inputs. */
  sim: SimInputs;
  /** Power off: stop timers and let go of the flash (nothing is flushed that is not durable). */
  shutdown(): Promise<void>;
}

export interface SimInputs {
  badge(value: string): void;
  keypad(keys: string): void;
  rex(): void;
  door(open: boolean): void;
  tamper(active: boolean): void;
  /** What a phone would send in enroll mode (until the BLE side feeds it). */
  enrollCapture(rawData: RawData): void;
}

/**
 * The board the firmware runs on: it survives a power cycle, the firmware does not.
 * The API server holds one and asks it for the firmware on every request.
 */
export interface ReaderDevice {
  /** The running firmware, or undefined while it boots. */
  firmware(): FirmwareHandle | undefined;
  /** Cuts power and boots again from the same flash image; resolves once booted. */
  powerCycle(): Promise<void>;
  /** Called with 'off' when the firmware goes away and 'on' once it runs again. */
  watchPower(listener: (state: 'off' | 'on') => void): () => void;
  /**
   * Arms a brown-out: power drops during the given flash operation from now (1 = the next
   * program or erase), leaving what `model` says a torn write leaves (default 'prefix'),
   * and the board then boots again by itself.
   */
  armPowerCut?(afterFlashOps: number, model?: TornWriteModel): void;
}
