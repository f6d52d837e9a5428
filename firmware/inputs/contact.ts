import { EventEmitter } from 'node:events';
import type { Clock, Timer } from '../foundation/clock';
import type { DoorController } from '../door';

export interface ContactOptions {
  /** A level must hold this long before it counts (switch bounce). 0 = immediate. */
  debounceMs?: number;
  /** Wiring: true when the active state reads as a low/open circuit (NC contacts). */
  activeLow?: boolean;
}

export const DEFAULT_CONTACT_DEBOUNCE_MS = 20;

/**
 * One dry-contact input (REX button, door contact, tamper switch, AUX) as read from GPIO or
 * set by the sim: raw levels in, debounced 'change' (active, at) out.
 */
export class ContactInput extends EventEmitter {
  private stable = false;
  private pending: Timer | undefined;
  private readonly debounceMs: number;
  private readonly activeLow: boolean;

  constructor(
    private readonly clock: Clock,
    options: ContactOptions = {},
  ) {
    super();
    this.debounceMs = options.debounceMs ?? DEFAULT_CONTACT_DEBOUNCE_MS;
    this.activeLow = options.activeLow ?? false;
    if (!Number.isFinite(this.debounceMs) || this.debounceMs < 0) {
      throw new RangeError(`debounceMs must be >= 0, got ${this.debounceMs}`);
    }
  }

  get active(): boolean {
    return this.stable;
  }

  /** A raw level read from the wire (true = high / closed circuit). */
  level(high: boolean): void {
    this.set(this.activeLow ? !high : high);
  }

  /** The logical state (true = active), e.g. from the sim's controls. */
  set(active: boolean): void {
    this.clock.clearTimeout(this.pending);
    this.pending = undefined;
    if (active === this.stable) return;
    if (this.debounceMs === 0) return this.commit(active);
    this.pending = this.clock.setTimeout(() => {
      this.pending = undefined;
      this.commit(active);
    }, this.debounceMs);
  }

  private commit(active: boolean): void {
    this.stable = active;
    this.emit('change', active, this.clock.now());
  }
}

export interface DoorContacts {
  rex?: ContactInput;
  door?: ContactInput;
  tamper?: ContactInput;
  aux?: ContactInput;
}

/** Wires contact inputs to the door: REX on press, the others follow their level. Returns an unwire function. */
export function connectContacts(door: DoorController, contacts: DoorContacts): () => void {
  const wiring: Array<[ContactInput | undefined, (active: boolean) => void]> = [
    [contacts.rex, (active) => active && door.rex()],
    [contacts.door, (active) => door.doorContact(active)],
    [contacts.tamper, (active) => door.tamper(active)],
    [contacts.aux, (active) => door.aux(active)],
  ];
  for (const [input, handler] of wiring) input?.on('change', handler);
  return () => {
    for (const [input, handler] of wiring) input?.off('change', handler);
  };
}
