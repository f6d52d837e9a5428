/**
 * Counts wrong PINs in a row and locks the keypad (BEHAVIOR.md rule 8: 5 wrong in a row
 * lock it for 60 s). A right PIN resets the count; the lockout ends by time alone.
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
}
