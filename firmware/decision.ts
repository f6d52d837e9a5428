import { Credential, Holiday, Schedule, User } from './foundation/model';
import { CheckedPresentation, isValidPresentation } from './foundation/presentation';
import { DenyReason } from './foundation/reasons';
import { isScheduleOpen } from './schedule';

/** Everything the decision needs besides the presentation, gathered by the reader. */
export interface DecisionContext {
  now: number;
  /** The credential found for the presentation (by kind and lookup value), if any. */
  credential?: Credential;
  user?: User;
  /** The credential's schedule when it names one (absent although named = never open). */
  schedule?: Schedule;
  holidays: readonly Holiday[];
  /** Grants this credential has had so far. */
  usesSoFar: number;
  lockdown: boolean;
  enrollMode: boolean;
  /** Weakest BLE link RSSI (dBm) accepted. */
  minRssi: number;
  /** Clock time until which the keypad is locked out (0 = not locked). */
  keypadLockedUntil: number;
  /** Outcome of the second-factor PIN step, once there was one. */
  pinCheck?: 'match' | 'mismatch' | 'timeout';
  /** The flash cannot log the event: a grant that cannot be logged is not given. */
  logFull?: boolean;
}

interface Who {
  credentialId?: string;
  userId?: string;
}

export type Decision =
  | { outcome: 'capture' }
  | ({ outcome: 'deny'; reason: DenyReason } & Who)
  | { outcome: 'need_pin'; reason: 'pin_required'; credentialId: string; userId: string }
  | {
      outcome: 'grant';
      reason: 'granted';
      credentialId: string;
      userId: string;
      extendedUnlock: boolean;
    };

/**
 * The access decision of BEHAVIOR.md, pure and total: every input gives one decision with
 * one reason code, first failing rule wins. No I/O, no clock: `context.now` is the time.
 *
 * Keypad lockout (rule 8) is checked right after rule 2 for entries from the keypad itself:
 * a locked keypad takes no digits at all, so it must not reveal whether a PIN exists.
 */
export function decide(p: CheckedPresentation, c: DecisionContext): Decision {
  const deny = (reason: DenyReason, who: Who = {}): Decision => ({
    outcome: 'deny',
    reason,
    ...who,
  });

  // 1. Enroll mode: a phone's presentation is captured as raw data, not judged.
  if (c.enrollMode && p.kind === 'mobile') return { outcome: 'capture' };

  // 2. The presentation itself: what parsePresentation refused is a bad request.
  if (!isValidPresentation(p)) return deny('bad_request');
  if (p.proof && !p.proof.signatureValid) return deny('bad_signature');
  if (p.proof && !p.proof.challengeFresh) return deny('replay');
  if (p.proof?.timestampFresh === false) return deny('stale_timestamp');
  if (p.rssi !== undefined && p.rssi < c.minRssi) return deny('too_far');
  if (p.source === 'keypad' && c.keypadLockedUntil > c.now) return deny('keypad_locked_out');

  // 3. Known and enabled.
  const credential = c.credential;
  if (!credential || credential.kind !== p.kind) return deny('unknown_credential');
  const who = { credentialId: credential.id, userId: credential.userId };
  const user = c.user;
  if (!credential.enabled || !user || user.id !== credential.userId || !user.enabled) {
    return deny('disabled', who);
  }

  // 4. Validity period: start inclusive, end exclusive.
  if (credential.start !== undefined && c.now < credential.start) return deny('not_yet_valid', who);
  if (credential.end !== undefined && c.now >= credential.end) return deny('expired', who);

  // 5. Where and when.
  if (
    !credential.accessPoints.includes('*') &&
    !credential.accessPoints.includes(p.accessPointId)
  ) {
    return deny('no_access_here', who);
  }
  if (credential.scheduleId !== undefined) {
    const schedule = c.schedule;
    if (
      !schedule ||
      schedule.id !== credential.scheduleId ||
      !isScheduleOpen(schedule, c.holidays, c.now)
    ) {
      return deny('outside_schedule', who);
    }
  }

  // 6. Lockdown lets only override users through.
  if (c.lockdown && !user.lockdownOverride) return deny('lockdown', who);

  // 7. Uses left.
  if (credential.useLimit !== undefined && c.usesSoFar >= credential.useLimit) {
    return deny('use_limit_reached', who);
  }

  // 8. Second factor.
  if (credential.pinHash !== undefined && credential.kind !== 'pin') {
    if (c.keypadLockedUntil > c.now) return deny('keypad_locked_out', who);
    switch (c.pinCheck) {
      case undefined:
        return { outcome: 'need_pin', reason: 'pin_required', ...who };
      case 'timeout':
        return deny('pin_required', who);
      case 'mismatch':
        return deny('wrong_pin', who);
      case 'match':
        break;
    }
  }

  // 9. Grant, once it can be logged: the door never opens for an event the log lost.
  if (c.logFull) return deny('log_full', who);
  return {
    outcome: 'grant',
    reason: 'granted',
    ...who,
    extendedUnlock: user.extendedUnlock === true,
  };
}
