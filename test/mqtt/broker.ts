import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { freePort } from '../free-port';
import { until } from '../poll';

/** Debian's broker (scripts/ci-system-deps.sh installs it). */
export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) =>
  fs.existsSync(p),
);

export interface BrokerOptions {
  port?: number;
  /** Extra mosquitto.conf lines (TLS, password_file, ...), given the broker's directory. */
  listener?: (dir: string) => string[];
  /** Anonymous clients allowed (default true). */
  anonymous?: boolean;
}

export interface Broker {
  port: number;
  url: string;
  dir: string;
  /** Kills the broker (SIGKILL: no goodbye to any client) and waits for it to be gone. */
  kill(): Promise<void>;
  /** A new broker process on the same port and config. */
  restart(): Promise<void>;
  /** Kills it and removes its directory. */
  close(): Promise<void>;
}

type Spawner = { spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess };

/**
 * A real Mosquitto on a free loopback port, with its own config in a temp directory (no
 * system service, no persistence). Spawned through the test file's ownChildren so a failing
 * test leaves no broker behind.
 */
export async function startBroker(children: Spawner, options: BrokerOptions = {}): Promise<Broker> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-mqtt-'));
  const port = options.port ?? (await freePort());
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      'persistence false',
      // Started as root, mosquitto would switch to its own user and not read our temp files.
      `user ${os.userInfo().username}`,
      'log_dest stderr',
      'log_type error',
      `listener ${port} 127.0.0.1`,
      `allow_anonymous ${options.anonymous === false ? 'false' : 'true'}`,
      ...(options.listener?.(dir) ?? []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let stderr = '';
  const launch = async () => {
    stderr = '';
    const c = children.spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child = c;
    await until(async () => {
      if (c.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
      return accepts(port);
    });
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await gone;
  };
  await launch();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    kill,
    restart: launch,
    async close() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** openssl req: a new P-256 key, unencrypted. */
const NEW_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Runs openssl; its stderr in the error when it fails. */
function openssl(args: string[]): void {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args[0]}: ${run.stderr}`);
}

/** A P-256 key `name.key` and certificate `name.pem` for `subject`, signed by the CA in `dir`. */
function signedByCa(
  dir: string,
  name: string,
  subject: string,
  extfile?: string,
): { cert: string; key: string } {
  const file = (n: string) => path.join(dir, n);
  openssl([
    'req',
    ...NEW_P256_KEY,
    '-keyout',
    file(`${name}.key`),
    '-out',
    file(`${name}.csr`),
    '-subj',
    subject,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    file(`${name}.csr`),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file(`${name}.pem`),
    '-days',
    '2',
    ...(extfile ? ['-extfile', extfile] : []),
  ]);
  return { cert: file(`${name}.pem`), key: file(`${name}.key`) };
}

/** A throwaway CA and a server certificate for 127.0.0.1 signed by it (openssl). */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const file = (name: string) => path.join(dir, name);
  openssl([
    'req',
    '-x509',
    ...NEW_P256_KEY,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=test broker CA',
  ]);
  fs.writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  return { ca: file('ca.pem'), ...signedByCa(dir, 'server', '/CN=127.0.0.1', file('san.ext')) };
}

/** A client certificate with this common name, signed by makeCertificates' CA in `dir`. */
export function makeClientCertificate(dir: string, name: string): { cert: string; key: string } {
  return signedByCa(dir, name, `/CN=${name}`);
}

/** A mosquitto password file with these users (mosquitto_passwd hashes them). */
export function makePasswordFile(file: string, users: Record<string, string>): void {
  fs.writeFileSync(file, '');
  for (const [user, password] of Object.entries(users)) {
    const run = spawnSync('mosquitto_passwd', ['-b', file, user, password], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`mosquitto_passwd: ${run.stderr}`);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A message a subscriber received: its topic and parsed JSON. */
export interface Received {
  topic: string;
  body: Record<string, unknown>;
  retain: boolean;
  /** MQTT 5 correlation data, as text. */
  correlation?: string;
}

/**
 * The management system's side: an MQTT client that records every message on `topics` and
 * sends commands with a request id.
 */
export class ManagementClient {
  readonly received: Received[] = [];
  /** Subscriptions the broker granted so far (one per connection). */
  subscriptions = 0;
  private next = 1;

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      } catch {
        body = { unparsed: payload.toString('utf8') };
      }
      const correlation = packet.properties?.correlationData?.toString('utf8');
      this.received.push({
        topic,
        body,
        retain: packet.retain,
        ...(correlation ? { correlation } : {}),
      });
    });
  }

  static async open(
    url: string,
    topics: string[],
    options: IClientOptions = {},
  ): Promise<ManagementClient> {
    const client = connect(url, {
      reconnectPeriod: 200,
      clientId: `mgmt-${process.pid}-${Math.random()}`,
      ...options,
    });
    const m = new ManagementClient(client);
    // Resubscribe at every connection: the broker keeps no session across its restart.
    client.on('connect', () =>
      client.subscribe(topics, { qos: 1 }, (err) => {
        if (!err) m.subscriptions++;
      }),
    );
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await until(() => m.subscriptions > 0);
    return m;
  }

  /** Messages on a topic, in arrival order. */
  on(topic: string): Record<string, unknown>[] {
    return this.received.filter((r) => r.topic === topic).map((r) => r.body);
  }

  /** Publishes a command payload (object as JSON, or raw bytes); returns its request id. */
  async command(
    prefix: string,
    readerId: string,
    command: string,
    payload: unknown,
  ): Promise<string> {
    const requestId = `req-${this.next++}`;
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
    await this.client.publishAsync(
      `${prefix}/${readerId}/commands/${command}/${requestId}`,
      bytes,
      {
        qos: 1,
      },
    );
    return requestId;
  }

  /** Waits for the reply or error naming this request id. */
  async answer(prefix: string, readerId: string, requestId: string): Promise<Received> {
    let found: Received | undefined;
    await until(() => {
      found = this.received.find(
        (r) =>
          (r.topic === `${prefix}/${readerId}/replies` ||
            r.topic === `${prefix}/${readerId}/errors`) &&
          r.body.requestId === requestId,
      );
      return found !== undefined;
    });
    return found!;
  }

  /**
   * The management system's gap rule after its own reconnect: events the reader published
   * while this subscriber was away are asked for again (`resend` after the last seq below
   * which nothing is missing). Resolves with the reader's answer.
   */
  async catchUp(prefix: string, readerId: string): Promise<Received> {
    const seqs = [
      ...new Set(this.on(`${prefix}/${readerId}/events`).map((e) => e.seq as number)),
    ].sort((a, b) => a - b);
    let contiguous = seqs.length ? seqs[0]! - 1 : 0;
    for (const seq of seqs) {
      if (seq !== contiguous + 1) break;
      contiguous = seq;
    }
    const requestId = await this.command(prefix, readerId, 'resend', { after: contiguous });
    return this.answer(prefix, readerId, requestId);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}
