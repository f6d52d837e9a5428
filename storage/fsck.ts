import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeCredential, decodeEntity } from './codec';
import { StoreError } from './errors';
import { FileFlash, FlashDevice, FlashGeometry } from './flash-device';
import { RECORD_TYPE_NAMES, parseSectorHeader } from './record';
import { IMAGE_FILE, mountForInspection } from './reader-store';
import { walkSector } from './sector-walk';

/** What `reader-sim flash inspect|fsck` reports about an image. */
export interface ImageReport {
  image: string;
  geometry?: FlashGeometry;
  /** The file's cell encoding (FileFlash.format): 1 as they read, 2 bit-inverted. */
  format?: number;
  sizeBytes?: number;
  wear?: {
    min: number;
    max: number;
    mean: number;
    endurance: number;
    histogram: Array<{ from: number; to: number; sectors: number }>;
  };
  /** `retired`: the sectors the log no longer uses (worn out), known once the log mounts. */
  sectors?: { erased: number; used: number; retired: number[]; other: number };
  space?: { liveBytes: number; deadBytes: number; freeBytes: number };
  /** Valid records on flash by type (live or superseded). */
  records?: Record<string, number>;
  database?: {
    version: number;
    credentials: number;
    users: number;
    schedules: number;
    holidays: number;
    accessPoints: number;
  };
  events?: { firstSeq: number; lastSeq: number; ackedSeq: number; dropped: number };
  /** Whether mount would start from an index snapshot, and how many records it replays. */
  checkpoint?: { used: boolean; recordsReplayed: number; fullReplayRecords: number };
  /** States a power cut left that mount repairs (not errors). */
  repairs: string[];
  /** Reasons the image cannot be trusted: any makes fsck fail. */
  problems: string[];
}

/** Examines the image under dataDir without changing it. Never throws for a bad image. */
export function examineImage(dataDir: string): ImageReport {
  const image = path.join(dataDir, IMAGE_FILE);
  const report: ImageReport = { image, repairs: [], problems: [] };
  if (!fs.existsSync(image)) {
    report.problems.push(`no flash image at ${image}`);
    return report;
  }
  let device: FileFlash;
  try {
    device = FileFlash.open(image, { readOnly: true });
  } catch (err) {
    report.problems.push(message(err));
    return report;
  }
  report.format = device.format;
  try {
    examineDevice(device, report);
  } finally {
    device.close();
  }
  return report;
}

export function examineDevice(device: FlashDevice, report: ImageReport): void {
  const g = device.geometry;
  report.geometry = g;
  report.sizeBytes = device.size;
  report.wear = wearOf(device);
  const kind = new Array<'used' | 'erased' | 'other'>(g.sectorCount);
  const records: Record<string, number> = {};
  const ones = Buffer.alloc(g.sectorSize, 0xff);
  for (let s = 0; s < g.sectorCount; s++) {
    const cells = device.read(s * g.sectorSize, g.sectorSize);
    if (parseSectorHeader(cells)) {
      kind[s] = 'used';
      walkSector(cells, (_offset, header) => {
        const name = RECORD_TYPE_NAMES[header.type] ?? `type-${header.type}`;
        records[name] = (records[name] ?? 0) + 1;
      });
    } else {
      kind[s] = cells.equals(ones) ? 'erased' : 'other';
    }
  }
  // Until the log says which sectors it retired, each counts by what it holds.
  const countSectors = (retired: readonly number[]) => {
    const gone = new Set(retired);
    const count = (k: string) => kind.filter((v, s) => v === k && !gone.has(s)).length;
    report.sectors = {
      erased: count('erased'),
      used: count('used'),
      retired: [...retired],
      other: count('other'),
    };
  };
  countSectors([]);
  report.records = records;
  try {
    const { log, index, report: mount } = mountForInspection(device);
    countSectors(log.retiredSectors());
    const stats = log.stats();
    report.space = {
      liveBytes: stats.liveBytes,
      deadBytes: stats.deadBytes,
      freeBytes: stats.freeBytes,
    };
    report.repairs = mount.notes.map((n) => `sector ${n.sector}: ${n.message}`);
    // The snapshot is only a shortcut: the state it gives must be the full replay's.
    const full = mountForInspection(device, { checkpoint: false });
    report.checkpoint = {
      used: mount.fromCheckpoint,
      recordsReplayed: mount.recordsReplayed,
      fullReplayRecords: full.report.recordsReplayed,
    };
    if (mount.fromCheckpoint && full.index.describe() !== index.describe()) {
      report.problems.push('the index snapshot disagrees with a full replay of the log');
    }
    const db = index.db;
    report.database = {
      version: index.version,
      credentials: db.credentialsById.size,
      users: db.users.size,
      schedules: db.schedules.size,
      holidays: db.holidays.size,
      accessPoints: db.accessPoints.size,
    };
    report.events = {
      firstSeq: index.firstSeq,
      lastSeq: index.lastSeq,
      ackedSeq: index.ackedSeq,
      dropped: index.dropped,
    };
    // Every live record must decode: CRCs hold, but a format bug would show here.
    db.credentialsById.forEach((address, length) => {
      try {
        decodeCredential(log.readPayload(address, length));
      } catch (err) {
        report.problems.push(`credential record at ${address} does not decode: ${message(err)}`);
      }
    });
    for (const table of [db.users, db.schedules, db.holidays, db.accessPoints]) {
      table.forEach((address, length) => {
        try {
          decodeEntity(log.readPayload(address, length));
        } catch (err) {
          report.problems.push(`record at ${address} does not decode: ${message(err)}`);
        }
      });
    }
  } catch (err) {
    report.problems.push(message(err));
  }
  // A worn sector the log has retired is handled: it is listed, not a problem.
  const retired = new Set(report.sectors?.retired);
  const worn: number[] = [];
  for (let s = 0; s < g.sectorCount; s++) {
    if (!retired.has(s) && device.eraseCount(s) >= g.endurance) worn.push(s);
  }
  if (worn.length)
    report.problems.push(
      `${report.wear.max} erase cycles: ${worn.length} sectors are worn out and not retired`,
    );
}

function wearOf(device: FlashDevice): NonNullable<ImageReport['wear']> {
  const n = device.geometry.sectorCount;
  const counts = Array.from({ length: n }, (_, s) => device.eraseCount(s));
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  const mean = counts.reduce((a, b) => a + b, 0) / n;
  const buckets = Math.min(8, max - min + 1);
  const width = Math.ceil((max - min + 1) / buckets);
  const histogram = Array.from({ length: buckets }, (_, i) => ({
    from: min + i * width,
    to: min + (i + 1) * width - 1,
    sectors: 0,
  }));
  for (const c of counts)
    histogram[Math.min(buckets - 1, Math.floor((c - min) / width))]!.sectors++;
  return { min, max, mean, endurance: device.geometry.endurance, histogram };
}

function message(err: unknown): string {
  if (err instanceof StoreError) return err.message;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The human-readable report. */
export function formatReport(r: ImageReport): string {
  const lines = [`image      ${r.image}`];
  if (r.geometry) {
    const g = r.geometry;
    lines.push(
      `geometry   ${g.sectorCount} sectors x ${g.sectorSize} B (${(r.sizeBytes! / 1048576).toFixed(1)} MiB), page ${g.pageSize} B, ` +
        `align ${g.writeAlign} B, endurance ${g.endurance}`,
    );
  }
  if (r.format !== undefined) {
    const cells =
      r.format === 2 ? 'cells stored inverted, sparse until written' : 'cells stored as read';
    lines.push(`format     ${r.format} (${cells})`);
  }
  if (r.sectors)
    lines.push(
      `sectors    ${r.sectors.used} in use, ${r.sectors.erased} erased, ` +
        (r.sectors.retired.length
          ? `${r.sectors.retired.length} retired (worn out: ${r.sectors.retired.join(', ')}), `
          : '') +
        `${r.sectors.other} other`,
    );
  if (r.space) {
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    lines.push(
      `space      live ${kib(r.space.liveBytes)}, dead ${kib(r.space.deadBytes)}, free ${kib(r.space.freeBytes)}`,
    );
  }
  if (r.wear) {
    lines.push(
      `wear       erase counts min ${r.wear.min}, mean ${r.wear.mean.toFixed(1)}, max ${r.wear.max}`,
    );
    const most = Math.max(...r.wear.histogram.map((b) => b.sectors));
    for (const b of r.wear.histogram) {
      const label = b.from === b.to ? `${b.from}` : `${b.from}-${b.to}`;
      const bar = '#'.repeat(Math.max(b.sectors ? 1 : 0, Math.round((b.sectors / most) * 40)));
      lines.push(`  ${label.padStart(13)} | ${bar} ${b.sectors}`);
    }
  }
  if (r.records) {
    const parts = Object.entries(r.records).map(([k, v]) => `${k} ${v}`);
    lines.push(`records    ${parts.length ? parts.join(', ') : 'none'}`);
  }
  if (r.database) {
    const d = r.database;
    lines.push(
      `database   version ${d.version}: ${d.credentials} credentials, ${d.users} users, ${d.schedules} schedules, ` +
        `${d.holidays} holidays, ${d.accessPoints} access points`,
    );
  }
  if (r.events) {
    const e = r.events;
    lines.push(
      `events     seq ${e.firstSeq}..${e.lastSeq}, acknowledged up to ${e.ackedSeq}, dropped ${e.dropped}`,
    );
  }
  if (r.checkpoint) {
    const c = r.checkpoint;
    lines.push(
      c.used
        ? `checkpoint mount loads a snapshot and replays ${c.recordsReplayed} of ${c.fullReplayRecords} records`
        : `checkpoint none usable: mount replays all ${c.fullReplayRecords} records`,
    );
  }
  for (const repair of r.repairs) lines.push(`repair     ${repair}`);
  lines.push(r.problems.length ? `PROBLEMS   ${r.problems.length}` : 'problems   none');
  for (const p of r.problems) lines.push(`  - ${p}`);
  return lines.join('\n');
}
