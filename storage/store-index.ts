import { credentialKeys, entityIdRange } from './codec';
import { FlashLog, LogOwner, LogRecord } from './flash-log';
import {
  KeyHash,
  KeyTable,
  KeyTableBuilder,
  NO_PREFIX,
  STALE,
  hashBytes,
  hashString,
} from './key-table';
import { RecordType, SELF_COMMITTED } from './record';
import { KeyPlace, RecordKeyMatch } from './record-key';
import type { Snapshot } from './checkpoint';

/** One database generation's tables: keys to record addresses on flash. */
export interface GenerationTables {
  credentialsById: KeyTable;
  credentialsByValue: KeyTable;
  users: KeyTable;
  schedules: KeyTable;
  holidays: KeyTable;
  accessPoints: KeyTable;
  /** Use counters by credential id (the counter rides in the table). */
  uses: KeyTable;
}

export function emptyTables(expectedCredentials = 16, expectedUsers = 16): GenerationTables {
  return {
    credentialsById: new KeyTable(expectedCredentials),
    credentialsByValue: new KeyTable(expectedCredentials),
    users: new KeyTable(expectedUsers),
    schedules: new KeyTable(),
    holidays: new KeyTable(),
    accessPoints: new KeyTable(),
    uses: new KeyTable(16, true),
  };
}

/** A generation being written or replayed: entries collected, tables built at its commit. */
export type GenerationBuild = { [K in keyof GenerationTables]: KeyTableBuilder };

export function emptyBuild(expectedCredentials = 16, expectedUsers = 16): GenerationBuild {
  return {
    credentialsById: new KeyTableBuilder(expectedCredentials),
    credentialsByValue: new KeyTableBuilder(expectedCredentials),
    users: new KeyTableBuilder(expectedUsers),
    schedules: new KeyTableBuilder(),
    holidays: new KeyTableBuilder(),
    accessPoints: new KeyTableBuilder(),
    uses: new KeyTableBuilder(16, true),
  };
}

/** Where each table's key sits in the records it points at. */
export const KEY_PLACE: Record<keyof GenerationTables, KeyPlace> = {
  credentialsById: 'credentialId',
  credentialsByValue: 'credentialValue',
  users: 'entityId',
  schedules: 'entityId',
  holidays: 'entityId',
  accessPoints: 'entityId',
  uses: 'usesId',
};

function buildTables(b: GenerationBuild, key: RecordKeyMatch): GenerationTables {
  const built = {} as GenerationTables;
  for (const name of Object.keys(b) as Array<keyof GenerationTables>) {
    const place = KEY_PLACE[name];
    built[name] = b[name].build((a, _al, other) => key.ofRecord(place, a).matches(other));
  }
  return built;
}

export const ENTITY_TABLE: Partial<
  Record<number, Exclude<keyof GenerationTables, 'credentialsByValue' | 'uses'>>
> = {
  [RecordType.User]: 'users',
  [RecordType.Schedule]: 'schedules',
  [RecordType.Holiday]: 'holidays',
  [RecordType.AccessPoint]: 'accessPoints',
  [RecordType.Credential]: 'credentialsById',
};

interface Slot {
  address: number;
  length: number;
}

interface Staging {
  txn: number;
  ops: LogRecord[];
  next: GenerationBuild | undefined;
  /** Tables a full push built as it wrote (instead of replaying its records). */
  nextTables?: GenerationTables;
  nextGeneration: number;
}

/**
 * The in-RAM index the log replays into, at mount and after every write: which record
 * holds the live value of each key. Records of a transaction are staged until its commit;
 * records of a new generation go straight into that generation's tables, which become
 * live when the commit record (database meta) switches the generation.
 */
export class StoreIndex implements LogOwner {
  generation = 0;
  version = 0;
  db: GenerationTables = emptyTables();
  readonly events = new Map<number, Slot>();
  firstSeq = 1;
  lastSeq = 0;
  dropped = 0;
  ackedSeq = 0;
  meta: Slot | undefined;
  ack: Slot | undefined;
  config: Slot | undefined;
  private staging: Staging | undefined;
  /** Scratch for the key hash of the record or lookup at hand (nothing allocated per key). */
  private readonly hash: KeyHash;
  /** Scratch for the real-key check of a table hit. */
  private readonly key: RecordKeyMatch;

  /** `keyHashBits` below 32 narrows key hashes (tests force collisions with it). */
  constructor(
    private readonly log: FlashLog,
    readonly keyHashBits = 32,
  ) {
    this.hash = new KeyHash(keyHashBits);
    this.key = new RecordKeyMatch(log);
  }

  /** A hash scratch of this index's width, for tables built outside it (a full push). */
  newKeyHash(): KeyHash {
    return new KeyHash(this.keyHashBits);
  }

  replay(r: LogRecord): void {
    // Snapshots are read by the log at mount; replay has nothing to apply from them.
    if (r.type === RecordType.Checkpoint || r.type === RecordType.CheckpointEnd) return;
    if (r.txn === SELF_COMMITTED) {
      this.apply(r);
      return;
    }
    if (!this.staging || this.staging.txn !== r.txn) {
      this.staging = { txn: r.txn, ops: [], next: undefined, nextGeneration: 0 };
    }
    const staging = this.staging;
    if (r.type === RecordType.GenerationStart) {
      const p = r.cells;
      staging.next = emptyBuild(p.readUInt32LE(r.at + 4), p.readUInt32LE(r.at + 8));
      staging.nextGeneration = p.readUInt32LE(r.at);
      return;
    }
    const generation = isGenerational(r.type) ? r.cells.readUInt32LE(r.at) : 0;
    if (generation > this.generation && r.type !== RecordType.Tombstone) {
      staging.next ??= emptyBuild();
      staging.nextGeneration = generation;
      insertInto(staging.next, r, this.hash);
      return;
    }
    staging.ops.push(r.detach());
  }

  /** A full push in transaction txn: its generation's tables, live at the commit. */
  stageGeneration(txn: number, generation: number, tables: GenerationTables): void {
    this.staging = {
      txn,
      ops: [],
      next: undefined,
      nextTables: tables,
      nextGeneration: generation,
    };
  }

  commit(txn: number): void {
    const staging = this.staging;
    this.staging = undefined;
    if (!staging || staging.txn !== txn) return;
    if (staging.nextTables && staging.nextGeneration > this.generation) {
      this.switchGeneration(staging.nextGeneration, staging.nextTables);
    }
    // A committed transaction holding records of a newer generation proves that generation
    // live: a full push switches here, and so does a later grant or delta whose push meta
    // record was collected and copied further down the log.
    if (staging.next && staging.nextGeneration > this.generation) {
      this.switchGeneration(staging.nextGeneration, buildTables(staging.next, this.key));
    }
    for (const op of staging.ops) this.apply(op);
  }

  abort(txn: number): void {
    if (this.staging?.txn === txn) this.staging = undefined;
  }

  isLive(r: LogRecord): boolean {
    const p = r.payload;
    switch (r.type) {
      case RecordType.Credential:
      case RecordType.User:
      case RecordType.Schedule:
      case RecordType.Holiday:
      case RecordType.AccessPoint:
      case RecordType.Uses: {
        if (p.readUInt32LE(0) !== this.generation) return false;
        const slot = this.slotOf(r);
        return slot.table.address(slot.slot) === r.address;
      }
      case RecordType.Event:
        return this.events.get(p.readUInt32LE(0))?.address === r.address;
      case RecordType.Ack:
        return this.ack?.address === r.address;
      case RecordType.Config:
        return this.config?.address === r.address;
      case RecordType.DatabaseMeta:
        return this.meta?.address === r.address;
      default:
        return false;
    }
  }

  moved(r: LogRecord, to: number): void {
    switch (r.type) {
      case RecordType.Event:
        this.events.get(r.payload.readUInt32LE(0))!.address = to;
        return;
      case RecordType.Ack:
        this.ack!.address = to;
        return;
      case RecordType.Config:
        this.config!.address = to;
        return;
      case RecordType.DatabaseMeta:
        this.meta!.address = to;
        return;
    }
    const { table, slot } = this.slotOf(r);
    table.relocate(slot, to);
    if (r.type === RecordType.Credential) {
      const p = r.payload;
      const k = credentialKeys(p);
      const h = hashBytes(p, k.valueStart, k.valueEnd, k.kind, this.hash);
      const match = this.key.ofBytes('credentialValue', p, k.valueStart, k.valueEnd, k.kind);
      const bySlot = this.db.credentialsByValue.find(h.low, h.high, match);
      if (bySlot >= 0) this.db.credentialsByValue.relocate(bySlot, to);
    }
  }

  /** Slot of a live-generation record's key (the record must be live). */
  private slotOf(r: LogRecord): { table: KeyTable; slot: number } {
    const p = r.payload;
    let name: keyof GenerationTables;
    let s: number;
    let e: number;
    if (r.type === RecordType.Credential) {
      const k = credentialKeys(p);
      name = 'credentialsById';
      [s, e] = [k.idStart, k.idEnd];
    } else if (r.type === RecordType.Uses) {
      name = 'uses';
      [s, e] = entityIdRange(p, 8);
    } else {
      name = ENTITY_TABLE[r.type]!;
      [s, e] = entityIdRange(p, 4);
    }
    const h = hashBytes(p, s, e, NO_PREFIX, this.hash);
    const table = this.db[name];
    return { table, slot: table.find(h.low, h.high, this.key.ofBytes(KEY_PLACE[name], p, s, e)) };
  }

  private apply(r: LogRecord): void {
    const p = r.payload;
    switch (r.type) {
      case RecordType.DatabaseMeta: {
        const generation = p.readUInt32LE(0);
        if (generation > this.generation) this.switchGeneration(generation, emptyTables());
        this.version = p.readUInt32LE(4);
        this.meta = this.swapSingleton(this.meta, r);
        return;
      }
      case RecordType.Ack:
        this.ackedSeq = Math.max(this.ackedSeq, p.readUInt32LE(0));
        this.ack = this.swapSingleton(this.ack, r);
        return;
      case RecordType.Config:
        this.config = this.swapSingleton(this.config, r);
        return;
      case RecordType.Event:
        this.applyEvent(r);
        return;
      case RecordType.Tombstone:
        if (p.readUInt32LE(0) === this.generation) this.applyTombstone(r);
        return;
      default: {
        if (!isGenerational(r.type)) return;
        const generation = p.readUInt32LE(0);
        // A collection copy of a newer generation proves that generation was committed
        // (only live records are copied), even when its meta record is copied later.
        if (generation > this.generation && r.txn === SELF_COMMITTED) {
          this.switchGeneration(generation, emptyTables());
        }
        if (generation === this.generation) this.applyUpsert(r);
      }
    }
  }

  private applyUpsert(r: LogRecord): void {
    const p = r.payload;
    const key = this.key;
    if (r.type === RecordType.Credential) {
      const k = credentialKeys(p);
      const h = hashBytes(p, k.idStart, k.idEnd, NO_PREFIX, this.hash);
      key.ofBytes('credentialId', p, k.idStart, k.idEnd);
      const previous = this.db.credentialsById.set(h.low, h.high, r.address, p.length, 0, key);
      if (previous) {
        this.log.retire(previous.address, recordTotal(previous.length));
        this.forgetValueKey(previous);
      }
      hashBytes(p, k.valueStart, k.valueEnd, k.kind, h);
      key.ofBytes('credentialValue', p, k.valueStart, k.valueEnd, k.kind);
      this.db.credentialsByValue.set(h.low, h.high, r.address, p.length, 0, key);
    } else if (r.type === RecordType.Uses) {
      const [s, e] = entityIdRange(p, 8);
      const h = hashBytes(p, s, e, NO_PREFIX, this.hash);
      key.ofBytes('usesId', p, s, e);
      const uses = p.readUInt32LE(4);
      const previous = this.db.uses.set(h.low, h.high, r.address, p.length, uses, key);
      if (previous) this.log.retire(previous.address, recordTotal(previous.length));
    } else {
      const [s, e] = entityIdRange(p, 4);
      const h = hashBytes(p, s, e, NO_PREFIX, this.hash);
      key.ofBytes('entityId', p, s, e);
      const table = this.db[ENTITY_TABLE[r.type]!];
      const previous = table.set(h.low, h.high, r.address, p.length, 0, key);
      if (previous) this.log.retire(previous.address, recordTotal(previous.length));
    }
    this.log.adopt(r.address, r.total);
  }

  private applyTombstone(r: LogRecord): void {
    const p = r.payload;
    const type = p[4]!;
    const [s, e] = entityIdRange(p, 6);
    const { low, high } = hashBytes(p, s, e, NO_PREFIX, this.hash);
    const table = ENTITY_TABLE[type];
    if (!table) return;
    const previous = this.db[table].delete(low, high, this.key.ofBytes(KEY_PLACE[table], p, s, e));
    if (!previous) return;
    this.log.retire(previous.address, recordTotal(previous.length));
    if (type === RecordType.Credential) {
      this.forgetValueKey(previous);
      const uses = this.db.uses.delete(low, high, this.key.ofBytes('usesId', p, s, e));
      if (uses) this.log.retire(uses.address, recordTotal(uses.length));
    }
  }

  /** Removes the by-value entry that pointed at a credential's old record. */
  private forgetValueKey(previous: Slot): void {
    // A record collected since the snapshot cannot be read: its by-value entry, marked
    // too, is replaced by the copy's or swept when the replay ends.
    if (previous.address & STALE) return;
    const old = this.log.readPayload(previous.address, previous.length);
    const k = credentialKeys(old);
    const h = hashBytes(old, k.valueStart, k.valueEnd, k.kind, this.hash);
    const match = this.key.ofBytes('credentialValue', old, k.valueStart, k.valueEnd, k.kind);
    const slot = this.db.credentialsByValue.find(h.low, h.high, match);
    if (slot >= 0 && this.db.credentialsByValue.address(slot) === previous.address) {
      this.db.credentialsByValue.remove(slot);
    }
  }

  private applyEvent(r: LogRecord): void {
    const p = r.payload;
    const seq = p.readUInt32LE(0);
    // Copies keep the firstSeq/dropped of when they were written: take the newest figures.
    const firstSeq = Math.max(this.firstSeq, p.readUInt32LE(4));
    this.dropped = Math.max(this.dropped, p.readUInt32LE(8));
    const copy = this.events.get(seq);
    if (copy) this.log.retire(copy.address, recordTotal(copy.length));
    this.events.set(seq, { address: r.address, length: p.length });
    this.log.adopt(r.address, r.total);
    this.lastSeq = Math.max(this.lastSeq, seq);
    for (let s = Math.min(this.firstSeq, firstSeq); s < firstSeq; s++) {
      const gone = this.events.get(s);
      if (!gone) continue;
      this.events.delete(s);
      this.log.retire(gone.address, recordTotal(gone.length));
    }
    this.firstSeq = firstSeq;
  }

  private switchGeneration(generation: number, next: GenerationTables): void {
    const retire = (address: number, length: number) =>
      this.log.retire(address, recordTotal(length));
    for (const table of allTables(this.db)) table.forEach(retire);
    const adopt = (address: number, length: number) => this.log.adopt(address, recordTotal(length));
    for (const table of allTables(next)) table.forEach(adopt);
    this.db = next;
    this.generation = generation;
  }

  private swapSingleton(previous: Slot | undefined, r: LogRecord): Slot {
    if (previous) this.log.retire(previous.address, recordTotal(previous.length));
    this.log.adopt(r.address, r.total);
    return { address: r.address, length: r.payload.length };
  }

  // ---- snapshots -----------------------------------------------------------------------

  /** The index as a snapshot (the log adds its live bytes and tail). Only between transactions. */
  snapshot(): Omit<Snapshot, 'live' | 'seqs' | 'seals' | 'tailAddress' | 'tailTotal'> {
    const events = new Uint32Array(this.events.size * 3);
    let at = 0;
    for (const [seq, slot] of this.events) {
      events[at++] = seq;
      events[at++] = slot.address;
      events[at++] = slot.length;
    }
    return {
      generation: this.generation,
      version: this.version,
      firstSeq: this.firstSeq,
      lastSeq: this.lastSeq,
      dropped: this.dropped,
      ackedSeq: this.ackedSeq,
      meta: this.meta && { ...this.meta },
      ack: this.ack && { ...this.ack },
      config: this.config && { ...this.config },
      events,
      tables: this.db,
      keyHashBits: this.keyHashBits,
    };
  }

  /** Takes the state of a snapshot the log has checked (replay then continues after it). */
  load(s: Snapshot): void {
    this.generation = s.generation;
    this.version = s.version;
    this.firstSeq = s.firstSeq;
    this.lastSeq = s.lastSeq;
    this.dropped = s.dropped;
    this.ackedSeq = s.ackedSeq;
    this.meta = s.meta;
    this.ack = s.ack;
    this.config = s.config;
    this.events.clear();
    for (let at = 0; at < s.events.length; at += 3) {
      this.events.set(s.events[at]!, { address: s.events[at + 1]!, length: s.events[at + 2]! });
    }
    this.db = s.tables;
    this.staging = undefined;
  }

  /**
   * After the replay that followed a snapshot: entries still marked STALE held records
   * that were dead when collection took their sector; they go (and their bytes with them).
   */
  settle(): void {
    const retire = (address: number, length: number) =>
      this.log.retire(address, recordTotal(length));
    for (const table of allTables(this.db)) table.sweepStale(retire);
    this.db.credentialsByValue.sweepStale(() => undefined);
  }

  /** Table pages the loaded snapshot has not given yet (0 once all are in RAM). */
  pagesPending(): number {
    return Object.values(this.db).reduce((sum, table) => sum + table.pagesPending, 0);
  }

  /** Reads every page the loaded snapshot's tables have not read yet. */
  pageIn(): void {
    for (const table of Object.values(this.db)) table.pageInAll();
  }

  /** Reads up to `max` such pages; returns the pages still not read. */
  pageInSome(max: number): number {
    let left = max;
    for (const table of Object.values(this.db)) left -= table.pageInSome(left);
    return this.pagesPending();
  }

  /** A canonical description of the state (fsck compares a checkpoint mount with a full replay). */
  describe(): string {
    const entries = (table: KeyTable) => {
      const words = new Uint32Array(table.size * (table.hasCounters ? 5 : 4));
      table.exportEntries(words, 0);
      const step = table.hasCounters ? 5 : 4;
      const rows: string[] = [];
      for (let at = 0; at < words.length; at += step)
        rows.push(Array.from(words.subarray(at, at + step)).join(','));
      return rows.sort().join(';');
    };
    const tables = Object.fromEntries(
      Object.entries(this.db).map(([name, t]) => [name, entries(t as KeyTable)]),
    );
    const s = this.snapshot();
    const events = [...this.events].sort((a, b) => a[0] - b[0]);
    return JSON.stringify({ ...s, events, tables });
  }

  // ---- lookups (no allocation: a slot number, then its address and length) ----------

  /** Address of the credential record holding (kind code, value) (its key compared), or -1. */
  credentialByValue(kindCode: number, value: string): number {
    const h = hashString(value, kindCode, this.hash);
    const table = this.db.credentialsByValue;
    const slot = table.find(h.low, h.high, this.key.ofText('credentialValue', value, kindCode));
    return slot < 0 ? -1 : table.address(slot);
  }

  /** Slot of an id in one of the live generation's tables, or -1. */
  slotById(table: keyof GenerationTables, id: string): number {
    const h = hashString(id, NO_PREFIX, this.hash);
    return this.db[table].find(h.low, h.high, this.key.ofText(KEY_PLACE[table], id));
  }

  hasId(table: keyof GenerationTables, id: string): boolean {
    return this.slotById(table, id) >= 0;
  }

  usesOf(id: string): number {
    const slot = this.slotById('uses', id);
    return slot < 0 ? 0 : this.db.uses.counter(slot);
  }

  /** The payload a slot of a table points at (valid until the next write). */
  payloadAt(table: keyof GenerationTables, slot: number): Buffer {
    const t = this.db[table];
    return this.log.readPayload(t.address(slot), t.length(slot));
  }
}

/** Adds a record of a generation being built; reads keys straight from the flash bytes. */
function insertInto(tables: GenerationBuild, r: LogRecord, h: KeyHash): void {
  const p = r.cells;
  const at = r.at;
  const length = r.length;
  if (r.type === RecordType.Credential) {
    const k = credentialKeys(p, at);
    hashBytes(p, k.idStart, k.idEnd, NO_PREFIX, h);
    tables.credentialsById.add(h.low, h.high, r.address, length);
    hashBytes(p, k.valueStart, k.valueEnd, k.kind, h);
    tables.credentialsByValue.add(h.low, h.high, r.address, length);
  } else if (r.type === RecordType.Uses) {
    const [s, e] = entityIdRange(p, at + 8);
    hashBytes(p, s, e, NO_PREFIX, h);
    tables.uses.add(h.low, h.high, r.address, length, p.readUInt32LE(at + 4));
  } else {
    const [s, e] = entityIdRange(p, at + 4);
    hashBytes(p, s, e, NO_PREFIX, h);
    tables[ENTITY_TABLE[r.type]!].add(h.low, h.high, r.address, length);
  }
}

function allTables(t: GenerationTables): KeyTable[] {
  // credentialsByValue mirrors credentialsById: the same records, counted once.
  return [t.credentialsById, t.users, t.schedules, t.holidays, t.accessPoints, t.uses];
}

function isGenerational(type: number): boolean {
  return (
    type === RecordType.Credential ||
    type === RecordType.User ||
    type === RecordType.Schedule ||
    type === RecordType.Holiday ||
    type === RecordType.AccessPoint ||
    type === RecordType.Uses ||
    type === RecordType.Tombstone
  );
}

export function recordTotal(payloadLength: number): number {
  return 16 + ((payloadLength + 3) & ~3);
}
