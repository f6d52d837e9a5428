import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from 'mqtt';
import { SystemClock } from '../../../firmware/foundation/clock';
import { attachMqttLink } from '../../../firmware/mqtt';
import { freePort } from '../../../firmware/profiles/free-port';
import { serveReader } from '../../../firmware/profiles/serve';
import { testDrivers } from '../../../firmware/profiles/test';
import { rowsFor, type BenchRow, type BenchSuite } from './suite';

const row = rowsFor('mqtt');
export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) =>
  fs.existsSync(p),
);
const PREFIX = 'bench';

/** A Mosquitto of its own on a free loopback port: no persistence, no queue limit. */
export async function startMosquitto(dir: string): Promise<{ url: string; child: ChildProcess }> {
  if (!MOSQUITTO)
    throw new Error('the mqtt bench needs Debian mosquitto (apt-get install mosquitto)');
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      'persistence false',
      `user ${os.userInfo().username}`,
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      // A subscriber slower than the reader must not lose messages to the broker's queue cap.
      'max_queued_messages 0',
      '',
    ].join('\n'),
  );
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || i > 500) throw new Error('mosquitto did not start');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url: `mqtt://127.0.0.1:${port}`, child };
}

/**
 * One reader's events through a real broker: a backlog of N events in its flash (what a
 * reader holds after a broker outage) is published from the log at connection, and timed
 * until the broker has acknowledged the last (PUBACK) and until a subscriber has them all.
 */
export const mqtt: BenchSuite = {
  name: 'mqtt',
  summary:
    "one reader's flash backlog over MQTT QoS 1 to Mosquitto: events/s PUBACKed and received",
  async run({ quick, progress }): Promise<BenchRow[]> {
    const n = quick ? 1_000 : 4_000;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mqtt-'));
    const broker = await startMosquitto(dir);
    const clock = new SystemClock();
    const served = await serveReader({
      drivers: testDrivers({ clock, readerId: 'bench-1' }),
      dataDir: dir,
      apiPort: 0,
    });
    const subscriber = connect(broker.url, { clientId: 'bench-management', reconnectPeriod: 0 });
    try {
      let received = 0;
      const seen = new Set<number>();
      subscriber.on('message', (_topic, payload) => {
        const { seq } = JSON.parse(payload.toString('utf8')) as { seq: number };
        if (!seen.has(seq)) received++;
        seen.add(seq);
      });
      await new Promise<void>((resolve, reject) => {
        subscriber.once('connect', () => resolve());
        subscriber.once('error', reject);
      });
      await subscriber.subscribeAsync(`${PREFIX}/+/events`, { qos: 1 });

      const reader = served.reader()!;
      progress(`mqtt: ${n} events into the flash log`);
      for (let i = 0; i < n; i++) {
        reader.store.events.append({
          ts: clock.now(),
          type: 'system',
          detail: { action: 'bench', i },
        });
      }
      const { lastSeq, ackedSeq } = reader.store.events.stats();
      const backlog = lastSeq - ackedSeq;
      progress(`mqtt: publishing a backlog of ${backlog} events`);
      const started = performance.now();
      const link = attachMqttLink(
        { reader, board: served.board },
        { url: broker.url, topicPrefix: PREFIX },
      );
      let pubacked = 0;
      while (link.status().deliveredSeq < lastSeq || received < backlog) {
        if (!pubacked && link.status().deliveredSeq >= lastSeq)
          pubacked = performance.now() - started;
        if (performance.now() - started > 300_000)
          throw new Error('mqtt bench: the backlog did not arrive in 5 minutes');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      pubacked ||= performance.now() - started;
      const all = performance.now() - started;
      await link.close();
      const note = `${backlog} events, QoS 1, 64 in flight, loopback Mosquitto; from connect`;
      return [
        row('events PUBACKed by the broker', backlog / (pubacked / 1000), 'events/s', { note }),
        row('events received by a subscriber', backlog / (all / 1000), 'events/s', { note }),
      ];
    } finally {
      await subscriber.endAsync(true);
      await served.shutdown();
      broker.child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
