import type { IndicatorEngine } from '../led';
import { FlashError, StoreError, type ReaderStore, type StagedDatabase } from '../storage';
import type { AccessPointCommand, AccessPointController } from './access-point';
import type { ReaderConfig } from './config';
import type { DoorController } from './door';
import type { Clock } from './foundation/clock';
import type { DatabaseContent, DatabaseDelta, EventRecord, NewEvent } from './foundation/model';
import type { BadgeRead, Keypad } from './inputs';
import { watchReaderOutputs, type OutputChange } from './output-changes';
import { pinLookupValue } from './pin';
import type { PanelLinkStatus } from './ports';
import type { Reader } from './reader';
import { FIRMWARE_VERSION } from './version';

/** What the reader shows and drives right now (GET /status, the panel). */
export interface ReaderStatus {
  readerId: string;
  accessPointId: string;
  firmware: string;
  bootedAt: number;
  /** scheduleOpen: the unlock schedule's window is open now; enroll: enroll mode shows. */
  accessPoint: ReturnType<AccessPointController['status']>;
  /** situation: which indicator situation is on show (idle, granted, lockdown, ...). */
  led: { color: string; buzzer: boolean; situation?: string };
  relay: 'locked' | 'unlocked';
  door: { position: string; forced: boolean; heldOpen: boolean; tamper: boolean };
  /** The OSDP link to the panel, in the osdp-pd role. */
  osdp?: PanelLinkStatus;
}

/** Config keys nothing outside the reader ever sees. */
const SECRET_CONFIG_KEYS = new Set(['pinKey', 'pkocSiteKey', 'osdpScbk']);

/** The parts boot() assembled, and how to stop them in order. */
export interface ReaderParts {
  clock: Clock;
  store: ReaderStore;
  config: ReaderConfig;
  indicator: IndicatorEngine;
  door: DoorController;
  accessPoint: AccessPointController;
  reader: Reader;
  keypad: Keypad;
  /** A badge read enters here exactly as from a serial badge input. */
  badge(read: BadgeRead): void;
  stop(): Promise<void>;
}

/**
 * The firmware while it runs: its parts (store, config, LED engine, door, access point, the
 * decision loop) and what the edges may ask of it. boot() makes one; a power cycle ends it and
 * boots a new one on the same board.
 */
export class RunningReader {
  readonly clock: Clock;
  readonly store: ReaderStore;
  readonly config: ReaderConfig;
  readonly indicator: IndicatorEngine;
  readonly door: DoorController;
  readonly accessPoint: AccessPointController;
  /** The decision loop. */
  readonly reader: Reader;
  readonly keypad: Keypad;
  readonly bootedAt: number;
  private readonly feed: AppendFeed;
  private stopped: Promise<void> | undefined;
  private panelLink: (() => PanelLinkStatus) | undefined;

  constructor(private readonly parts: ReaderParts) {
    ({
      clock: this.clock,
      store: this.store,
      config: this.config,
      indicator: this.indicator,
      door: this.door,
      accessPoint: this.accessPoint,
      reader: this.reader,
      keypad: this.keypad,
    } = parts);
    this.bootedAt = this.clock.now();
    this.feed = new AppendFeed(this.store);
  }

  status(): ReaderStatus {
    const cfg = this.config.get();
    const led = this.indicator.status();
    const d = this.door.status();
    return {
      readerId: cfg.readerId,
      accessPointId: cfg.accessPointId,
      firmware: FIRMWARE_VERSION,
      bootedAt: this.bootedAt,
      accessPoint: this.accessPoint.status(),
      led: { ...led.output, situation: led.visible },
      relay: d.relay,
      door: { position: d.position, forced: d.forced, heldOpen: d.heldOpen, tamper: d.tamper },
      ...(this.panelLink ? { osdp: this.panelLink() } : {}),
    };
  }

  /** The OSDP edge reports its link here while it serves this firmware (undefined: gone). */
  reportPanelLink(status: (() => PanelLinkStatus) | undefined): void {
    this.panelLink = status;
  }

  setAccessPointState(command: AccessPointCommand): void {
    // Lasting states are config (they survive a power cycle); admit is one momentary unlock.
    if (command === 'admit') this.accessPoint.setState('admit');
    else this.config.update({ accessPointState: command });
  }

  /**
   * "Update Access Points", full: the database and its `database-updated` event in one
   * transaction (both or neither after a power cut), then the schedule state recomputed.
   */
  replaceDatabase(content: DatabaseContent | StagedDatabase): number {
    const version = this.store.database.replace(content, { event: this.updatedEvent });
    this.accessPoint.refresh();
    return version;
  }

  /** "Update Access Points", delta: like replaceDatabase (VersionConflictError on a stale base). */
  patchDatabase(delta: DatabaseDelta): number {
    const version = this.store.database.patch(delta, { event: this.updatedEvent });
    this.accessPoint.refresh();
    return version;
  }

  private readonly updatedEvent = (version: number): NewEvent => ({
    ts: this.clock.now(),
    type: 'system',
    detail: { action: 'database-updated', version },
  });

  /** Host time sync. */
  setTime(epochMs: number): void {
    const from = this.clock.now();
    this.clock.set(epochMs);
    this.appendSystem({ action: 'clock-set', from, to: this.clock.now() });
  }

  /** The config as a host may see it: secrets left out. */
  visibleConfig(): Record<string, unknown> {
    return Object.fromEntries(
      Object.entries(this.config.get()).filter(([key]) => !SECRET_CONFIG_KEYS.has(key)),
    );
  }

  /** Validates, persists and applies; throws an error with a `field` naming the bad key. */
  updateConfig(patch: Record<string, unknown>): string[] {
    return this.config.update(patch);
  }

  /**
   * A PIN-only credential's stored value for the digits a host pushed: a keyed hash, so the
   * digits never reach flash and the key (config pinKey) never leaves the reader.
   */
  pinLookup(digits: string): string {
    return pinLookupValue(digits, this.config.get().pinKey);
  }

  /** A badge read, taking the path every badge input takes. */
  badge(read: BadgeRead): void {
    this.parts.badge(read);
  }

  /** Called for every event appended to the log, as read back from flash; returns an unsubscribe. */
  watchEvents(listener: (event: EventRecord) => void): () => void {
    return this.feed.watch(listener);
  }

  /** Every LED/buzzer, relay and door change (front panel, timelines); returns an unsubscribe. */
  watchOutputs(listener: (change: OutputChange) => void): () => void {
    return watchReaderOutputs(this, listener);
  }

  /** Finishes the commit in flight, relocks, stops timers and closes the flash. */
  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      this.feed.stop();
      await this.parts.stop();
    })();
    return this.stopped;
  }

  private appendSystem(detail: Record<string, unknown>): void {
    this.store.events.append({ ts: this.clock.now(), type: 'system', detail });
  }
}

/**
 * Live events for the stream: after every durable append (an event, or a grant's event +
 * debit) the new records are read back from the log by sequence number, so a listener sees
 * exactly what is in flash, in order, once.
 */
class AppendFeed {
  private readonly listeners = new Set<(e: EventRecord) => void>();
  private seen: number;
  private queued = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly store: ReaderStore) {
    this.seen = store.events.stats().lastSeq;
    this.unsubscribe = store.onAppend(() => this.poke());
  }

  watch(listener: (e: EventRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    this.listeners.clear();
    this.unsubscribe();
  }

  private poke(): void {
    if (!this.queued) queueMicrotask(() => this.deliver());
    this.queued = true;
  }

  private deliver(): void {
    this.queued = false;
    if (this.stopped) return;
    const { events } = this.store;
    try {
      if (this.listeners.size === 0) {
        // Nobody to tell: nothing to read back (most readers of a fleet have no watcher).
        this.seen = events.stats().lastSeq;
        return;
      }
      for (
        let page = events.list(this.seen, 1000);
        page.length;
        page = events.list(this.seen, 1000)
      ) {
        for (const e of page) {
          this.seen = e.seq;
          for (const listener of this.listeners) listener(e);
        }
      }
    } catch (err) {
      // The flash went away (a power cut, a closed store): the next boot's stream starts from
      // the log again. Anything else is a bug and surfaces.
      if (!(err instanceof StoreError || err instanceof FlashError)) throw err;
    }
  }
}
