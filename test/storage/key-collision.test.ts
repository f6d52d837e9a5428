import { MemoryFlash, openStore, ReaderStore } from '../../storage';
import { KeyHash, NO_PREFIX, hashString } from '../../storage/key-table';
import { mountForInspection } from '../../storage/reader-store';
import { CREDENTIAL_KINDS, Credential } from '../../firmware/foundation/model';
import { content, observe } from './workload';

/*
 * Keys whose hashes collide: the index narrows its hashes to BITS bits per half (a test
 * option), and the credentials below are picked by search so that two different ids, and
 * two different (kind, value) keys, hash alike in both halves. Every path that finds a key
 * (lookup, update, delete, debit, collection, snapshot, replay) must tell them apart.
 */
const BITS = 8;
const BADGE = CREDENTIAL_KINDS.indexOf('badge');

function same(a: KeyHash, b: KeyHash): boolean {
  return a.low === b.low && a.high === b.high;
}

/** Two different strings whose narrowed hashes (with the prefix) are equal in both halves. */
function collidingPair(make: (i: number) => string, prefix: number): [string, string] {
  const seen = new Map<string, string>();
  for (let i = 0; ; i++) {
    const key = make(i);
    const h = hashString(key, prefix, new KeyHash(BITS));
    const both = `${h.low}/${h.high}`;
    const earlier = seen.get(both);
    if (earlier !== undefined) return [earlier, key];
    seen.set(both, key);
  }
}

const [idA, idB] = collidingPair((i) => `card-${i}`, NO_PREFIX);
const [valueA, valueB] = collidingPair((i) => `7:${i}`, BADGE);

function pair(extra: Partial<Credential> = {}): Credential[] {
  const base = { userId: 'u1', kind: 'badge' as const, accessPoints: ['*'] };
  return [
    { ...base, id: idA, value: valueA, enabled: true, ...extra },
    { ...base, id: idB, value: valueB, enabled: false, useLimit: 5 },
  ];
}

function device(): MemoryFlash {
  return new MemoryFlash({ geometry: { sectorCount: 16 } });
}

function open(d: MemoryFlash, checkpointBytes = 2048): ReaderStore {
  return openStore({ device: d, keyHashBits: BITS, checkpointBytes });
}

/** Both credentials, each found by value and by id with its own fields and counter. */
function expectBoth(s: ReaderStore, usesA: number, usesB: number): void {
  const a = s.database.findCredential('badge', valueA);
  const b = s.database.findCredential('badge', valueB);
  expect(a).toMatchObject({ id: idA, value: valueA, enabled: true });
  expect(b).toMatchObject({ id: idB, value: valueB, enabled: false, useLimit: 5 });
  expect(s.database.credential(idA)?.value).toBe(valueA);
  expect(s.database.credential(idB)?.value).toBe(valueB);
  expect(s.database.usesOf(idA)).toBe(usesA);
  expect(s.database.usesOf(idB)).toBe(usesB);
}

/** A mount from the snapshot and a full replay see the same index as the store in use. */
function expectRemountsAgree(d: MemoryFlash, state: string): void {
  const fromSnapshot = open(d);
  expect(fromSnapshot.mountReport.fromCheckpoint).toBe(true);
  expect(observe(fromSnapshot)).toBe(state);
  const full = mountForInspection(d, { checkpoint: false });
  expect(full.report.fromCheckpoint).toBe(false);
  // The same full replay at the test's width, through the store's own reads.
  const narrowFull = openStore({ device: d, keyHashBits: BITS, checkpointBytes: Infinity });
  expect(observe(narrowFull)).toBe(state);
}

describe('key hash collisions (hashes narrowed to force them)', () => {
  it('the picked keys really collide in both hash halves, and differ', () => {
    expect(idA).not.toBe(idB);
    expect(valueA).not.toBe(valueB);
    const h = (s: string, p: number) => hashString(s, p, new KeyHash(BITS));
    expect(same(h(idA, NO_PREFIX), h(idB, NO_PREFIX))).toBe(true);
    expect(same(h(valueA, BADGE), h(valueB, BADGE))).toBe(true);
    // At full width they do not: the narrowing is what makes them collide.
    expect(
      same(hashString(idA, NO_PREFIX, new KeyHash()), hashString(idB, NO_PREFIX, new KeyHash())),
    ).toBe(false);
  });

  it('both are found, updated, debited and deleted on their own, through remounts from a snapshot and full replays', () => {
    const d = device();
    const s = open(d);
    s.database.replace({ ...content(0, 'v1'), credentials: pair() });
    expectBoth(s, 0, 0);
    // A key that shares the hashes but is neither is not found.
    expect(s.database.findCredential('badge', `${valueA}x`)).toBeUndefined();

    s.database.debit(idA);
    s.database.debit(idB);
    s.database.debit(idB);
    expectBoth(s, 1, 2);

    // Update one (a delta); the other keeps its record.
    s.database.patch({
      baseVersion: s.database.version(),
      upsert: { credentials: [{ ...pair()[0]!, accessPoints: ['ap1'] }] },
    });
    expect(s.database.findCredential('badge', valueA)?.accessPoints).toEqual(['ap1']);
    expectBoth(s, 1, 2);

    // Enough writes to wrap the log: collection moves both, snapshots are taken on the way.
    for (let i = 0; i < 400; i++) {
      s.recordGrant({ ts: i, type: 'access', credentialId: i % 2 ? idA : idB }, i % 2 ? idA : idB);
      if (i % 50 === 0) s.events.ack(s.events.stats().lastSeq);
    }
    expectBoth(s, 201, 202);
    expect(d.stats.erases).toBeGreaterThan(0);
    expectRemountsAgree(d, observe(s));

    // Delete the first: the second stays, by value and by id, with its counter.
    const again = open(d);
    again.database.patch({ baseVersion: again.database.version(), delete: { credentials: [idA] } });
    expect(again.database.findCredential('badge', valueA)).toBeUndefined();
    expect(again.database.credential(idA)).toBeUndefined();
    expect(again.database.usesOf(idA)).toBe(0);
    expect(again.database.findCredential('badge', valueB)?.id).toBe(idB);
    expect(again.database.usesOf(idB)).toBe(202);
    for (let i = 0; i < 200; i++) again.database.debit(idB);
    expectRemountsAgree(d, observe(again));

    // Put it back: both again, the returning one with a fresh counter.
    again.database.patch({
      baseVersion: again.database.version(),
      upsert: { credentials: [pair()[0]!] },
    });
    expectBoth(again, 0, 402);
    expectRemountsAgree(d, observe(again));
  });

  it('a full push with many colliding keys keeps every one, and refuses only true duplicates', () => {
    const d = new MemoryFlash({ geometry: { sectorCount: 128 } });
    // Three bits a half: 64 hash pairs for 300 keys, so most keys share theirs with others.
    const s = openStore({ device: d, keyHashBits: 3, checkpointBytes: 4096 });
    const credentials = Array.from({ length: 300 }, (_, i) => ({
      id: `k${i}`,
      userId: 'u1',
      kind: CREDENTIAL_KINDS[i % 3]!,
      value: `${i}`,
      enabled: true,
      accessPoints: ['*'],
    }));
    s.database.replace({ ...content(0, 'v1'), credentials });
    for (let i = 0; i < 300; i += 7) s.database.debit(`k${i}`);
    s.database.patch({ baseVersion: s.database.version(), delete: { credentials: ['k3', 'k4'] } });
    const check = (store: ReaderStore) => {
      for (const c of credentials) {
        const gone = c.id === 'k3' || c.id === 'k4';
        expect(store.database.findCredential(c.kind, c.value)?.id).toBe(gone ? undefined : c.id);
        expect(store.database.usesOf(c.id)).toBe(!gone && Number(c.id.slice(1)) % 7 === 0 ? 1 : 0);
      }
      expect(store.database.counts().credentials).toBe(298);
    };
    check(s);
    const state = observe(s);
    const remounted = openStore({ device: d, keyHashBits: 3 });
    expect(remounted.mountReport.fromCheckpoint).toBe(true);
    check(remounted);
    expect(observe(remounted)).toBe(state);
    expect(observe(openStore({ device: d, keyHashBits: 3, checkpointBytes: Infinity }))).toBe(
      state,
    );
    // A snapshot hashed at another width is not trusted: full replay, same state.
    const wide = openStore({ device: d });
    expect(wide.mountReport.fromCheckpoint).toBe(false);
    expect(observe(wide)).toBe(state);
    expect(() =>
      remounted.database.replace({
        ...content(0, 'v2'),
        credentials: [...credentials, credentials[5]!],
      }),
    ).toThrow(/duplicate credential id 'k5'/);
    expect(observe(remounted)).toBe(state);
  });

  it.each([BITS, 32])(
    "a snapshot whose older sectors were collected since mounts to the full replay's state (hashes of %i bits)",
    (bits) => {
      const d = device();
      const first = openStore({
        device: d,
        keyHashBits: bits,
        eventCapacity: 20,
        checkpointBytes: 1024,
      });
      first.database.replace({ ...content(0, 'v1'), credentials: pair() });
      for (let i = 0; i < 200; i++) first.database.debit(i % 3 ? idA : idB);
      // The version the snapshot names lies past the oldest sector (which collection takes).
      first.database.patch({ baseVersion: 1, upsert: { credentials: [pair()[1]!] } });
      for (let i = 0; i < 60; i++) first.database.debit(idB);
      // No snapshot from here on: collection takes sectors the last snapshot points into.
      const later = openStore({
        device: d,
        keyHashBits: bits,
        eventCapacity: 20,
        checkpointBytes: Infinity,
      });
      const erases = d.stats.erases;
      later.database.patch({
        baseVersion: later.database.version(),
        upsert: { credentials: [{ ...pair()[0]!, value: `${valueA}-new` }] },
      });
      // Until collection has taken the oldest sector (the push), not the snapshot.s.
      for (let i = 0; d.stats.erases < erases + 1; i++) {
        later.recordGrant({ ts: i, type: 'access', credentialId: idA }, idA);
        if (i % 40 === 0) later.events.ack(later.events.stats().lastSeq);
      }
      expect(d.stats.erases).toBeGreaterThan(erases);
      const state = observe(later);
      const live = later.health().liveBytes;
      const fromSnapshot = openStore({ device: d, keyHashBits: bits, eventCapacity: 20 });
      expect(fromSnapshot.mountReport.fromCheckpoint).toBe(true);
      expect(observe(fromSnapshot)).toBe(state);
      expect(fromSnapshot.health().liveBytes).toBe(live);
      expect(fromSnapshot.database.findCredential('badge', valueA)).toBeUndefined();
      expect(fromSnapshot.database.findCredential('badge', `${valueA}-new`)?.id).toBe(idA);
      const full = openStore({
        device: d,
        keyHashBits: bits,
        eventCapacity: 20,
        checkpointBytes: Infinity,
      });
      expect(observe(full)).toBe(state);
      expect(full.health().liveBytes).toBe(live);
    },
  );

  it('refuses a hash width outside 1..32', () => {
    expect(() => openStore({ device: device(), keyHashBits: 0 })).toThrow(/keyHashBits/);
    expect(() => openStore({ device: device(), keyHashBits: 33 })).toThrow(/keyHashBits/);
  });
});
