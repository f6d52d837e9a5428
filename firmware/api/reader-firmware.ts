import { EventEmitter } from 'node:events';
import type { EventRecord } from '../foundation/model';
import { boot, type BootOptions, type RunningReader } from '../boot';
import { Keypad, type BadgeRead } from '../inputs';
import { watchReaderOutputs } from '../panel/changes';
import type { RawData as ReaderRawData } from '../reader';
import { pinLookupValue } from '../pin';
import type { Enrollments } from './enrollments';
import { ApiError } from './errors';
import type { AccessPointCommand, FirmwareHandle, RawData } from './firmware';
import { FIRMWARE_VERSION } from '../version';

/** Config keys the host API never shows. */
const SECRET_CONFIG_KEYS = new Set(['pinKey']);

export interface ReaderFirmwareOptions extends Omit<BootOptions, 'keypad'> {
  /** Outlives the firmware (see Board): ids stay valid across power cycles. */
  enrollments: Enrollments;
}

/** The firmware handle plus the running reader's parts (for a console panel, benchmarks). */
export type ReaderFirmware = FirmwareHandle & { running: RunningReader; keypad: Keypad };

/**
 * Boots the real firmware (firmware/boot.ts) with the simulator's inputs attached beside the
 * hardware ones: a badge source and a keypad that the host API's sim controls drive, so a
 * simulated badge takes exactly the path a serial one does.
 */
export function bootReaderFirmware(options: ReaderFirmwareOptions): ReaderFirmware {
  const simBadge = new EventEmitter();
  const keypad = new Keypad({ clock: options.clock });
  const running = boot({
    ...options,
    keypad,
    badgeInputs: [...(options.badgeInputs ?? []), simBadge],
  });
  const handle = readerFirmware(running, { simBadge, keypad, enrollments: options.enrollments });
  return { ...handle, running, keypad };
}

interface SimInputsOf {
  simBadge: EventEmitter;
  keypad: Keypad;
  enrollments: Enrollments;
}

/** The FirmwareHandle of a booted reader. */
export function readerFirmware(running: RunningReader, inputs: SimInputsOf): FirmwareHandle {
  const { clock, store, config, indicator, door, accessPoint, reader } = running;
  const { enrollments } = inputs;
  const bootedAt = clock.now();
  const feed = watchAppends(running);

  const onRawData = (raw: ReaderRawData) => {
    const rawData: RawData = { deviceId: raw.deviceId, publicKey: raw.publicKey ?? '' };
    enrollments.captured(raw.userId, rawData, raw.at);
  };
  const onEnroll = ({ active }: { userId: string; active: boolean }) => {
    if (active) return;
    // The reader ends enroll mode just before it reports a capture: decide once it has.
    const id = enrollments.pending()?.id;
    const at = clock.now();
    if (id) queueMicrotask(() => enrollments.ended(id, at));
  };
  reader.on('raw-data', onRawData);
  reader.on('enroll', onEnroll);

  const appendSystem = (detail: Record<string, unknown>) => {
    store.events.append({ ts: clock.now(), type: 'system', detail });
  };

  return {
    store,
    clock,
    status() {
      const cfg = config.get();
      const led = indicator.status();
      const d = door.status();
      return {
        readerId: cfg.readerId,
        accessPointId: cfg.accessPointId,
        firmware: FIRMWARE_VERSION,
        bootedAt,
        accessPoint: accessPoint.status(),
        led: { ...led.output, situation: led.visible },
        relay: d.relay,
        door: { position: d.position, forced: d.forced, heldOpen: d.heldOpen, tamper: d.tamper },
      };
    },
    setAccessPointState(command: AccessPointCommand) {
      // Lasting states are config (they survive a power cycle); admit is one momentary unlock.
      if (command === 'admit') accessPoint.setState('admit');
      else config.update({ accessPointState: command });
    },
    databaseUpdated(version: number) {
      accessPoint.refresh();
      appendSystem({ action: 'database-updated', version });
    },
    setTime(epochMs: number) {
      const from = clock.now();
      clock.set(epochMs);
      appendSystem({ action: 'clock-set', from, to: clock.now() });
    },
    config() {
      return Object.fromEntries(
        Object.entries(config.get()).filter(([key]) => !SECRET_CONFIG_KEYS.has(key)),
      );
    },
    pinLookup(digits: string) {
      return pinLookupValue(digits, config.get().pinKey);
    },
    updateConfig(patch: Record<string, unknown>) {
      return config.update(patch);
    },
    enrollment: {
      start(userId: string, timeoutMs?: number) {
        const length = timeoutMs ?? config.get().enrollTimeoutMs;
        reader.enroll(userId, length);
        return enrollments.start(userId, clock.now() + length);
      },
      get: (id: string) => enrollments.get(id),
    },
    watchEvents: feed.watch,
    watchOutputs: (listener) => watchReaderOutputs(running, listener),
    sim: {
      badge(value: string) {
        const read: BadgeRead = {
          value,
          format: value.startsWith('hex:') ? 'rdm6300' : 'isonas-ascii',
          at: clock.now(),
        };
        inputs.simBadge.emit('badge', read);
      },
      keypad: (keys: string) => inputs.keypad.type(keys),
      rex: () => door.rex(),
      door: (open: boolean) => door.doorContact(open),
      tamper: (active: boolean) => door.tamper(active),
      enrollCapture(rawData: RawData) {
        if (reader.enrolling === undefined) {
          throw new ApiError('not_in_enroll_mode', 'the reader is not in enroll mode');
        }
        void reader
          .present({
            kind: 'mobile',
            value: rawData.deviceId,
            publicKey: rawData.publicKey,
            source: 'sim',
            accessPointId: config.get().accessPointId,
            at: clock.now(),
          })
          .catch(() => undefined);
      },
    },
    async shutdown() {
      reader.off('raw-data', onRawData);
      reader.off('enroll', onEnroll);
      enrollments.cancelPending();
      feed.stop();
      await running.shutdown();
    },
  };
}

/**
 * Live events for the stream: after every durable append (an event, or a grant's event +
 * debit) the new records are read back from the log by sequence number, so a listener sees
 * exactly what is in flash, in order, once.
 */
function watchAppends(running: RunningReader): {
  watch(listener: (e: EventRecord) => void): () => void;
  stop(): void;
} {
  const { store } = running;
  const listeners = new Set<(e: EventRecord) => void>();
  let seen = store.events.stats().lastSeq;
  let queued = false;
  let stopped = false;
  const deliver = () => {
    queued = false;
    if (stopped) return;
    try {
      for (
        let page = store.events.list(seen, 1000);
        page.length;
        page = store.events.list(seen, 1000)
      ) {
        for (const e of page) {
          seen = e.seq;
          for (const listener of listeners) listener(e);
        }
      }
    } catch {
      // The flash went away (power cut): the next boot's stream starts from the log again.
    }
  };
  const poke = () => {
    if (!queued) queueMicrotask(deliver);
    queued = true;
  };
  const events = store.events;
  const append = events.append.bind(events);
  events.append = (event) => {
    const record = append(event);
    poke();
    return record;
  };
  const recordGrant = store.recordGrant.bind(store);
  store.recordGrant = (event, credentialId) => {
    const record = recordGrant(event, credentialId);
    poke();
    return record;
  };
  return {
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      stopped = true;
      listeners.clear();
    },
  };
}
