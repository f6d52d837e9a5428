/**
 * A site whose readers connect out over MQTT, against a real Mosquitto: each reader of the
 * process has its own link (its own topics, its own cable), a push reaches every reader over
 * its command topic, every reader's events arrive without a gap, and a broker killed
 * mid-stream loses nothing. Then `reader-sim start --readers 3 --reader-id pod-0 --mqtt` as
 * the Kubernetes pod runs it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostClient } from '../../firmware/api/client';
import { SystemClock } from '../../firmware/foundation/clock';
import { seededRandom } from '../../firmware/foundation/random';
import type { DatabaseContent } from '../../firmware/foundation/model';
import { ConnectionPacer } from '../../firmware/mqtt';
import { serveFleet, type ServedFleet } from '../../firmware/profiles/fleet';
import { linkFleetOut, type FleetMqtt } from '../../firmware/profiles/fleet-mqtt';
import type { Site } from '../../firmware/profiles/site';
import { spawnReader } from '../../firmware/testkit/reader';
import { UsageError } from '../../scripts/command';
import { fleetSite, runFleet } from '../../scripts/commands/start-fleet';
import { ownChildren } from '../children';
import { until } from '../poll';
import { sampleDatabase } from '../api/harness';
import { ManagementClient, startBroker, type Broker } from '../mqtt/broker';

const PREFIX = 'site-mq';
const IDS = ['mq-1', 'mq-2', 'mq-3'];

const SITE: Site = {
  name: 'mqtt-site',
  readers: IDS.map((id, i) => ({
    id,
    name: `Door ${i + 1}`,
    accessPoint: `ap-${i + 1}`,
    position: { x: i * 10, y: 0 },
  })),
};

/** Badges 10000..10002, valid at every door of the site. */
function siteDatabase(): DatabaseContent {
  return {
    ...sampleDatabase(3),
    accessPoints: SITE.readers.map((r) => ({ id: r.accessPoint, name: r.name })),
  };
}

/** Seqs received on a reader's events topic, deduplicated (reader id + seq, as documented). */
function seqsOf(m: ManagementClient, id: string, prefix = PREFIX): number[] {
  return [...new Set(m.on(`${prefix}/${id}/events`).map((e) => e.seq as number))].sort(
    (a, b) => a - b,
  );
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('a site connected out over MQTT (real Mosquitto)', () => {
  const children = ownChildren({ per: 'file' });
  let broker: Broker | undefined;
  let mgmt: ManagementClient | undefined;
  let fleet: ServedFleet | undefined;
  let links: FleetMqtt | undefined;
  let dataDir: string | undefined;

  beforeAll(async () => {
    broker = await startBroker(children);
  });
  afterAll(async () => {
    await links?.close();
    await fleet?.shutdown();
    await mgmt?.close();
    await broker?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('pushes to every reader over MQTT, gets every reader’s events without a gap, and loses nothing across a broker killed mid-stream', async () => {
    const b = broker!;
    mgmt = await ManagementClient.open(b.url, [`${PREFIX}/#`]);
    const m = mgmt;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-mqtt-site-'));
    links = linkFleetOut({
      url: b.url,
      topicPrefix: PREFIX,
      pacer: new ConnectionPacer(new SystemClock(), 50),
      random: seededRandom(16),
      backoff: { initialMs: 200, maxMs: 1_000 },
    });
    const l = links;
    fleet = await serveFleet({
      site: SITE,
      dataDir,
      flash: 'memory',
      apiPort: 0,
      onBoot: l.onBoot,
    });
    const f = fleet;
    const client = (id: string) => new HostClient(f.api.url, f.token, { reader: id });
    const lastSeq = async (id: string) => (await client(id).events(0)).lastSeq;
    const allArrived = async () => {
      for (const id of IDS) if (seqsOf(m, id).at(-1) !== (await lastSeq(id))) return false;
      return true;
    };
    const burst = (n: number, from: number) => {
      for (let i = 0; i < n; i++) {
        for (const id of IDS) f.member(id)!.board.touch.badge(String(from + i));
      }
    };

    // Every reader online (retained), each on its own topics.
    for (const id of IDS) {
      await until(() => m.on(`${PREFIX}/${id}/status`).some((s) => s.online === true));
    }
    expect([...l.links().keys()].sort()).toEqual(IDS);

    // A push to each reader's command topic; each answers on its own reply topic.
    const pushes = await Promise.all(
      IDS.map(async (id) => [id, await m.command(PREFIX, id, 'push', siteDatabase())] as const),
    );
    for (const [id, requestId] of pushes) {
      const answer = await m.answer(PREFIX, id, requestId);
      expect({ topic: answer.topic, body: answer.body }).toMatchObject({
        topic: `${PREFIX}/${id}/replies`,
        body: { command: 'push', status: 200, result: { version: 1 } },
      });
      expect((await client(id).database()).counts.credentials).toBe(3);
    }

    // A badge at each door: granted there, and the event reaches the subscriber.
    for (const id of IDS) f.member(id)!.board.touch.badge('10001');
    await until(allArrived);
    for (const id of IDS) {
      expect(seqsOf(m, id)).toEqual(upTo(await lastSeq(id)));
      const access = m.on(`${PREFIX}/${id}/events`).filter((e) => e.type === 'access');
      expect(access.at(-1)).toMatchObject({
        decision: 'grant',
        reason: 'granted',
        credentialId: 'uc1',
        accessPointId: f.member(id)!.accessPoint,
      });
    }

    // The management system acknowledges what it has: those events may leave each flash.
    const acked = new Map<string, number>();
    for (const id of IDS) {
      const last = seqsOf(m, id).at(-1)!;
      acked.set(id, last);
      const ack = await m.command(PREFIX, id, 'ack', { upTo: last });
      expect((await m.answer(PREFIX, id, ack)).body).toMatchObject({
        status: 200,
        result: { ackedSeq: last },
      });
    }

    // Mid-stream, the broker dies (SIGKILL) and comes back on the same port.
    burst(60, 20000);
    await until(() => IDS.some((id) => seqsOf(m, id).at(-1)! > acked.get(id)!));
    await b.kill();
    burst(20, 30000); // while the broker is gone: kept in each reader's flash
    const subscribed = m.subscriptions;
    await b.restart();
    await until(() => m.subscriptions > subscribed);
    await until(() => IDS.every((id) => l.links().get(id)!.status().connected), 60_000);
    // Whichever came back first, a reader or the subscriber: it asks each for what it missed.
    for (const id of IDS) {
      expect((await m.catchUp(PREFIX, id)).body).toMatchObject({ command: 'resend', status: 200 });
    }
    await until(allArrived, 60_000);
    for (const id of IDS) {
      const last = await lastSeq(id);
      expect(last).toBeGreaterThanOrEqual(acked.get(id)! + 80);
      expect(seqsOf(m, id)).toEqual(upTo(last));
      expect((await client(id).events(0)).ackedSeq).toBe(acked.get(id));
    }

    // One reader's cable cut drops its MQTT connection only; restored, it catches up.
    f.member('mq-2')!.link.cut();
    await until(() =>
      m
        .on(`${PREFIX}/mq-2/status`)
        .some((s) => s.online === false && s.reason === 'connection-lost'),
    );
    expect(l.links().get('mq-1')!.status().connected).toBe(true);
    expect(l.links().get('mq-3')!.status().connected).toBe(true);
    f.member('mq-2')!.board.touch.badge('10002');
    f.member('mq-2')!.link.restore();
    await until(() => l.links().get('mq-2')!.status().connected);
    await until(allArrived);
    expect(seqsOf(m, 'mq-2')).toEqual(upTo(await lastSeq('mq-2')));

    // Closing says offline (retained) for every reader before the site powers off.
    await l.close();
    for (const id of IDS) {
      await until(() =>
        m.on(`${PREFIX}/${id}/status`).some((s) => s.online === false && s.reason === 'shutdown'),
      );
    }
  }, 120_000);

  it('`start --readers 3 --reader-id pod-0 --mqtt URL`: ids from the pod name, each reader online and answering a push', async () => {
    const b = broker!;
    const prefix = 'pods';
    const ids = ['pod-0-001', 'pod-0-002', 'pod-0-003'];
    const watcher = await ManagementClient.open(b.url, [`${prefix}/#`]);
    const reader = await spawnReader({
      args: [
        '--ble',
        'off',
        '--readers',
        '3',
        '--reader-id',
        'pod-0',
        '--mqtt',
        b.url,
        '--mqtt-prefix',
        prefix,
      ],
    });
    try {
      const listed = await fetch(`${reader.url}/api/v1/readers`, {
        headers: { authorization: `Bearer ${reader.token}` },
      });
      const body = (await listed.json()) as { readers: Array<{ id: string }> };
      expect(body.readers.map((r) => r.id)).toEqual(ids);
      for (const id of ids) {
        await until(() => watcher.on(`${prefix}/${id}/status`).some((s) => s.online === true));
      }
      // A subscriber arriving now still gets each reader's status: it is retained.
      const late = await ManagementClient.open(b.url, [`${prefix}/+/status`]);
      try {
        await until(() => late.received.length >= ids.length);
        expect(late.received.map((r) => [r.topic, r.retain, r.body.online]).sort()).toEqual(
          ids.map((id) => [`${prefix}/${id}/status`, true, true]),
        );
      } finally {
        await late.close();
      }
      const push = await watcher.command(prefix, 'pod-0-003', 'push', sampleDatabase(2));
      expect((await watcher.answer(prefix, 'pod-0-003', push)).body).toMatchObject({
        status: 200,
        result: { version: 1 },
      });
      expect(await reader.close()).toBe(0);
      for (const id of ids) {
        await until(() =>
          watcher
            .on(`${prefix}/${id}/status`)
            .some((s) => s.online === false && s.reason === 'shutdown'),
        );
      }
    } finally {
      await reader.close();
      await watcher.close();
    }
  }, 120_000);
});

describe('start --readers/--site: reader ids and MQTT flags', () => {
  it('--reader-id is the prefix of --readers ids, refused with --site and when ids would not be folder names', () => {
    const ids = (values: Parameters<typeof fleetSite>[0]) =>
      fleetSite({ profile: 'sim', ...values }).readers.map((r) => r.id);
    expect(ids({ readers: '2', 'reader-id': 'reader-sim-4' })).toEqual([
      'reader-sim-4-001',
      'reader-sim-4-002',
    ]);
    expect(ids({ readers: '2' })).toEqual(['reader-001', 'reader-002']);
    expect(() => fleetSite({ profile: 'sim', site: 'site.json', 'reader-id': 'p' })).toThrow(
      new UsageError('--reader-id with --site: a site file names its readers itself'),
    );
    for (const prefix of ['../pod', 'pod/0', '', 'p'.repeat(61)]) {
      expect(() => fleetSite({ profile: 'sim', readers: '2', 'reader-id': prefix })).toThrow(
        UsageError,
      );
    }
  });

  it('refuses bad MQTT flags before anything starts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-mqtt-flags-'));
    const data = path.join(dir, 'data');
    const run = (values: Record<string, string>) =>
      runFleet(
        { profile: 'sim', readers: '2', ble: 'off', data, ...values },
        {
          port: 1,
          host: '127.0.0.1',
        },
      );
    await expect(run({ 'mqtt-prefix': 'x' })).rejects.toThrow('--mqtt-prefix needs --mqtt URL');
    await expect(run({ mqtt: 'http://broker' })).rejects.toThrow(/scheme must be mqtt/);
    await expect(run({ mqtt: 'mqtt://u:pw@broker' })).rejects.toThrow(/no credentials in the URL/);
    expect(fs.existsSync(data)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
