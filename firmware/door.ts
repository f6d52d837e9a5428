import { EventEmitter } from 'node:events';
import type { Clock, ClockChange, Timer } from './foundation/clock';
import { DEFAULT_UNLOCK_MS } from './foundation/model';

/** The lock relay coil. energized means current flows; what that does depends on the lock type. */
export interface RelayDriver {
  set(energized: boolean): void;
}

export interface DoorConfig {
  /** Momentary unlock time for a grant or REX (BEHAVIOR.md: 1-60 s). */
  unlockMs: number;
  /** Unlock time for users flagged for extended unlock. */
  extendedUnlockMs: number;
  /** Relock as soon as the door closes after opening, instead of waiting for the unlock time. */
  relockOnClose: boolean;
  /** Fail-safe lock (mag lock, NC contact): energized = locked. Fail-secure (strike): energized = unlocked. */
  failSafe: boolean;
  /** Door open longer than this after a grant or REX raises the door-held-open alarm. */
  heldOpenMs: number;
  /** REX still unlocks during lockdown (free egress). Default true. */
  rexInLockdown?: boolean;
  /** Local mode: the relay stays unlocked while AUX is active. false = AUX is only reported. Default true. */
  auxUnlocks?: boolean;
  /** AUX still unlocks during lockdown. Default false: lockdown wins over a desk release button. */
  auxInLockdown?: boolean;
}

/** Defaults, defined once (config and docs import them). */
export const DEFAULT_DOOR_CONFIG: Readonly<Required<DoorConfig>> = Object.freeze({
  unlockMs: DEFAULT_UNLOCK_MS,
  extendedUnlockMs: 15_000,
  relockOnClose: true,
  failSafe: false,
  heldOpenMs: 30_000,
  rexInLockdown: true,
  auxUnlocks: true,
  auxInLockdown: false,
});

/** Accepted ranges, for validation here and in the host API schema. */
export const DOOR_CONFIG_LIMITS = Object.freeze({
  unlockMs: { min: 1000, max: 60_000 },
  extendedUnlockMs: { min: 1000, max: 600_000 },
  heldOpenMs: { min: 1000, max: 3_600_000 },
});

export type RelayState = 'locked' | 'unlocked';

/**
 * The door-position state machine. 'open' is an authorized opening (during an unlock); the
 * two alarm states are left only when the door closes.
 */
export type DoorPosition = 'closed' | 'open' | 'forced-open' | 'held-open';

export type DoorAlarmKind = 'forced' | 'held' | 'tamper';

export interface DoorAlarm {
  kind: DoorAlarmKind;
  active: boolean;
  at: number;
}

export interface DoorStatus {
  relay: RelayState;
  door: 'open' | 'closed';
  forced: boolean;
  heldOpen: boolean;
  tamper: boolean;
  aux: boolean;
  heldUnlocked: boolean;
  lockdown: boolean;
  position: DoorPosition;
  /** End of the running momentary unlock (grant or REX), if any. */
  momentaryUntil: number | undefined;
}

interface MomentaryUnlock {
  startedAt: number;
  extended: boolean;
  /** The door has been open since this unlock began: its next close ends the unlock. */
  opened: boolean;
  /** A panel's own unlock time (osdp_OUT), instead of the configured one. */
  durationMs?: number;
  timer: Timer;
  /** When the timer fires (wall clock): no later than the unlock ends, maybe earlier. */
  timerDue: number;
}

/**
 * The door and its lock relay.
 *
 * Relay (desiredRelay, first rule wins):
 *   1. a momentary unlock (grant, admit, REX) is running          -> unlocked
 *   2. lockdown                                                   -> locked (AUX only if auxInLockdown)
 *   3. held unlocked (schedule window or host 'unlock')           -> unlocked
 *   4. AUX active and auxUnlocks (local mode)                     -> unlocked
 *   5. otherwise                                                  -> locked
 * A grant during lockdown unlocks: the decision only grants lockdown-override credentials.
 *
 * Door position (doorContact):
 *   closed --open, relay locked-------------> forced-open  (alarm forced)
 *   closed --open, relay unlocked-----------> open         (held timer, unless held unlocked / AUX)
 *   open   --held timer---------------------> held-open    (alarm held)
 *   open | forced-open | held-open --close--> closed       (alarms clear; relock if relockOnClose)
 *
 * Events (the clock time last): 'relay' (RelayState, at), 'door' ('open'|'closed', at),
 * 'alarm' (DoorAlarm, at), 'rex' (at), 'aux' (active, at), 'driver-error' (error).
 */
export class DoorController extends EventEmitter {
  private config: Required<DoorConfig>;
  private relayState: RelayState = 'locked';
  private position: DoorPosition = 'closed';
  private momentary: MomentaryUnlock | undefined;
  private heldUnlocked = false;
  private lockdown = false;
  private auxActive = false;
  private tamperActive = false;
  /** When the held-open clock started for the current opening; undefined = not running. */
  private heldFrom: number | undefined;
  private heldTimer: Timer | undefined;
  /**
   * Unlock and held-open times are kept in wall-clock ms; a clock set (host time sync) moves
   * them along so a running unlock neither stretches nor ends early. Pending timers are
   * relative delays and need nothing.
   */
  private readonly onClockChange = ({ from, to }: ClockChange) => {
    if (this.momentary) {
      this.momentary.startedAt += to - from;
      this.momentary.timerDue += to - from;
    }
    if (this.heldFrom !== undefined) this.heldFrom += to - from;
  };

  constructor(
    private readonly clock: Clock,
    private readonly relay: RelayDriver,
    config: DoorConfig,
  ) {
    super();
    this.config = { ...DEFAULT_DOOR_CONFIG, ...checkDoorConfig(config, true) };
    clock.on('change', this.onClockChange);
    // Drive the coil to 'locked' at boot: the relay's power-up state is not ours to trust.
    this.driveRelay();
  }

  /** A grant or admit: unlock for the (extended) unlock time; the door's next close relocks. */
  momentaryUnlock(options: { extended?: boolean } = {}): void {
    this.startMomentary(options.extended === true);
  }

  /** A panel's timed unlock (OSDP osdp_OUT): like a grant's, for durationMs. */
  unlockFor(durationMs: number): void {
    if (!(Number.isFinite(durationMs) && durationMs > 0)) {
      throw new RangeError(`durationMs must be a positive number of ms, got ${durationMs}`);
    }
    this.startMomentary(false, durationMs);
  }

  /** Ends a running momentary unlock now (a panel's "off" on the lock output). */
  endUnlock(): void {
    this.endMomentary();
    this.settle();
  }

  /** Request to exit: a momentary unlock with no access event (the reader logs no grant). */
  rex(): void {
    const at = this.clock.now();
    this.emit('rex', at);
    if (this.lockdown && !this.config.rexInLockdown) return;
    this.startMomentary(false);
  }

  /** Schedule window or host 'unlock'; false relocks (unless something else holds it open). */
  setHeldUnlocked(on: boolean): void {
    checkFlag('setHeldUnlocked', on);
    if (on === this.heldUnlocked) return;
    this.heldUnlocked = on;
    this.settle();
  }

  /** Lockdown relocks now and ends any momentary unlock; REX and AUX follow the config. */
  setLockdown(on: boolean): void {
    checkFlag('setLockdown', on);
    if (on === this.lockdown) return;
    this.lockdown = on;
    if (on) this.endMomentary();
    this.settle();
  }

  doorContact(open: boolean): void {
    checkFlag('doorContact', open);
    const now = this.clock.now();
    switch (this.position) {
      case 'closed':
        if (!open) return;
        if (this.momentary) this.momentary.opened = true;
        if (this.relayState === 'locked') {
          this.position = 'forced-open';
          this.emit('door', 'open', now);
          this.raise('forced', true, now);
        } else {
          this.position = 'open';
          this.emit('door', 'open', now);
          this.armHeldClock(now);
        }
        return;
      case 'open':
      case 'forced-open':
      case 'held-open': {
        if (open) return;
        const was = this.position;
        this.position = 'closed';
        this.stopHeldClock();
        this.emit('door', 'closed', now);
        if (was === 'forced-open') this.raise('forced', false, now);
        if (was === 'held-open') this.raise('held', false, now);
        if (this.momentary?.opened && this.config.relockOnClose) {
          this.endMomentary();
          this.settle();
        }
        return;
      }
    }
  }

  tamper(active: boolean): void {
    checkFlag('tamper', active);
    if (active === this.tamperActive) return;
    this.tamperActive = active;
    this.raise('tamper', active, this.clock.now());
  }

  aux(active: boolean): void {
    checkFlag('aux', active);
    if (active === this.auxActive) return;
    this.auxActive = active;
    this.emit('aux', active, this.clock.now());
    this.settle();
  }

  /**
   * Takes effect at once: running timers are re-timed from when they started, a polarity
   * change re-drives the coil. Bad values throw and change nothing.
   */
  configure(config: Partial<DoorConfig>): void {
    const checked = checkDoorConfig(config, false);
    const polarityBefore = this.config.failSafe;
    this.config = { ...this.config, ...checked };
    const now = this.clock.now();
    if (this.momentary) {
      const { startedAt, extended, opened, durationMs } = this.momentary;
      this.clock.clearTimeout(this.momentary.timer);
      this.momentary = undefined;
      const remaining = startedAt + (durationMs ?? this.unlockTime(extended)) - now;
      if (remaining > 0) {
        this.momentary = this.scheduleMomentary(startedAt, extended, opened, remaining);
        if (durationMs !== undefined) this.momentary.durationMs = durationMs;
      }
    }
    if (this.heldTimer) this.scheduleHeldAlarm();
    const relayBefore = this.relayState;
    this.settle();
    if (this.config.failSafe !== polarityBefore && this.relayState === relayBefore)
      this.driveRelay();
  }

  status(): DoorStatus {
    return {
      relay: this.relayState,
      door: this.position === 'closed' ? 'closed' : 'open',
      forced: this.position === 'forced-open',
      heldOpen: this.position === 'held-open',
      tamper: this.tamperActive,
      aux: this.auxActive,
      heldUnlocked: this.heldUnlocked,
      lockdown: this.lockdown,
      position: this.position,
      momentaryUntil: this.momentary
        ? this.momentary.startedAt +
          (this.momentary.durationMs ?? this.unlockTime(this.momentary.extended))
        : undefined,
    };
  }

  currentConfig(): Required<DoorConfig> {
    return { ...this.config };
  }

  /** Stops timers and the clock listener (shutdown); the relay keeps its state. */
  stop(): void {
    if (this.momentary) this.clock.clearTimeout(this.momentary.timer);
    this.momentary = undefined;
    this.stopHeldClock();
    this.clock.off('change', this.onClockChange);
  }

  private startMomentary(extended: boolean, durationMs?: number): void {
    const now = this.clock.now();
    const opened = this.position !== 'closed';
    const length = durationMs ?? this.unlockTime(extended);
    const running = this.momentary;
    if (running && running.timerDue <= now + length) {
      // The running unlock's timer fires before this one ends and re-arms then: a door
      // granted again and again re-arms every unlock time, not at every grant.
      running.startedAt = now;
      running.extended = extended;
      running.opened = opened;
      running.durationMs = durationMs;
    } else {
      this.endMomentary();
      this.momentary = this.scheduleMomentary(now, extended, opened, length);
      if (durationMs !== undefined) this.momentary.durationMs = durationMs;
    }
    this.settle();
  }

  private scheduleMomentary(
    startedAt: number,
    extended: boolean,
    opened: boolean,
    delayMs: number,
  ): MomentaryUnlock {
    const timer = this.clock.setTimeout(this.onMomentaryTimer, delayMs);
    return { startedAt, extended, opened, timer, timerDue: this.clock.now() + delayMs };
  }

  /** The unlock ends at its time; a timer that fired before that (see startMomentary) re-arms. */
  private readonly onMomentaryTimer = (): void => {
    const running = this.momentary;
    if (!running) return;
    const now = this.clock.now();
    const end = running.startedAt + (running.durationMs ?? this.unlockTime(running.extended));
    if (end > now) {
      running.timer = this.clock.setTimeout(this.onMomentaryTimer, end - now);
      running.timerDue = end;
      return;
    }
    this.momentary = undefined;
    this.settle();
  };

  private endMomentary(): void {
    if (!this.momentary) return;
    this.clock.clearTimeout(this.momentary.timer);
    this.momentary = undefined;
  }

  private unlockTime(extended: boolean): number {
    return extended ? this.config.extendedUnlockMs : this.config.unlockMs;
  }

  /** Held unlocked or AUX keep the door free: no held-open clock while that lasts. */
  private freeAccess(): boolean {
    if (this.lockdown) return this.auxActive && this.config.auxUnlocks && this.config.auxInLockdown;
    return this.heldUnlocked || (this.auxActive && this.config.auxUnlocks);
  }

  private desiredRelay(): RelayState {
    if (this.momentary) return 'unlocked';
    return this.freeAccess() ? 'unlocked' : 'locked';
  }

  /** Applies the relay rules and the held-open clock after any change of inputs. */
  private settle(): void {
    const now = this.clock.now();
    const wanted = this.desiredRelay();
    if (wanted !== this.relayState) {
      this.relayState = wanted;
      this.driveRelay();
      this.emit('relay', wanted, now);
    }
    if (this.position === 'open') {
      if (this.freeAccess()) this.stopHeldClock();
      else if (this.heldFrom === undefined) this.armHeldClock(now);
    }
  }

  private armHeldClock(now: number): void {
    if (this.freeAccess()) return;
    this.heldFrom = now;
    this.scheduleHeldAlarm();
  }

  private scheduleHeldAlarm(): void {
    if (this.heldFrom === undefined) return;
    this.clock.clearTimeout(this.heldTimer);
    const now = this.clock.now();
    const delay = Math.max(0, this.heldFrom + this.config.heldOpenMs - now);
    this.heldTimer = this.clock.setTimeout(() => {
      this.heldTimer = undefined;
      if (this.position !== 'open') return;
      this.position = 'held-open';
      this.raise('held', true, this.clock.now());
    }, delay);
  }

  private stopHeldClock(): void {
    this.clock.clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    this.heldFrom = undefined;
  }

  private driveRelay(): void {
    const locked = this.relayState === 'locked';
    // Fail-safe locks hold while powered; fail-secure strikes release while powered.
    const energized = this.config.failSafe ? locked : !locked;
    try {
      this.relay.set(energized);
    } catch (error) {
      this.emit('driver-error', error);
    }
  }

  private raise(kind: DoorAlarmKind, active: boolean, at: number): void {
    this.emit('alarm', { kind, active, at } satisfies DoorAlarm, at);
  }
}

/** Inputs arrive from the host API and the sim panel too: a non-boolean is refused, not coerced. */
function checkFlag(input: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new TypeError(`door ${input}() takes true or false, got ${String(value)}`);
  }
}

const BOOLEAN_KEYS = [
  'relockOnClose',
  'failSafe',
  'rexInLockdown',
  'auxUnlocks',
  'auxInLockdown',
] as const;
const TIME_KEYS = ['unlockMs', 'extendedUnlockMs', 'heldOpenMs'] as const;

/** Validates a (partial) door config; throws RangeError naming the first bad field. */
export function checkDoorConfig(
  config: Partial<DoorConfig>,
  complete: boolean,
): Partial<DoorConfig> {
  if (typeof config !== 'object' || config === null)
    throw new RangeError('door config must be an object');
  const known = new Set<string>([...BOOLEAN_KEYS, ...TIME_KEYS]);
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw new RangeError(`unknown door config field '${key}'`);
  }
  const out: Partial<DoorConfig> = {};
  for (const key of TIME_KEYS) {
    const value = config[key];
    if (value === undefined) {
      if (complete) throw new RangeError(`door config field '${key}' is required`);
      continue;
    }
    const { min, max } = DOOR_CONFIG_LIMITS[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(
        `door config '${key}' must be an integer ${min}-${max} ms, got ${String(value)}`,
      );
    }
    out[key] = value;
  }
  for (const key of BOOLEAN_KEYS) {
    const value = config[key];
    if (value === undefined) {
      if (complete && (key === 'relockOnClose' || key === 'failSafe')) {
        throw new RangeError(`door config field '${key}' is required`);
      }
      continue;
    }
    if (typeof value !== 'boolean') {
      throw new RangeError(`door config '${key}' must be true or false, got ${String(value)}`);
    }
    out[key] = value;
  }
  return out;
}
