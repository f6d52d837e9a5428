import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MemoryFlash,
  StoreError,
  TYPICAL_TIMING,
  VersionConflictError,
  openStore,
} from '../../storage';
import {
  credentialHasKey,
  decodeCredential,
  encodeCredential,
  kindCode,
} from '../../storage/codec';
import { VirtualClock } from '../../firmware/foundation/clock';
import { content, credential, mount, observe, SMALL_GEOMETRY, smallDevice } from './workload';

describe('reader store', () => {
  it('starts empty at version 0', () => {
    const s = mount(smallDevice());
    expect(s.database.version()).toBe(0);
    expect(s.database.counts()).toEqual({
      users: 0,
      credentials: 0,
      schedules: 0,
      holidays: 0,
      accessPoints: 0,
    });
    expect(s.events.stats()).toEqual({
      firstSeq: 1,
      lastSeq: 0,
      ackedSeq: 0,
      count: 0,
      capacity: 12,
      dropped: 0,
    });
    expect(s.config.get()).toEqual({});
  });

  it('full push: looks credentials up by kind + value and by id, exports what it stored', () => {
    const s = mount(smallDevice());
    const pushed = content(10, 'v1');
    expect(s.database.replace(pushed)).toBe(1);
    expect(s.database.findCredential('badge', 'v1')).toEqual(credential(1));
    expect(s.database.findCredential('pin', 'v1')).toBeUndefined(); // same value, other kind
    expect(s.database.credential('c4')).toEqual(credential(4));
    expect(s.database.user('u2')?.name).toBe('v1 user 2');
    expect(s.database.schedule('s1')?.timeZone).toBe('UTC');
    expect(s.database.accessPoint('ap2')?.unlockScheduleId).toBe('s1');
    expect(
      s.database
        .accessPoints()
        .map((a) => a.id)
        .sort(),
    ).toEqual(['ap1', 'ap2']);
    expect(s.database.holidays()).toEqual([{ date: '2026-12-25', name: 'v1' }]);
    const out = s.database.content();
    expect(out.credentials).toEqual([...pushed.credentials].sort((a, b) => (a.id < b.id ? -1 : 1)));
  });

  it('lookup by value compares the stored key byte for byte: UTF-8 values, prefixes and longer values miss', () => {
    const device = smallDevice();
    const s = mount(device);
    const unicode = credential(1, {
      value: 'dev-ä€😀',
      scheduleId: 's1',
      pinHash: 'h',
      publicKey: 'k',
    });
    const ascii = credential(2, { value: 'ab' });
    s.database.replace({ ...content(0, 'v1'), credentials: [unicode, ascii] });
    for (const store of [s, mount(device)]) {
      expect(store.database.findCredential(unicode.kind, 'dev-ä€😀')).toEqual(unicode);
      expect(store.database.findCredential(ascii.kind, 'ab')).toEqual(ascii);
      for (const near of ['a', 'abc', 'aB', 'dev-ä€', 'dev-ä€😀x', 'dev-a€😀']) {
        expect(store.database.findCredential(ascii.kind, near)).toBeUndefined();
        expect(store.database.findCredential(unicode.kind, near)).toBeUndefined();
      }
    }
    // The key check itself (a hash collision reaches it): kind, length and every byte count.
    for (const c of [unicode, ascii]) {
      const payload = encodeCredential(1, c);
      const code = kindCode(c.kind);
      expect(credentialHasKey(payload, 0, code, c.value)).toBe(true);
      expect(credentialHasKey(payload, 0, (code + 1) % 3, c.value)).toBe(false);
      for (const near of ['a', 'abc', 'aB', 'dev-ä€', 'dev-ä€😀x', 'dev-a€😀']) {
        expect(credentialHasKey(payload, 0, code, near)).toBe(false);
      }
      expect(decodeCredential(payload)).toEqual(c);
    }
  });

  it('a second full push replaces the first as a whole (generation switch) and keeps use counters of kept credentials', () => {
    const device = smallDevice();
    const s = mount(device);
    s.database.replace(content(10, 'v1'));
    s.recordGrant({ ts: 1, type: 'access' }, 'c2');
    s.recordGrant({ ts: 2, type: 'access' }, 'c9');
    s.database.replace(content(5, 'v2'));
    expect(s.database.version()).toBe(2);
    expect(s.database.counts().credentials).toBe(5);
    expect(s.database.credential('c9')).toBeUndefined();
    expect(s.database.usesOf('c2')).toBe(1);
    expect(s.database.usesOf('c9')).toBe(0);
    expect(s.database.user('u0')?.name).toBe('v2 user 0');
    expect(observe(mount(device))).toBe(observe(s));
  });

  it('rejects a push with duplicate (kind, value) or ids, and changes nothing', () => {
    const device = smallDevice();
    const s = mount(device);
    s.database.replace(content(4, 'v1'));
    const before = observe(s);
    const ops = device.stats.operations;
    const dupValue = content(4, 'v2');
    dupValue.credentials.push(credential(9, { kind: 'badge', value: 'v1' }));
    expect(() => s.database.replace(dupValue)).toThrow(/duplicate credential badge value 'v1'/);
    const dupId = content(4, 'v2');
    dupId.credentials.push(credential(2, { value: 'other' }));
    expect(() => s.database.replace(dupId)).toThrow(/duplicate credential id 'c2'/);
    expect(() => s.database.replace({ ...content(1, 'x'), users: 'no' } as never)).toThrow(
      /users must be an array/,
    );
    expect(() =>
      s.database.replace(
        content(2, 'x') && {
          ...content(2, 'x'),
          credentials: [credential(1, { kind: 'retina' as never })],
        },
      ),
    ).toThrow(/unknown credential kind/);
    expect(device.stats.operations).toBe(ops);
    expect(observe(s)).toBe(before);
  });

  it('delta: applies atomically on its base version, rejects a stale base or a value clash', () => {
    const s = mount(smallDevice());
    s.database.replace(content(4, 'v1'));
    expect(() => s.database.patch({ baseVersion: 0 })).toThrow(VersionConflictError);
    const before = observe(s);
    expect(() =>
      s.database.patch({
        baseVersion: 1,
        upsert: { credentials: [credential(7, { kind: 'badge', value: 'v1' })] },
      }),
    ).toThrow(/already held by credential 'c1'/);
    expect(observe(s)).toBe(before);
    // Moving a value from one credential to another in the same delta is fine.
    const v = s.database.patch({
      baseVersion: 1,
      delete: { credentials: ['c1'], users: ['u0'] },
      upsert: {
        credentials: [credential(7, { kind: 'badge', value: 'v1' })],
        holidays: [{ date: '2027-01-01' }],
      },
    });
    expect(v).toBe(2);
    expect(s.database.findCredential('badge', 'v1')?.id).toBe('c7');
    expect(s.database.credential('c1')).toBeUndefined();
    expect(s.database.user('u0')).toBeUndefined();
    expect(s.database.holidays().map((h) => h.date)).toEqual(['2026-12-25', '2027-01-01']);
  });

  it('a grant is one transaction: event and use debit together, durable across remount', () => {
    const device = smallDevice();
    const s = mount(device);
    s.database.replace(content(4, 'v1'));
    const e = s.recordGrant({ ts: 5, type: 'access', decision: 'grant', credentialId: 'c3' }, 'c3');
    expect(e.seq).toBe(1);
    expect(s.database.usesOf('c3')).toBe(1);
    expect(() => s.recordGrant({ ts: 6, type: 'access' }, 'nope')).toThrow(
      /unknown credential 'nope'/,
    );
    const again = mount(device);
    expect(again.database.usesOf('c3')).toBe(1);
    expect(again.events.list(0, 10)).toEqual([
      { ts: 5, type: 'access', decision: 'grant', credentialId: 'c3', seq: 1 },
    ]);
  });

  it('event log: monotonic seq across remounts, ack, retention drops the oldest and counts unacknowledged drops', () => {
    const device = smallDevice();
    let s = mount(device);
    for (let i = 1; i <= 5; i++) expect(s.events.append({ ts: i, type: 'system' }).seq).toBe(i);
    s.events.ack(3);
    expect(() => s.events.ack(99)).toThrow(/beyond the last event/);
    s = mount(device);
    expect(s.events.stats()).toMatchObject({
      firstSeq: 1,
      lastSeq: 5,
      ackedSeq: 3,
      count: 5,
      dropped: 0,
    });
    for (let i = 6; i <= 14; i++) s.events.append({ ts: i, type: 'door' });
    // capacity 12: seq 1 and 2 went (acknowledged), no drop counted yet
    expect(s.events.stats()).toMatchObject({ firstSeq: 3, lastSeq: 14, count: 12, dropped: 0 });
    for (let i = 15; i <= 18; i++) s.events.append({ ts: i, type: 'door' });
    // 3 was acknowledged; 4, 5 and 6 were not
    expect(s.events.stats()).toMatchObject({ firstSeq: 7, lastSeq: 18, count: 12, dropped: 3 });
    expect(s.events.list(10, 3).map((e) => e.seq)).toEqual([11, 12, 13]);
    s = mount(device);
    expect(s.events.stats()).toMatchObject({ firstSeq: 7, lastSeq: 18, dropped: 3, ackedSeq: 3 });
    expect(s.events.append({ ts: 19, type: 'overflow', detail: { dropped: 3 } }).seq).toBe(19);
  });

  it('config: replaces the stored object durably; rejects non-objects', () => {
    const device = smallDevice();
    const s = mount(device);
    s.config.set({ unlockMs: 5000, nested: { a: [1, 2] } });
    expect(() => s.config.set([] as never)).toThrow(StoreError);
    expect(mount(device).config.get()).toEqual({ unlockMs: 5000, nested: { a: [1, 2] } });
  });

  it('garbage collection keeps the live data and at least one sector erased; wear stays level', () => {
    const device = smallDevice();
    const s = mount(device);
    s.database.replace(content(10, 'v1'));
    for (let i = 0; i < 3000; i++) s.recordGrant({ ts: i, type: 'access' }, `c${(i % 10) + 1}`);
    const h = s.health();
    expect(h.erasedSectors).toBeGreaterThanOrEqual(1);
    expect(h.minEraseCount).toBeGreaterThan(10);
    expect(h.maxEraseCount - h.minEraseCount).toBeLessThanOrEqual(2);
    expect(s.database.usesOf('c1')).toBe(300);
    const again = mount(device);
    expect(observe(again)).toBe(observe(s));
    expect(again.database.findCredential('badge', 'v1')?.id).toBe('c1');
  });

  it('reports a full flash with StoreFullError and keeps the previous state', () => {
    const device = smallDevice();
    const s = mount(device);
    s.database.replace(content(4, 'v1'));
    const before = observe(s);
    expect(() => s.database.replace(content(200, 'huge'))).toThrow(/full/);
    expect(observe(s)).toBe(before);
    s.events.append({ ts: 1, type: 'system' }); // still usable
    const after = observe(s);
    expect(observe(mount(device))).toBe(after);
  });

  it('mount is idempotent: a second mount programs and erases nothing', () => {
    const device = smallDevice();
    const s = mount(device);
    s.database.replace(content(6, 'v1'));
    for (let i = 0; i < 200; i++) s.events.append({ ts: i, type: 'door' });
    const image = Buffer.from(device.image);
    const ops = device.stats.operations;
    mount(device);
    mount(device);
    expect(device.stats.operations).toBe(ops);
    expect(device.image.equals(image)).toBe(true);
  });

  it('file-backed: created on first use under dir, everything survives reopen', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
    try {
      const s = openStore({ dir, imageBytes: 256 * 1024 });
      s.database.replace(content(20, 'v1'));
      s.recordGrant({ ts: 1, type: 'access' }, 'c5');
      s.config.set({ a: 1 });
      const seen = observe(s);
      s.close();
      expect(() => s.events.append({ ts: 1, type: 'system' })).toThrow(/closed/);
      const again = openStore({ dir });
      expect(observe(again)).toBe(seen);
      expect(again.health().sectors).toBe(64);
      again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flash timing model: modelled program/erase time can drive a VirtualClock', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-timing-'));
    try {
      const clock = new VirtualClock();
      const start = clock.now();
      const s = openStore({
        dir,
        imageBytes: 64 * 4096,
        clock,
        flashTiming: { ...TYPICAL_TIMING, onBusy: (ms) => clock.advance(ms) },
      });
      s.events.append({ ts: clock.now(), type: 'system' });
      s.close();
      // 0.4 ms per program: sector header and log tail (opening the first sector), then the
      // event's payload and, last, its commit header.
      expect(clock.now() - start).toBeCloseTo(4 * 0.4, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('openStore needs a dir or a device, and a sane event capacity', () => {
    expect(() => openStore({})).toThrow(/needs a dir or a device/);
    expect(() =>
      openStore({
        device: new MemoryFlash({ geometry: { sectorCount: 8, sectorSize: 1024 } }),
        eventCapacity: 0,
      }),
    ).toThrow(/eventCapacity/);
  });

  it('lookups read the cells kept in RAM a run of sectors at a time, in step with every program and erase', () => {
    // More sectors than three runs (the last one short), wrapped by the collector many times.
    const device = new MemoryFlash({ geometry: { ...SMALL_GEOMETRY, sectorCount: 200 } });
    const s = mount(device);
    s.database.replace(content(40, 'v1'));
    const expected = Array.from({ length: 41 }, (_, i) => credential(i));
    for (let round = 0; round < 30; round++) {
      // Every credential looked up (the sectors in use, the head too, are in RAM now), then
      // one changed and grants written: new records land in resident cells, old sectors go.
      for (let i = 1; i <= 40; i++) {
        expect(s.database.findCredential(expected[i]!.kind, `v${i}`)).toEqual(expected[i]);
      }
      const n = (round % 40) + 1;
      expected[n] = credential(n, { useLimit: 1000 + round });
      s.database.patch({ baseVersion: round + 1, upsert: { credentials: [expected[n]!] } });
      expect(s.database.findCredential(expected[n]!.kind, `v${n}`)).toEqual(expected[n]);
      for (let i = 0; i < 100; i++) s.recordGrant({ ts: i, type: 'access' }, `c${(i % 40) + 1}`);
    }
    expect(s.health().minEraseCount).toBeGreaterThanOrEqual(2);
    for (let i = 1; i <= 40; i++) {
      expect(s.database.findCredential(expected[i]!.kind, `v${i}`)).toEqual(expected[i]);
    }
    // A mount reads the same from flash, with no cells in RAM yet.
    expect(observe(mount(device))).toBe(observe(s));
  });
});
