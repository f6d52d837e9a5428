import {
  PayloadWriter,
  credentialKeys,
  decodeCredential,
  encodeCredential,
  encodeEntity,
  kindCode,
} from './codec';
import { StoreError } from './errors';
import { KeyHash, NO_PREFIX, hashString } from './key-table';
import type {
  AccessPoint,
  Credential,
  DatabaseContent,
  Holiday,
  Schedule,
  User,
} from '../firmware/foundation/model';

/**
 * A full push as encoded records, gathered row by row before it is written: a million
 * credentials as JS objects take ~1 GB, their records ~150 MB. The log allows one open
 * transaction, so a push cannot stream into flash while the reader keeps logging; it is
 * staged here and `replace(staged)` writes it in one transaction.
 *
 * Each table keeps its rows' payloads (generation 0 until written), their key hashes and a
 * growing hash index that compares the real key on a hash match, so a duplicate is found as
 * the row arrives and its first occurrence can be named. Keys are hashed at full width; the
 * store masks the hashes to its index's width when it builds its key tables.
 */

const CHUNK_BYTES = 1 << 20;
const RELEASED = Buffer.alloc(0);

/** Row payloads in 1 MiB chunks, each row contiguous. */
class RowBytes {
  private readonly chunks: Buffer[] = [];
  private current = Buffer.alloc(0);
  private at = 0;
  /** Per row: chunk, offset, length. */
  private where: Uint32Array = new Uint32Array(3 * 64);
  count = 0;

  add(payload: Buffer): void {
    if (this.at + payload.length > this.current.length) {
      this.current = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, payload.length));
      this.chunks.push(this.current);
      this.at = 0;
    }
    payload.copy(this.current, this.at);
    if ((this.count + 1) * 3 > this.where.length) this.where = grown(this.where);
    const w = this.where;
    w[this.count * 3] = this.chunks.length - 1;
    w[this.count * 3 + 1] = this.at;
    w[this.count * 3 + 2] = payload.length;
    this.at += payload.length;
    this.count++;
  }

  /**
   * Lets go of the chunks wholly before row `row` (rows already written to flash), so the
   * write does not hold the whole staged push beside the new key tables.
   */
  releaseBefore(row: number): void {
    const last = row < this.count ? this.where[row * 3]! : this.chunks.length;
    for (let k = this.released; k < last; k++) this.chunks[k] = RELEASED;
    this.released = Math.max(this.released, last);
  }
  private released = 0;

  /** The row's payload, a view into its chunk (written in place with the generation). */
  get(row: number): Buffer {
    const w = this.where;
    const at = w[row * 3 + 1]!;
    return this.chunks[w[row * 3]!]!.subarray(at, at + w[row * 3 + 2]!);
  }

  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0) + this.where.byteLength;
  }
}

function grown(a: Uint32Array): Uint32Array {
  const bigger = new Uint32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/**
 * Rows by a 64-bit key hash: open addressing over row numbers, the hashes kept per row
 * (they are also what the store's key tables are built from).
 */
class RowKeys {
  hashes: Uint32Array = new Uint32Array(2 * 64);
  private slots = new Int32Array(128);
  private filled = 0;

  /** The earlier row with this key (`same` confirms a hash match), or -1. */
  find(h: KeyHash, same: (row: number) => boolean): number {
    if (this.slots.length === 0) throw new StoreError('the staged rows are sealed: write them');
    const mask = this.slots.length - 1;
    for (let i = h.low & mask; ; i = (i + 1) & mask) {
      const row = this.slots[i]! - 1;
      if (row < 0) return -1;
      if (this.hashes[row * 2] === h.low && this.hashes[row * 2 + 1] === h.high && same(row)) {
        return row;
      }
    }
  }

  /** Indexes row `row` (the next row) under its hash. */
  add(h: KeyHash, row: number): void {
    if ((row + 1) * 2 > this.hashes.length) this.hashes = grown(this.hashes);
    this.hashes[row * 2] = h.low;
    this.hashes[row * 2 + 1] = h.high;
    if ((this.filled + 1) * 2 > this.slots.length) this.rehash();
    this.place(row);
    this.filled++;
  }

  private place(row: number): void {
    const mask = this.slots.length - 1;
    let i = this.hashes[row * 2]! & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = row + 1;
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let row = 0; row < this.filled; row++) this.place(row);
  }

  /** Drops the lookup slots (the hashes stay for the key tables): no more finds or adds. */
  seal(): void {
    this.slots = new Int32Array(0);
  }

  get bytes(): number {
    return this.hashes.byteLength + this.slots.byteLength;
  }
}

export type EntityTable = 'users' | 'schedules' | 'holidays' | 'accessPoints';

/** One entity table: id, then the entity as JSON (the store's entity record). */
export class StagedEntities {
  readonly rows = new RowBytes();
  readonly keys = new RowKeys();

  constructor(readonly idOf: (e: never) => string) {}

  get count(): number {
    return this.rows.count;
  }

  /** Stages the row; answers the earlier row with the same id instead when there is one. */
  add(entity: unknown, hash: KeyHash, writer: PayloadWriter): number {
    const id = entity && typeof entity === 'object' ? this.idOf(entity as never) : undefined;
    if (typeof id !== 'string' || id === '') throw new StoreError(`row ${this.count} has no id`);
    const earlier = this.indexOf(id, hash);
    if (earlier >= 0) return earlier;
    this.keys.add(hash, this.count);
    this.rows.add(encodeEntity(0, id, entity, writer));
    return -1;
  }

  /** The row with this id, or -1. */
  indexOf(id: string, hash = new KeyHash()): number {
    hashString(id, NO_PREFIX, hash);
    return this.keys.find(hash, (row) => entityId(this.rows.get(row)) === id);
  }

  has(id: string): boolean {
    return this.indexOf(id) >= 0;
  }
}

function entityId(p: Buffer): string {
  return p.toString('utf8', 6, 6 + p.readUInt16LE(4));
}

/** The credentials: by id and by (kind, value), the reader's lookup key. */
export class StagedCredentials {
  readonly rows = new RowBytes();
  readonly byId = new RowKeys();
  readonly byValue = new RowKeys();

  get count(): number {
    return this.rows.count;
  }

  /** Staged row `row` as a credential (its generation not yet set). */
  get(row: number): Credential {
    return decodeCredential(this.rows.get(row));
  }

  /**
   * Stages the credential (stored form: epoch dates, sealed PIN); answers the earlier row
   * holding its id or its (kind, value) instead when there is one.
   */
  add(c: Credential, writer: PayloadWriter): { key: 'id' | 'value'; first: number } | undefined {
    checkCredentialShape(c, this.count);
    const idHash = hashString(c.id, NO_PREFIX, new KeyHash());
    const sameId = this.byId.find(idHash, (row) => {
      const p = this.rows.get(row);
      const k = credentialKeys(p);
      return p.toString('utf8', k.idStart, k.idEnd) === c.id;
    });
    if (sameId >= 0) return { key: 'id', first: sameId };
    const code = kindCode(c.kind);
    const valueHash = hashString(c.value, code, new KeyHash());
    const sameValue = this.byValue.find(valueHash, (row) => {
      const p = this.rows.get(row);
      const k = credentialKeys(p);
      return k.kind === code && p.toString('utf8', k.valueStart, k.valueEnd) === c.value;
    });
    if (sameValue >= 0) return { key: 'value', first: sameValue };
    this.byId.add(idHash, this.count);
    this.byValue.add(valueHash, this.count);
    this.rows.add(encodeCredential(0, c, writer));
    return undefined;
  }
}

/** The shape the store needs (the API's schema says more); same messages as before staging. */
export function checkCredentialShape(c: Credential, i: number): void {
  if (!c || typeof c !== 'object') throw new StoreError(`credentials[${i}] is not an object`);
  if (typeof c.id !== 'string' || c.id === '') throw new StoreError(`credentials[${i}] has no id`);
  if (typeof c.userId !== 'string') throw new StoreError(`credential '${c.id}' has no userId`);
  if (typeof c.value !== 'string' || c.value === '')
    throw new StoreError(`credential '${c.id}' has no value`);
  if (typeof c.enabled !== 'boolean')
    throw new StoreError(`credential '${c.id}': enabled must be a boolean`);
  if (!Array.isArray(c.accessPoints) || !c.accessPoints.every((x) => typeof x === 'string')) {
    throw new StoreError(`credential '${c.id}': accessPoints must be an array of ids`);
  }
  if (
    c.useLimit !== undefined &&
    (!Number.isInteger(c.useLimit) || c.useLimit < 0 || c.useLimit > 0xffffffff)
  ) {
    throw new StoreError(`credential '${c.id}': useLimit must be a non-negative integer`);
  }
  if (c.start !== undefined && !Number.isFinite(c.start))
    throw new StoreError(`credential '${c.id}': start must be a time`);
  if (c.end !== undefined && !Number.isFinite(c.end))
    throw new StoreError(`credential '${c.id}': end must be a time`);
  kindCode(c.kind);
}

/** A whole database staged for `CredentialDatabase.replace`. */
export class StagedDatabase {
  readonly users = new StagedEntities((u: User) => u.id);
  readonly schedules = new StagedEntities((s: Schedule) => s.id);
  readonly holidays = new StagedEntities((h: Holiday) => h.date);
  readonly accessPoints = new StagedEntities((a: AccessPoint) => a.id);
  readonly credentials = new StagedCredentials();
  private readonly writer = new PayloadWriter();
  private readonly hash = new KeyHash();
  private written = false;

  /** Stages an entity row: -1, or the earlier row with the same id (this one is not staged). */
  entity(table: EntityTable, row: unknown): number {
    return this[table].add(row, this.hash, this.writer);
  }

  credential(c: Credential): { key: 'id' | 'value'; first: number } | undefined {
    return this.credentials.add(c, this.writer);
  }

  /**
   * Frees what only staging needed before the store builds its key tables beside the rows
   * (~16 MB per million keys); the staged rows can then only be written.
   */
  seal(): void {
    if (this.written) throw new StoreError('a staged push is written once');
    this.written = true;
    for (const t of [this.users, this.schedules, this.holidays, this.accessPoints]) t.keys.seal();
    this.credentials.byId.seal();
    this.credentials.byValue.seal();
  }

  /** Bytes held, for the bench and the curious. */
  get bytes(): number {
    const tables = [this.users, this.schedules, this.holidays, this.accessPoints];
    return (
      tables.reduce((n, t) => n + t.rows.bytes + t.keys.bytes, 0) +
      this.credentials.rows.bytes +
      this.credentials.byId.bytes +
      this.credentials.byValue.bytes
    );
  }

  /** Stages in-process content; a duplicate is a StoreError, as `replace(content)` always said. */
  static of(content: DatabaseContent): StagedDatabase {
    if (!content || typeof content !== 'object')
      throw new StoreError('database content must be an object');
    for (const key of ['users', 'credentials', 'schedules', 'holidays', 'accessPoints'] as const) {
      if (!Array.isArray(content[key]))
        throw new StoreError(`database content.${key} must be an array`);
    }
    const staged = new StagedDatabase();
    for (const table of ['users', 'schedules', 'holidays', 'accessPoints'] as const) {
      const list = content[table] as unknown[];
      for (let i = 0; i < list.length; i++) {
        const entity = list[i] as Record<string, unknown> | undefined;
        const id = entity && typeof entity === 'object' ? staged[table].idOf(entity as never) : '';
        if (typeof id !== 'string' || id === '') throw new StoreError(`${table}[${i}] has no id`);
        if (staged.entity(table, entity) >= 0)
          throw new StoreError(`duplicate ${table} id '${id}'`);
      }
    }
    const list = content.credentials;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      const duplicate = staged.credential(c);
      if (duplicate?.key === 'id') throw new StoreError(`duplicate credential id '${c.id}'`);
      if (duplicate) throw new StoreError(`duplicate credential ${c.kind} value '${c.value}'`);
    }
    return staged;
  }
}
