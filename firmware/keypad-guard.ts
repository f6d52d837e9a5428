import type { NewEvent } from './foundation/model';

/**
 * Counts wrong PINs in a row and locks the keypad (BEHAVIOR.md rule 8: 5 wrong in a row
 * lock it for 60 s). A granted PIN resets the count; the lockout ends by time alone.
 *
 * The count lives in RAM, but every attempt it counts is also a durable access event, so a
 * reader rebuilds it from the event log at boot (KeypadGuard.fromLog): pulling the power
 * between guesses neither resets the count nor lifts a lockout.
 */
export class KeypadGuard {
  private wrongInARow = 0;
  private lockedUntil = 0;

  /** Clock time until which the keypad is locked (0 or past = open). */
  lockedUntilTime(): number {
    return this.lockedUntil;
  }

  wrong(now: number, limit: number, lockoutMs: number): void {
    this.wrongInARow++;
    if (this.wrongInARow >= limit) {
      this.lockedUntil = now + lockoutMs;
      this.wrongInARow = 0;
    }
  }

  right(): void {
    this.wrongInARow = 0;
  }

  /**
   * The guard as the reader left it: replays the access events in log order (oldest first)
   * with the lockout settings in force now. Reader.process calls wrong()/right() in the same
   * step that commits the event, at the event's timestamp, so the replay lands on the same
   * count and lockout end.
   */
  static fromLog(events: Iterable<NewEvent>, limit: number, lockoutMs: number): KeypadGuard {
    const guard = new KeypadGuard();
    for (const event of events) {
      const effect = keypadEffect(event);
      if (effect === 'wrong') guard.wrong(event.ts, limit, lockoutMs);
      else if (effect === 'right') guard.right();
    }
    return guard;
  }
}

/**
 * What an access event meant to the guard, by the rules of Reader.process:
 * - a wrong second-factor PIN (`wrong_pin`) and a keypad entry denied `unknown_credential` or
 *   `bad_request` were wrong guesses;
 * - a keypad entry granted was a right PIN (only a grant resets the count: a known PIN that
 *   is denied, disabled or expired say, does not).
 * A badge granted after its second-factor PIN also resets the count live, but its event does
 * not say a PIN was involved; the replay leaves the count as it was, erring toward locking.
 */
export function keypadEffect(event: NewEvent): 'wrong' | 'right' | undefined {
  if (event.type !== 'access') return undefined;
  if (event.reason === 'wrong_pin') return 'wrong';
  if (event.detail?.source !== 'keypad') return undefined;
  if (event.reason === 'unknown_credential' || event.reason === 'bad_request') return 'wrong';
  return event.decision === 'grant' ? 'right' : undefined;
}
