import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SystemClock } from '../../../firmware/foundation/clock';
import { ConnectionPacer, attachMqttLink, type MqttLink } from '../../../firmware/mqtt';
import type { SiteMember } from '../../../firmware/profiles/fleet';
import { MOSQUITTO, startMosquitto } from './mqtt';
import { rowsFor, type BenchRow } from './suite';

const row = rowsFor('fleet');
const METRIC = 'MQTT events delivered to the broker across the fleet';
const PREFIX = 'bench-fleet';

/**
 * The booted fleet connected out to a real Mosquitto, one link per reader as
 * `start --readers N --mqtt` makes them (one pacer, each reader's own host link). Once every
 * reader is connected and its backlog delivered, each reader logs `perReader` events at once
 * and the figure is events over the time until the broker has acknowledged (PUBACK) the last
 * of every reader. Without Debian's mosquitto the row says so instead of a number.
 */
export async function fleetMqttRows(
  members: readonly SiteMember[],
  { quick, progress }: { quick: boolean; progress: (line: string) => void },
): Promise<BenchRow[]> {
  if (!MOSQUITTO) {
    return [
      row(METRIC, NaN, 'events/s', {
        note: 'skipped: mosquitto is not installed (apt-get install mosquitto)',
      }),
    ];
  }
  const perReader = quick ? 20 : 50;
  const connectsPerSecond = 500;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fleet-mqtt-'));
  const broker = await startMosquitto(dir);
  const clock = new SystemClock();
  const pacer = new ConnectionPacer(clock, connectsPerSecond);
  const links: MqttLink[] = [];
  try {
    progress(`fleet: connecting ${members.length} readers to Mosquitto`);
    const connecting = performance.now();
    for (const m of members) {
      const reader = m.board.reader()!;
      links.push(
        attachMqttLink(
          { reader, board: m.board },
          { url: broker.url, topicPrefix: PREFIX, pacer, hostLink: m.link },
        ),
      );
    }
    const lastSeqs = () => members.map((m) => m.board.reader()!.store.events.stats().lastSeq);
    await allDelivered(links, lastSeqs());
    const connectS = (performance.now() - connecting) / 1000;

    progress(`fleet: ${perReader} events on each of ${members.length} readers over MQTT`);
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < perReader; i++) {
      for (const m of members) {
        m.board.reader()!.store.events.append({
          ts: clock.now(),
          type: 'system',
          detail: { action: 'bench', i },
        });
      }
    }
    await allDelivered(links, lastSeqs());
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const events = perReader * members.length;
    return [
      row(METRIC, events / seconds, 'events/s', {
        note:
          `${events} events (${perReader} on each of ${members.length} readers), QoS 1, one ` +
          `connection per reader, loopback Mosquitto; ${((used.user + used.system) / 1e6 / seconds).toFixed(2)} cores of this process`,
      }),
      row(`MQTT connect and backlog, ${members.length} readers`, connectS, 's', {
        note: `paced at ${connectsPerSecond} connections/s; each reader's unacknowledged events sent at connection`,
      }),
    ];
  } finally {
    await Promise.all(links.map((l) => l.close()));
    broker.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function allDelivered(links: MqttLink[], lastSeqs: number[]): Promise<void> {
  const started = performance.now();
  while (links.some((l, i) => l.status().deliveredSeq < lastSeqs[i]!)) {
    if (performance.now() - started > 300_000) {
      const behind = links.filter((l, i) => l.status().deliveredSeq < lastSeqs[i]!).length;
      throw new Error(`fleet MQTT bench: ${behind} readers not delivered in 5 minutes`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
