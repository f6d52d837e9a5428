import { HostApiError } from '../../firmware/api/client';
import type { DatabaseContent } from '../../firmware/foundation/model';
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
  const oldDb = sampleDatabase(10, 'old');
  const newDb = sampleDatabase(15, 'new');
  const tried: string[] = [];

  beforeAll(async () => {
    reader = await startTestReader();
  });
  /** How many database-updated events the log holds for this version. */
  async function updatedEvents(version: number): Promise<number> {
    let found = 0;
    for (let after = 0, more = true; more;) {
      const page = await reader.client.events(after, 1000);
      for (const e of page.events) {
        const detail = e.detail as { action?: string; version?: number } | undefined;
        if (detail?.action === 'database-updated' && detail.version === version) found++;
      }
      ({ next: after, more } = page);
    }
    return found;
  }

  afterAll(() => reader.close());

  async function pushAndCount(db: DatabaseContent): Promise<number> {
    const before = reader.flash.stats.operations;
    await reader.client.push(db);
    return reader.flash.stats.operations - before;
  }

  it.each(['prefix', 'none', 'bits', 'all-but-one'])(
    'leaves the old or the new database whole, power cut at every flash operation (%s)',
    async (model) => {
      await reader.client.push(oldDb);
      const pushOps = await pushAndCount(newDb);
      expect(pushOps).toBeGreaterThan(2);
      // Every flash operation of the push, and a few past it: after a power cycle the log
      // stands elsewhere, and the same push may take a few operations more (a page or sector
      // boundary, a collection) than the one counted here.
      const points = Array.from({ length: pushOps + 8 }, (_, i) => i + 1);
      const outcomes = { old: 0, new: 0 };
      for (const k of points) {
        await reader.client.push(oldDb);
        const { version: oldVersion } = await reader.client.database();
        await reader.client.sim.powerCycle(k, model);
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
        // The live version's push and its database-updated event are one transaction.
        expect(await updatedEvents(version)).toBe(1);
        outcomes[isOld ? 'old' : 'new']++;
        reader.flash.armPowerCut(undefined);
      }
      // The cut points span the push: early cuts keep the old database, late ones the new.
      expect(outcomes.old).toBeGreaterThan(0);
      expect(outcomes.new).toBeGreaterThan(0);
      tried.push(`${model} ${points.length} (old ${outcomes.old}, new ${outcomes.new})`);
    },
    30_000,
  );

  afterAll(() =>
    console.log(`host API full push, power cut at every operation: ${tried.join('; ')}`),
  );
});
