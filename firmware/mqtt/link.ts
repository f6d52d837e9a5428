import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Board } from '../board';
import type { Clock, Timer } from '../foundation/clock';
import { SILENT_LOG, type ReaderLog } from '../foundation/log';
import { seededRandom } from '../foundation/random';
import type { RunningReader } from '../running-reader';
import { HostLink } from '../api/host-link';
import { DEFAULT_PAYLOAD_LIMITS, runCommand, type PayloadLimits } from './commands';
import { ConnectionPacer, ReconnectBackoff } from './pacing';
import { DEFAULT_TOPIC_PREFIX, isTopicLevel, readerTopics, type ReaderTopics } from './topics';

/** A value the same for every reader, or one made from the reader's id (per-reader secrets). */
export type PerReader<T> = T | ((readerId: string) => T);

export interface MqttTls {
  /** PEM CA certificate(s) the broker's certificate must chain to (default: the system's). */
  ca?: string | Buffer;
  /** PEM client certificate and key, for brokers that authenticate readers by certificate. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface MqttLinkOptions {
  /** mqtt://host:1883 or mqtts://host:8883 (ws:// and wss:// work too). */
  url: string;
  topicPrefix?: string;
  /** Default: the reader id. */
  username?: PerReader<string>;
  password?: PerReader<string | Buffer | undefined>;
  tls?: MqttTls;
  /** MQTT 3.1.1 (4, default) or 5. */
  protocolVersion?: 4 | 5;
  keepaliveSeconds?: number;
  /** Shared by every link of the process so a fleet connects a few at a time. */
  pacer?: ConnectionPacer;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Jitter source in [0, 1); default seeded from the reader id (each reader its own, reproducible). */
  random?: () => number;
  /** Events published and not yet acknowledged by the broker (PUBACK), at most. */
  inflight?: number;
  limits?: Partial<PayloadLimits>;
  /**
   * The simulated network cable (the API's HostLink): cut, the link drops its connection and
   * waits; restored, it connects again. Default: a cable that is always plugged in.
   */
  hostLink?: HostLink;
  /** Timers of the link (backoff, pacing); default the reader's clock. */
  clock?: Clock;
  log?: ReaderLog;
}

export interface MqttLinkStatus {
  readerId: string;
  connected: boolean;
  /** Connection attempts so far, and the failures since the last that held. */
  attempts: number;
  /** The newest event the broker has acknowledged (PUBACK) on this connection; 0 before. */
  deliveredSeq: number;
}

export interface MqttLink {
  status(): MqttLinkStatus;
  /** Resolves at the next successful connection (now if connected). */
  connected(): Promise<void>;
  /** Marks the reader offline (retained), disconnects and stops reconnecting. */
  close(): Promise<void>;
}

export interface LinkTarget {
  reader: RunningReader;
  board: Board;
}

const DEFAULT_INFLIGHT = 64;
const EVENT_PAGE = 256;
/** A graceful close waits this long for the offline status to reach the broker. */
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * Connects one running reader out to the management system's MQTT broker: its events go out
 * from the flash buffer (QoS 1, in seq order), its status is retained (the broker's will marks
 * it offline when the connection drops), and commands come in on its command topic. Events
 * leave the flash only when the management system acknowledges them with the `ack` command;
 * at each connection the link sends everything unacknowledged again (at-least-once; the
 * management system keeps reader id + seq to drop the repeats).
 *
 * Attach at every boot (serveReader's onBoot) and close at power-off: the link follows the
 * firmware, as the HTTP API's handlers do.
 */
export function attachMqttLink(target: LinkTarget, options: MqttLinkOptions): MqttLink {
  return new ReaderMqttLink(target, options);
}

class ReaderMqttLink implements MqttLink {
  private readonly readerId: string;
  private readonly topics: ReaderTopics;
  private readonly clock: Clock;
  private readonly log: ReaderLog;
  private readonly backoff: ReconnectBackoff;
  private readonly pacer: ConnectionPacer;
  private readonly hostLink: HostLink;
  private readonly limits: PayloadLimits;
  private readonly inflightLimit: number;
  private client: MqttClient | undefined;
  private isConnected = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private attempts = 0;
  /** The newest event published on this connection, and how many await their PUBACK. */
  private sentSeq = 0;
  private inflight = 0;
  private deliveredSeq = 0;
  private retry: Timer | undefined;
  private cancelSlot: (() => void) | undefined;
  private waiting: (() => void)[] = [];
  private readonly stopEvents: () => void;
  private readonly onCable = (state: string) => {
    if (state === 'down') this.drop('host link cut');
    else this.connectSoon(0);
  };

  constructor(
    private readonly target: LinkTarget,
    private readonly options: MqttLinkOptions,
  ) {
    const { reader } = target;
    this.readerId = reader.status().readerId;
    this.topics = readerTopics(options.topicPrefix ?? DEFAULT_TOPIC_PREFIX, this.readerId);
    this.clock = options.clock ?? reader.clock;
    this.log = options.log ?? SILENT_LOG;
    this.backoff = new ReconnectBackoff(
      options.random ?? seededRandom(idSeed(this.readerId)),
      options.backoff?.initialMs,
      options.backoff?.maxMs,
    );
    this.pacer = options.pacer ?? new ConnectionPacer(this.clock, 1000);
    this.hostLink = options.hostLink ?? new HostLink(() => this.clock.now());
    this.limits = { ...DEFAULT_PAYLOAD_LIMITS, ...options.limits };
    this.inflightLimit = options.inflight ?? DEFAULT_INFLIGHT;
    // Every durable append wakes the sender; it reads what to send from flash, not from here.
    this.stopEvents = reader.watchEvents(() => this.pump());
    this.hostLink.on('change', this.onCable);
    if (this.hostLink.isUp()) this.connectSoon(0);
  }

  status(): MqttLinkStatus {
    return {
      readerId: this.readerId,
      connected: this.isConnected,
      attempts: this.attempts,
      deliveredSeq: this.deliveredSeq,
    };
  }

  connected(): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.stopEvents();
    this.hostLink.off('change', this.onCable);
    this.clock.clearTimeout(this.retry);
    this.cancelSlot?.();
    const client = this.client;
    this.client = undefined;
    this.isConnected = false;
    if (!client) return;
    if (client.connected) {
      // Said by the reader itself, so the will (for a dropped connection) is not needed.
      await new Promise<void>((resolve) => {
        // Network time, not the reader's: a virtual clock nobody advances must not hold a
        // power-off forever when the broker went silent without closing the socket.
        const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS).unref();
        client.publish(
          this.topics.status,
          this.statusPayload(false, 'shutdown'),
          { qos: 1, retain: true },
          () => {
            clearTimeout(timer);
            resolve();
          },
        );
      });
    }
    await client.endAsync(!client.connected).catch(() => undefined);
  }

  /** Asks the pacer for a slot after `delayMs`; one pending attempt at a time. */
  private connectSoon(delayMs: number): void {
    if (this.closed || this.client || this.retry || this.cancelSlot) return;
    if (!this.hostLink.isUp()) return;
    const take = () => {
      this.retry = undefined;
      let started = false;
      const cancel = this.pacer.schedule(() => {
        started = true;
        this.cancelSlot = undefined;
        this.open();
      });
      // A free slot runs the attempt inside schedule(): nothing is left to cancel.
      if (!started) this.cancelSlot = cancel;
    };
    if (delayMs <= 0) take();
    else this.retry = this.clock.setTimeout(take, delayMs);
  }

  private open(): void {
    if (this.closed || this.client || !this.hostLink.isUp()) return;
    this.attempts++;
    const { options } = this;
    const id = this.readerId;
    const pick = <T>(value: PerReader<T> | undefined): T | undefined =>
      typeof value === 'function' ? (value as (readerId: string) => T)(id) : value;
    let username: string;
    let password: string | Buffer | undefined;
    try {
      username = pick(options.username) ?? id;
      password = pick(options.password);
    } catch (err) {
      // An unreadable per-reader password file: said once per attempt, retried with backoff.
      this.log.error({ err, readerId: id }, 'MQTT link: no credentials for this reader');
      this.connectSoon(this.backoff.next());
      return;
    }
    const settings: IClientOptions = {
      clientId: `reader-${id}`,
      username,
      password,
      protocolVersion: options.protocolVersion ?? 4,
      keepalive: options.keepaliveSeconds ?? 30,
      // Reconnection is ours (backoff with jitter, paced); the flash is the only outbox.
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      clean: true,
      queueQoSZero: false,
      will: {
        topic: this.topics.status,
        payload: this.statusPayload(false, 'connection-lost'),
        qos: 1,
        retain: true,
      },
      ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
      ...(options.tls?.cert ? { cert: options.tls.cert } : {}),
      ...(options.tls?.key ? { key: options.tls.key } : {}),
    };
    const client = connect(options.url, settings);
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('message', (topic, payload, packet) =>
      this.onMessage(client, topic, payload, packet.properties),
    );
    client.on('error', (err) => {
      this.log.warn({ err, readerId: id, url: options.url }, 'MQTT link: connection failed');
    });
    client.on('close', () => this.onClose(client));
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client) return;
    this.backoff.reset();
    // Everything unacknowledged goes out again on each connection: the broker may have lost it.
    this.sentSeq = this.target.reader.store.events.stats().ackedSeq;
    this.inflight = 0;
    this.deliveredSeq = 0;
    // Online (status, connected(), events) only once the broker takes our commands: a
    // command sent on seeing "online" must reach us, and a broker restart keeps no session.
    client.subscribe(this.topics.commands, { qos: 1 }, (err) => {
      if (client !== this.client) return;
      if (err) {
        this.log.warn({ err, readerId: this.readerId }, 'MQTT link: subscribe failed');
        this.drop(`subscribe failed: ${err.message}`);
        this.connectSoon(this.backoff.next());
        return;
      }
      this.isConnected = true;
      client.publish(this.topics.status, this.statusPayload(true), { qos: 1, retain: true });
      this.log.info({ readerId: this.readerId, url: this.options.url }, 'MQTT link: connected');
      for (const resolve of this.waiting.splice(0)) resolve();
      this.pump();
    });
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    this.client = undefined;
    const was = this.isConnected;
    this.isConnected = false;
    client.removeAllListeners('message');
    client.end(true);
    if (this.closed) return;
    const delay = this.backoff.next();
    if (was) this.log.warn({ readerId: this.readerId }, 'MQTT link: connection lost');
    this.connectSoon(delay);
  }

  /** Drops the connection (a cut cable): no DISCONNECT, so the broker sends the will. */
  private drop(why: string): void {
    this.clock.clearTimeout(this.retry);
    this.retry = undefined;
    this.cancelSlot?.();
    this.cancelSlot = undefined;
    const client = this.client;
    if (!client) return;
    this.log.warn({ readerId: this.readerId, why }, 'MQTT link: dropped');
    this.client = undefined;
    this.isConnected = false;
    client.removeAllListeners('message');
    client.stream?.destroy();
    client.end(true);
  }

  /**
   * Publishes events after sentSeq from the flash, keeping at most `inflight` awaiting their
   * PUBACK. Reading from the log, not from the append notifications, means a connection
   * that starts between two appends misses nothing and sends nothing twice.
   */
  private pump(): void {
    const client = this.client;
    if (!client || !this.isConnected) return;
    const { events } = this.target.reader.store;
    while (this.inflight < this.inflightLimit) {
      let page;
      try {
        page = events.list(this.sentSeq, Math.min(EVENT_PAGE, this.inflightLimit - this.inflight));
      } catch {
        // The flash went away under a power cut: the next boot's link resends from the log.
        return;
      }
      if (!page.length) return;
      for (const event of page) {
        this.sentSeq = event.seq;
        this.inflight++;
        client.publish(this.topics.events, JSON.stringify(event), { qos: 1 }, (err) => {
          if (client !== this.client) return;
          if (err) {
            // Refused by the broker (an MQTT 5 reason code): start over on a new connection,
            // which resends from the oldest unacknowledged event, so no gap stays open.
            this.drop(`event ${event.seq} refused: ${err.message}`);
            this.connectSoon(this.backoff.next());
            return;
          }
          this.inflight--;
          this.deliveredSeq = Math.max(this.deliveredSeq, event.seq);
          this.pump();
        });
      }
    }
  }

  private onMessage(
    client: MqttClient,
    topic: string,
    payload: Buffer,
    request?: { responseTopic?: string; correlationData?: Buffer },
  ): void {
    // A closing link runs nothing more: its reader is powering off.
    if (client !== this.client) return;
    const parsed = this.topics.parseCommand(topic);
    if (!parsed) return;
    const { command, requestId } = parsed;
    // MQTT 5 request/response: the answer also goes to the request's response topic, and
    // carries its correlation data, for clients that match answers that way.
    const correlation = request?.correlationData
      ? { properties: { correlationData: request.correlationData } }
      : {};
    const responseTopic = request?.responseTopic;
    const reply = (to: string, body: Record<string, unknown>) => {
      const answer = JSON.stringify({ requestId: requestId ?? null, command, ...body });
      client.publish(to, answer, { qos: 1, ...correlation });
      if (responseTopic !== undefined && responseTopic !== to) {
        client.publish(responseTopic, answer, { qos: 1, ...correlation });
      }
    };
    if (requestId === undefined || !isTopicLevel(requestId)) {
      // Without its id the sender could not match an answer; nothing is run.
      reply(this.topics.errors, {
        status: 400,
        error: {
          error: 'bad_request',
          message: 'a command topic is commands/COMMAND/REQUEST_ID (an id without /, + or #)',
          field: '/',
          part: 'topic',
        },
      });
      return;
    }
    const { reader, board } = this.target;
    const outcome = runCommand(
      {
        reader,
        board,
        link: this.hostLink,
        clock: reader.clock,
        resend: (after) => this.resend(after),
      },
      command,
      payload,
      this.limits,
    );
    if (outcome.ok) {
      reply(this.topics.replies, { status: outcome.status, result: outcome.result });
    } else {
      if (outcome.error.error === 'internal') {
        this.log.error(
          { readerId: this.readerId, command, error: outcome.error },
          'MQTT command failed',
        );
      }
      reply(this.topics.errors, { status: outcome.status, error: outcome.error });
    }
  }

  /**
   * Moves the cursor back to `after` (never below the acknowledged position): the events
   * after it go out again, in order, beside whatever is in flight (at least once).
   */
  private resend(after: number): { from: number; to: number } {
    const { ackedSeq, lastSeq } = this.target.reader.store.events.stats();
    this.sentSeq = Math.min(this.sentSeq, Math.max(ackedSeq, after));
    const from = this.sentSeq + 1;
    // After the reply is queued: the answer precedes the events it announces.
    queueMicrotask(() => this.pump());
    return { from, to: lastSeq };
  }

  private statusPayload(online: boolean, reason?: string): string {
    const status = this.target.reader.status();
    return JSON.stringify({
      readerId: this.readerId,
      online,
      ...(reason ? { reason } : {}),
      firmware: status.firmware,
      accessPointId: status.accessPointId,
      bootedAt: new Date(status.bootedAt).toISOString(),
      at: new Date(this.clock.now()).toISOString(),
    });
  }
}

/** A 32-bit seed from a reader id (FNV-1a): readers' jitter differs, and repeats run to run. */
function idSeed(readerId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < readerId.length; i++) {
    hash ^= readerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
