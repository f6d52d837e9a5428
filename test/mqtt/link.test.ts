/**
 * The MQTT host link against a real Mosquitto: a reader (the test profile, in this process)
 * connects out, publishes its events from flash, answers commands with the host API's own
 * routes, and loses nothing it was not told it may drop.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostClient } from '../../firmware/api/client';
import { HostLink } from '../../firmware/api/host-link';
import { attachMqttLink, ConnectionPacer, type MqttLink } from '../../firmware/mqtt';
import { seededRandom } from '../../firmware/foundation/random';
import { serveReader, type ServedReader } from '../../firmware/profiles/serve';
import { testDrivers, type TestDrivers } from '../../firmware/profiles/test';
import { ownChildren } from '../children';
import { until } from '../poll';
import { sampleDatabase } from '../api/harness';
import { ManagementClient, startBroker, type Broker } from './broker';

const PREFIX = 'site-a';

interface LinkedReader {
  served: ServedReader;
  drivers: TestDrivers;
  client: HostClient;
  readerId: string;
  link(): MqttLink;
  close(): Promise<void>;
}

/** A reader whose every boot attaches a link to the broker (as `reader-sim start --mqtt` does). */
async function linkedReader(
  url: string,
  readerId: string,
  protocolVersion: 4 | 5 = 4,
): Promise<LinkedReader> {
  const drivers = testDrivers({ readerId });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-mqtt-data-'));
  let current: MqttLink | undefined;
  const pacer = new ConnectionPacer(drivers.clock, 50);
  // The API's simulated network cable: cutting it drops the MQTT connection too.
  const hostLink = new HostLink(() => drivers.clock.now());
  const served = await serveReader({
    drivers,
    dataDir,
    apiPort: 0,
    api: { link: hostLink },
    onBoot: (reader, board) => {
      const link = attachMqttLink(
        { reader, board },
        {
          url,
          topicPrefix: PREFIX,
          pacer,
          random: seededRandom(7),
          backoff: { initialMs: 500, maxMs: 4_000 },
          hostLink,
          protocolVersion,
          log: process.env.MQTT_DEBUG
            ? { info: console.log, warn: console.log, error: console.log }
            : undefined,
        },
      );
      current = link;
      return () => void link.close();
    },
  });
  return {
    served,
    drivers,
    client: new HostClient(served.api.url, served.token),
    readerId,
    link: () => current!,
    async close() {
      await served.shutdown();
      await current?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Seqs received on a reader's events topic, deduplicated (the management system's rule). */
function seqsOf(m: ManagementClient, readerId: string): number[] {
  const seqs = new Set(m.on(`${PREFIX}/${readerId}/events`).map((e) => e.seq as number));
  return [...seqs].sort((a, b) => a - b);
}

function expectNoGap(seqs: number[], from: number, to: number): void {
  expect(seqs).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

interface BrokerBlock {
  broker: Broker;
  reader?: LinkedReader;
  mgmt?: ManagementClient;
}

/**
 * A broker for one describe block (its faults stay in it), and the reader and management
 * client each test opens there, closed after the test.
 */
function brokerPerBlock(): BrokerBlock {
  const children = ownChildren({ per: 'file' });
  const t: BrokerBlock = { broker: undefined as unknown as Broker };
  beforeAll(async () => {
    t.broker = await startBroker(children);
  });
  afterEach(async () => {
    await t.mgmt?.close();
    await t.reader?.close();
    t.mgmt = t.reader = undefined;
  });
  afterAll(() => t.broker?.close());
  return t;
}

describe('MQTT host link (real Mosquitto)', () => {
  const t = brokerPerBlock();

  it('publishes every event in seq order, takes a push, a grant follows, and an ack empties the buffer', async () => {
    t.mgmt = await ManagementClient.open(t.broker.url, [`${PREFIX}/#`]);
    t.reader = await linkedReader(t.broker.url, 'door-1');
    const r = t.reader;
    const { readerId } = r;
    await r.link().connected();

    // Retained status: online, and a late subscriber still gets it.
    await until(() => t.mgmt!.on(`${PREFIX}/${readerId}/status`).some((s) => s.online === true));
    const late = await ManagementClient.open(t.broker.url, [`${PREFIX}/${readerId}/status`]);
    await until(() => late.received.length > 0);
    expect(late.received[0]).toMatchObject({ retain: true, body: { readerId, online: true } });
    await late.close();

    // Push over MQTT: the same body as PUT /database, the same answer.
    const push = await t.mgmt.command(PREFIX, readerId, 'push', sampleDatabase(3));
    const pushed = await t.mgmt.answer(PREFIX, readerId, push);
    expect(pushed.topic).toBe(`${PREFIX}/${readerId}/replies`);
    expect(pushed.body).toMatchObject({ command: 'push', status: 200, result: { version: 1 } });
    expect((await r.client.database()).counts.credentials).toBe(3);

    r.served.board.touch.badge('10001');
    r.served.board.touch.badge('99999');
    await r.drivers.clock.advanceAsync(6_000);
    const { lastSeq } = await r.client.events(0);
    await until(() => seqsOf(t.mgmt!, readerId).at(-1) === lastSeq);
    expectNoGap(seqsOf(t.mgmt, readerId), 1, lastSeq);
    const events = t.mgmt.on(`${PREFIX}/${readerId}/events`);
    // Byte for byte what the host API lists.
    expect(events).toEqual((await r.client.events(0)).events);
    expect(events.filter((e) => e.type === 'access')).toEqual([
      expect.objectContaining({ credentialId: 'uc1', decision: 'grant', reason: 'granted' }),
      expect.objectContaining({ decision: 'deny', reason: 'unknown_credential' }),
    ]);

    // resend: the unacknowledged events after a seq go out again, in order.
    const resend = await t.mgmt.command(PREFIX, readerId, 'resend', { after: 2 });
    expect((await t.mgmt.answer(PREFIX, readerId, resend)).body).toMatchObject({
      status: 200,
      result: { from: 3, to: lastSeq },
    });
    const topic = `${PREFIX}/${readerId}/events`;
    await until(() => t.mgmt!.on(topic).length === events.length + lastSeq - 2);
    expect(t.mgmt.on(topic).slice(events.length)).toEqual(events.slice(2));
    for (const bad of [{ after: -1 }, { after: 'x' }, { from: 1 }]) {
      const id = await t.mgmt.command(PREFIX, readerId, 'resend', bad);
      expect((await t.mgmt.answer(PREFIX, readerId, id)).body).toMatchObject({
        status: 400,
        error: { error: 'bad_request' },
      });
    }

    // Ack over MQTT: the events leave the flash buffer, as over HTTP.
    const ack = await t.mgmt.command(PREFIX, readerId, 'ack', { upTo: lastSeq });
    expect((await t.mgmt.answer(PREFIX, readerId, ack)).body).toMatchObject({
      status: 200,
      result: { ackedSeq: lastSeq },
    });
    const after = await r.client.events(0);
    expect(after.ackedSeq).toBe(lastSeq);
    expect((await r.client.events(after.ackedSeq)).events).toEqual([]);
  });
});

describe('MQTT host link: bad commands and broker faults', () => {
  const t = brokerPerBlock();

  it('runs delta, state, time and enroll as the host API does; refuses bad payloads on the error topic and changes nothing', async () => {
    t.mgmt = await ManagementClient.open(t.broker.url, [
      `${PREFIX}/+/replies`,
      `${PREFIX}/+/errors`,
    ]);
    t.reader = await linkedReader(t.broker.url, 'door-2');
    const r = t.reader;
    const m = t.mgmt;
    const id = r.readerId;
    await r.link().connected();
    const ask = async (command: string, payload: unknown) =>
      m.answer(PREFIX, id, await m.command(PREFIX, id, command, payload));

    expect((await ask('push', sampleDatabase(2))).body.result).toMatchObject({ version: 1 });
    const delta = await ask('delta', { baseVersion: 1, delete: { credentials: ['uc0'] } });
    expect(delta.body).toMatchObject({ status: 200, result: { version: 2 } });
    const state = await ask('state', { state: 'lockdown' });
    expect(state.body.result).toMatchObject({ state: 'lockdown' });
    const time = await ask('time', { time: '2026-03-01T12:00:00Z' });
    expect(time.body.result).toMatchObject({ time: '2026-03-01T12:00:00.000Z' });
    const enroll = await ask('enroll', { userId: 'u1' });
    expect(enroll.body).toMatchObject({ status: 201, result: { userId: 'u1', state: 'pending' } });

    const before = {
      database: await r.client.content(),
      events: await r.client.events(0),
    };
    const refusals: Array<[string, unknown, string, string?]> = [
      ['push', Buffer.from('{"users": [ {"id": '), 'bad_request'],
      ['push', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'bad_request'],
      ['ack', { upTo: 'all' }, 'bad_request', '/upTo'],
      ['ack', { upTo: before.events.lastSeq + 5 }, 'bad_request', '/upTo'],
      ['ack', { upTo: 1, extra: true }, 'bad_request', '/extra'],
      ['delta', { baseVersion: 1, delete: { credentials: ['uc1'] } }, 'version_conflict'],
      ['state', { state: 'open-sesame' }, 'bad_request', '/state'],
      ['time', { time: 'yesterday' }, 'bad_request', '/time'],
      ['enroll', { userId: 'nobody' }, 'bad_request', '/userId'],
      ['ack', Buffer.alloc(70 * 1024, 0x20), 'body_too_large'],
      ['push', Buffer.alloc(0), 'bad_request'],
      ['reboot', {}, 'not_found'],
    ];
    for (const [command, payload, code, field] of refusals) {
      const answer = await ask(command, payload);
      expect({ command, topic: answer.topic, error: answer.body.error }).toEqual({
        command,
        topic: `${PREFIX}/${id}/errors`,
        error: expect.objectContaining({ error: code, ...(field ? { field } : {}) }),
      });
    }
    // A command topic without a request id: refused, nothing run.
    await m.client.publishAsync(`${PREFIX}/${id}/commands/ack`, JSON.stringify({ upTo: 1 }), {
      qos: 1,
    });
    await until(() => m.on(`${PREFIX}/${id}/errors`).some((e) => e.requestId === null));

    expect(await r.client.content()).toEqual(before.database);
    expect((await r.client.events(0)).ackedSeq).toBe(before.events.ackedSeq);
    expect((await r.client.events(0)).lastSeq).toBe(before.events.lastSeq);
    // Still connected and answering.
    expect((await ask('ack', { upTo: 1 })).body).toMatchObject({ result: { ackedSeq: 1 } });
  });

  it('answers an MQTT 5 request on its response topic too, with its correlation data', async () => {
    t.mgmt = await ManagementClient.open(t.broker.url, [`${PREFIX}/+/replies`, 'mgmt/inbox'], {
      protocolVersion: 5,
    });
    t.reader = await linkedReader(t.broker.url, 'door-5', 5);
    await t.reader.link().connected();
    await t.mgmt.client.publishAsync(
      `${PREFIX}/door-5/commands/state/r-5`,
      JSON.stringify({ state: 'unlock' }),
      { qos: 1, properties: { responseTopic: 'mgmt/inbox', correlationData: Buffer.from('c-5') } },
    );
    await until(() => t.mgmt!.received.filter((r) => r.body.requestId === 'r-5').length === 2);
    const answers = t.mgmt.received.filter((r) => r.body.requestId === 'r-5');
    expect(answers.map((a) => a.topic).sort()).toEqual(['mgmt/inbox', `${PREFIX}/door-5/replies`]);
    for (const a of answers) {
      expect(a).toMatchObject({
        correlation: 'c-5',
        body: { status: 200, result: { state: 'unlock' } },
      });
    }
  });

  it('loses and skips nothing across a broker killed mid-stream, a cut cable and a power cycle', async () => {
    t.mgmt = await ManagementClient.open(t.broker.url, [
      `${PREFIX}/+/events`,
      `${PREFIX}/+/status`,
      `${PREFIX}/+/replies`,
    ]);
    // MQTT 5 here; the other readers speak 3.1.1.
    t.reader = await linkedReader(t.broker.url, 'door-3', 5);
    const r = t.reader;
    const m = t.mgmt;
    const id = r.readerId;
    const clock = r.drivers.clock;
    const burst = (n: number) => {
      for (let i = 0; i < n; i++) r.served.board.touch.badge(String(90000 + i));
    };
    const lastSeq = async () => (await r.client.events(0)).lastSeq;
    /** Moves the reader's clock (its backoff timers) until its link is connected again. */
    const reconnect = async () => {
      for (let i = 0; !r.link().status().connected; i++) {
        if (i > 3000)
          throw new Error(`the link did not reconnect: ${JSON.stringify(r.link().status())}`);
        await clock.advanceAsync(250);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await r.link().connected();
    burst(50);
    await until(async () => seqsOf(m, id).at(-1) === (await lastSeq()));
    // The management system acknowledges what it has, with no gap: those may leave the flash.
    const acked = seqsOf(m, id).at(-1)!;
    expectNoGap(seqsOf(m, id), 1, acked);
    await m.command(PREFIX, id, 'ack', { upTo: acked });
    await until(async () => (await r.client.events(0)).ackedSeq === acked);

    // Mid-stream: a burst, and the broker dies while it is in flight.
    burst(200);
    await until(() => seqsOf(m, id).at(-1)! > acked);
    await t.broker.kill();
    burst(30); // while the broker is gone: kept in flash
    const subscribed = m.subscriptions;
    await t.broker.restart();
    await until(() => m.subscriptions > subscribed);
    await reconnect();
    // Whichever came back first, the reader or this subscriber: it asks for what it missed.
    expect((await m.catchUp(PREFIX, id)).body).toMatchObject({ command: 'resend', status: 200 });
    await until(async () => seqsOf(m, id).at(-1) === (await lastSeq()));
    expectNoGap(seqsOf(m, id), 1, await lastSeq());
    // Online again (a killed broker keeps no retained status, the new connection sets it):
    expect(m.on(`${PREFIX}/${id}/status`).at(-1)).toMatchObject({ online: true });

    // A cut cable: the connection drops without goodbye; the broker publishes the will.
    r.served.api.link.cut();
    await until(() =>
      m
        .on(`${PREFIX}/${id}/status`)
        .some((s) => s.online === false && s.reason === 'connection-lost'),
    );
    burst(20);
    r.served.api.link.restore();
    await reconnect();
    await until(async () => seqsOf(m, id).at(-1) === (await lastSeq()));

    // A power cycle: the new firmware's link resends everything unacknowledged from flash.
    await r.served.board.powerCycle();
    await reconnect();
    burst(10);
    await until(async () => seqsOf(m, id).at(-1) === (await lastSeq()));
    const last = await lastSeq();
    expectNoGap(seqsOf(m, id), 1, last);

    await m.command(PREFIX, id, 'ack', { upTo: last });
    await until(async () => (await r.client.events(0)).ackedSeq === last);
  }, 120_000);
});
