import { HostApiError } from '../../firmware/api/client';
import type { DatabaseContent } from '../../storage/model';
import { eventually, sampleDatabase, startTestReader, type TestReader } from './harness';

/** Order-free view of a database, to compare what the reader holds with what was pushed. */
function canonical(db: DatabaseContent): string {
  const byKey = (rows: object[]) => rows.map((r) => JSON.stringify(r)).sort();
  return JSON.stringify({
    users: byKey(db.users),
    credentials: byKey(db.credentials),
    schedules: byKey(db.schedules),
    holidays: byKey(db.holidays),
    accessPoints: byKey(db.accessPoints),
  });
}

describe('power cut in the middle of a full push over the host API', () => {
  let reader: TestReader;
  const oldDb = sampleDatabase(40, 'old');
  const newDb = sampleDatabase(60, 'new');

  beforeAll(async () => {
    reader = await startTestReader();
  });
  afterAll(() => reader.close());

  async function pushAndCount(db: DatabaseContent): Promise<number> {
    const before = reader.flash.stats.operations;
    await reader.client.push(db);
    return reader.flash.stats.operations - before;
  }

  it('leaves the old or the new database whole at every tried cut point', async () => {
    await reader.client.push(oldDb);
    const pushOps = await pushAndCount(newDb);
    expect(pushOps).toBeGreaterThan(2);
    const points = [
      ...new Set([
        1,
        2,
        3,
        Math.floor(pushOps / 4),
        Math.floor(pushOps / 2),
        Math.floor((3 * pushOps) / 4),
        pushOps - 1,
        pushOps,
        pushOps + 1,
      ]),
    ];
    const outcomes = { old: 0, new: 0 };
    for (const k of points) {
      await reader.client.push(oldDb);
      const { version: oldVersion } = await reader.client.database();
      await reader.client.sim.powerCycle(k);
      const result = await reader.client.push(newDb).then(
        () => 'ok',
        (e: unknown) => e,
      );
      if (result !== 'ok') {
        expect(result).toBeInstanceOf(HostApiError);
        expect((result as HostApiError).status).toBe(503);
        expect(['power_lost', 'booting']).toContain((result as HostApiError).body.error);
      }
      // The board reboots by itself after a cut; wait for it (a cut past the push also fires
      // on the next write, e.g. the event the push logs).
      await eventually(
        async () => (await reader.client.health()).state === 'running' && reader.flash.powered,
      );
      const { version, content } = await eventually(async () => {
        try {
          return await reader.client.content();
        } catch {
          return undefined;
        }
      });
      const now = canonical(content);
      const isOld = now === canonical(oldDb);
      const isNew = now === canonical(newDb);
      expect(isOld || isNew).toBe(true);
      if (isOld) expect(version).toBe(oldVersion);
      else expect(version).toBeGreaterThan(oldVersion);
      outcomes[isOld ? 'old' : 'new']++;
      reader.flash.armPowerCut(undefined);
    }
    // The cut points span the push: early cuts keep the old database, late ones the new.
    expect(outcomes.old).toBeGreaterThan(0);
    expect(outcomes.new).toBeGreaterThan(0);
  });
});
