import type {
  AccessPoint,
  Credential,
  DatabaseContent,
  Holiday,
  Schedule,
} from '../foundation/model';
import { StagedDatabase, type EntityTable } from '../../storage';
import { isPinDigits } from '../pin';
import { scheduleProblem } from '../schedule';
import { isCalendarDate, isoToEpochMs } from './database-checks';
import { ApiError } from './errors';
import type { RowSink } from './streaming-body';

/**
 * A full push (`PUT /database`) taken row by row as the body streams in: each credential's
 * dates turned into epoch ms and its PIN sealed, then staged as the store's record (see
 * storage/staged-database.ts), so a million credentials never sit in memory as objects.
 *
 * The checks are those a whole body had (database-checks.ts `checkContent`), with the same
 * answers: a fault found while streaming is kept, the first of each kind, and at the end the
 * one the whole-body checks would have raised first is thrown. References between tables
 * are checked at the end, when every id is known, over the staged records.
 */

const ALL_ACCESS_POINTS = '*';
const PIN_LOOKUP = /^hmac:[0-9a-f]{64}$/;

/** The order in which the whole-body checks ran: the earliest kind found is the answer. */
const FAULT_ORDER = [
  'dates',
  'pins',
  'users',
  'credentials',
  'schedules',
  'accessPoints',
  'holidays',
  'holidayDates',
  'lookups',
] as const;
type FaultKind = (typeof FAULT_ORDER)[number];

const ENTITY_TABLES: readonly string[] = ['users', 'schedules', 'holidays', 'accessPoints'];

function bad(field: string, message: string): ApiError {
  return new ApiError('bad_request', `body ${field} ${message}`, field, { part: 'body' });
}

/** What the route gets as its body: the push, staged and checked. */
export class StagedPush {
  constructor(readonly staged: StagedDatabase) {}
}

export class FullPushRows implements RowSink {
  private readonly staged = new StagedDatabase();
  private readonly faults = new Map<FaultKind, ApiError>();
  /** The small tables, kept whole for the checks that need their rows. */
  private readonly schedules: Schedule[] = [];
  private readonly accessPoints: AccessPoint[] = [];

  /** `sealPin` turns a PIN's digits into the reader's keyed lookup value. */
  constructor(private readonly sealPin: (digits: string) => string) {}

  /** A body already parsed whole (no sink was attached): the same rows through the same checks. */
  static of(content: DatabaseContent, sealPin: (digits: string) => string): StagedPush {
    const rows = new FullPushRows(sealPin);
    for (const table of [
      'users',
      'credentials',
      'schedules',
      'holidays',
      'accessPoints',
    ] as const) {
      (content[table] as unknown[]).forEach((row, i) => rows.row(table, i, row));
    }
    return rows.end();
  }

  row(table: string, index: number, row: unknown): void {
    if (table === 'credentials') return this.credential(index, row as Credential);
    if (!ENTITY_TABLES.includes(table)) return;
    const entity = table as EntityTable;
    if (entity === 'schedules') this.schedules.push(row as Schedule);
    if (entity === 'accessPoints') this.accessPoints.push(row as AccessPoint);
    const key = entity === 'holidays' ? 'date' : 'id';
    if (entity === 'holidays' && !isCalendarDate((row as Holiday).date)) {
      this.fault('holidayDates', () => bad(`/holidays/${index}/date`, `is not a calendar date`));
    }
    const first = this.staged.entity(entity, row);
    if (first >= 0) {
      const id = (row as Record<string, string>)[key]!;
      this.fault(entity, () =>
        bad(`/${entity}/${index}/${key}`, `duplicates /${entity}/${first} (${JSON.stringify(id)})`),
      );
    }
  }

  private credential(index: number, row: Credential): void {
    const c = this.stored(index, row);
    if (!c) return;
    const duplicate = this.staged.credential(c);
    if (!duplicate) return;
    if (duplicate.key === 'id') {
      this.fault('credentials', () =>
        bad(
          `/credentials/${index}/id`,
          `duplicates /credentials/${duplicate.first} (${JSON.stringify(c.id)})`,
        ),
      );
    } else {
      this.fault('lookups', () =>
        bad(
          `/credentials/${index}/value`,
          `duplicates /credentials/${duplicate.first} (${c.kind} ${JSON.stringify(c.value)})`,
        ),
      );
    }
  }

  /** The credential as stored: epoch dates, a sealed PIN; undefined when it cannot be. */
  private stored(index: number, row: Credential): Credential | undefined {
    const dated = row as Credential & { start?: number | string; end?: number | string };
    let c: Credential = row;
    for (const field of ['start', 'end'] as const) {
      const value = dated[field];
      if (typeof value !== 'string') continue;
      const epoch = isoToEpochMs(value);
      if (typeof epoch === 'string') {
        this.fault('dates', () =>
          bad(`/credentials/${index}/${field}`, `${epoch}: ${JSON.stringify(value)}`),
        );
        return undefined;
      }
      c = { ...c, [field]: epoch };
    }
    if (c.kind === 'pin' && !PIN_LOOKUP.test(c.value)) {
      const sealed = isPinDigits(c.value) ? this.sealPin(c.value) : undefined;
      if (sealed === undefined) {
        this.fault(
          'pins',
          () =>
            new ApiError(
              'bad_request',
              `body /credentials/${index}/value of a pin credential must be its 4 to 12 digits or an "hmac:" lookup value`,
              `/credentials/${index}/value`,
              { part: 'body' },
            ),
        );
        return undefined;
      }
      c = { ...c, value: sealed };
    }
    return c;
  }

  /** Keeps the first fault of each kind (rows arrive in order, so it has the lowest index). */
  private fault(kind: FaultKind, error: () => ApiError): void {
    if (!this.faults.has(kind)) this.faults.set(kind, error());
  }

  end(): StagedPush {
    for (const kind of FAULT_ORDER) {
      const error = this.faults.get(kind);
      if (error) throw error;
    }
    const { staged } = this;
    this.schedules.forEach((s, i) => {
      const why = scheduleProblem(s);
      if (why) throw bad(`/schedules/${i}`, why);
    });
    this.accessPoints.forEach((a, i) => {
      if (a.unlockScheduleId !== undefined && !staged.schedules.has(a.unlockScheduleId)) {
        throw bad(`/accessPoints/${i}/unlockScheduleId`, `names no schedule in this push`);
      }
    });
    // No row was skipped (a skipped row is a fault above): staged row i is body row i.
    const credentials = staged.credentials;
    for (let i = 0; i < credentials.count; i++) {
      const c = credentials.get(i);
      // Paths are built only on failure: this loop runs a million times on a big push.
      if (!staged.users.has(c.userId)) {
        throw bad(`/credentials/${i}/userId`, `names no user in this push`);
      }
      if (c.scheduleId !== undefined && !staged.schedules.has(c.scheduleId)) {
        throw bad(`/credentials/${i}/scheduleId`, `names no schedule in this push`);
      }
      for (let j = 0; j < c.accessPoints.length; j++) {
        const ap = c.accessPoints[j]!;
        if (ap !== ALL_ACCESS_POINTS && !staged.accessPoints.has(ap)) {
          throw bad(`/credentials/${i}/accessPoints/${j}`, `names no access point in this push`);
        }
      }
      if (c.start !== undefined && c.end !== undefined && c.start >= c.end) {
        throw bad(`/credentials/${i}/end`, `must be after start (${c.start} >= ${c.end})`);
      }
    }
    return new StagedPush(staged);
  }
}
