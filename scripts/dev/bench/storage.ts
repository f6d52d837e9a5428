import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { FileFlash, MemoryFlash, openStore } from '../../../storage';
import { IMAGE_FILE } from '../../../storage/reader-store';
import { transpiledTree } from '../transpiled';
import { atMost, below, BenchOptions, BenchRow, BenchSuite, percentile, rowsFor } from './suite';
import { benchContent, credentialValue, imageBytesFor } from './storage-data';
import { DatabaseContent } from '../../../firmware/foundation/model';

const storageRow = rowsFor('storage');
type RowExtra = Parameters<typeof storageRow>[3];

/*
 * Flash store against SQLite (better-sqlite3, WAL, synchronous=FULL) doing the same work:
 * a durable full push, reopening, lookups by (kind, value), durable use debits. Mount,
 * RSS and heap are measured in a child process that only mounts and looks up.
 */
interface Probe {
  mountMs: number;
  mountCpuMs: number;
  credentials: number;
  recordsReplayed: number;
  fromCheckpoint: boolean;
  pagesAtMount: number;
  pagesAfterCold: number;
  pageInMs: number;
  coldP50us: number;
  coldP99us: number;
  misses: number;
  p50us: number;
  p99us: number;
  p99OutsideGcUs: number;
  gcPauses: number;
  gcMaxMs: number;
  gcTotalMs: number;
  rssMB: number;
  rssBeforeGcMB: number;
  heapMB: number;
}

export const storage: BenchSuite = {
  name: 'storage',
  summary: 'flash store: push, mount, lookup, RAM, debit, wear; side by side with SQLite',
  async run(options: BenchOptions): Promise<BenchRow[]> {
    const sizes = options.quick ? [2000, 20000] : [64000, 1000000];
    const rows: BenchRow[] = [];
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-storage-'));
    try {
      const probe = probeScript();
      for (const n of sizes) {
        await Promise.resolve();
        rows.push(...sizeRun(n, work, probe, options));
      }
      rows.push(
        ...wearRun(options.quick ? 64000 : 64000, options.quick ? 20000 : 1000000, options),
      );
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    return rows;
  },
};

function sizeRun(n: number, work: string, probe: string[], options: BenchOptions): BenchRow[] {
  const label = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
  const big = n >= 1e6;
  const row = (metric: string, value: number, unit: string, extra: RowExtra = {}) =>
    storageRow(`${metric} @${label}`, value, unit, extra);
  options.progress(`storage: generating ${n} credentials`);
  const content = benchContent(n);
  const dir = path.join(work, `flash-${n}`);
  fs.mkdirSync(dir);
  const imageBytes = imageBytesFor(n);
  const device = FileFlash.open(path.join(dir, IMAGE_FILE), {
    geometry: { sectorCount: imageBytes / 4096 },
  });
  let store = openStore({ device });
  options.progress(`storage: full push of ${n} (${imageBytes / 1048576} MiB image)`);
  const pushMs = time(() => store.database.replace(content));
  store.close();
  device.close();

  options.progress('storage: mount + lookups in a child process');
  const child = spawnSync(probe[0]!, [...probe.slice(1), dir, String(n), '100000'], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`storage probe failed: ${child.stderr}`);
  const p = JSON.parse(child.stdout.trim().split('\n').pop()!) as Probe;

  options.progress('storage: SQLite doing the same');
  const sqlite = sqliteRun(content, path.join(work, `sqlite-${n}.db`));

  options.progress('storage: durable debits');
  const debits = big ? 500 : 1000;
  const file = FileFlash.open(path.join(dir, IMAGE_FILE));
  store = openStore({ device: file });
  const before = file.stats.bytesProgrammed;
  const ids = Array.from({ length: debits }, (_, k) => `c${(k * 7919) % n}`);
  const debitMs = time(() => ids.forEach((id) => store.database.debit(id)));
  const bytesPerDebit = (file.stats.bytesProgrammed - before) / debits;
  store.close();
  file.close();
  const sqliteDebit = sqliteDebits(path.join(work, `sqlite-${n}.db`), ids);

  const ratio = (theirs: number, ours: number) => `SQLite ${fmt(theirs)} (${fmt(theirs / ours)}x)`;
  return [
    row('full push (durable)', pushMs / 1000, 's', {
      bounds: [below(sqlite.pushMs / 1000, 'SQLite')],
      note: ratio(sqlite.pushMs / 1000, pushMs / 1000),
    }),
    row('mount', p.mountMs, 'ms', {
      bounds: big ? [below(150)] : [],
      note:
        `CPU ${fmt(p.mountCpuMs)} ms; ${p.fromCheckpoint ? 'from a snapshot, ' : 'full replay, '}` +
        `${p.recordsReplayed} records replayed; SQLite open+first lookup ${fmt(sqlite.openMs)} ms; ` +
        `${p.credentials} credentials, ${p.misses} misses`,
    }),
    row('lookup p99, first 10k after mount', p.coldP99us, 'us', {
      note:
        `p50 ${fmt(p.coldP50us)} us; the index's ${p.pagesAtMount} pages are on flash at mount, ` +
        `a lookup reads those it probes (${p.pagesAtMount - p.pagesAfterCold} read by these)`,
    }),
    row('rest of the index paged in', p.pageInMs, 'ms', {
      note: `${p.pagesAfterCold} pages of 4 KiB; a booted reader reads them while idle, 64 a turn of its event loop`,
    }),
    row('lookup p50', p.p50us, 'us', {
      bounds: [below(1)],
      note: ratio(sqlite.p50us, p.p50us),
    }),
    row('lookup p99', p.p99us, 'us', {
      bounds: [below(5), below(sqlite.p99us, 'SQLite')],
      note: `${ratio(sqlite.p99us, p.p99us)}; ${fmt(p.p99OutsideGcUs)} us outside GC pauses`,
    }),
    row('GC pauses during 100k lookups', p.gcPauses, 'pauses', {
      note: `max ${fmt(p.gcMaxMs)} ms, total ${fmt(p.gcTotalMs)} ms (young-generation collections of the decoded credentials)`,
    }),
    row('RSS after mount', p.rssMB, 'MB', {
      bounds: big ? [below(200)] : [],
      note: `heap ${fmt(p.heapMB)} MB; ${fmt(p.rssBeforeGcMB)} MB before collecting mount garbage`,
    }),
    row('debit (durable)', (debitMs * 1000) / debits, 'us', {
      bounds: [below(sqliteDebit.msPerDebit * 1000, 'SQLite')],
      note: ratio(sqliteDebit.msPerDebit * 1000, (debitMs * 1000) / debits),
    }),
    row('bytes programmed per debit', bytesPerDebit, 'B', {
      bounds: [below(64)],
      note: `SQLite WAL ${fmt(sqliteDebit.walBytesPerDebit)} B per debit`,
    }),
  ];
}

/** Long debit run on an in-RAM image (same store code, no fsync): wear levelling and write amplification. */
function wearRun(n: number, debits: number, options: BenchOptions): BenchRow[] {
  options.progress(`storage: ${debits} debits on a ${n}-credential store for wear`);
  const imageBytes = imageBytesFor(n);
  const device = new MemoryFlash({ geometry: { sectorCount: imageBytes / 4096 } });
  const store = openStore({ device });
  store.database.replace(benchContent(n));
  const before = device.stats.bytesProgrammed;
  let seed = 7;
  for (let k = 0; k < debits; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    store.database.debit(`c${seed % n}`);
  }
  const h = store.health();
  const perDebit = (device.stats.bytesProgrammed - before) / debits;
  const label = `${debits >= 1e6 ? `${debits / 1e6}M` : `${debits / 1e3}k`} debits @${n / 1000}k`;
  return [
    storageRow(`erase-count spread after ${label}`, h.maxEraseCount - h.minEraseCount, 'cycles', {
      bounds: [atMost(2)],
      note: `min ${h.minEraseCount}, max ${h.maxEraseCount} over ${h.sectors} sectors (${imageBytes / 1048576} MiB)`,
    }),
    storageRow(`bytes programmed per debit incl. GC, ${label}`, perDebit, 'B', {
      bounds: [below(64)],
      note: `${device.stats.erases} erases`,
    }),
  ];
}

function sqliteRun(
  content: DatabaseContent,
  file: string,
): { pushMs: number; openMs: number; p50us: number; p99us: number } {
  let db = openSqlite(file);
  db.exec(`CREATE TABLE credentials (id TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL, data TEXT NOT NULL, UNIQUE (kind, value));
           CREATE TABLE users (id TEXT PRIMARY KEY, data TEXT NOT NULL);
           CREATE TABLE uses (id TEXT PRIMARY KEY, n INTEGER NOT NULL)`);
  const insertCredential = db.prepare(
    'INSERT INTO credentials (id, kind, value, data) VALUES (?, ?, ?, ?)',
  );
  const insertUser = db.prepare('INSERT INTO users (id, data) VALUES (?, ?)');
  const pushMs = time(() =>
    db.transaction(() => {
      db.exec('DELETE FROM credentials; DELETE FROM users');
      for (const u of content.users) insertUser.run(u.id, JSON.stringify(u));
      for (const c of content.credentials)
        insertCredential.run(c.id, c.kind, c.value, JSON.stringify(c));
    })(),
  );
  db.close();
  let find!: Database.Statement;
  const openMs = time(() => {
    db = openSqlite(file);
    find = db.prepare('SELECT data FROM credentials WHERE kind = ? AND value = ?');
    find.get('badge', '0:0');
  });
  const n = content.credentials.length;
  const samples: number[] = [];
  // Warm-up on other keys, as the probe does for the flash store.
  let seed = 99991;
  for (let k = 0; k < 20000; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const { kind, value } = credentialValue(seed % n);
    find.get(kind, value);
  }
  seed = 12345;
  for (let k = 0; k < 100000; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const { kind, value } = credentialValue(seed % n);
    const s = process.hrtime.bigint();
    const row = find.get(kind, value) as { data: string } | undefined;
    if (row) JSON.parse(row.data);
    samples.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  db.close();
  return { pushMs, openMs, p50us: percentile(samples, 50), p99us: percentile(samples, 99) };
}

function sqliteDebits(
  file: string,
  ids: string[],
): { msPerDebit: number; walBytesPerDebit: number } {
  const db = openSqlite(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('wal_autocheckpoint = 0');
  const debit = db.prepare(
    'INSERT INTO uses (id, n) VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1',
  );
  const ms = time(() => ids.forEach((id) => debit.run(id)));
  const wal = fs.statSync(`${file}-wal`).size;
  db.close();
  return { msPerDebit: ms / ids.length, walBytesPerDebit: wal / ids.length };
}

function openSqlite(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

/** Command for the probe child: compiled JavaScript (dist/, or the transpiled checkout). */
export function probeScript(): string[] {
  const dir = __filename.endsWith('.js')
    ? __dirname
    : path.join(transpiledTree(), 'scripts', 'dev', 'bench');
  return [process.execPath, '--expose-gc', path.join(dir, 'storage-probe.js')];
}

function time(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}
