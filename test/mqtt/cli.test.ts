/**
 * `reader-sim start --mqtt` as its own process, against a Mosquitto that speaks TLS only
 * (a throwaway CA) and knows each reader by its own password: the CLI path end to end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnReader } from '../../firmware/testkit/reader';
import { cliCommand } from '../cli-command';
import { attachMqttLink } from '../../firmware/mqtt';
import { powerOnBoard } from '../../firmware/profiles/drivers';
import { testDrivers } from '../../firmware/profiles/test';
import { SystemClock } from '../../firmware/foundation/clock';
import { SILENT_LOG } from '../../firmware/foundation/log';
import { parseMqttOptions } from '../../scripts/commands/start-mqtt';
import { UsageError } from '../../scripts/command';
import { ownChildren } from '../children';
import { until } from '../poll';
import { sampleDatabase } from '../api/harness';
import {
  makeCertificates,
  makeClientCertificate,
  makePasswordFile,
  ManagementClient,
  startBroker,
  type Broker,
} from './broker';

const PREFIX = 'cli-site';

describe('reader-sim start --mqtt', () => {
  const children = ownChildren({ per: 'file' });
  let broker: Broker;
  let tls: { ca: string; cert: string; key: string };

  beforeAll(async () => {
    broker = await startBroker(children, {
      anonymous: false,
      listener: (dir) => {
        tls = makeCertificates(dir);
        makePasswordFile(path.join(dir, 'passwd'), { 'door-7': 's3cret-7', mgmt: 'mgmt-pw' });
        return [
          `cafile ${tls.ca}`,
          `certfile ${tls.cert}`,
          `keyfile ${tls.key}`,
          `password_file ${path.join(dir, 'passwd')}`,
        ];
      },
    });
  });
  afterAll(() => broker?.close());

  it('connects out over TLS with its own password, takes a push, publishes, and says offline at exit', async () => {
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const ca = fs.readFileSync(tls.ca);
    const mgmt = await ManagementClient.open(url, [`${PREFIX}/#`], {
      username: 'mgmt',
      password: 'mgmt-pw',
      ca,
    });
    const secrets = path.join(broker.dir, 'secrets');
    fs.mkdirSync(secrets);
    fs.writeFileSync(path.join(secrets, 'door-7.pw'), 's3cret-7\n');
    const reader = await spawnReader({
      cli: cliCommand(),
      args: [
        '--ble',
        'off',
        '--reader-id',
        'door-7',
        '--mqtt',
        url,
        '--mqtt-prefix',
        PREFIX,
        '--mqtt-ca',
        tls.ca,
        '--mqtt-password-file',
        path.join(secrets, '{readerId}.pw'),
      ],
    });
    try {
      await until(() => mgmt.on(`${PREFIX}/door-7/status`).some((s) => s.online === true));
      const push = await mgmt.command(PREFIX, 'door-7', 'push', sampleDatabase(2));
      expect((await mgmt.answer(PREFIX, 'door-7', push)).body).toMatchObject({
        status: 200,
        result: { version: 1 },
      });
      await reader.api.sim.badge('10000');
      const { lastSeq } = await reader.api.events(0);
      await until(() => mgmt.on(`${PREFIX}/door-7/events`).some((e) => e.seq === lastSeq));
      const seqs = mgmt.on(`${PREFIX}/door-7/events`).map((e) => e.seq);
      expect([...new Set(seqs)]).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
      expect(mgmt.on(`${PREFIX}/door-7/events`).at(-1)).toMatchObject({
        type: 'access',
        reason: 'granted',
      });
      expect(await reader.close()).toBe(0);
      await until(() =>
        mgmt
          .on(`${PREFIX}/door-7/status`)
          .some((s) => s.online === false && s.reason === 'shutdown'),
      );
    } finally {
      await reader.close();
      await mgmt.close();
    }
    // A spawned reader boots in seconds, but a loaded CI machine may take far longer.
  }, 150_000);

  it('a refused password is retried with backoff, and a rotated password file is read at the next attempt', async () => {
    const drivers = testDrivers({ readerId: 'door-7' });
    const board = await powerOnBoard(drivers);
    const secret = path.join(broker.dir, 'rotated.pw');
    fs.writeFileSync(secret, 'wrong\n');
    const options = parseMqttOptions(
      {
        mqtt: `mqtts://127.0.0.1:${broker.port}`,
        'mqtt-ca': tls.ca,
        'mqtt-password-file': secret,
      },
      drivers.clock,
      SILENT_LOG,
    )!;
    const errors: unknown[] = [];
    const link = attachMqttLink(
      { reader: board.reader()!, board },
      { ...options, random: () => 0.5, log: { ...SILENT_LOG, warn: (o) => errors.push(o) } },
    );
    try {
      // Refused (not authorised): the link waits its backoff on the reader's clock, then retries.
      await until(() => errors.length >= 1);
      for (let i = 0; link.status().attempts < 3; i++) {
        if (i > 2000) throw new Error(`no retries: ${JSON.stringify(link.status())}`);
        await drivers.clock.advanceAsync(1_000);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(link.status().connected).toBe(false);
      fs.writeFileSync(secret, 's3cret-7\n');
      for (let i = 0; !link.status().connected; i++) {
        if (i > 2000) throw new Error(`not connected: ${JSON.stringify(link.status())}`);
        await drivers.clock.advanceAsync(1_000);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      await link.close();
      await board.shutdown();
    }
  });

  it('authenticates by client certificate where the broker asks for one (mutual TLS)', async () => {
    const mtls = await startBroker(children, {
      anonymous: false,
      listener: (dir) => {
        const server = makeCertificates(dir);
        return [
          `cafile ${server.ca}`,
          `certfile ${server.cert}`,
          `keyfile ${server.key}`,
          'require_certificate true',
          'use_identity_as_username true',
        ];
      },
    });
    const drivers = testDrivers({ readerId: 'door-9' });
    const board = await powerOnBoard(drivers);
    try {
      const client = makeClientCertificate(mtls.dir, 'door-9');
      const ca = path.join(mtls.dir, 'ca.pem');
      const url = `mqtts://127.0.0.1:${mtls.port}`;
      const options = parseMqttOptions(
        { mqtt: url, 'mqtt-ca': ca, 'mqtt-cert': client.cert, 'mqtt-key': client.key },
        drivers.clock,
        SILENT_LOG,
      )!;
      const link = attachMqttLink({ reader: board.reader()!, board }, options);
      await link.connected();
      const mgmtCert = makeClientCertificate(mtls.dir, 'mgmt');
      const mgmt = await ManagementClient.open(url, ['readers/door-9/#'], {
        ca: fs.readFileSync(ca),
        cert: fs.readFileSync(mgmtCert.cert),
        key: fs.readFileSync(mgmtCert.key),
      });
      try {
        // Online (retained), and an event made now reaches the subscriber.
        await until(() => mgmt.on('readers/door-9/status').some((st) => st.online === true));
        board.touch.badge('4242');
        await until(() =>
          mgmt.on('readers/door-9/events').some((e) => e.reason === 'unknown_credential'),
        );
      } finally {
        await mgmt.close();
        await link.close();
      }
    } finally {
      await board.shutdown();
      await mtls.close();
    }
  });

  it('refuses bad MQTT flags before anything boots, naming the flag', () => {
    const clock = new SystemClock();
    const parse = (values: Record<string, string>) => () =>
      parseMqttOptions(values, clock, SILENT_LOG);
    expect(parse({ 'mqtt-ca': tls.ca })).toThrow(new UsageError('--mqtt-ca needs --mqtt URL'));
    expect(parse({ mqtt: 'http://x:1' })).toThrow(/scheme must be mqtt/);
    expect(parse({ mqtt: 'not a url' })).toThrow(/is not a URL/);
    expect(parse({ mqtt: 'mqtt://u:p@host:1883' })).toThrow(/no credentials in the URL/);
    expect(parse({ mqtt: 'mqtt://h:1883', 'mqtt-ca': tls.ca })).toThrow(/need an mqtts/);
    expect(parse({ mqtt: 'mqtts://h:8883', 'mqtt-ca': tls.key })).toThrow(
      /is not a PEM certificate/,
    );
    expect(parse({ mqtt: 'mqtts://h:8883', 'mqtt-cert': tls.cert })).toThrow(/go together/);
    expect(parse({ mqtt: 'mqtt://h:1883', 'mqtt-password-file': '/nonexistent' })).toThrow(
      /cannot read it \(ENOENT\)/,
    );
    expect(parse({ mqtt: 'mqtt://h:1883', 'mqtt-prefix': 'a/+/b' })).toThrow(/--mqtt-prefix/);
    expect(parse({ mqtt: 'mqtt://h:1883', 'mqtt-connects-per-second': '0' })).toThrow(/> 0/);
    expect(parse({ mqtt: 'mqtt://h:1883', 'mqtt-protocol': '4' })).toThrow(/3\.1\.1 or 5/);
    expect(
      parseMqttOptions({ mqtt: 'mqtt://h:1883', 'mqtt-protocol': '5' }, clock, SILENT_LOG),
    ).toMatchObject({ protocolVersion: 5 });
    const ok = parseMqttOptions({ mqtt: 'mqtts://h:8883/', 'mqtt-ca': tls.ca }, clock, SILENT_LOG);
    expect(ok).toMatchObject({ url: 'mqtts://h:8883', tls: { ca: expect.any(Buffer) } });
  });
});
