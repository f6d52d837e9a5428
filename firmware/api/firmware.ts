import type { Clock } from '../clock';
import type { TornWriteModel } from '../../storage/power-cut';
import type {
  CredentialKind,
  DatabaseContent,
  DatabaseDelta,
  EventRecord,
  Schedule,
  User,
  AccessPoint,
  Credential,
} from '../../storage/model';

/**
 * What the host API needs from the running firmware, and nothing more. The composition
 * root implements it over the real reader, door, LED and store (see board.ts); the API
 * never reaches past it, so the same server runs against the simulator and a Pi.
 */

/** The part of the flash store (storage/) the API reads and writes directly. */
export interface ApiStore {
  database: {
    /** Full "Update Access Points": atomic; returns the new version. */
    replace(content: DatabaseContent): number;
    /** Delta against delta.baseVersion: atomic; throws on a stale base; returns the new version. */
    patch(delta: DatabaseDelta): number;
    version(): number;
    counts(): DatabaseCounts;
    content(): DatabaseContent;
    user(id: string): User | undefined;
    schedule(id: string): Schedule | undefined;
    accessPoint(id: string): AccessPoint | undefined;
    findCredential(kind: CredentialKind, value: string): Credential | undefined;
  };
  events: {
    list(after: number, limit: number): EventRecord[];
    ack(upTo: number): unknown;
    stats(): EventLogStats;
  };
  health(): unknown;
}

export interface DatabaseCounts {
  users: number;
  credentials: number;
  schedules: number;
  holidays: number;
  accessPoints: number;
}

export interface EventLogStats {
  /** Sequence number of the newest event (0 when none was ever appended). */
  lastSeq: number;
  /** Everything up to here is acknowledged by the host. */
  ackedSeq: number;
  /** Events held in flash now. */
  count: number;
  capacity: number;
  /** Unacknowledged events the log had to drop because it was full. */
  dropped: number;
}

export type AccessPointState = 'schedule' | 'unlock' | 'lockdown';
/** `admit` is a one-shot command (one momentary unlock), never a state. */
export type AccessPointCommand = AccessPointState | 'admit';
export const ACCESS_POINT_COMMANDS: readonly AccessPointCommand[] = [
  'schedule',
  'unlock',
  'lockdown',
  'admit',
];

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
  /** Validates, persists and applies; throws an error with a `field` naming the bad key. */
  updateConfig(patch: Record<string, unknown>): string[];
  enrollment: {
    /** timeoutMs: how long enroll mode lasts (default: config enrollTimeoutMs). */
    start(userId: string, timeoutMs?: number): EnrollmentState;
    get(id: string): EnrollmentState | undefined;
  };
  /** Called for every event appended to the log (live stream); returns an unsubscribe. */
  watchEvents(listener: (event: EventRecord) => void): () => void;
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
