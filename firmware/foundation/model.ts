/**
 * The reader's database as the management system pushes it ("Update Access Points") and
 * as the flash store keeps it. Shared by storage/ (which persists it), firmware/ (which
 * decides with it) and the host API (which validates it). Times are epoch milliseconds.
 */

export const CREDENTIAL_KINDS = ['badge', 'pin', 'mobile'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

export interface User {
  id: string;
  name: string;
  enabled: boolean;
  /** May pass while the access point is in lockdown. */
  lockdownOverride?: boolean;
  /** Gets the extended unlock time (ADA) instead of the normal one. */
  extendedUnlock?: boolean;
}

export interface Credential {
  id: string;
  userId: string;
  kind: CredentialKind;
  /**
   * The lookup value, unique per kind:
   * - badge: the card number as read ("12345", "fc:number" such as "18:4411", or "hex:0A1B2C");
   * - pin: a keyed hash of the digits (see firmware), never the digits themselves;
   * - mobile: the device id captured at enrollment.
   */
  value: string;
  enabled: boolean;
  /** Valid from (inclusive). */
  start?: number;
  /** Valid until (exclusive). */
  end?: number;
  /** How many grants this credential may get in all; absent means unlimited. */
  useLimit?: number;
  /** Access points this credential opens; '*' opens all. */
  accessPoints: string[];
  /** Schedule limiting when it may be used; absent means always. */
  scheduleId?: string;
  /** Badge that also needs a PIN: salted hash "scrypt$salt$hash" of the user's PIN. */
  pinHash?: string;
  /** Mobile: the device public key from enrollment (base64 SPKI DER of a P-256 key). */
  publicKey?: string;
}

/** An unlock or access window: on these weekdays (0 = Sunday), from start to end local time. */
export interface TimeWindow {
  days: number[];
  /** "HH:MM", local time of the schedule's time zone. */
  start: string;
  /** "HH:MM", exclusive; "24:00" means end of day. */
  end: string;
}

export interface Schedule {
  id: string;
  name?: string;
  /** IANA time zone, e.g. "America/Denver". */
  timeZone: string;
  windows: TimeWindow[];
  /** On holidays the schedule has no windows unless it lists holiday windows here. */
  holidayWindows?: TimeWindow[];
}

export interface Holiday {
  /** "YYYY-MM-DD" in the schedule's time zone. */
  date: string;
  name?: string;
}

export interface AccessPoint {
  id: string;
  name: string;
  /** Schedule that holds the door unlocked in its windows (access-point state `schedule`). */
  unlockScheduleId?: string;
}

/** The whole database content of one "Update Access Points" full push. */
export interface DatabaseContent {
  users: User[];
  credentials: Credential[];
  schedules: Schedule[];
  holidays: Holiday[];
  accessPoints: AccessPoint[];
}

/** A delta push: upserts and deletes by id, applied atomically against a base version. */
export interface DatabaseDelta {
  baseVersion: number;
  upsert?: Partial<DatabaseContent>;
  delete?: Partial<Record<keyof DatabaseContent, string[]>>;
}

export const EVENT_TYPES = [
  'access', // a decision on a presentation
  'enroll', // raw data captured, or enrollment timed out
  'door', // forced open, held open, closed, REX
  'tamper',
  'system', // boot, database updated, config changed, clock set, bad input counted
  'overflow', // the log dropped unacknowledged events
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event as the firmware appends it. */
export interface NewEvent {
  ts: number;
  type: EventType;
  accessPointId?: string;
  /** access: 'grant' | 'deny'. */
  decision?: 'grant' | 'deny';
  /** Stable reason code (see firmware reason codes). */
  reason?: string;
  credentialId?: string;
  userId?: string;
  kind?: CredentialKind;
  /** Free-form details (kept small): e.g. { rssi }, { dropped }, { rawData }. */
  detail?: Record<string, unknown>;
}

/** An event as stored: with its monotonic sequence number. */
export interface EventRecord extends NewEvent {
  seq: number;
}

/** The Raw Data an enrollment captures: what the phone sent over BLE. */
export interface RawData {
  deviceId: string;
  /** Base64 SPKI DER of the device's P-256 public key. */
  publicKey: string;
  name?: string;
  app?: string;
}

/** How long a grant unlocks the door unless configured otherwise (BEHAVIOR: 5 s, 1-60 s). */
export const DEFAULT_UNLOCK_MS = 5000;
