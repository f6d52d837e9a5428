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

/** YYYY-MM-DD that names a real day (the schema's pattern lets 02-31 through). */
function isCalendarDate(date: string): boolean {
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
