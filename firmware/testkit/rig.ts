import type { DeviceKey } from '../../ble/device-key';
import type { ResultMessage } from '../../ble/protocol';
import type { HostClient } from '../api/client';
import type { EventRecord } from '../foundation/model';

/** What a rig's eyes see on the LED: the two lines, amber = both. */
export type LedColour = 'off' | 'red' | 'green' | 'amber';

export function ledColour(red: boolean, green: boolean): LedColour {
  if (red && green) return 'amber';
  return red ? 'red' : green ? 'green' : 'off';
}

/**
 * A hardware-in-the-loop rig: the reader's hardware boundary, driven and observed from outside.
 * The same tests run on SimRig (real firmware + host API on the virtual stack, in CI) and
 * PiRig (a Pi whose GPIO inputs read back its own LED/relay outputs through loopback wires).
 * Setup (database, config, access-point state) and events go through the reader's host API.
 */
export interface Rig {
  readonly name: 'sim' | 'pi';
  /** The reader's host API, as the management system would use it. */
  readonly api: HostClient;
  /**
   * Where the rig's decision cursor stands: the last event seq a decision check consumed
   * (the event log's end when the rig opened). `nextDecision()` and the matchers move it.
   */
  cursor: number;
  /** A badge read on the reader's badge input (serial bytes in the reader's format). */
  presentBadge(value: string): Promise<void>;
  /** Digits typed on the reader's keypad (a PIN, then '#' if the keypad wants it). */
  typeKeys(keys: string): Promise<void>;
  /** Presses and releases the REX button (held past the debounce). */
  pressRex(): Promise<void>;
  /** Opens or closes the door (the door-contact input). */
  setDoor(open: boolean): Promise<void>;
  /** The LED colour now, read off the LED lines. */
  led(): Promise<LedColour>;
  /** Every colour the LED shows while `ms` of reader time pass (blink patterns). */
  ledDuring(ms: number): Promise<Set<LedColour>>;
  buzzer(): Promise<boolean>;
  /** The lock relay coil, read off its line. */
  relayEnergized(): Promise<boolean>;
  /** Lets `ms` of reader time pass (virtual on the sim, real on the Pi). */
  wait(ms: number): Promise<void>;
  /**
   * A phone in range (about 1 m) presenting its mobile credential over BLE, the way
   * `reader-sim phone unlock` does: @stoprocent/noble scans, connects, reads the challenge,
   * writes the signed presentation and waits for the result. A mobile credential's value is
   * the key's deviceId; the key pair signs, so the rig takes the key, not only the value.
   * Resolves with what the phone was told (granted, or denied with the reason code) as soon
   * as it is told, while the door is still doing what the answer says.
   * Sim: a virtual controller on the reader's virtual air. Pi: a second real adapter.
   */
  phoneUnlock(phone: DeviceKey): Promise<ResultMessage>;
  /** Real-time budget for an event to show up in the host API (the Pi's tools are slower). */
  readonly eventTimeoutMs: number;
  close(): Promise<void>;
}

export type RigName = Rig['name'];

/** RIG=sim (default) or RIG=pi; anything else is a clear error. */
export function rigName(env: NodeJS.ProcessEnv = process.env): RigName {
  const name = env.RIG ?? 'sim';
  if (name !== 'sim' && name !== 'pi') {
    throw new Error(`RIG must be sim or pi, got '${name}'`);
  }
  return name;
}

/**
 * Opens the rig `RIG` names (sim by default; see PiRig for the pi rig's variables). The
 * decision cursor starts at the end of the reader's event log.
 */
export async function openRig(env: NodeJS.ProcessEnv = process.env): Promise<Rig> {
  // Loaded lazily: the sim rig never touches GPIO tools, the pi rig never a virtual clock.
  if (rigName(env) === 'pi') return (await import('./pi-rig')).PiRig.open(env);
  return (await import('./sim-rig')).SimRig.open();
}

/** The first event after `after` that passes `match`, polled from the host API in real time. */
export async function waitForEvent(
  rig: Pick<Rig, 'api' | 'eventTimeoutMs'>,
  match: (event: EventRecord) => boolean,
  options: { after?: number; timeoutMs?: number; what?: string } = {},
): Promise<EventRecord> {
  const after = options.after ?? 0;
  const ms = options.timeoutMs ?? rig.eventTimeoutMs;
  const until = Date.now() + ms;
  for (;;) {
    const found = (await rig.api.events(after)).events.find(match);
    if (found) return found;
    if (Date.now() > until) {
      throw new Error(`no ${options.what ?? 'matching event'} after seq ${after} within ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every event after `after` (for "no such event" checks). */
export async function eventsAfter(rig: Pick<Rig, 'api'>, after: number): Promise<EventRecord[]> {
  return (await rig.api.events(after)).events;
}

/** Moves the decision cursor to the end of the event log (after a test's own setup). */
export async function markEvents(rig: Rig): Promise<number> {
  rig.cursor = (await rig.api.events(0)).lastSeq;
  return rig.cursor;
}

/**
 * The next access decision after the rig's cursor; moves the cursor past it, so consecutive
 * calls see consecutive decisions.
 */
export async function nextDecision(rig: Rig, timeoutMs?: number): Promise<EventRecord> {
  const event = await waitForEvent(rig, (e) => e.type === 'access', {
    after: rig.cursor,
    timeoutMs,
    what: 'access decision',
  });
  rig.cursor = event.seq;
  return event;
}
