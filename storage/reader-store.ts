import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  credentialKeys,
  decodeCredential,
  decodeEntity,
  encodeCredential,
  encodeEntity,
  encodeEventPayload,
  encodeTombstone,
  encodeU32s,
  encodeUses,
  entityIdRange,
  kindCode,
} from './codec';
import {
  CorruptImageError,
  SnapshotPageError,
  StoreError,
  StoreFullError,
  VersionConflictError,
} from './errors';
import { DEFAULT_GEOMETRY, FileFlash, FlashDevice, PowerLossError } from './flash-device';
import { FlashLog, LogRecord, MountReport, WriteClass } from './flash-log';
import { KeyHash, KeyMatch, KeyTable, NO_PREFIX, hashString } from './key-table';
import {
  AccessPoint,
  CREDENTIAL_KINDS,
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
import { FLAG_COMMIT, RecordType } from './record';
import { checkCredentialShape, StagedDatabase } from './staged-database';
import { GenerationTables, StoreIndex } from './store-index';
import {
  ConfigStore,
  CredentialDatabase,
  EventLog,
  EventLogStats,
  OpenStoreOptions,
  PushOptions,
  ReaderStore,
  StoreHealth,
} from './types';

/** Bytes of an event record besides its JSON: record header, seq, firstSeq, dropped. */
const RECORD_HEADER_BYTES_FOR_EVENT = 16 + 12;
/** Events kept before the oldest go (the ISONAS RC-03 keeps 5,000). */
export const DEFAULT_EVENT_CAPACITY = 5000;
/** A new file-backed image: 64 MiB, room for ~1M compact credentials in one generation. */
export const DEFAULT_IMAGE_BYTES = 64 * 1024 * 1024;
export const IMAGE_FILE = 'flash.img';
/** Log bytes between index snapshots: mount replays about this much beyond the snapshot. */
export const DEFAULT_CHECKPOINT_BYTES = 1 << 20;

/** Mounts the store (recovering from any interrupted write); throws StoreError when it cannot. */
export function openStore(options: OpenStoreOptions): ReaderStore {
  let device = options.device;
  let owned = false;
  if (!device) {
    if (!options.dir) throw new StoreError('openStore needs a dir or a device');
    fs.mkdirSync(options.dir, { recursive: true });
    const bytes = options.imageBytes ?? DEFAULT_IMAGE_BYTES;
    const sectorCount = Math.floor(bytes / DEFAULT_GEOMETRY.sectorSize);
    const file = FileFlash.open(path.join(options.dir, IMAGE_FILE), {
      geometry: { sectorCount },
      ...(options.flashTiming ? { timing: options.flashTiming } : {}),
    });
    if (options.holdSyncs) {
      file.holdSyncs();
      options.holdSyncs(() => file.releaseSyncs());
    }
    device = file;
    owned = true;
  }
  const checkpointBytes = options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES;
  if (!(checkpointBytes >= 0)) {
    if (owned) device.close();
    throw new StoreError(`checkpointBytes must be a non-negative number (got ${checkpointBytes})`);
  }
  const keyHashBits = options.keyHashBits ?? 32;
  if (!Number.isInteger(keyHashBits) || keyHashBits < 1 || keyHashBits > 32) {
    if (owned) device.close();
    throw new StoreError(`keyHashBits must be an integer from 1 to 32 (got ${keyHashBits})`);
  }
  try {
    return new FlashStore(
      device,
      options.eventCapacity ?? DEFAULT_EVENT_CAPACITY,
      owned,
      checkpointBytes,
      options.overflowEvents ?? false,
      keyHashBits,
    );
  } catch (err) {
    if (owned) device.close();
    throw err;
  }
}

/** Mounts read-only for inspection: replays without repairing (from a checkpoint unless told not to). */
export function mountForInspection(
  device: FlashDevice,
  options: { checkpoint?: boolean } = {},
): {
  log: FlashLog;
  index: StoreIndex;
  report: MountReport;
} {
  const log = new FlashLog(device);
  const index = new StoreIndex(log);
  const report = guardMount(() =>
    log.mount(index, { repair: false, checkpoint: options.checkpoint ?? true }),
  );
  return { log, index, report };
}

function guardMount<T>(mount: () => T): T {
  try {
    return mount();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new CorruptImageError(
      `image cannot be mounted: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

class FlashStore implements ReaderStore {
  readonly database: CredentialDatabase;
  readonly events: EventLog;
  readonly config: ConfigStore;
  readonly mountReport: MountReport;
  private log: FlashLog;
  private index: StoreIndex;
  /** The index was rebuilt by a full replay after a snapshot page failed (once at most). */
  private rebuilt = false;
  private failure: Error | undefined;
  private closed = false;
  private readonly appendListeners = new Set<(record: EventRecord) => void>();
  private readonly appended = LogRecord.of(0, 0, 0, 0, Buffer.alloc(0));
  /** Device events refused since mount because the flash had no room outside the host reserve. */
  private refused = 0;
  /** Refusals an `overflow` event already reported. */
  private refusedReported = 0;
  /** Seq of the newest `overflow` event (-1: not looked up yet; 0: none retained). */
  private lastOverflowSeq = -1;
  /** An `overflow` event the open transaction writes: applied on its commit only. */
  private overflowInTxn: { record: EventRecord; refused: number } | undefined;

  constructor(
    private readonly device: FlashDevice,
    private readonly eventCapacity: number,
    private readonly ownsDevice: boolean,
    private readonly checkpointBytes: number,
    private readonly overflowEvents: boolean,
    private readonly keyHashBits: number,
  ) {
    if (!Number.isInteger(eventCapacity) || eventCapacity < 1) {
      throw new StoreError(`eventCapacity must be a positive integer (got ${eventCapacity})`);
    }
    this.log = new FlashLog(device);
    this.index = new StoreIndex(this.log, keyHashBits);
    this.mountReport = guardMount(() => {
      try {
        return this.log.mount(this.index);
      } catch (err) {
        // Repair met a snapshot page that fails its checks: mount again without the snapshot.
        if (!(err instanceof SnapshotPageError)) throw err;
        this.log = new FlashLog(device);
        this.index = new StoreIndex(this.log, keyHashBits);
        this.rebuilt = true;
        const report = this.log.mount(this.index, { repair: true, checkpoint: false });
        report.notes.push({ sector: -1, message: `checkpoint not trusted (${err.message})` });
        return report;
      }
    });
    this.database = new FlashDatabase(this);
    this.events = new FlashEventLog(this);
    this.config = new FlashConfig(this);
  }

  get idx(): StoreIndex {
    this.usable();
    return this.index;
  }

  pageIn(maxPages = Infinity): number {
    return this.guarded(() => {
      this.usable();
      return this.index.pageInSome(maxPages);
    });
  }

  /**
   * Runs a store operation; if a page of the snapshot mount loaded fails its checks on the
   * way (invariant 13), the snapshot is no longer trusted: the index is rebuilt by a full
   * replay of the log, as a mount that refused it would have, and the operation runs again.
   * It cannot have written anything: a write reads every page before its transaction begins.
   */
  guarded<T>(op: () => T): T {
    try {
      return op();
    } catch (err) {
      this.recover(err);
      return op();
    }
  }

  /**
   * Reads every page a snapshot mount left on flash: a push or a patch does before it
   * writes, as its commit changes tables throughout (a page failing after the commit could
   * not be retried). Other writes read the pages their commit changes before they begin
   * (a grant reads its credential's use counter); collection inside a write reads pages
   * before anything commits.
   */
  readAllPages(): void {
    this.index.pageIn();
  }

  /** guarded() for a caller that retries itself: rethrows anything a rebuild cannot mend. */
  recover(err: unknown): void {
    if (!(err instanceof SnapshotPageError) || this.rebuilt) throw err;
    this.rebuild(err);
  }

  private rebuild(cause: SnapshotPageError): void {
    this.usable();
    const log = new FlashLog(this.device);
    const index = new StoreIndex(log, this.keyHashBits);
    const report = guardMount(() => log.mount(index, { repair: false, checkpoint: false }));
    this.log = log;
    this.index = index;
    this.rebuilt = true;
    this.mountReport.notes.push(...report.notes, {
      sector: -1,
      message: `checkpoint not trusted after mount (${cause.message}): replayed the whole log`,
    });
  }

  recordGrant(event: NewEvent, credentialId: string): EventRecord {
    return this.guarded(() => this.grant(event, credentialId));
  }

  private grant(event: NewEvent, credentialId: string): EventRecord {
    if (!this.index.hasId('credentialsById', credentialId)) {
      throw new StoreError(`grant for unknown credential '${credentialId}'`);
    }
    const uses = this.index.usesOf(credentialId) + 1;
    const record = this.transact((txn) => {
      const record = this.appendEvent(txn, event, false);
      this.commit(txn, RecordType.Uses, encodeUses(this.index.generation, uses, credentialId));
      return record;
    }, 'device');
    this.notifyAppend(record);
    return record;
  }

  /** Device events refused since mount for want of room (they were never logged). */
  get refusedEvents(): number {
    return this.refused;
  }

  onAppend(listener: (record: EventRecord) => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** The event is durable: tell the listeners (a throwing listener cannot undo the commit). */
  notifyAppend(record: EventRecord): void {
    for (const listener of this.appendListeners) listener(record);
  }

  health(): StoreHealth {
    const s = this.log.stats();
    let max = 0;
    let min = Infinity;
    for (let i = 0; i < s.sectors; i++) {
      const c = this.device.eraseCount(i);
      if (c > max) max = c;
      if (c < min) min = c;
    }
    return {
      sectors: s.sectors,
      erasedSectors: s.erasedSectors,
      freeBytes: s.freeBytes,
      liveBytes: s.liveBytes,
      deadBytes: s.deadBytes,
      maxEraseCount: max,
      minEraseCount: min,
      refusedEvents: this.refused,
      retiredSectors: s.retiredSectors,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.appendListeners.clear();
    if (this.ownsDevice) this.device.close();
  }

  // ---- writing (used by the facades) ---------------------------------------------------

  /**
   * Runs body as one transaction; on failure nothing changes (or, after a power cut, the
   * store is dead). Device writes (events, grants) stay out of the host reserve: when the
   * flash has no other room they are refused, counted, and reported by an `overflow` event
   * once there is room again.
   */
  transact<T>(body: (txn: number) => T, writeClass: WriteClass = 'host'): T {
    this.usable();
    const txn = this.log.begin(writeClass);
    let result: T;
    try {
      result = body(txn);
    } catch (err) {
      this.overflowInTxn = undefined;
      if (err instanceof PowerLossError) this.failure = err;
      if (this.log.transactionOpen) this.log.abort();
      if (err instanceof StoreFullError && writeClass === 'device') this.refused++;
      throw err;
    }
    const overflow = this.overflowInTxn;
    if (overflow) {
      this.overflowInTxn = undefined;
      this.lastOverflowSeq = overflow.record.seq;
      this.refusedReported = overflow.refused;
      this.notifyAppend(overflow.record);
    }
    if (this.log.checkpointDue(this.checkpointBytes)) this.checkpoint();
    return result;
  }

  /** Whether a device event of about `bytes` would be logged now (nothing is written). */
  canLogEvent(bytes = 256): boolean {
    this.usable();
    return this.log.deviceRoomFor(RECORD_HEADER_BYTES_FOR_EVENT + bytes);
  }

  /** Writes an index snapshot after the write that used up the budget (see checkpoint.ts). */
  private checkpoint(): void {
    try {
      this.log.writeCheckpoint(() => this.index.snapshot());
    } catch (err) {
      if (err instanceof PowerLossError) this.failure = err;
      // A page of the loaded snapshot failed as the new one read it: the write before is
      // durable, so only the index is rebuilt; the next write past the budget tries again.
      if (err instanceof SnapshotPageError && !this.rebuilt) {
        this.rebuild(err);
        return;
      }
      // The write before it is durable; a snapshot that does not fit waits for the next one.
      if (!(err instanceof StoreFullError)) throw err;
    }
  }

  /** Appends a record the caller indexes itself (a full push builds its tables directly). */
  appendOnly(type: number, payload: Buffer): number {
    return this.log.append(type, payload);
  }

  append(txn: number, type: number, payload: Buffer): void {
    const address = this.log.append(type, payload);
    // The index keeps addresses, never the record: one LogRecord serves every append.
    this.index.replay(this.appended.reset(type, 0, txn, address, payload.length, payload, 0));
  }

  commit(txn: number, type: number, payload: Buffer): void {
    const address = this.log.commit(type, payload);
    this.index.replay(LogRecord.of(type, FLAG_COMMIT, txn, address, payload));
    this.index.commit(txn);
  }

  appendEvent(txn: number, event: NewEvent, commit: boolean): EventRecord {
    const json = JSON.stringify(validEvent(event));
    const ix = this.index;
    let lastSeq = ix.lastSeq;
    let firstSeq = ix.firstSeq;
    let dropped = ix.dropped;
    // Retention: the oldest go first; acknowledged ones are the oldest, unacknowledged ones count as dropped.
    const place = (seq: number): void => {
      const count = lastSeq >= firstSeq ? lastSeq - firstSeq + 1 : 0;
      if (count === 0) firstSeq = seq;
      while (seq - firstSeq + 1 > this.eventCapacity) {
        if (firstSeq > ix.ackedSeq) dropped++;
        firstSeq++;
      }
      lastSeq = seq;
    };
    if (this.overflowDue(event.type)) {
      // Written first, so the event that loses others (or the first one logged after
      // refusals) follows the notice of it; both commit together.
      place(lastSeq + 1);
      const notice: NewEvent = {
        ts: event.ts,
        type: 'overflow',
        detail: { dropped, refused: this.refused - this.refusedReported },
      };
      const payload = encodeEventPayload(lastSeq, firstSeq, dropped, JSON.stringify(notice));
      this.append(txn, RecordType.Event, payload);
      this.overflowInTxn = { record: { ...notice, seq: lastSeq }, refused: this.refused };
    }
    place(lastSeq + 1);
    const payload = encodeEventPayload(lastSeq, firstSeq, dropped, json);
    if (commit) this.commit(txn, RecordType.Event, payload);
    else this.append(txn, RecordType.Event, payload);
    return { ...event, seq: lastSeq };
  }

  /**
   * An `overflow` event goes before this one when events were refused since the last
   * report, or when this one drops an unacknowledged event and no unacknowledged overflow
   * event is retained (one notice per episode, not one per lost event).
   */
  private overflowDue(type: string): boolean {
    if (!this.overflowEvents || type === 'overflow') return false;
    if (this.refused > this.refusedReported) return true;
    const ix = this.index;
    const count = ix.lastSeq >= ix.firstSeq ? ix.lastSeq - ix.firstSeq + 1 : 0;
    if (count < this.eventCapacity || ix.firstSeq <= ix.ackedSeq) return false;
    if (this.lastOverflowSeq < 0) {
      this.lastOverflowSeq = 0;
      for (const e of this.events.list(ix.ackedSeq, Number.MAX_SAFE_INTEGER)) {
        if (e.type === 'overflow') this.lastOverflowSeq = e.seq;
      }
    }
    return !(this.lastOverflowSeq > ix.ackedSeq && this.lastOverflowSeq >= ix.firstSeq);
  }

  get capacity(): number {
    return this.eventCapacity;
  }

  readPayload(address: number, length: number): Buffer {
    return this.log.readPayload(address, length);
  }

  cellsOf(address: number): Buffer {
    return this.log.cellsOf(address);
  }

  payloadOffset(address: number): number {
    return this.log.payloadOffset(address);
  }

  private usable(): void {
    if (this.closed) throw new StoreError('store is closed');
    if (this.failure)
      throw new StoreError(`store lost power (${this.failure.message}); remount it`);
  }
}

const ENTITY_KEYS: Array<{
  key: 'users' | 'schedules' | 'holidays' | 'accessPoints';
  type: RecordType;
  idOf: (e: never) => string;
  table: keyof GenerationTables;
}> = [
  { key: 'users', type: RecordType.User, idOf: (u: User) => u.id, table: 'users' },
  { key: 'schedules', type: RecordType.Schedule, idOf: (s: Schedule) => s.id, table: 'schedules' },
  { key: 'holidays', type: RecordType.Holiday, idOf: (h: Holiday) => h.date, table: 'holidays' },
  {
    key: 'accessPoints',
    type: RecordType.AccessPoint,
    idOf: (a: AccessPoint) => a.id,
    table: 'accessPoints',
  },
];

class FlashDatabase implements CredentialDatabase {
  constructor(private readonly store: FlashStore) {}

  version(): number {
    return this.store.idx.version;
  }

  findCredential(kind: CredentialKind, value: string): Credential | undefined {
    // No closure on the hot path: the retry is spelled out.
    try {
      return this.lookup(kind, value);
    } catch (err) {
      this.store.recover(err);
      return this.lookup(kind, value);
    }
  }

  private lookup(kind: CredentialKind, value: string): Credential | undefined {
    if (typeof value !== 'string') return undefined;
    const code = CREDENTIAL_KINDS.indexOf(kind);
    if (code < 0) return undefined;
    // The index compared the real key: decode in place, reusing the caller's value string.
    const address = this.store.idx.credentialByValue(code, value);
    if (address < 0) return undefined;
    return decodeCredential(this.store.cellsOf(address), this.store.payloadOffset(address), value);
  }

  credential(id: string): Credential | undefined {
    if (typeof id !== 'string') return undefined;
    return this.store.guarded(() => {
      const ix = this.store.idx;
      const slot = ix.slotById('credentialsById', id);
      if (slot < 0) return undefined;
      const c = decodeCredential(ix.payloadAt('credentialsById', slot));
      return c.id === id ? c : undefined;
    });
  }

  user(id: string): User | undefined {
    return this.store.guarded(() => this.entity<User>('users', id, (u) => u.id));
  }
  schedule(id: string): Schedule | undefined {
    return this.store.guarded(() => this.entity<Schedule>('schedules', id, (s) => s.id));
  }
  accessPoint(id: string): AccessPoint | undefined {
    return this.store.guarded(() => this.entity<AccessPoint>('accessPoints', id, (a) => a.id));
  }
  accessPoints(): AccessPoint[] {
    return this.store.guarded(() => this.all<AccessPoint>('accessPoints'));
  }
  holidays(): Holiday[] {
    return this.store
      .guarded(() => this.all<Holiday>('holidays'))
      .sort((a, b) => a.date.localeCompare(b.date));
  }

  counts(): {
    users: number;
    credentials: number;
    schedules: number;
    holidays: number;
    accessPoints: number;
  } {
    const db = this.store.idx.db;
    return {
      users: db.users.size,
      credentials: db.credentialsById.size,
      schedules: db.schedules.size,
      holidays: db.holidays.size,
      accessPoints: db.accessPoints.size,
    };
  }

  usesOf(credentialId: string): number {
    return this.store.guarded(() => this.store.idx.usesOf(credentialId));
  }

  debit(credentialId: string): number {
    return this.store.guarded(() => this.debitNow(credentialId));
  }

  private debitNow(credentialId: string): number {
    const ix = this.store.idx;
    if (!ix.hasId('credentialsById', credentialId)) {
      throw new StoreError(`debit for unknown credential '${credentialId}'`);
    }
    const uses = ix.usesOf(credentialId) + 1;
    this.store.transact((txn) =>
      this.store.commit(txn, RecordType.Uses, encodeUses(ix.generation, uses, credentialId)),
    );
    return uses;
  }

  replace(content: DatabaseContent | StagedDatabase, options: PushOptions = {}): number {
    const staged = content instanceof StagedDatabase ? content : StagedDatabase.of(content);
    staged.seal();
    return this.store.guarded(() => this.replaceNow(staged, options));
  }

  private replaceNow(staged: StagedDatabase, options: PushOptions): number {
    this.store.readAllPages();
    const ix = this.store.idx;
    const { tables, slots } = stagedKeyTables(staged, ix.newKeyHash().mask);
    const generation = ix.generation + 1;
    const version = ix.version + 1;
    const store = this.store;
    const credentials = staged.credentials;
    const pushed = store.transact((txn) => {
      store.appendOnly(
        RecordType.GenerationStart,
        encodeU32s(generation, credentials.count, staged.users.count),
      );
      for (const { key, type, table } of ENTITY_KEYS) {
        const { rows } = staged[key];
        for (let i = 0; i < rows.count; i++) {
          const payload = rows.get(i);
          payload.writeUInt32LE(generation, 0);
          tables[table].fill(slots[key][i]!, store.appendOnly(type, payload), payload.length);
        }
        rows.releaseBefore(rows.count);
      }
      const hash = ix.newKeyHash();
      const carryUses = ix.db.uses.size > 0;
      for (let i = 0; i < credentials.count; i++) {
        const payload = credentials.rows.get(i);
        payload.writeUInt32LE(generation, 0);
        const address = store.appendOnly(RecordType.Credential, payload);
        if ((i & 4095) === 0) credentials.rows.releaseBefore(i);
        tables.credentialsById.fill(slots.credentialsById[i]!, address, payload.length);
        tables.credentialsByValue.fill(slots.credentialsByValue[i]!, address, payload.length);
        // Use counters of credentials that stay carry over into the new generation.
        if (!carryUses) continue;
        const keys = credentialKeys(payload);
        const id = payload.toString('utf8', keys.idStart, keys.idEnd);
        const uses = ix.usesOf(id);
        if (uses === 0) continue;
        const usesPayload = encodeUses(generation, uses, id);
        const { low, high } = hashString(id, NO_PREFIX, hash);
        // Ids are unique (staging refused duplicates): no key to compare.
        tables.uses.add(
          low,
          high,
          store.appendOnly(RecordType.Uses, usesPayload),
          usesPayload.length,
          uses,
        );
      }
      // The tables built before writing are the new generation's index.
      ix.stageGeneration(txn, generation, tables);
      const event = options.event && store.appendEvent(txn, options.event(version), false);
      store.commit(txn, RecordType.DatabaseMeta, encodeU32s(generation, version));
      return { version, event };
    });
    if (pushed.event) store.notifyAppend(pushed.event);
    return pushed.version;
  }

  patch(delta: DatabaseDelta, options: PushOptions = {}): number {
    return this.store.guarded(() => this.patchNow(delta, options));
  }

  private patchNow(delta: DatabaseDelta, options: PushOptions): number {
    this.store.readAllPages();
    const ix = this.store.idx;
    if (!delta || typeof delta !== 'object') throw new StoreError('delta must be an object');
    if (delta.baseVersion !== ix.version)
      throw new VersionConflictError(delta.baseVersion, ix.version);
    const upsert = normalizeUpsert(delta.upsert);
    const deletes = delta.delete ?? {};
    validateContent(upsert, ix.newKeyHash());
    this.checkDeltaUniqueness(upsert, deletes);
    const generation = ix.generation;
    const version = ix.version + 1;
    const patched = this.store.transact((txn) => {
      const deleteOf = (
        key: keyof DatabaseContent,
        type: RecordType,
        exists: (id: string) => boolean,
      ) => {
        const ids = deletes[key] ?? [];
        if (!Array.isArray(ids))
          throw new StoreError(`delta.delete.${key} must be an array of ids`);
        for (const id of ids) {
          if (typeof id !== 'string')
            throw new StoreError(`delta.delete.${key} holds a non-string id`);
          if (exists(id))
            this.store.append(txn, RecordType.Tombstone, encodeTombstone(generation, type, id));
        }
      };
      deleteOf('credentials', RecordType.Credential, (id) => ix.hasId('credentialsById', id));
      for (const { key, type, table } of ENTITY_KEYS)
        deleteOf(key, type, (id) => ix.hasId(table, id));
      for (const { key, type, idOf } of ENTITY_KEYS) {
        for (const e of upsert[key] as never[])
          this.store.append(txn, type, encodeEntity(generation, idOf(e), e));
      }
      for (const c of upsert.credentials)
        this.store.append(txn, RecordType.Credential, encodeCredential(generation, c));
      const event = options.event && this.store.appendEvent(txn, options.event(version), false);
      this.store.commit(txn, RecordType.DatabaseMeta, encodeU32s(generation, version));
      return { version, event };
    });
    if (patched.event) this.store.notifyAppend(patched.event);
    return patched.version;
  }

  content(): DatabaseContent {
    return this.store.guarded(() => this.contentNow());
  }

  private contentNow(): DatabaseContent {
    const out: DatabaseContent = {
      users: this.all<User>('users'),
      credentials: [],
      schedules: this.all<Schedule>('schedules'),
      holidays: this.holidays(),
      accessPoints: this.all<AccessPoint>('accessPoints'),
    };
    const ix = this.store.idx;
    ix.db.credentialsById.forEach((address, length) => {
      out.credentials.push(decodeCredential(this.store.readPayload(address, length)));
    });
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    out.users.sort(byId);
    out.credentials.sort(byId);
    out.schedules.sort(byId);
    out.accessPoints.sort(byId);
    return out;
  }

  /** After deletes then upserts, no two credentials may share (kind, value). */
  private checkDeltaUniqueness(
    upsert: DatabaseContent,
    deletes: DatabaseDelta['delete'] & object,
  ): void {
    const deleted = new Set(deletes.credentials ?? []);
    const upserted = new Map(upsert.credentials.map((c) => [c.id, c]));
    for (const c of upsert.credentials) {
      const holder = this.findCredential(c.kind, c.value);
      if (!holder || holder.id === c.id || deleted.has(holder.id)) continue;
      const moving = upserted.get(holder.id);
      if (moving && (moving.kind !== c.kind || moving.value !== c.value)) continue;
      throw new StoreError(
        `duplicate credential ${c.kind} value '${c.value}': already held by credential '${holder.id}'`,
      );
    }
  }

  private entity<T>(
    table: keyof GenerationTables,
    id: string,
    idOf: (e: T) => string,
  ): T | undefined {
    if (typeof id !== 'string') return undefined;
    const ix = this.store.idx;
    const slot = ix.slotById(table, id);
    if (slot < 0) return undefined;
    const e = decodeEntity<T>(ix.payloadAt(table, slot));
    return idOf(e) === id ? e : undefined;
  }

  private all<T>(table: keyof GenerationTables): T[] {
    const out: T[] = [];
    this.store.idx.db[table].forEach((address, length) => {
      out.push(decodeEntity<T>(this.store.readPayload(address, length)));
    });
    return out;
  }
}

class FlashEventLog implements EventLog {
  constructor(private readonly store: FlashStore) {}

  append(event: NewEvent): EventRecord {
    const record = this.store.guarded(() =>
      this.store.transact((txn) => this.store.appendEvent(txn, event, true), 'device'),
    );
    this.store.notifyAppend(record);
    return record;
  }

  canLog(): boolean {
    return this.store.canLogEvent();
  }

  list(afterSeq: number, limit: number): EventRecord[] {
    const ix = this.store.idx;
    if (!Number.isFinite(afterSeq) || !Number.isInteger(limit) || limit < 0) {
      throw new StoreError('list(afterSeq, limit) needs a number and a non-negative integer');
    }
    const out: EventRecord[] = [];
    for (
      let seq = Math.max(Math.floor(afterSeq) + 1, ix.firstSeq);
      seq <= ix.lastSeq && out.length < limit;
      seq++
    ) {
      const slot = ix.events.get(seq);
      if (!slot) continue;
      const p = this.store.readPayload(slot.address, slot.length);
      out.push({ ...(JSON.parse(p.toString('utf8', 12)) as NewEvent), seq });
    }
    return out;
  }

  ack(upToSeq: number): void {
    const ix = this.store.idx;
    if (!Number.isInteger(upToSeq) || upToSeq < 0)
      throw new StoreError(`ack needs a sequence number (got ${upToSeq})`);
    if (upToSeq > ix.lastSeq) {
      throw new StoreError(`ack of ${upToSeq} is beyond the last event (${ix.lastSeq})`);
    }
    if (upToSeq <= ix.ackedSeq) return;
    this.store.guarded(() =>
      this.store.transact((txn) => this.store.commit(txn, RecordType.Ack, encodeU32s(upToSeq))),
    );
  }

  stats(): EventLogStats {
    const ix = this.store.idx;
    const count = ix.lastSeq >= ix.firstSeq ? ix.lastSeq - ix.firstSeq + 1 : 0;
    return {
      firstSeq: count ? ix.firstSeq : ix.lastSeq + 1,
      lastSeq: ix.lastSeq,
      ackedSeq: ix.ackedSeq,
      count,
      capacity: this.store.capacity,
      dropped: ix.dropped,
    };
  }
}

class FlashConfig implements ConfigStore {
  constructor(private readonly store: FlashStore) {}

  get(): Record<string, unknown> {
    const slot = this.store.idx.config;
    if (!slot) return {};
    return JSON.parse(this.store.readPayload(slot.address, slot.length).toString('utf8')) as Record<
      string,
      unknown
    >;
  }

  set(values: Record<string, unknown>): void {
    if (!values || typeof values !== 'object' || Array.isArray(values)) {
      throw new StoreError('config must be a plain object');
    }
    let json: string;
    try {
      json = JSON.stringify(values);
    } catch (err) {
      throw new StoreError(`config is not JSON-serialisable: ${(err as Error).message}`);
    }
    this.store.guarded(() =>
      this.store.transact((txn) =>
        this.store.commit(txn, RecordType.Config, Buffer.from(json, 'utf8')),
      ),
    );
  }
}

// ---- validation ------------------------------------------------------------------------

function normalizeUpsert(upsert: Partial<DatabaseContent> | undefined): DatabaseContent {
  return {
    users: upsert?.users ?? [],
    credentials: upsert?.credentials ?? [],
    schedules: upsert?.schedules ?? [],
    holidays: upsert?.holidays ?? [],
    accessPoints: upsert?.accessPoints ?? [],
  };
}

/**
 * What validating a full push built on the way: the new generation's key tables (ids and
 * (kind, value) hashed once) and each item's slot in them. The push fills in the record
 * addresses as it writes, and the tables become the index at the commit.
 */
interface KeyedContent {
  tables: GenerationTables;
  slots: {
    users: Int32Array;
    schedules: Int32Array;
    holidays: Int32Array;
    accessPoints: Int32Array;
    credentialsById: Int32Array;
    credentialsByValue: Int32Array;
  };
}

/** Structural checks only (referential checks are the host API's): shapes, unique ids and (kind, value). */
function validateContent(content: DatabaseContent, hash: KeyHash): KeyedContent {
  if (!content || typeof content !== 'object')
    throw new StoreError('database content must be an object');
  for (const key of ['users', 'credentials', 'schedules', 'holidays', 'accessPoints'] as const) {
    if (!Array.isArray(content[key]))
      throw new StoreError(`database content.${key} must be an array`);
  }
  const n = content.credentials.length;
  const tables: GenerationTables = {
    credentialsById: new KeyTable(n),
    credentialsByValue: new KeyTable(n),
    users: new KeyTable(content.users.length),
    schedules: new KeyTable(content.schedules.length),
    holidays: new KeyTable(content.holidays.length),
    accessPoints: new KeyTable(content.accessPoints.length),
    uses: new KeyTable(16, true),
  };
  const slots = {
    users: new Int32Array(content.users.length),
    schedules: new Int32Array(content.schedules.length),
    holidays: new Int32Array(content.holidays.length),
    accessPoints: new Int32Array(content.accessPoints.length),
    credentialsById: new Int32Array(n),
    credentialsByValue: new Int32Array(n),
  };
  for (const { key, idOf, table } of ENTITY_KEYS) {
    const list = content[key] as never[];
    const seen = tables[table];
    list.forEach((e, i) => {
      const id = e && typeof e === 'object' ? idOf(e) : undefined;
      if (typeof id !== 'string' || id === '') throw new StoreError(`${key}[${i}] has no id`);
      const slot = keySlot(seen, hashString(id, NO_PREFIX, hash), i, list, (x) => idOf(x) === id);
      if (slot < 0) throw new StoreError(`duplicate ${key} id '${id}'`);
      slots[key][i] = slot;
    });
  }
  const list = content.credentials;
  for (let i = 0; i < n; i++) {
    const c = list[i]!;
    checkCredentialShape(c, i);
    const code = kindCode(c.kind);
    const id = c.id;
    const idSlot = keySlot(
      tables.credentialsById,
      hashString(id, NO_PREFIX, hash),
      i,
      list,
      (x) => x.id === id,
    );
    if (idSlot < 0) throw new StoreError(`duplicate credential id '${id}'`);
    const { kind, value } = c;
    const valueSlot = keySlot(
      tables.credentialsByValue,
      hashString(value, code, hash),
      i,
      list,
      (x) => x.kind === kind && x.value === value,
    );
    if (valueSlot < 0) throw new StoreError(`duplicate credential ${kind} value '${value}'`);
    slots.credentialsById[i] = idSlot;
    slots.credentialsByValue[i] = valueSlot;
  }
  return { tables, slots };
}

/**
 * Claims the key's slot for item `index` (held as index + 4 until the push writes the
 * record's address); -1 when an earlier item has the same key. Two different keys with the
 * same hashes get a slot each, as replay at mount gives them.
 */
function keySlot<T>(
  table: KeyTable,
  { low, high }: KeyHash,
  index: number,
  list: T[],
  same: (x: T) => boolean,
): number {
  const earlier = table.find(low, high, { matches: (held) => same(list[held - 4]!) });
  return earlier < 0 ? table.insert(low, high, index + 4) : -1;
}

/**
 * The new generation's key tables for a staged push and each row's slot in them (held as
 * row + 4 until the push writes the record's address), hashed as the index hashes. Staging
 * hashed every key at full width; the index may narrow its hashes (a test option), and a
 * narrowed hash is the full one masked, so the staged hashes are masked, not recomputed.
 * Where hashes match, the staged rows' real keys are compared: different keys get a slot
 * each, as replay at mount gives them.
 */
function stagedKeyTables(staged: StagedDatabase, mask: number): KeyedContent {
  const n = staged.credentials.count;
  const tables: GenerationTables = {
    credentialsById: new KeyTable(n),
    credentialsByValue: new KeyTable(n),
    users: new KeyTable(staged.users.count),
    schedules: new KeyTable(staged.schedules.count),
    holidays: new KeyTable(staged.holidays.count),
    accessPoints: new KeyTable(staged.accessPoints.count),
    uses: new KeyTable(16, true),
  };
  const slots = {
    users: new Int32Array(staged.users.count),
    schedules: new Int32Array(staged.schedules.count),
    holidays: new Int32Array(staged.holidays.count),
    accessPoints: new Int32Array(staged.accessPoints.count),
    credentialsById: new Int32Array(n),
    credentialsByValue: new Int32Array(n),
  };
  for (const { key, table } of ENTITY_KEYS) {
    const { rows, keys } = staged[key];
    const match = new StagedKeyMatch(rows, 'entityId');
    for (let row = 0; row < rows.count; row++) {
      slots[key][row] = stagedSlot(tables[table], keys.hashes, row, mask, match);
    }
  }
  const { rows, byId, byValue } = staged.credentials;
  const sameId = new StagedKeyMatch(rows, 'credentialId');
  const sameValue = new StagedKeyMatch(rows, 'credentialValue');
  for (let row = 0; row < n; row++) {
    slots.credentialsById[row] = stagedSlot(tables.credentialsById, byId.hashes, row, mask, sameId);
    slots.credentialsByValue[row] = stagedSlot(
      tables.credentialsByValue,
      byValue.hashes,
      row,
      mask,
      sameValue,
    );
  }
  return { tables, slots };
}

/** Claims staged row `row`'s slot; its key is unique (staging refused duplicates). */
function stagedSlot(
  table: KeyTable,
  hashes: Uint32Array,
  row: number,
  mask: number,
  match: StagedKeyMatch,
): number {
  const low = (hashes[row * 2]! & mask) >>> 0;
  const high = (hashes[row * 2 + 1]! & mask) >>> 0;
  if (table.find(low, high, match.of(row)) >= 0) {
    // Staging compares real keys, so this is a bug there, never something to write.
    throw new StoreError(`staged row ${row} repeats the key of an earlier row`);
  }
  return table.insert(low, high, row + 4);
}

/** Whether a staged row's key equals the key of the row an entry holds (as row + 4). */
class StagedKeyMatch implements KeyMatch {
  private row = 0;

  constructor(
    private readonly rows: { get(row: number): Buffer },
    private readonly place: 'entityId' | 'credentialId' | 'credentialValue',
  ) {}

  of(row: number): this {
    this.row = row;
    return this;
  }

  matches(held: number): boolean {
    const [a, aStart, aEnd] = this.keyOf(this.row);
    const [b, bStart, bEnd] = this.keyOf(held - 4);
    // A value is a key together with its kind (the credential's byte 4).
    if (this.place === 'credentialValue' && a[4] !== b[4]) return false;
    return b.compare(a, aStart, aEnd, bStart, bEnd) === 0;
  }

  /** The row's payload and its key's byte range. */
  private keyOf(row: number): [Buffer, number, number] {
    const p = this.rows.get(row);
    if (this.place === 'entityId') return [p, ...entityIdRange(p, 4)];
    const k = credentialKeys(p);
    return this.place === 'credentialId' ? [p, k.idStart, k.idEnd] : [p, k.valueStart, k.valueEnd];
  }
}

function validEvent(event: NewEvent): NewEvent {
  if (!event || typeof event !== 'object') throw new StoreError('event must be an object');
  if (!Number.isFinite(event.ts)) throw new StoreError('event.ts must be a time in ms');
  if (typeof event.type !== 'string') throw new StoreError('event.type is missing');
  const { ...copy } = event as NewEvent & { seq?: number };
  delete (copy as { seq?: number }).seq;
  return copy;
}
