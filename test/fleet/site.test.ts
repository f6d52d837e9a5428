/**
 * A site of three readers in one process: each its own flash image under DATA/readers/ID,
 * its own GATT service at its position on one air, its own relay; one host API with
 * per-reader routes and fleet routes. Phones are noble on the same air; the host is HTTP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliCommand } from '../cli-command';
import { Air, createAir } from '../../ble/controller';
import { createDeviceKey, type DeviceKey } from '../../ble/device-key';
import { strongestReader } from '../../ble/phone';
import { startPhoneRadio, type PhoneRadio } from '../../ble/phone-radio';
import { HostClient } from '../../firmware/api/client';
import { claimDataDir, DataDirInUseError } from '../../firmware/data-dir-lock';
import { VirtualClock } from '../../firmware/foundation/clock';
import type { DatabaseContent, EventRecord } from '../../firmware/foundation/model';
import { serveFleet, type ServedFleet } from '../../firmware/profiles/fleet';
import { parseSite, SiteError, type Site } from '../../firmware/profiles/site';
import { onePhoneDatabase } from '../../firmware/profiles/test';
import { RecordingRelayDriver } from '../../firmware/relay-drivers';
import { eventually } from '../poll';

const SITE: Site = parseSite({
  name: 'HQ',
  readers: [
    { id: 'front', name: 'Front door', accessPoint: 'door-front', position: { x: 0, y: 0 } },
    { id: 'lab', name: 'Lab', accessPoint: 'door-lab', position: { x: 10, y: 0 } },
    { id: 'store', name: 'Store room', accessPoint: 'door-store', position: { x: 20, y: 0 } },
  ],
});

let dataDir: string;
let air: Air;
let clock: VirtualClock;
let relays: Map<string, RecordingRelayDriver>;
let fleet: ServedFleet;
let key: DeviceKey;
const phones: PhoneRadio[] = [];

async function start(): Promise<ServedFleet> {
  relays = new Map();
  return serveFleet({
    site: SITE,
    dataDir,
    air,
    apiPort: 0,
    clockFor: () => clock,
    relayFor: (reader) => {
      const relay = new RecordingRelayDriver(clock);
      relays.set(reader.id, relay);
      return relay;
    },
  });
}

async function api<T = Record<string, unknown>>(
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${fleet.api.url}/api/v1${url}`, {
    method,
    headers: {
      authorization: `Bearer ${fleet.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

function phoneAt(x: number, y: number): PhoneRadio {
  const phone = startPhoneRadio({ air, key, position: { x, y }, clock });
  phones.push(phone);
  return phone;
}

async function accessEvents(reader: string): Promise<EventRecord[]> {
  const page = await api<{ events: EventRecord[] }>('GET', `/readers/${reader}/events`);
  return page.body.events.filter((e) => e.type === 'access');
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-site-'));
  air = createAir({ timing: 'fast' });
  clock = new VirtualClock(Date.UTC(2026, 0, 5, 9));
  key = createDeviceKey('site-phone');
  fleet = await start();
});

afterEach(() => {
  for (const p of phones.splice(0)) p.close();
});

afterAll(async () => {
  await fleet?.shutdown();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('a site of three readers in one process', () => {
  it('lists its readers, each running with its own access point and folder', async () => {
    const { status, body } = await api<{ readers: Array<Record<string, unknown>> }>(
      'GET',
      '/readers',
    );
    expect(status).toBe(200);
    expect(body.readers.map((r) => [r.id, r.name, r.accessPoint, r.state, r.relay])).toEqual([
      ['front', 'Front door', 'door-front', 'running', 'locked'],
      ['lab', 'Lab', 'door-lab', 'running', 'locked'],
      ['store', 'Store room', 'door-store', 'running', 'locked'],
    ]);
    for (const id of ['front', 'lab', 'store']) {
      expect(fs.existsSync(path.join(dataDir, 'readers', id, 'flash.img'))).toBe(true);
      const s = await api('GET', `/readers/${id}/status`);
      expect(s.body).toMatchObject({ readerId: id, accessPointId: `door-${id}` });
    }
  });

  it('pushes one database to all readers through the fleet route; then each grants the phone', async () => {
    const pushed = await api<{ results: Array<Record<string, unknown>> }>(
      'PUT',
      '/fleet/database',
      onePhoneDatabase(key),
    );
    expect(pushed.status).toBe(200);
    expect(pushed.body.results.map((r) => [r.readerId, r.ok, r.version])).toEqual([
      ['front', true, 1],
      ['lab', true, 1],
      ['store', true, 1],
    ]);
    for (const { id, position } of SITE.readers) {
      const phone = phoneAt(position.x + 0.5, position.y + 0.5);
      const result = await phone.phone.unlock({ readerId: id, timeoutMs: 10_000 });
      expect(result.status).toBe('granted');
      phone.close();
      const [event] = await accessEvents(id);
      expect(event).toMatchObject({
        decision: 'grant',
        reason: 'granted',
        accessPointId: `door-${id}`,
      });
      expect(relays.get(id)!.energized).toBe(true);
      // Relock before the next door, so each relay's writes are its own grant's.
      clock.advance(60_000);
      expect(relays.get(id)!.energized).toBe(false);
    }
    const all = await api<{ events: Array<EventRecord & { readerId: string }> }>(
      'GET',
      '/fleet/events',
    );
    expect(all.body.events.filter((e) => e.type === 'access').map((e) => e.readerId)).toEqual([
      'front',
      'lab',
      'store',
    ]);
  });

  it('a phone between two readers, nearer the lab, opens the lab only', async () => {
    const before = new Map<string, number>();
    for (const id of ['front', 'lab', 'store']) {
      before.set(id, (await accessEvents(id)).length);
      relays.get(id)!.clear();
    }
    // 7 m from the lab, 13 m from the store, 3 m off the line.
    const phone = phoneAt(17 - 4, 3);
    const heard = await strongestReader(phone.phone, 1500);
    expect(heard.readerId).toBe('lab');
    const result = await phone.phone.unlock({ readerId: heard.readerId, timeoutMs: 10_000 });
    expect(result.status).toBe('granted');
    expect((await accessEvents('lab')).length).toBe(before.get('lab')! + 1);
    expect((await accessEvents('front')).length).toBe(before.get('front'));
    expect((await accessEvents('store')).length).toBe(before.get('store'));
    expect(
      relays
        .get('lab')!
        .writes()
        .map((w) => w.energized),
    ).toEqual([true]);
    expect(relays.get('front')!.writes()).toEqual([]);
    expect(relays.get('store')!.writes()).toEqual([]);
    clock.advance(60_000);
  });

  it('per-reader routes reach that reader only; an unknown reader is 404', async () => {
    const lab: DatabaseContent = {
      users: [{ id: 'bob', name: 'Bob', enabled: true }],
      credentials: [
        {
          id: 'b1',
          userId: 'bob',
          kind: 'badge',
          value: '4242',
          enabled: true,
          accessPoints: ['*'],
        },
      ],
      schedules: [],
      holidays: [],
      accessPoints: [],
    };
    expect((await api('PUT', '/readers/lab/database', lab)).body).toMatchObject({ version: 2 });
    expect((await api('PATCH', '/readers/store/config', { unlockMs: 7000 })).status).toBe(200);
    const content = (id: string) =>
      api<{ content: DatabaseContent }>('GET', `/readers/${id}/database/content`);
    expect((await content('lab')).body.content.users.map((u) => u.id)).toEqual(['bob']);
    expect((await content('front')).body.content.users.map((u) => u.id)).toEqual(['alice']);
    expect((await api('GET', '/readers/store/config')).body).toMatchObject({ unlockMs: 7000 });
    expect((await api('GET', '/readers/lab/config')).body).not.toMatchObject({ unlockMs: 7000 });
    // The badge works at the lab and is unknown at the front door.
    const labBefore = (await accessEvents('lab')).length;
    const frontBefore = (await accessEvents('front')).length;
    expect((await api('POST', '/readers/lab/sim/badge', { value: '4242' })).status).toBe(202);
    expect((await api('POST', '/readers/front/sim/badge', { value: '4242' })).status).toBe(202);
    const lastAfter = (id: string, n: number) =>
      eventually(async () => {
        const events = await accessEvents(id);
        return events.length > n ? events.at(-1) : undefined;
      });
    expect(await lastAfter('lab', labBefore)).toMatchObject({
      decision: 'grant',
      credentialId: 'b1',
    });
    expect(await lastAfter('front', frontBefore)).toMatchObject({
      decision: 'deny',
      reason: 'unknown_credential',
    });
    clock.advance(60_000);
    // Cutting one reader's host link leaves the others answering.
    await api('POST', '/readers/front/sim/link/cut', {});
    expect((await api('GET', '/readers/front/events')).status).toBe(503);
    expect((await api('GET', '/readers/lab/events')).status).toBe(200);
    // The fleet routes still answer, without the cut reader (here the first one).
    const gathered = await api<{ events: Array<{ readerId: string }> }>('GET', '/fleet/events');
    expect(gathered.status).toBe(200);
    expect(new Set(gathered.body.events.map((e) => e.readerId))).toEqual(new Set(['lab', 'store']));
    await api('POST', '/readers/front/sim/link/restore', {});
    const missing = await api('GET', '/readers/nowhere/status');
    expect(missing).toMatchObject({ status: 404, body: { error: 'not_found' } });
    // The unscoped paths are the first reader's.
    expect((await api('GET', '/status')).body).toMatchObject({ readerId: 'front' });
    // The client library reaches one reader of a site the same way.
    const store = new HostClient(fleet.api.url, fleet.token, { reader: 'store' });
    expect(await store.status()).toMatchObject({ readerId: 'store' });
    expect((await store.health()).ok).toBe(true);
  });

  it('publishes the per-reader and fleet routes in its OpenAPI document', async () => {
    const doc = (
      await api<{ paths: Record<string, Record<string, { parameters: Array<{ name: string }> }>> }>(
        'GET',
        '/openapi.json',
      )
    ).body;
    expect(doc.paths['/api/v1/readers']).toBeDefined();
    expect(Object.keys(doc.paths['/api/v1/fleet/database']!)).toEqual(['put']);
    const scoped =
      doc.paths['/api/v1/readers/{readerId}/database/users/{id}'] ??
      doc.paths['/api/v1/readers/{readerId}/status'];
    expect(scoped!.get!.parameters.map((p) => p.name)).toContain('readerId');
  });

  it('keeps its folder: a one-reader process cannot open a site reader while the site runs', () => {
    expect(() => claimDataDir(path.join(dataDir, 'readers', 'lab'))).toThrow(DataDirInUseError);
    expect(() => claimDataDir(dataDir)).toThrow(DataDirInUseError);
  });

  it('restarts with each reader’s database and events from DATA/readers/ID', async () => {
    const counts = new Map<string, number>();
    for (const id of ['front', 'lab', 'store']) counts.set(id, (await accessEvents(id)).length);
    await fleet.shutdown();
    fleet = await start();
    const versions = await api<{ readers: Array<{ id: string; databaseVersion: number }> }>(
      'GET',
      '/readers',
    );
    expect(versions.body.readers.map((r) => [r.id, r.databaseVersion])).toEqual([
      ['front', 1],
      ['lab', 2],
      ['store', 1],
    ]);
    for (const id of ['front', 'lab', 'store']) {
      expect((await accessEvents(id)).length).toBe(counts.get(id));
    }
    expect((await api('GET', '/readers/store/config')).body).toMatchObject({ unlockMs: 7000 });
  });
});

describe('site files', () => {
  const bad = (json: unknown) => () => parseSite(json, 'site.json');
  const at = (x: unknown, y: unknown = 0) => ({ x, y });

  it('refuses duplicate ids, naming both readers (case-insensitively: they share a folder)', () => {
    expect(
      bad({
        readers: [
          { id: 'a', position: at(0) },
          { id: 'a', position: at(5) },
        ],
      }),
    ).toThrow('site.json: readers[1].id "a" is already the id of readers[0]');
    expect(
      bad({
        readers: [
          { id: 'Lab', position: at(0) },
          { id: 'lab', position: at(5) },
        ],
      }),
    ).toThrow(/readers\[1\]\.id "lab" is already the id of readers\[0\]/);
  });

  it('refuses bad positions: missing, not numbers, out of range, two readers on one spot', () => {
    expect(bad({ readers: [{ id: 'a' }] })).toThrow(
      'readers[0].position must be {"x": metres, "y": metres}',
    );
    expect(bad({ readers: [{ id: 'a', position: at('1') }] })).toThrow(
      /readers\[0\]\.position\.x must be a number/,
    );
    expect(bad({ readers: [{ id: 'a', position: at(0, 1e9) }] })).toThrow(
      /readers\[0\]\.position\.y must be a number/,
    );
    expect(
      bad({
        readers: [
          { id: 'a', position: at(0) },
          { id: 'b', position: at(0.2) },
        ],
      }),
    ).toThrow(/readers\[1\]\.position is within 0.5 m of readers\[0\] \("a"\)/);
  });

  it('refuses ids that are not folder names, unknown fields and other profiles', () => {
    expect(bad({ readers: [{ id: '../x', position: at(0) }] })).toThrow(SiteError);
    expect(bad({ readers: [{ id: 'a', position: at(0), colour: 'red' }] })).toThrow(
      /unknown field "colour"/,
    );
    expect(bad({ readers: [{ id: 'a', position: at(0), profile: 'pi' }] })).toThrow(
      /readers\[0\]\.profile "pi"/,
    );
    expect(bad({ readers: [] })).toThrow('readers must be a non-empty array');
  });

  it('`start --site` with a bad file exits with the message and starts nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-badsite-'));
    const file = path.join(dir, 'site.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        readers: [
          { id: 'a', position: at(0) },
          { id: 'b', position: at(5) },
          { id: 'a', position: at(9) },
        ],
      }),
    );
    const data = path.join(dir, 'data');
    const cli = cliCommand();
    const run = spawnSync(
      cli.command,
      [...cli.args, 'start', '--site', file, '--data', data, '--ble', 'off', '--api-port', '1'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('readers[2].id "a" is already the id of readers[0]');
    expect(fs.existsSync(data)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
