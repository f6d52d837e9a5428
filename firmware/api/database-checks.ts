import type { Credential, DatabaseContent, DatabaseDelta } from '../foundation/model';
import { scheduleProblem } from '../schedule';
import { ApiError } from './errors';
import type { ReaderStore } from '../../storage';

/**
 * The checks a JSON schema cannot express: unique ids, unique (kind, value), references
 * between tables, start < end, usable schedules. They run before anything is written, so a
 * rejected push changes nothing. Each failure names the offending path as a JSON pointer.
 */

const ALL_ACCESS_POINTS = '*';

function bad(field: string, message: string): ApiError {
  return new ApiError('bad_request', `body ${field} ${message}`, field, { part: 'body' });
}

/** The set of keys; a duplicate is a 400 naming both rows. Sized for 1,000,000-row pushes. */
function uniqueIds<T>(rows: T[], key: (row: T) => string, table: string, what = 'id'): Set<string> {
  const seen = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    const k = key(rows[i]!);
    if (seen.has(k)) {
      const first = rows.findIndex((row) => key(row) === k);
      throw bad(`/${table}/${i}/${what}`, `duplicates /${table}/${first} (${JSON.stringify(k)})`);
    }
    seen.add(k);
  }
  return seen;
}

/** (kind, value) is the reader's lookup key: unique per kind, one set per kind. */
function uniqueLookups(credentials: Credential[], table: string): void {
  const seen = new Map<string, Set<string>>();
  for (let i = 0; i < credentials.length; i++) {
    const c = credentials[i]!;
    let values = seen.get(c.kind);
    if (!values) seen.set(c.kind, (values = new Set()));
    if (values.has(c.value)) {
      const first = credentials.findIndex((x) => x.kind === c.kind && x.value === c.value);
      throw bad(
        `/${table}/${i}/value`,
        `duplicates /${table}/${first} (${c.kind} ${JSON.stringify(c.value)})`,
      );
    }
    values.add(c.value);
  }
}

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
const MAX_EPOCH_MS = 8.64e15;

/**
 * An ISO 8601 date-time with its zone as epoch ms, or why it is not one. Stricter than
 * Date.parse, which rolls 2026-02-30 over into March.
 */
export function isoToEpochMs(text: string): number | string {
  const m = ISO_INSTANT.exec(text);
  if (!m) return 'is not an ISO 8601 date-time with a zone (2026-01-01T08:00:00Z, ...+01:00)';
  const [y, mo, d, h, mi, s = 0] = m.slice(1, 7).map((v) => (v === undefined ? v : Number(v)));
  const ms = Number((m[7] ?? '0').padEnd(3, '0'));
  const utc = Date.UTC(
    y as number,
    (mo as number) - 1,
    d as number,
    h as number,
    mi as number,
    s as number,
    ms,
  );
  const back = new Date(utc);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== (mo as number) - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== s
  ) {
    return 'is not a real date and time of day';
  }
  const zoneH = Number(m[10] ?? 0);
  const zoneM = Number(m[11] ?? 0);
  if (zoneH > 23 || zoneM > 59) return 'has a zone offset out of range';
  const offset = (m[9] === '-' ? -1 : 1) * (zoneH * 60 + zoneM) * 60_000;
  const epoch = utc - offset;
  if (epoch < 0 || epoch > MAX_EPOCH_MS) return 'is before 1970 or too far ahead';
  return epoch;
}

/**
 * Credentials with ISO 8601 start/end turned into epoch ms, the stored form. New rows; the
 * body is left as it was. A bad date is a 400 naming its path.
 */
export function withEpochDates(credentials: Credential[], table: string): Credential[] {
  return credentials.map((c, i) => {
    const dated = c as Credential & { start?: number | string; end?: number | string };
    if (typeof dated.start !== 'string' && typeof dated.end !== 'string') return c;
    const out = { ...c };
    for (const field of ['start', 'end'] as const) {
      const value = dated[field];
      if (typeof value !== 'string') continue;
      const epoch = isoToEpochMs(value);
      if (typeof epoch === 'string') {
        throw bad(`/${table}/${i}/${field}`, `${epoch}: ${JSON.stringify(value)}`);
      }
      out[field] = epoch;
    }
    return out;
  });
}

/** YYYY-MM-DD that names a real day (the schema's pattern lets 02-31 through). */
export function isCalendarDate(date: string): boolean {
  const day = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === date;
}

function checkHolidayDates(holidays: { date: string }[], table: string): void {
  holidays.forEach((h, i) => {
    if (!isCalendarDate(h.date)) throw bad(`/${table}/${i}/date`, `is not a calendar date`);
  });
}

const lookupKey = (c: Pick<Credential, 'kind' | 'value'>) => `${c.kind}\u0000${c.value}`;

function checkCredentialDates(c: Credential, at: string): void {
  if (c.start !== undefined && c.end !== undefined && c.start >= c.end) {
    throw bad(`${at}/end`, `must be after start (${c.start} >= ${c.end})`);
  }
}

function checkSchedules(content: Partial<DatabaseContent>, table = 'schedules'): void {
  (content.schedules ?? []).forEach((s, i) => {
    const why = scheduleProblem(s);
    if (why) throw bad(`/${table === 'schedules' ? '' : 'upsert/'}schedules/${i}`, why);
  });
}

/** Full push: the content must be whole and consistent on its own. */
export function checkContent(content: DatabaseContent): void {
  const users = uniqueIds(content.users, (u) => u.id, 'users');
  uniqueIds(content.credentials, (c) => c.id, 'credentials');
  const schedules = uniqueIds(content.schedules, (s) => s.id, 'schedules');
  const accessPoints = uniqueIds(content.accessPoints, (a) => a.id, 'accessPoints');
  uniqueIds(content.holidays, (h) => h.date, 'holidays', 'date');
  checkHolidayDates(content.holidays, 'holidays');
  uniqueLookups(content.credentials, 'credentials');
  checkSchedules(content);

  content.accessPoints.forEach((a, i) => {
    if (a.unlockScheduleId !== undefined && !schedules.has(a.unlockScheduleId)) {
      throw bad(`/accessPoints/${i}/unlockScheduleId`, `names no schedule in this push`);
    }
  });
  const credentials = content.credentials;
  for (let i = 0; i < credentials.length; i++) {
    const c = credentials[i]!;
    // Paths are built only on failure: this loop runs a million times on a big push.
    if (!users.has(c.userId)) throw bad(`/credentials/${i}/userId`, `names no user in this push`);
    if (c.scheduleId !== undefined && !schedules.has(c.scheduleId)) {
      throw bad(`/credentials/${i}/scheduleId`, `names no schedule in this push`);
    }
    for (let j = 0; j < c.accessPoints.length; j++) {
      const ap = c.accessPoints[j]!;
      if (ap !== ALL_ACCESS_POINTS && !accessPoints.has(ap)) {
        throw bad(`/credentials/${i}/accessPoints/${j}`, `names no access point in this push`);
      }
    }
    if (c.start !== undefined && c.end !== undefined) checkCredentialDates(c, `/credentials/${i}`);
  }
}

/**
 * Delta push: the database after applying it must be consistent. Upserts are checked
 * against the upserts and the live rows not being deleted; deleting a row that others
 * still reference is refused. Deleting an id that does not exist is not an error.
 */
export function checkDelta(delta: DatabaseDelta, store: Pick<ReaderStore, 'database'>): void {
  const db = store.database;
  const up = delta.upsert ?? {};
  const del = delta.delete ?? {};
  const upsert = {
    users: up.users ?? [],
    credentials: up.credentials ?? [],
    schedules: up.schedules ?? [],
    holidays: up.holidays ?? [],
    accessPoints: up.accessPoints ?? [],
  };
  const prefix = (t: string) => `upsert/${t}`;
  uniqueIds(upsert.users, (u) => u.id, prefix('users'));
  uniqueIds(upsert.credentials, (c) => c.id, prefix('credentials'));
  uniqueIds(upsert.schedules, (s) => s.id, prefix('schedules'));
  uniqueIds(upsert.accessPoints, (a) => a.id, prefix('accessPoints'));
  uniqueIds(upsert.holidays, (h) => h.date, prefix('holidays'), 'date');
  checkHolidayDates(upsert.holidays, prefix('holidays'));
  uniqueLookups(upsert.credentials, prefix('credentials'));
  checkSchedules(upsert, 'upsert');

  const deleted = {
    users: new Set(del.users ?? []),
    credentials: new Set(del.credentials ?? []),
    schedules: new Set(del.schedules ?? []),
    holidays: new Set(del.holidays ?? []),
    accessPoints: new Set(del.accessPoints ?? []),
  };
  for (const table of Object.keys(upsert) as (keyof typeof upsert)[]) {
    const rows = upsert[table] as { id?: string; date?: string }[];
    rows.forEach((row, i) => {
      const key = table === 'holidays' ? row.date! : row.id!;
      if (deleted[table].has(key)) {
        throw bad(`/upsert/${table}/${i}`, `is also deleted in this delta`);
      }
    });
  }

  const upUsers = new Set(upsert.users.map((u) => u.id));
  const upSchedules = new Set(upsert.schedules.map((s) => s.id));
  const upAccessPoints = new Set(upsert.accessPoints.map((a) => a.id));
  const upCredentials = new Map(upsert.credentials.map((c) => [c.id, c]));
  const userExists = (id: string) =>
    upUsers.has(id) || (!deleted.users.has(id) && db.user(id) !== undefined);
  const scheduleExists = (id: string) =>
    upSchedules.has(id) || (!deleted.schedules.has(id) && db.schedule(id) !== undefined);
  const accessPointExists = (id: string) =>
    id === ALL_ACCESS_POINTS ||
    upAccessPoints.has(id) ||
    (!deleted.accessPoints.has(id) && db.accessPoint(id) !== undefined);

  upsert.accessPoints.forEach((a, i) => {
    if (a.unlockScheduleId !== undefined && !scheduleExists(a.unlockScheduleId)) {
      throw bad(`/upsert/accessPoints/${i}/unlockScheduleId`, `names no schedule`);
    }
  });
  upsert.credentials.forEach((c, i) => {
    const at = `/upsert/credentials/${i}`;
    if (!userExists(c.userId)) throw bad(`${at}/userId`, `names no user`);
    if (c.scheduleId !== undefined && !scheduleExists(c.scheduleId)) {
      throw bad(`${at}/scheduleId`, `names no schedule`);
    }
    c.accessPoints.forEach((ap, j) => {
      if (!accessPointExists(ap)) throw bad(`${at}/accessPoints/${j}`, `names no access point`);
    });
    checkCredentialDates(c, at);
    const holder = db.findCredential(c.kind, c.value);
    if (holder && holder.id !== c.id && !deleted.credentials.has(holder.id)) {
      const replaced = upCredentials.get(holder.id);
      if (!replaced || lookupKey(replaced) === lookupKey(holder)) {
        throw bad(`${at}/value`, `is already credential ${JSON.stringify(holder.id)}'s ${c.kind}`);
      }
    }
  });

  // Deleting a referenced row would leave a dangling reference: look at the live rows once.
  if (deleted.users.size || deleted.schedules.size || deleted.accessPoints.size) {
    const live = db.content();
    live.credentials.forEach((stored) => {
      if (deleted.credentials.has(stored.id)) return;
      const c = upCredentials.get(stored.id) ?? stored;
      const refs: [string, string, boolean][] = [
        ['users', c.userId, deleted.users.has(c.userId)],
        ['schedules', c.scheduleId ?? '', deleted.schedules.has(c.scheduleId ?? '')],
        ...c.accessPoints.map((ap): [string, string, boolean] => [
          'accessPoints',
          ap,
          deleted.accessPoints.has(ap),
        ]),
      ];
      for (const [table, ref, gone] of refs) {
        if (gone) refusedDelete(delta, table, ref, `credential ${JSON.stringify(c.id)}`);
      }
    });
    live.accessPoints.forEach((stored) => {
      if (deleted.accessPoints.has(stored.id)) return;
      const a = upsert.accessPoints.find((x) => x.id === stored.id) ?? stored;
      if (a.unlockScheduleId !== undefined && deleted.schedules.has(a.unlockScheduleId)) {
        refusedDelete(
          delta,
          'schedules',
          a.unlockScheduleId,
          `access point ${JSON.stringify(a.id)}`,
        );
      }
    });
  }
}

function refusedDelete(delta: DatabaseDelta, table: string, ref: string, by: string): never {
  const list = (delta.delete as Record<string, string[]>)[table]!;
  throw bad(`/delete/${table}/${list.indexOf(ref)}`, `is still used by ${by}`);
}
