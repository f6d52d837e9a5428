import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeCredential, decodeEntity, entityIdRange } from './codec';
import { StoreError } from './errors';
import { FileFlash, FlashDevice, MemoryFlash } from './flash-device';
import { FlashLog, LogRecord } from './flash-log';
import {
  FLAG_COMMIT,
  RECORD_TYPE_NAMES,
  RecordType,
  SELF_COMMITTED,
  parseSectorHeader,
} from './record';
import { IMAGE_FILE } from './reader-store';
import { walkSector } from './sector-walk';
import { StoreIndex } from './store-index';

/**
 * `reader-sim flash salvage`: what can be proven of an image mount refuses. Every record
 * whose CRCs hold is read from every sector; the sectors are put in sequence order from
 * their headers, the transactions whose commit record survived are written again, record
 * by record and in the same order, into a fresh log, and the ordinary replay of that log
 * decides the state (latest wins, generations, tombstones), exactly as mount would have.
 * What could not be kept is listed: damaged byte ranges, sectors that cannot be placed,
 * missing sequence numbers, transactions without their commit, events missing.
 */

export interface SalvageLoss {
  sector: number;
  /** Byte range within the sector, when the loss is one. */
  offsets?: [number, number];
  what: string;
}

export interface SalvageReport {
  /** Records read back whose CRCs hold. */
  recordsFound: number;
  /** Records written into the fresh image. */
  recordsKept: number;
  transactionsKept: number;
  lost: SalvageLoss[];
  /** What the fresh image holds, read back through a normal mount. */
  result: {
    version: number;
    credentials: number;
    users: number;
    events: { firstSeq: number; lastSeq: number; missing: number[] };
  };
}

interface FoundRecord {
  type: number;
  flags: number;
  txn: number;
  payload: Buffer;
}

interface PlacedSector {
  sector: number;
  seq: number;
  records: FoundRecord[];
}

/** Salvages DIR/flash.img into `out`: a data directory (fresh image) or a `.json` export. */
export function salvageImage(
  dataDir: string,
  out: string,
): { report: SalvageReport; export?: unknown } {
  const image = path.join(dataDir, IMAGE_FILE);
  if (!fs.existsSync(image)) throw new StoreError(`no flash image at ${image}`);
  const source = FileFlash.open(image, { readOnly: true });
  try {
    if (out.endsWith('.json')) {
      const target = new MemoryFlash({ geometry: source.geometry });
      const report = salvage(source, target);
      const exported = exportOf(target, report);
      fs.writeFileSync(out, `${JSON.stringify(exported, null, 2)}\n`, { mode: 0o600 });
      return { report, export: exported };
    }
    const outImage = path.join(out, IMAGE_FILE);
    if (fs.existsSync(outImage)) {
      throw new StoreError(`${outImage} exists: salvage writes a fresh image only`);
    }
    fs.mkdirSync(out, { recursive: true, mode: 0o700 });
    const target = FileFlash.open(outImage, { geometry: source.geometry });
    try {
      return { report: salvage(source, target) };
    } finally {
      target.close();
    }
  } finally {
    source.close();
  }
}

/** Reads every provable record of `source` and writes the committed ones into the erased `target`. */
export function salvage(source: FlashDevice, target: FlashDevice): SalvageReport {
  const lost: SalvageLoss[] = [];
  const { sectors, found } = readSectors(source, lost);
  const placed = placeSectors(sectors, lost);

  const log = new FlashLog(target);
  const index = new StoreIndex(log);
  log.mount(index);
  let kept = 0;
  let transactions = 0;
  /** Records of the transaction being read, written once its commit record is met. */
  let pending: { txn: number; records: FoundRecord[]; sector: number } | undefined;
  const write = (records: FoundRecord[]) => {
    const txn = log.begin();
    try {
      records.forEach((r, i) => {
        const last = i === records.length - 1;
        const address = last ? log.commit(r.type, r.payload) : log.append(r.type, r.payload);
        index.replay(LogRecord.of(r.type, last ? FLAG_COMMIT : 0, txn, address, r.payload));
      });
    } catch (err) {
      log.abort();
      throw err;
    }
    index.commit(txn);
    kept += records.length;
    transactions++;
  };
  const dropPending = (why: string) => {
    if (!pending) return;
    lost.push({
      sector: pending.sector,
      what: `transaction of ${pending.records.length} records ${why}: ${describe(pending.records)}`,
    });
    pending = undefined;
  };
  for (const { sector, records } of placed) {
    for (const r of records) {
      // The log's own bookkeeping is rewritten by the fresh log; snapshots are not needed.
      if (
        r.type === RecordType.Tail ||
        r.type === RecordType.Checkpoint ||
        r.type === RecordType.CheckpointEnd
      ) {
        if (r.txn !== SELF_COMMITTED && pending && r.txn !== pending.txn) {
          dropPending('lost its commit record');
        }
        continue;
      }
      if (r.txn === SELF_COMMITTED) {
        // A collection copy applies at once, as at replay: before the open transaction's records.
        write([{ ...r, flags: FLAG_COMMIT }]);
        continue;
      }
      if (pending && pending.txn !== r.txn) dropPending('lost its commit record');
      pending ??= { txn: r.txn, records: [], sector };
      pending.records.push(r);
      if (r.flags & FLAG_COMMIT) {
        write(pending.records);
        pending = undefined;
      }
    }
  }
  // A transaction at the very end without a commit was never acknowledged: not a loss.
  pending = undefined;
  target.sync();

  // Read the fresh image back the ordinary way: what is reported is what mounts.
  const check = new FlashLog(target);
  const state = new StoreIndex(check);
  check.mount(state, { repair: false, checkpoint: false });
  const missing: number[] = [];
  for (let seq = state.firstSeq; seq <= state.lastSeq && missing.length < 1000; seq++) {
    if (!state.events.get(seq)) missing.push(seq);
  }
  if (missing.length) {
    lost.push({ sector: -1, what: `events missing: ${ranges(missing)}` });
  }
  return {
    recordsFound: found,
    recordsKept: kept,
    transactionsKept: transactions,
    lost,
    result: {
      version: state.version,
      credentials: state.db.credentialsById.size,
      users: state.db.users.size,
      events: { firstSeq: state.firstSeq, lastSeq: state.lastSeq, missing },
    },
  };
}

/** Every sector's valid records; damaged ranges and unreadable headers go to `lost`. */
function readSectors(
  source: FlashDevice,
  lost: SalvageLoss[],
): { sectors: PlacedSector[]; found: number } {
  const { sectorSize, sectorCount } = source.geometry;
  const sectors: PlacedSector[] = [];
  let found = 0;
  for (let s = 0; s < sectorCount; s++) {
    const cells = source.read(s * sectorSize, sectorSize);
    const header = parseSectorHeader(cells, 0);
    const records: FoundRecord[] = [];
    const walk = walkSector(cells, (offset, h) => {
      const start = offset + 16;
      records.push({
        type: h.type,
        flags: h.flags,
        txn: h.txn,
        payload: Buffer.from(cells.subarray(start, start + h.length)),
      });
    });
    found += records.length;
    if (!header) {
      if (records.length) {
        lost.push({
          sector: s,
          what: `sector header damaged: ${records.length} records cannot be placed in the log: ${describe(records)}`,
        });
      }
      continue;
    }
    for (const [from, to] of walk.garbage) {
      // Damage after the last record of the newest sector may be a torn write; still listed.
      lost.push({ sector: s, offsets: [from, to], what: 'damaged bytes (records there are lost)' });
    }
    sectors.push({ sector: s, seq: header.seq, records });
  }
  return { sectors, found };
}

/**
 * Sectors in sequence order from the newest log tail's lowSeq on (older ones were collected:
 * replaying them could bring back what a delete removed). A sequence number held twice keeps
 * the sector whose records come first and lists the other; a gap is listed.
 */
function placeSectors(sectors: PlacedSector[], lost: SalvageLoss[]): PlacedSector[] {
  sectors.sort((a, b) => a.seq - b.seq || a.sector - b.sector);
  let lowSeq = sectors.length ? sectors[0]!.seq : 1;
  for (let i = sectors.length - 1; i >= 0; i--) {
    const tail = sectors[i]!.records.filter((r) => r.type === RecordType.Tail).at(-1);
    if (tail) {
      lowSeq = tail.payload.readUInt32LE(0);
      break;
    }
  }
  const placed: PlacedSector[] = [];
  for (const s of sectors) {
    if (s.seq < lowSeq) continue;
    const previous = placed.at(-1);
    if (previous && previous.seq === s.seq) {
      const same =
        previous.records.length === s.records.length &&
        previous.records.every((r, i) => r.payload.equals(s.records[i]!.payload));
      if (!same) {
        lost.push({
          sector: s.sector,
          what: `holds sequence ${s.seq} like sector ${previous.sector}: ${describe(s.records)}`,
        });
      }
      continue;
    }
    const expected = previous ? previous.seq + 1 : lowSeq;
    if (s.seq > expected) {
      lost.push({
        sector: -1,
        what: `log sectors with sequence ${expected}..${s.seq - 1} are missing (erased or unreadable)`,
      });
    }
    placed.push(s);
  }
  return placed;
}

/** What a run of records held, by the keys a host would know them by. */
function describe(records: FoundRecord[]): string {
  const parts: string[] = [];
  const counts = new Map<string, number>();
  for (const r of records) {
    const key = keyOf(r);
    if (key && parts.length < 20) parts.push(key);
    const name = RECORD_TYPE_NAMES[r.type] ?? `type ${r.type}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
  return parts.length
    ? `${summary} (${parts.join(', ')}${records.length > 20 ? ', ...' : ''})`
    : summary;
}

function keyOf(r: FoundRecord): string | undefined {
  try {
    switch (r.type) {
      case RecordType.Credential:
        return `credential ${decodeCredential(r.payload).id}`;
      case RecordType.Event:
        return `event ${r.payload.readUInt32LE(0)}`;
      case RecordType.User:
      case RecordType.Schedule:
      case RecordType.Holiday:
      case RecordType.AccessPoint: {
        const [s, e] = entityIdRange(r.payload, 4);
        return `${RECORD_TYPE_NAMES[r.type]} ${r.payload.toString('utf8', s, e)}`;
      }
      case RecordType.Tombstone: {
        const [s, e] = entityIdRange(r.payload, 6);
        return `delete ${r.payload.toString('utf8', s, e)}`;
      }
      case RecordType.DatabaseMeta:
        return `database version ${r.payload.readUInt32LE(4)}`;
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

function ranges(seqs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seqs.length;) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
    out.push(i === j ? `${seqs[i]}` : `${seqs[i]}-${seqs[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** The salvaged state as JSON: what a host could push back, plus the events and the report. */
function exportOf(target: FlashDevice, report: SalvageReport): unknown {
  const log = new FlashLog(target);
  const index = new StoreIndex(log);
  log.mount(index, { repair: false, checkpoint: false });
  const read = (address: number, length: number) => log.readPayload(address, length);
  const entities = <T>(table: 'users' | 'schedules' | 'holidays' | 'accessPoints'): T[] => {
    const out: T[] = [];
    index.db[table].forEach((address, length) => out.push(decodeEntity<T>(read(address, length))));
    return out;
  };
  const credentials: unknown[] = [];
  index.db.credentialsById.forEach((address, length) =>
    credentials.push(decodeCredential(read(address, length))),
  );
  const events: unknown[] = [];
  for (let seq = index.firstSeq; seq <= index.lastSeq; seq++) {
    const slot = index.events.get(seq);
    if (!slot) continue;
    const p = read(slot.address, slot.length);
    events.push({ ...(JSON.parse(p.toString('utf8', 12)) as object), seq });
  }
  const config = index.config
    ? (JSON.parse(read(index.config.address, index.config.length).toString('utf8')) as unknown)
    : {};
  return {
    version: index.version,
    content: {
      users: entities('users'),
      credentials,
      schedules: entities('schedules'),
      holidays: entities('holidays'),
      accessPoints: entities('accessPoints'),
    },
    config,
    events: { ackedSeq: index.ackedSeq, dropped: index.dropped, list: events },
    report,
  };
}
