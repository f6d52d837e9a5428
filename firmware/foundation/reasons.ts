/**
 * The reason codes of BEHAVIOR.md "The decision", defined once. They are stable API: the
 * event log, the BLE result notification and the host API all carry these strings.
 * The table is in rule order (first failing rule wins); `rule` is the BEHAVIOR.md step.
 */
export const REASONS = {
  bad_request: { rule: 2, outcome: 'deny', text: 'malformed presentation' },
  bad_signature: { rule: 2, outcome: 'deny', text: 'signature does not verify' },
  replay: { rule: 2, outcome: 'deny', text: 'unknown, expired or reused challenge' },
  stale_timestamp: {
    rule: 2,
    outcome: 'deny',
    text: 'phone timestamp too far from the reader clock',
  },
  too_far: { rule: 2, outcome: 'deny', text: 'RSSI below the activation threshold' },
  unknown_credential: { rule: 3, outcome: 'deny', text: 'credential not in the database' },
  disabled: { rule: 3, outcome: 'deny', text: 'credential or user disabled' },
  not_yet_valid: { rule: 4, outcome: 'deny', text: 'before the credential start' },
  expired: { rule: 4, outcome: 'deny', text: 'at or after the credential end' },
  no_access_here: { rule: 5, outcome: 'deny', text: 'not allowed at this access point' },
  outside_schedule: { rule: 5, outcome: 'deny', text: 'outside the credential schedule' },
  lockdown: { rule: 6, outcome: 'deny', text: 'access point in lockdown' },
  use_limit_reached: { rule: 7, outcome: 'deny', text: 'no uses left' },
  pin_required: { rule: 8, outcome: 'deny', text: 'no PIN entered in time' },
  wrong_pin: { rule: 8, outcome: 'deny', text: 'PIN does not match' },
  keypad_locked_out: { rule: 8, outcome: 'deny', text: 'keypad locked after wrong PINs' },
  log_full: { rule: 9, outcome: 'deny', text: 'the event log is full: nothing can be logged' },
  granted: { rule: 9, outcome: 'grant', text: 'access granted' },
} as const;

export type ReasonCode = keyof typeof REASONS;
export type DenyReason = Exclude<ReasonCode, 'granted'>;

export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

export function isReasonCode(value: string): value is ReasonCode {
  return Object.prototype.hasOwnProperty.call(REASONS, value);
}
