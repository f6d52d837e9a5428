import fc from 'fast-check';
import { ReaderStore, StoreError } from '../../storage';
import {
  Credential,
  DatabaseContent,
  DatabaseDelta,
  EventRecord,
  NewEvent,
} from '../../firmware/foundation/model';
import { EVENT_CAPACITY, mount, smallDevice } from './workload';

/** The plain in-memory model the flash store must agree with, operation by operation. */
class Model {
  version = 0;
  db: DatabaseContent = {
    users: [],
    credentials: [],
    schedules: [],
    holidays: [],
    accessPoints: [],
  };
  uses = new Map<string, number>();
  events: EventRecord[] = [];
  lastSeq = 0;
  acked = 0;
  dropped = 0;
  config: Record<string, unknown> = {};

  replace(content: DatabaseContent): void {
    checkUnique(content.credentials);
    const keep = new Set(content.credentials.map((c) => c.id));
    for (const id of [...this.uses.keys()]) if (!keep.has(id)) this.uses.delete(id);
    this.db = structuredClone(content);
    this.version++;
  }

  patch(delta: DatabaseDelta): void {
    if (delta.baseVersion !== this.version) throw new StoreError('version conflict');
    const deleted = new Set(delta.delete?.credentials ?? []);
    let creds = this.db.credentials.filter((c) => !deleted.has(c.id));
    const upserts = delta.upsert?.credentials ?? [];
    const after = [...creds.filter((c) => !upserts.some((u) => u.id === c.id)), ...upserts];
    checkUnique(after);
    for (const id of deleted) this.uses.delete(id);
    creds = after;
    const users = this.db.users.filter((u) => !(delta.delete?.users ?? []).includes(u.id));
    for (const u of delta.upsert?.users ?? []) {
      const i = users.findIndex((x) => x.id === u.id);
      if (i >= 0) users[i] = u;
      else users.push(u);
    }
    this.db = { ...this.db, credentials: structuredClone(creds), users: structuredClone(users) };
    this.version++;
  }

  append(event: NewEvent): void {
    const seq = ++this.lastSeq;
    this.events.push({ ...event, seq });
    while (this.events.length > EVENT_CAPACITY) {
      if (this.events.shift()!.seq > this.acked) this.dropped++;
    }
  }

  grant(event: NewEvent, id: string): void {
    if (!this.db.credentials.some((c) => c.id === id)) throw new StoreError('unknown credential');
    this.append(event);
    this.uses.set(id, (this.uses.get(id) ?? 0) + 1);
  }

  ack(upTo: number): void {
    if (upTo > this.lastSeq) throw new StoreError('beyond last');
    this.acked = Math.max(this.acked, upTo);
  }
}

function checkUnique(credentials: Credential[]): void {
  const ids = new Set<string>();
  const values = new Set<string>();
  for (const c of credentials) {
    const key = `${c.kind}\u0000${c.value}`;
    if (ids.has(c.id) || values.has(key)) throw new StoreError('duplicate');
    ids.add(c.id);
    values.add(key);
  }
}

function observed(s: ReaderStore): unknown {
  const db = s.database.content();
  return {
    version: s.database.version(),
    credentials: db.credentials,
    users: db.users,
    uses: db.credentials.map((c) => s.database.usesOf(c.id)),
    events: s.events.list(0, 100),
    stats: s.events.stats(),
    config: s.config.get(),
  };
}

function expected(m: Model): unknown {
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const credentials = [...m.db.credentials].sort(byId);
  return {
    version: m.version,
    credentials,
    users: [...m.db.users].sort(byId),
    uses: credentials.map((c) => m.uses.get(c.id) ?? 0),
    events: m.events,
    stats: {
      firstSeq: m.events.length ? m.events[0]!.seq : m.lastSeq + 1,
      lastSeq: m.lastSeq,
      ackedSeq: m.acked,
      count: m.events.length,
      capacity: EVENT_CAPACITY,
      dropped: m.dropped,
    },
    config: m.config,
  };
}

const credentialArb: fc.Arbitrary<Credential> = fc.record({
  id: fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5', 'c6'),
  userId: fc.constantFrom('u1', 'u2'),
  kind: fc.constantFrom('badge', 'pin', 'mobile'),
  value: fc.constantFrom('1001', '1002', '1003', '1004', '1005', 'x', 'y', 'dev-ä'),
  enabled: fc.boolean(),
  accessPoints: fc.constantFrom(['*'], ['ap1'], []),
});
const userArb = fc.record({
  id: fc.constantFrom('u1', 'u2', 'u3'),
  name: fc.string({ maxLength: 6 }),
  enabled: fc.boolean(),
});

type Op =
  | {
      op: 'replace';
      credentials: Credential[];
      users: Array<{ id: string; name: string; enabled: boolean }>;
    }
  | {
      op: 'patch';
      stale: boolean;
      del: string[];
      upsert: Credential[];
      delUsers: string[];
      upsertUsers: Array<{ id: string; name: string; enabled: boolean }>;
    }
  | { op: 'grant'; id: string; ts: number }
  | { op: 'event'; ts: number; n: number }
  | { op: 'ack'; back: number }
  | { op: 'config'; value: number }
  | { op: 'remount' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('replace' as const),
    credentials: fc.uniqueArray(credentialArb, {
      minLength: 2,
      maxLength: 6,
      selector: (c) => c.id,
    }),
    users: fc.uniqueArray(userArb, { maxLength: 3, selector: (u) => u.id }),
  }),
  fc.record({
    op: fc.constant('patch' as const),
    stale: fc.boolean(),
    del: fc.array(fc.constantFrom('c1', 'c2', 'c3', 'c9'), { maxLength: 2 }),
    upsert: fc.uniqueArray(credentialArb, { maxLength: 2, selector: (c) => c.id }),
    delUsers: fc.array(fc.constantFrom('u1', 'u3'), { maxLength: 1 }),
    upsertUsers: fc.uniqueArray(userArb, { maxLength: 2, selector: (u) => u.id }),
  }),
  fc.record({
    op: fc.constant('grant' as const),
    id: fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'),
    ts: fc.nat(1e6),
  }),
  fc.record({ op: fc.constant('event' as const), ts: fc.nat(1e6), n: fc.nat(50) }),
  fc.record({ op: fc.constant('ack' as const), back: fc.integer({ min: -1, max: 6 }) }),
  fc.record({ op: fc.constant('config' as const), value: fc.nat(100) }),
  fc.record({ op: fc.constant('remount' as const) }),
);

/** Runs op on both; both must fail (the store with a StoreError, changing nothing) or both succeed. */
function step(store: ReaderStore, model: Model, op: Op): void {
  let modelError = false;
  const run = (onModel: () => void, onStore: () => void) => {
    const snapshot = structuredClone({ ...model, uses: [...model.uses] });
    try {
      onModel();
    } catch {
      modelError = true;
      Object.assign(model, { ...snapshot, uses: new Map(snapshot.uses) });
    }
    let storeError: unknown;
    try {
      onStore();
    } catch (err) {
      storeError = err;
    }
    if (modelError !== (storeError !== undefined)) {
      throw new Error(
        `${op.op}: model ${modelError ? 'failed' : 'succeeded'}, store ${String(storeError ?? 'succeeded')}`,
      );
    }
    if (storeError && !(storeError instanceof StoreError)) throw storeError;
  };
  switch (op.op) {
    case 'replace': {
      const content = {
        users: op.users,
        credentials: op.credentials,
        schedules: [],
        holidays: [],
        accessPoints: [],
      };
      run(
        () => model.replace(content),
        () => store.database.replace(content),
      );
      return;
    }
    case 'patch': {
      const delta: DatabaseDelta = {
        baseVersion: model.version + (op.stale ? 1 : 0),
        delete: { credentials: op.del, users: op.delUsers },
        upsert: { credentials: op.upsert, users: op.upsertUsers },
      };
      run(
        () => model.patch(delta),
        () => store.database.patch(delta),
      );
      return;
    }
    case 'grant': {
      const event: NewEvent = { ts: op.ts, type: 'access', decision: 'grant', credentialId: op.id };
      run(
        () => model.grant(event, op.id),
        () => store.recordGrant(event, op.id),
      );
      return;
    }
    case 'event': {
      const event: NewEvent = { ts: op.ts, type: 'door', detail: { n: op.n } };
      run(
        () => model.append(event),
        () => store.events.append(event),
      );
      return;
    }
    case 'ack': {
      const upTo = Math.max(0, model.lastSeq - op.back);
      run(
        () => model.ack(upTo),
        () => store.events.ack(upTo),
      );
      return;
    }
    case 'config':
      run(
        () => (model.config = { v: op.value }),
        () => store.config.set({ v: op.value }),
      );
      return;
    case 'remount':
      return;
  }
}

describe('flash store against a plain in-memory model (fast-check, seeded)', () => {
  it('agrees after every operation and every remount', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }), (ops) => {
        const device = smallDevice();
        let store = mount(device);
        const model = new Model();
        for (const op of ops) {
          if (op.op === 'remount') store = mount(device);
          else step(store, model, op);
          expect(observed(store)).toEqual(expected(model));
        }
        expect(observed(mount(device))).toEqual(expected(model));
      }),
      { seed: 20261124, numRuns: 60 },
    );
  });
});
