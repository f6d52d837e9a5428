import type { DatabaseContent } from '../../firmware/foundation/model';
import { checkContent, withEpochDates } from '../../firmware/api/database-checks';
import { ApiError } from '../../firmware/api/errors';
import { rejection, sampleDatabase, startTestReader, type TestReader } from './harness';

/**
 * A full push is checked and staged row by row as it streams in (firmware/api/full-push.ts).
 * Its answers must be the whole-body checks' answers (database-checks.ts `checkContent`,
 * run here on the same content), even for a fault in the last of 50,000 rows, and a refused
 * push must change nothing.
 */

/** The big push; the other faults and the accepted push use fewer rows to keep the suite fast. */
const BIG = 50_000;
const ROWS = 5_000;

function bigDatabase(rows = ROWS): DatabaseContent {
  return sampleDatabase(rows, 'p');
}

/** What the whole-body checks answer for this content. */
function wholeBodyAnswer(content: DatabaseContent): { field?: string; message: string } {
  try {
    checkContent({ ...content, credentials: withEpochDates(content.credentials, 'credentials') });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const body = err.body() as { field?: string; message: string };
    return { field: body.field, message: body.message };
  }
  throw new Error('the whole-body checks accept this content');
}

describe('a full push staged row by row', () => {
  let reader: TestReader;
  beforeAll(async () => {
    // 16 MiB of flash: room for the accepted push and its predecessors.
    reader = await startTestReader({ sectorCount: 4096 });
    await reader.client.push(sampleDatabase(3));
  });
  afterAll(() => reader.close());

  const faults: [string, number, (db: DatabaseContent) => void][] = [
    [
      'a credential naming no user, last row',
      BIG,
      (db) => (db.credentials.at(-1)!.userId = 'nobody'),
    ],
    [
      'a credential naming no access point, last row',
      ROWS,
      (db) => (db.credentials.at(-1)!.accessPoints = ['door-1', 'door-9']),
    ],
    [
      'a duplicate badge value, last row',
      ROWS,
      (db) => (db.credentials.at(-1)!.value = db.credentials[7]!.value),
    ],
    [
      // The whole-body checks looked at dates before duplicate users: so must the stream.
      'a duplicate user early and a bad date last',
      ROWS,
      (db) => {
        db.users[12]!.id = db.users[3]!.id;
        (db.credentials.at(-1) as unknown as Record<string, unknown>).start = '2026-02-30T00:00Z';
      },
    ],
  ];

  it.each(faults)(
    '%s (%d rows): the same 400 as the whole-body checks, nothing changed',
    async (_, rows, spoil) => {
      const before = await reader.client.content();
      const db = bigDatabase(rows);
      spoil(db);
      const expected = wholeBodyAnswer(db);
      const err = await rejection(reader.client.push(JSON.stringify(db)));
      expect(err.status).toBe(400);
      expect(err.body.error).toBe('bad_request');
      expect({ field: err.body.field, message: err.body.message }).toEqual(expected);
      expect(await reader.client.content()).toEqual(before);
    },
  );

  it('an accepted push reads back row for row', async () => {
    const db = bigDatabase();
    db.credentials[5]!.start = '2026-01-01T08:00:00+01:00' as unknown as number;
    const pushed = await reader.client.push(JSON.stringify(db));
    expect(pushed.counts).toMatchObject({ users: ROWS, credentials: ROWS });
    const { version, content } = await reader.client.content();
    expect(version).toBe(pushed.version);
    const byId = new Map(content.credentials.map((c) => [c.id, c]));
    expect(byId.size).toBe(ROWS);
    expect(byId.get('pc5')!.start).toBe(Date.UTC(2026, 0, 1, 7));
    expect(byId.get(`pc${ROWS - 1}`)).toMatchObject({
      userId: `p${ROWS - 1}`,
      value: String(10000 + ROWS - 1),
    });
    const events = await reader.client.events(0, 1000);
    const updated = events.events.filter(
      (e) => (e.detail as { action?: string } | undefined)?.action === 'database-updated',
    );
    expect(updated.at(-1)!.detail).toMatchObject({ version: pushed.version });
  });
});
