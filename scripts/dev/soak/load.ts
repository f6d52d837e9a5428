import { AirAccess, connectAir, RemoteAir } from '../../../ble/controller';
import { PhoneRadio, startPhoneRadio } from '../../../ble/phone-radio';
import { HostApiError, HostClient, readEventStream } from '../../../firmware/api/client';
import type { Credential, DatabaseDelta, EventRecord } from '../../../firmware/foundation/model';
import { churnCredential, fullContent, SoakFixture } from './fixture';
import { Ledger, PushRecord } from './ledger';

/** What one load window counted (from outside; the remount check decides what is true). */
export interface LoadCounters {
  phoneGranted: number;
  phoneDenied: number;
  /** Phone answers that were no decision (`error` results such as busy) or calls that failed. */
  phoneErrors: number;
  badgesPresented: number;
  badgeDecisions: number;
  badgeTimeouts: number;
  pushesAcked: number;
  fullPushes: number;
  pushErrors: number;
  eventsRead: number;
  acks: number;
  streamEvents: number;
  panelEvents: number;
  relayUnlocks: number;
  doorCycles: number;
  /** Host calls that failed while the reader was up (not the ones the kill cut). */
  hostErrors: string[];
}

export function newCounters(): LoadCounters {
  return {
    phoneGranted: 0,
    phoneDenied: 0,
    phoneErrors: 0,
    badgesPresented: 0,
    badgeDecisions: 0,
    badgeTimeouts: 0,
    pushesAcked: 0,
    fullPushes: 0,
    pushErrors: 0,
    eventsRead: 0,
    acks: 0,
    streamEvents: 0,
    panelEvents: 0,
    relayUnlocks: 0,
    doorCycles: 0,
    hostErrors: [],
  };
}

export interface LoadContext {
  client: HostClient;
  apiUrl: string;
  token: string;
  airSocket: string;
  fixture: SoakFixture;
  ledger: Ledger;
  random: () => number;
  cycle: number;
  /** Badge presenters running at once (each waits for its decision before the next). */
  badgeWorkers: number;
  /** Events left unacknowledged behind the newest read (so the check covers both kinds). */
  ackLag: number;
  counters: LoadCounters;
}

/**
 * One load window against a running reader: phones unlocking over the virtual air, badges
 * through the sim badge control, delta and full pushes, event paging + acks, the event
 * stream and the panel stream, all at once, until stop() (the kill comes first).
 */
export class Load {
  private stopped = false;
  /** Set just before the kill: what fails from here on, the kill cut. */
  private killed = false;
  private readonly abort = new AbortController();
  private readonly stopping: Promise<void>;
  private stopNow: () => void = () => {};
  private readonly radios: PhoneRadio[] = [];
  private readonly airs: RemoteAir[] = [];
  private readonly workers: Promise<void>[] = [];
  /** Badge values waiting for their decision on the event stream. */
  private readonly waiting = new Map<string, Array<(decided: boolean) => void>>();

  constructor(private readonly ctx: LoadContext) {
    this.stopping = new Promise((resolve) => (this.stopNow = resolve));
  }

  /** Joins the phones to the air and starts every worker. */
  async start(): Promise<void> {
    const { fixture } = this.ctx;
    for (let i = 0; i < fixture.phones.length; i++) {
      const air = await connectAir({ path: this.ctx.airSocket });
      air.on('error', () => undefined); // the kill closes the air under the phones
      this.airs.push(air);
      const radio = startPhoneRadio({
        key: fixture.phones[i]!.key!,
        air: air as AirAccess,
        distance: 1 + (i % 4) * 0.5,
      });
      this.radios.push(radio);
      this.workers.push(this.phoneLoop(radio, fixture.phones[i]!.credential.id));
    }
    this.workers.push(
      this.eventStream(),
      this.panelStream(),
      this.pager(),
      this.pusher(),
      this.walkThrough(),
    );
    for (let i = 0; i < this.ctx.badgeWorkers; i++) this.workers.push(this.badgeLoop());
  }

  /** Ends the window: aborts streams, closes the phones; resolves when every worker ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopNow();
    this.abort.abort();
    for (const r of this.radios) r.close();
    for (const a of this.airs) a.close();
    for (const list of this.waiting.values()) list.splice(0).forEach((w) => w(false));
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.allSettled(this.workers).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 10_000))),
    ]);
    clearTimeout(timer);
    if (!settled) throw new Error('load workers did not end within 10 s of the stop');
  }

  /** Until the kill: no new calls once it is about to land. */
  private get running(): boolean {
    return !this.stopped && !this.killed;
  }

  /** The kill is about to land: failures from now on are its doing, not the reader's. */
  killing(): void {
    this.killed = true;
  }

  private failed(where: string, err: unknown): void {
    // The kill cut it: its outcome is what the remount check is for.
    if (!this.running) return;
    const text = err instanceof Error ? err.message : String(err);
    this.ctx.counters.hostErrors.push(`${where}: ${text}`);
  }

  private async phoneLoop(radio: PhoneRadio, credentialId: string): Promise<void> {
    const { counters, ledger } = this.ctx;
    while (this.running) {
      try {
        // noble leaves a call pending forever when its air goes away: stop() ends the wait.
        const result = await Promise.race([
          radio.phone.unlock({ timeoutMs: 3000 }),
          this.stopping.then(() => undefined),
        ]);
        if (result === undefined) return;
        if (result.status === 'granted') {
          // The reader answers granted only after the debit is durable: a promise to check.
          ledger.phoneGrants.set(credentialId, (ledger.phoneGrants.get(credentialId) ?? 0) + 1);
          counters.phoneGranted++;
        } else if (result.status === 'denied') counters.phoneDenied++;
        else counters.phoneErrors++;
      } catch (err) {
        if (!this.running) return;
        counters.phoneErrors++;
        this.failed('phone', err);
        await this.sleep(50);
      }
    }
  }

  private onEvent(event: EventRecord, where: string): void {
    this.ctx.ledger.report(event, this.ctx.cycle, where);
    const source = event.detail?.source;
    const presented = event.detail?.presented;
    // The sim badge control feeds the serial badge reader's path: its events say so.
    if (event.type === 'access' && source === 'badge-serial' && typeof presented === 'string') {
      this.waiting.get(presented)?.shift()?.(true);
    }
  }

  private async eventStream(): Promise<void> {
    while (this.running) {
      try {
        await this.ctx.client.stream(
          (m) => {
            if (m.type !== 'event') return;
            this.ctx.counters.streamEvents++;
            this.onEvent(m.data, 'the event stream');
          },
          { after: this.ctx.ledger.ackedUpTo, signal: this.abort.signal },
        );
      } catch (err) {
        this.failed('event stream', err);
      }
      await this.sleep(100);
    }
  }

  private async panelStream(): Promise<void> {
    const { apiUrl, token, counters, ledger } = this.ctx;
    let relay = 'locked';
    try {
      const response = await fetch(`${apiUrl}/api/v1/panel/stream`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: this.abort.signal,
      });
      if (!response.ok || !response.body) throw new Error(`panel stream: ${response.status}`);
      await readEventStream(
        response.body,
        (m) => {
          const data = m.data as Record<string, unknown>;
          if (m.type === 'state') {
            const outputs = data.outputs as { relay?: string } | null;
            if (outputs?.relay) relay = outputs.relay;
          } else if (m.type === 'event') {
            counters.panelEvents++;
            this.onEvent(data as unknown as EventRecord, 'the panel stream');
          } else if (m.type === 'output' && data.kind === 'relay') {
            if (data.relay === 'unlocked' && relay !== 'unlocked') {
              ledger.relayUnlocks.push(data.at as number);
              counters.relayUnlocks++;
            }
            relay = String(data.relay);
          }
        },
        this.abort.signal,
      );
    } catch (err) {
      this.failed('panel stream', err);
    }
  }

  /** Pages the log from the last acknowledgement and acknowledges all but the newest few. */
  private async pager(): Promise<void> {
    const { client, ledger, counters, ackLag } = this.ctx;
    let cursor = ledger.ackedUpTo;
    while (this.running) {
      try {
        let page;
        do {
          page = await client.events(cursor, 200);
          for (const e of page.events) this.onEvent(e, 'GET /events');
          counters.eventsRead += page.events.length;
          cursor = page.next;
        } while (page.more && this.running);
        const upTo = cursor - ackLag;
        if (upTo > ledger.ackedUpTo) {
          await client.ack(upTo);
          ledger.ackedUpTo = upTo; // only after the 2xx: from here on it must be durable
          counters.acks++;
        }
      } catch (err) {
        this.failed('events', err);
      }
      await this.sleep(100 + this.ctx.random() * 200);
    }
  }

  /** Delta pushes (add or delete a churn badge), one in eight a full push. */
  private async pusher(): Promise<void> {
    const { client, ledger, counters, fixture, random } = this.ctx;
    while (this.running) {
      await this.sleep(30 + random() * 150);
      if (!this.running) return;
      const base = ledger.lastPush!;
      const churn = new Map(base.churn);
      const full = random() < 0.125;
      let delta: DatabaseDelta | undefined;
      const live = [...churn.keys()];
      if (live.length > 0 && (live.length >= 12 || random() < 0.4)) {
        const id = live[Math.floor(random() * live.length)]!;
        churn.delete(id);
        delta = { baseVersion: base.version, delete: { credentials: [id] } };
      } else {
        const c: Credential = churnCredential(++ledger.churnCounter);
        churn.set(c.id, c);
        delta = { baseVersion: base.version, upsert: { credentials: [c] } };
      }
      const pending: PushRecord = { version: base.version + 1, churn, full };
      ledger.pushInFlight = pending;
      try {
        const answer = full
          ? await client.push(fullContent(fixture, churn.values()))
          : await client.patch(delta);
        if (answer.version !== pending.version) {
          ledger.violations.push({
            cycle: this.ctx.cycle,
            kind: 'database_wrong',
            detail: `push answered version ${answer.version}, expected ${pending.version}`,
          });
          pending.version = answer.version;
        }
        ledger.lastPush = pending;
        ledger.pushInFlight = undefined;
        counters.pushesAcked++;
        ledger.pushAcked();
        if (full) counters.fullPushes++;
      } catch (err) {
        // In flight at the kill: old or new, the remount check decides (and adopts it).
        if (!this.running) return;
        ledger.pushInFlight = undefined;
        counters.pushErrors++;
        this.failed('push', err instanceof HostApiError ? `${err.status} ${err.message}` : err);
      }
    }
  }

  private async badgeLoop(): Promise<void> {
    const { client, fixture, counters, random, ledger } = this.ctx;
    while (this.running) {
      const r = random();
      const churn = [...ledger.lastPush!.churn.values()];
      const value =
        r < 0.06
          ? fixture.unknownBadges[Math.floor(random() * fixture.unknownBadges.length)]!
          : r < 0.12 && churn.length > 0
            ? churn[Math.floor(random() * churn.length)]!.value
            : fixture.badges[Math.floor(random() * fixture.badges.length)]!.credential.value;
      const decided = this.decisionOf(value, 3000);
      try {
        await client.sim.badge(value);
        counters.badgesPresented++;
      } catch (err) {
        this.failed('badge', err);
        await this.sleep(50);
        continue;
      }
      if (await decided) counters.badgeDecisions++;
      else if (this.running) counters.badgeTimeouts++;
      // The next holder walks up: without a pause badges (one HTTP call each) would crowd the
      // phones (a dozen air round trips each) out of the reader's one decision queue.
      await this.sleep(10 + random() * 40);
    }
  }

  /**
   * Someone walks through: the door opens and closes, so the relay relocks (relockOnClose)
   * and the next grant unlocks it again; without this the relay would stay unlocked under
   * a steady stream of grants and the panel would show one unlock per window.
   */
  private async walkThrough(): Promise<void> {
    const { client, random, counters } = this.ctx;
    while (this.running) {
      await this.sleep(60 + random() * 200);
      if (!this.running) return;
      try {
        await client.sim.door('open');
        await this.sleep(20);
        await client.sim.door('close');
        counters.doorCycles++;
      } catch (err) {
        this.failed('door', err);
      }
    }
  }

  /** Resolves true when the event stream shows the decision on this badge, false at timeout. */
  private decisionOf(value: string, timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const list = this.waiting.get(value) ?? [];
      this.waiting.set(value, list);
      const waiter = (decided: boolean) => {
        clearTimeout(timer);
        resolve(decided);
      };
      const timer = setTimeout(() => {
        const at = list.indexOf(waiter);
        if (at >= 0) list.splice(at, 1);
        resolve(false);
      }, timeoutMs);
      list.push(waiter);
    });
  }

  /** A pause that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return Promise.race([
      new Promise<void>((resolve) => setTimeout(resolve, ms).unref()),
      this.stopping,
    ]);
  }
}
