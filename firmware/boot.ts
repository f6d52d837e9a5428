import { EventEmitter } from 'node:events';
import { IndicatorDriver, IndicatorEngine } from '../led';
import { openStore, OpenStoreOptions, StoreError, type ReaderStore } from '../storage';
import { AccessPointController } from './access-point';
import { Clock, SystemClock } from './foundation/clock';
import { ConfigChange, doorConfigOf, ReaderConfig } from './config';
import { DoorAlarm, DoorController, RelayDriver, RelayState } from './door';
import { badgePresentation, Keypad, type BadgeRead, type KeypadEntry } from './inputs';
import { ReaderLog, SILENT_LOG } from './foundation/log';
import type { NewEvent } from './foundation/model';
import { newPinKey } from './pin';
import { Reader } from './reader';
import { RunningReader } from './running-reader';
import { ClockEdges, CronEdges, EdgeSet, ScheduleEdges } from './schedule-edges';

/** The hardware and environment the composition root picked (profile sim, pi or test). */
export interface BootOptions {
  clock: Clock;
  store: OpenStoreOptions;
  indicatorDrivers: IndicatorDriver[];
  relay: RelayDriver;
  /** Overrides the stored readerId (and persists it). */
  readerId?: string;
  /** The keypad on the reader's face (default: one on this clock, typed by the board). */
  keypad?: Keypad;
  /** Badge sources: anything emitting 'badge' (BadgeRead), e.g. BadgeSerialInput. */
  badgeInputs?: EventEmitter[];
  /** Default: node-cron on a SystemClock, exact clock timers on any other clock. */
  edges?: ScheduleEdges;
  log?: ReaderLog;
}

/**
 * The boot sequence, in order: mount flash, load config, start outputs (LED, relay: driven
 * locked), compute the access-point state from the windows, start the reader, then the
 * inputs. Nothing reads a badge before the door and LED are in a known state.
 */
export function boot(options: BootOptions): RunningReader {
  const { clock } = options;
  const log = options.log ?? SILENT_LOG;

  // 1. Mount flash.
  const store = openStore({ overflowEvents: true, ...options.store, clock });

  // 2. Load config (bad stored values fall back to defaults, loudly).
  const { config, warnings } = ReaderConfig.load(store.config);
  for (const w of warnings) log.warn({ field: w.field }, w.message);
  if (config.get().pinKey === '') config.update({ pinKey: newPinKey() });
  if (options.readerId !== undefined) config.update({ readerId: options.readerId });
  const cfg = config.get();

  // 3. Outputs.
  const indicator = new IndicatorEngine(clock, options.indicatorDrivers);
  const door = new DoorController(clock, options.relay, doorConfigOf(cfg));

  // 4. Access point: state from the windows, now.
  const edges =
    options.edges ??
    (clock instanceof SystemClock
      ? new EdgeSet([new CronEdges(), new ClockEdges(clock)])
      : new ClockEdges(clock));
  const accessPoint = new AccessPointController(
    clock,
    door,
    indicator,
    () => {
      const db = store.database;
      const ap = db.accessPoint(config.get().accessPointId);
      const schedule =
        ap?.unlockScheduleId !== undefined ? db.schedule(ap.unlockScheduleId) : undefined;
      return { schedule, holidays: schedule ? db.holidays() : [] };
    },
    edges,
  );
  accessPoint.start(cfg.accessPointState);

  // 5. The decision loop.
  const reader = new Reader({ clock, store, indicator, door, config, accessPoint, log });

  // Config changes take effect without a restart.
  const onConfig = ({ config: next, changed }: ConfigChange) => {
    if (changed.some((k) => k in doorConfigOf(next))) door.configure(doorConfigOf(next));
    if (changed.includes('accessPointState')) accessPoint.setState(next.accessPointState);
    if (changed.includes('accessPointId')) accessPoint.refresh();
    appendSystem({ action: 'config-changed', keys: changed.filter((k) => k !== 'pinKey') });
  };
  config.on('change', onConfig);

  // The reader's own events (system, door, tamper): a failed append is logged, never thrown
  // into a timer or an input's callback.
  const logEvent = (event: NewEvent) => {
    try {
      store.events.append(event);
    } catch (err) {
      log.error({ err, event: event.type }, 'event append failed');
    }
  };
  const appendSystem = (detail: Record<string, unknown>) =>
    logEvent({ ts: clock.now(), type: 'system', detail });

  // Door events go to the log and the alarm layer of the LED.
  const onAlarm = (alarm: DoorAlarm) => {
    if (alarm.kind !== 'tamper') indicator.setAlarm(door.status().forced || door.status().heldOpen);
    logEvent({
      ts: alarm.at,
      type: alarm.kind === 'tamper' ? 'tamper' : 'door',
      accessPointId: config.get().accessPointId,
      detail: { alarm: alarm.kind, active: alarm.active },
    });
    log.warn({ alarm: alarm.kind, active: alarm.active }, 'door alarm');
  };
  const onRex = (at: number) =>
    logEvent({
      ts: at,
      type: 'door',
      accessPointId: config.get().accessPointId,
      detail: { rex: true },
    });
  // Green says "unlocked for you": when the door relocks early (closed behind the user),
  // the grant's green ends with it instead of outlasting the relay.
  const onRelay = (state: RelayState) => {
    if (state === 'locked' && indicator.status().temporary === 'granted') {
      indicator.clearTemporary();
    }
  };
  door.on('alarm', onAlarm);
  door.on('rex', onRex);
  door.on('relay', onRelay);

  // 6. Inputs, last.
  const accessPointId = () => config.get().accessPointId;
  const onBadge = (read: BadgeRead) => {
    reader
      .present(badgePresentation(read, { accessPointId: accessPointId(), now: clock.now() }))
      .catch((err: unknown) => log.warn({ err }, 'badge not taken'));
  };
  const onEntry = (entry: KeypadEntry) => {
    reader
      .keypadEntry(entry.digits)
      .catch((err: unknown) => log.warn({ err }, 'keypad entry not taken'));
  };
  const keypad = options.keypad ?? new Keypad({ clock });
  for (const input of options.badgeInputs ?? []) input.on('badge', onBadge);
  keypad.on('entry', onEntry);

  appendSystem({
    action: 'boot',
    readerId: cfg.readerId,
    databaseVersion: store.database.version(),
  });
  log.info(
    {
      readerId: cfg.readerId,
      accessPointId: cfg.accessPointId,
      state: accessPoint.status(),
      database: store.database.counts(),
    },
    'reader booted',
  );

  // 7. The index a snapshot mount left on flash comes into RAM while the reader is idle.
  const warming = warmIndex(store);

  const stop = async () => {
    clearImmediate(warming.next);
    for (const input of options.badgeInputs ?? []) input.off('badge', onBadge);
    keypad.off('entry', onEntry);
    keypad.stop();
    await reader.close();
    accessPoint.stop();
    // Relock: a reader that is going away must not leave the door open.
    door.setHeldUnlocked(false);
    door.setLockdown(true);
    door.stop();
    indicator.stop();
    config.off('change', onConfig);
    door.off('alarm', onAlarm);
    door.off('rex', onRex);
    door.off('relay', onRelay);
    appendSystem({ action: 'shutdown' });
    store.close();
    log.info({ relay: door.status().relay }, 'reader stopped');
  };

  return new RunningReader({
    clock,
    store,
    config,
    indicator,
    door,
    accessPoint,
    reader,
    keypad,
    badge: onBadge,
    stop,
  });
}

/** Index pages read per turn of the event loop while warming (a few hundred microseconds). */
const WARM_PAGES_PER_TURN = 64;

/**
 * Reads the index pages a mount from a snapshot left on flash, a slice per turn of the event
 * loop, until all are in RAM: the first lookups after a boot read the pages they probe, and
 * every later one reads none. Stops quietly if the store goes away meanwhile.
 */
function warmIndex(store: ReaderStore): { next: NodeJS.Immediate | undefined } {
  const warming: { next: NodeJS.Immediate | undefined } = { next: undefined };
  const turn = () => {
    warming.next = undefined;
    try {
      if (store.pageIn(WARM_PAGES_PER_TURN) > 0) warming.next = setImmediate(turn).unref();
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
    }
  };
  if (store.pageIn(0) > 0) warming.next = setImmediate(turn).unref();
  return warming;
}
