import {
  AccessPoint,
  Credential,
  CredentialKind,
  DatabaseContent,
  DatabaseDelta,
  EventRecord,
  Holiday,
  NewEvent,
  Schedule,
  User,
} from '../firmware/foundation/model';
import { Clock } from '../firmware/foundation/clock';
import { FlashDevice, FlashTiming } from './flash-device';
import type { MountReport } from './flash-log';
import type { StagedDatabase } from './staged-database';

export interface OpenStoreOptions {
  /** File-backed image under dir (dir/flash.img), created on first use. */
  dir?: string;
  /** Or an explicit device (in-memory in tests, with fault injection). */
  device?: FlashDevice;
  /**
   * The reader's clock. The store makes no time decisions of its own (events carry the
   * firmware's timestamps); to drive a VirtualClock by modelled flash time, pass
   * flashTiming with onBusy: (ms) => clock.advance(ms).
   */
  clock?: Clock;
  /** Timing model of a file-backed device (e.g. TYPICAL_TIMING); reported as busyMs. */
  flashTiming?: FlashTiming;
  /** Events kept in the log (default DEFAULT_EVENT_CAPACITY). */
  eventCapacity?: number;
  /** Size of a new file-backed image in bytes (default DEFAULT_IMAGE_BYTES). */
  imageBytes?: number;
  /**
   * File-backed image only: holds its fdatasyncs from mount on (FileFlash.holdSyncs), and
   * hands over `release`, which makes every write so far durable off the event loop and
   * ends the hold. A fleet boots many readers so; none may be seen before its release.
   */
  holdSyncs?: (release: () => Promise<void>) => void;
  /**
   * Log bytes appended after which the next write also writes an index snapshot, so mount
   * replays at most about this much (default DEFAULT_CHECKPOINT_BYTES; Infinity: never).
   */
  checkpointBytes?: number;
  /**
   * Writes an `overflow` event, in the same transaction, before an event that drops an
   * unacknowledged one (once per episode) or that follows refused events (the firmware
   * turns it on; off by default, so the bare store numbers only what it is given).
   */
  overflowEvents?: boolean;
  /**
   * Tests only: narrows the key hashes of the index to this many bits (1..32, default 32),
   * so that different credentials share hashes and the real-key checks are exercised.
   */
  keyHashBits?: number;
}

export interface StoreHealth {
  sectors: number;
  erasedSectors: number;
  freeBytes: number;
  liveBytes: number;
  deadBytes: number;
  maxEraseCount: number;
  minEraseCount: number;
  /** Device events (presentations, door, system) refused since mount: no room outside the host reserve. */
  refusedEvents: number;
  /** Worn sectors retired (they failed to erase or program): the store works on with less room. */
  retiredSectors: number;
}

export interface ReaderStore {
  readonly database: CredentialDatabase;
  readonly events: EventLog;
  readonly config: ConfigStore;
  /** A grant: the access event and the credential's use debit in ONE atomic transaction. Durable on return. */
  recordGrant(event: NewEvent, credentialId: string): EventRecord;
  /**
   * Calls listener after every durable event append (events.append or recordGrant), once the
   * transaction has committed, in sequence order; returns the unsubscribe.
   */
  onAppend(listener: (record: EventRecord) => void): () => void;
  health(): StoreHealth;
  /** What mount did: records replayed, whether from a checkpoint, repairs made. */
  readonly mountReport: MountReport;
  /**
   * A mount from a snapshot leaves the index's pages on flash, and a lookup reads the few
   * it probes. This reads up to `maxPages` more (default: all) and returns how many are
   * still on flash: a reader warms its index while idle so later lookups read none.
   */
  pageIn(maxPages?: number): number;
  close(): void;
}

/** What a push writes beside the database, in its transaction. */
export interface PushOptions {
  event?: (version: number) => NewEvent;
}

export interface CredentialDatabase {
  /** 0 before the first push. */
  version(): number;
  /** O(1). */
  findCredential(kind: CredentialKind, value: string): Credential | undefined;
  credential(id: string): Credential | undefined;
  user(id: string): User | undefined;
  schedule(id: string): Schedule | undefined;
  accessPoint(id: string): AccessPoint | undefined;
  accessPoints(): AccessPoint[];
  holidays(): Holiday[];
  counts(): {
    users: number;
    credentials: number;
    schedules: number;
    holidays: number;
    accessPoints: number;
  };
  /** Grants so far (use counter). */
  usesOf(credentialId: string): number;
  /** One use debit without an event (a grant is recordGrant); durable; returns the new count. */
  debit(credentialId: string): number;
  /**
   * Full push, atomic (generation switch); returns the new version. `event`, given the new
   * version, is appended in the same transaction: the push and its event land together or
   * not at all.
   */
  /**
   * Replaces the whole database in one transaction (with the event, if any). Content is
   * staged first; a push already staged row by row (the host API's) is written as it is.
   */
  replace(content: DatabaseContent | StagedDatabase, options?: PushOptions): number;
  /** Atomic; throws VersionConflictError if delta.baseVersion !== version(). */
  patch(delta: DatabaseDelta, options?: PushOptions): number;
  /** Export (for small databases and tests). */
  content(): DatabaseContent;
}

export interface EventLogStats {
  firstSeq: number;
  lastSeq: number;
  ackedSeq: number;
  count: number;
  capacity: number;
  dropped: number;
}

export interface EventLog {
  /** Durable on return; seq monotonic, never reused (also across power loss). */
  append(event: NewEvent): EventRecord;
  list(afterSeq: number, limit: number): EventRecord[];
  /** Durable. */
  ack(upToSeq: number): void;
  stats(): EventLogStats;
  /** Whether a device event would be logged now: false on a flash full outside the host reserve. */
  canLog(): boolean;
}

export interface ConfigStore {
  /** Persisted JSON-able object; validation/defaults live in firmware. */
  get(): Record<string, unknown>;
  /** Replaces the stored object, durable. */
  set(values: Record<string, unknown>): void;
}
