import { EventEmitter } from 'node:events';
import { DEFAULT_DOOR_CONFIG, DOOR_CONFIG_LIMITS } from './door';
import { ReaderError } from './foundation/errors';

/**
 * The reader's configuration: one table (CONFIG_SPEC) holds every key with its default,
 * range and meaning. Validation, docs/CONFIG.md and the tests all read this table.
 */
export interface ReaderConfigValues {
  readerId: string;
  accessPointId: string;
  accessPointState: 'schedule' | 'unlock' | 'lockdown';
  unlockMs: number;
  extendedUnlockMs: number;
  relockOnClose: boolean;
  failSafe: boolean;
  heldOpenMs: number;
  rexInLockdown: boolean;
  auxUnlocks: boolean;
  auxInLockdown: boolean;
  pinTimeoutMs: number;
  pinAttemptsBeforeLockout: number;
  keypadLockoutMs: number;
  enrollTimeoutMs: number;
  bleRange: BleRange;
  bleCustomRssi: number;
  bleChallengeTtlMs: number;
  bleClockSkewMs: number;
  blePhoneCooldownMs: number;
  bleReaderSimService: boolean;
  blePkocService: boolean;
  pkocSiteId: string;
  pkocReaderLocationId: string;
  pkocCredentialBits: number;
  pkocSiteKey: string;
  pinKey: string;
  role: ReaderRole;
  osdpScbk: string;
}

/** local: the reader decides; osdp-pd: a panel decides over OSDP (docs/OSDP.md). */
export const READER_ROLES = ['local', 'osdp-pd'] as const;
export type ReaderRole = (typeof READER_ROLES)[number];

/** Activation range presets as commercial readers expose them (BEHAVIOR.md). */
export const BLE_RANGES = { immediate: -35, near: -45, far: -60 } as const;
export type BleRange = keyof typeof BLE_RANGES | 'custom';

// [T] keeps the conditional from distributing over a union of enum values.
type Spec<T> = [T] extends [number]
  ? { type: 'int'; default: T; min: number; max: number; unit: string; doc: string }
  : [T] extends [boolean]
    ? { type: 'boolean'; default: T; doc: string }
    : string extends T
      ? { type: 'string'; default: T; pattern: RegExp; format: string; doc: string }
      : { type: 'enum'; default: T; values: readonly T[]; doc: string };

export type ConfigSpec = { [K in keyof ReaderConfigValues]: Spec<ReaderConfigValues[K]> };

const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const ID_FORMAT = '1-64 of A-Z a-z 0-9 . _ : -';
const UUID_OR_EMPTY = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$/;
const UUID_FORMAT = 'a lowercase UUID (8-4-4-4-12 hex), or empty';

export const CONFIG_SPEC: ConfigSpec = {
  readerId: {
    type: 'string',
    default: 'reader-1',
    pattern: ID,
    format: ID_FORMAT,
    doc: 'Name of this reader in events and the host API.',
  },
  accessPointId: {
    type: 'string',
    default: 'door-1',
    pattern: ID,
    format: ID_FORMAT,
    doc: 'The access point (door) this reader controls; credentials must list it or "*".',
  },
  accessPointState: {
    type: 'enum',
    default: 'schedule',
    values: ['schedule', 'unlock', 'lockdown'],
    doc: 'Persisted access-point state (`admit` is momentary and never persisted).',
  },
  unlockMs: {
    type: 'int',
    default: DEFAULT_DOOR_CONFIG.unlockMs,
    ...DOOR_CONFIG_LIMITS.unlockMs,
    unit: 'ms',
    doc: 'Unlock time after a grant, REX or admit.',
  },
  extendedUnlockMs: {
    type: 'int',
    default: DEFAULT_DOOR_CONFIG.extendedUnlockMs,
    ...DOOR_CONFIG_LIMITS.extendedUnlockMs,
    unit: 'ms',
    doc: 'Unlock time for users with extendedUnlock (ADA).',
  },
  relockOnClose: {
    type: 'boolean',
    default: DEFAULT_DOOR_CONFIG.relockOnClose,
    doc: 'Relock as soon as the door closes after opening, before the unlock time ends.',
  },
  failSafe: {
    type: 'boolean',
    default: DEFAULT_DOOR_CONFIG.failSafe,
    doc: 'Fail-safe lock (energized = locked, NC contact); false = fail-secure (energized = unlocked).',
  },
  heldOpenMs: {
    type: 'int',
    default: DEFAULT_DOOR_CONFIG.heldOpenMs,
    ...DOOR_CONFIG_LIMITS.heldOpenMs,
    unit: 'ms',
    doc: 'Door open longer than this after a grant raises the held-open alarm.',
  },
  rexInLockdown: {
    type: 'boolean',
    default: DEFAULT_DOOR_CONFIG.rexInLockdown,
    doc: 'REX still unlocks during lockdown (free egress).',
  },
  auxUnlocks: {
    type: 'boolean',
    default: DEFAULT_DOOR_CONFIG.auxUnlocks,
    doc: 'Local mode: the door stays unlocked while AUX is active; false = AUX is only reported.',
  },
  auxInLockdown: {
    type: 'boolean',
    default: DEFAULT_DOOR_CONFIG.auxInLockdown,
    doc: 'AUX still unlocks during lockdown.',
  },
  pinTimeoutMs: {
    type: 'int',
    default: 10000,
    min: 1000,
    max: 60000,
    unit: 'ms',
    doc: 'How long a badge that needs a PIN waits for the digits (then pin_required).',
  },
  pinAttemptsBeforeLockout: {
    type: 'int',
    default: 5,
    min: 1,
    max: 20,
    unit: 'attempts',
    doc: 'Wrong PINs in a row that lock the keypad.',
  },
  keypadLockoutMs: {
    type: 'int',
    default: 60000,
    min: 1000,
    max: 3600000,
    unit: 'ms',
    doc: 'How long the keypad stays locked (keypad_locked_out).',
  },
  enrollTimeoutMs: {
    type: 'int',
    default: 60000,
    min: 5000,
    max: 600000,
    unit: 'ms',
    doc: 'Enroll mode ends after this long without a phone.',
  },
  bleRange: {
    type: 'enum',
    default: 'far',
    values: ['immediate', 'near', 'far', 'custom'],
    doc: 'BLE activation range: immediate -35 dBm, near -45 dBm, far -60 dBm, custom = bleCustomRssi.',
  },
  bleCustomRssi: {
    type: 'int',
    default: -70,
    min: -100,
    max: -20,
    unit: 'dBm',
    doc: 'Activation threshold when bleRange is custom; weaker links are denied too_far.',
  },
  bleChallengeTtlMs: {
    type: 'int',
    default: 5000,
    min: 1000,
    max: 60000,
    unit: 'ms',
    doc: 'Life of the per-connection BLE challenge nonce and PKOC transaction (monotonic time); a presentation after it is denied replay.',
  },
  bleClockSkewMs: {
    type: 'int',
    default: 60000,
    min: 1000,
    max: 600000,
    unit: 'ms',
    doc: 'Largest difference between a phone presentation ts and the reader clock; more is denied stale_timestamp.',
  },
  blePhoneCooldownMs: {
    type: 'int',
    default: 3000,
    min: 0,
    max: 60000,
    unit: 'ms',
    doc: 'After a phone is answered, its next presentation within this time (monotonic) gets a cooldown error (no decision).',
  },
  bleReaderSimService: {
    type: 'boolean',
    default: true,
    doc: "Offer and advertise the reader's own mobile-credential service (docs/MOBILE.md).",
  },
  blePkocService: {
    type: 'boolean',
    default: true,
    doc: 'Offer and advertise the PKOC service 0xFFF0 (docs/PKOC.md).',
  },
  pkocSiteId: {
    type: 'string',
    default: '',
    pattern: UUID_OR_EMPTY,
    format: UUID_FORMAT,
    doc: 'PKOC site identifier the reader announces. Empty = derived from accessPointId (SHA-256, first 16 bytes).',
  },
  pkocReaderLocationId: {
    type: 'string',
    default: '',
    pattern: UUID_OR_EMPTY,
    format: UUID_FORMAT,
    doc: 'PKOC reader location identifier. Empty = derived from readerId (SHA-256, first 16 bytes).',
  },
  pkocCredentialBits: {
    type: 'int',
    default: 64,
    min: 64,
    max: 256,
    unit: 'bits',
    doc: 'Low bits of the public key X coordinate that make the PKOC credential number (the mobile credential value).',
  },
  pkocSiteKey: {
    type: 'string',
    default: '',
    pattern: /^([0-9a-f]{64})?$/,
    format: '64 lowercase hex digits (a P-256 private key), or empty',
    doc: "The PKOC site's private key, which signs the reader's half of the ECDHE flow; empty = the reader offers the normal flow only. A secret: never shown by the host API, not set through it; `reader-sim start --pkoc-site-key FILE` provisions it.",
  },
  pinKey: {
    type: 'string',
    default: '',
    pattern: /^([0-9a-f]{64})?$/,
    format: '64 lowercase hex digits, or empty',
    doc: 'Per-reader secret for PIN-only credential hashes (HMAC-SHA256). Empty = generated at first boot and persisted; never shown by the host API.',
  },
  role: {
    type: 'enum',
    default: 'local',
    values: READER_ROLES,
    doc: '`local`: the reader decides access. `osdp-pd`: an OSDP panel decides; credentials go to it as card and keypad data and it drives the LED, buzzer and relay (docs/OSDP.md). Set by `reader-sim start --role` / `--osdp`.',
  },
  osdpScbk: {
    type: 'string',
    default: '',
    pattern: /^([0-9a-f]{32})?$/,
    format: '32 lowercase hex digits (an AES-128 key), or empty',
    doc: 'The OSDP Secure Channel Base Key a panel set with osdp_KEYSET; empty = install mode (the default key SCBK-D). A secret: never shown by the host API, not set through it.',
  },
};

export const CONFIG_KEYS = Object.keys(CONFIG_SPEC) as (keyof ReaderConfigValues)[];

export const DEFAULT_CONFIG: Readonly<ReaderConfigValues> = Object.freeze(
  Object.fromEntries(
    CONFIG_KEYS.map((k) => [k, CONFIG_SPEC[k].default]),
  ) as unknown as ReaderConfigValues,
);

/** A rejected config value; `field` names the key. */
export class ConfigError extends ReaderError {
  override readonly name = 'ConfigError';
  override readonly code = 'invalid_config';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`config ${field}: ${message}`);
  }
}

/** Checks one value against its spec; returns a reason when it is invalid. */
function problem(key: keyof ReaderConfigValues, value: unknown): string | undefined {
  const spec = CONFIG_SPEC[key];
  switch (spec.type) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        return `must be an integer (${spec.unit}), got ${JSON.stringify(value)}`;
      }
      if (value < spec.min || value > spec.max) {
        return `must be ${spec.min}..${spec.max} ${spec.unit}, got ${value}`;
      }
      return undefined;
    case 'boolean':
      return typeof value === 'boolean'
        ? undefined
        : `must be true or false, got ${JSON.stringify(value)}`;
    case 'enum':
      return (spec.values as readonly unknown[]).includes(value)
        ? undefined
        : `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(value)}`;
    case 'string':
      return typeof value === 'string' && spec.pattern.test(value)
        ? undefined
        : `must be ${spec.format}, got ${JSON.stringify(value)}`;
  }
}

/**
 * Applies `patch` over `base` and returns the new values, or throws ConfigError naming the
 * first bad key (unknown keys included). Never mutates its inputs.
 */
export function validateConfig(
  patch: unknown,
  base: Readonly<ReaderConfigValues> = DEFAULT_CONFIG,
): ReaderConfigValues {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new ConfigError('(root)', 'must be an object of key: value');
  }
  const next = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (!Object.prototype.hasOwnProperty.call(CONFIG_SPEC, key)) {
      throw new ConfigError(key, `unknown key (known: ${CONFIG_KEYS.join(', ')})`);
    }
    const why = problem(key as keyof ReaderConfigValues, value);
    if (why) throw new ConfigError(key, why);
    next[key] = value;
  }
  return next as unknown as ReaderConfigValues;
}

/** The door's share of the config (firmware/door.ts owns these keys' defaults and limits). */
export function doorConfigOf(values: Readonly<ReaderConfigValues>) {
  return {
    unlockMs: values.unlockMs,
    extendedUnlockMs: values.extendedUnlockMs,
    relockOnClose: values.relockOnClose,
    failSafe: values.failSafe,
    heldOpenMs: values.heldOpenMs,
    rexInLockdown: values.rexInLockdown,
    auxUnlocks: values.auxUnlocks,
    auxInLockdown: values.auxInLockdown,
  };
}

/** Where config lives durably: the store's ConfigStore (storage/). */
export interface ConfigPersistence {
  get(): unknown;
  set(values: Record<string, unknown>): void;
}

export interface ConfigChange {
  config: Readonly<ReaderConfigValues>;
  changed: (keyof ReaderConfigValues)[];
}

/**
 * The live configuration. update() validates, persists, then emits 'change' so the door,
 * the LED and the reader pick the new values up without a restart.
 */
export class ReaderConfig extends EventEmitter {
  private values: Readonly<ReaderConfigValues>;

  private constructor(
    private readonly persistence: ConfigPersistence,
    initial: ReaderConfigValues,
  ) {
    super();
    this.values = Object.freeze({ ...initial });
  }

  /**
   * Loads the stored config over the defaults. A stored key that no longer validates (an
   * older build, a hand-edited image) falls back to its default and is reported, so a bad
   * value never keeps the reader from booting.
   */
  static load(persistence: ConfigPersistence): { config: ReaderConfig; warnings: ConfigError[] } {
    const stored = persistence.get();
    const warnings: ConfigError[] = [];
    let values: ReaderConfigValues = { ...DEFAULT_CONFIG };
    if (stored !== undefined && stored !== null) {
      if (typeof stored !== 'object' || Array.isArray(stored)) {
        warnings.push(new ConfigError('(root)', 'stored config is not an object; using defaults'));
      } else {
        for (const [key, value] of Object.entries(stored)) {
          try {
            values = validateConfig({ [key]: value }, values);
          } catch (err) {
            warnings.push(err as ConfigError);
          }
        }
      }
    }
    return { config: new ReaderConfig(persistence, values), warnings };
  }

  get(): Readonly<ReaderConfigValues> {
    return this.values;
  }

  /** Validates and persists a partial update; throws ConfigError and changes nothing if bad. */
  update(patch: unknown): (keyof ReaderConfigValues)[] {
    const next = validateConfig(patch, this.values);
    const changed = CONFIG_KEYS.filter((k) => next[k] !== this.values[k]);
    if (changed.length === 0) return changed;
    this.persistence.set({ ...next });
    this.values = Object.freeze(next);
    const change: ConfigChange = { config: this.values, changed };
    this.emit('change', change);
    return changed;
  }

  /** The RSSI threshold below which a BLE presentation is too_far. */
  minRssi(): number {
    const range = this.values.bleRange;
    return range === 'custom' ? this.values.bleCustomRssi : BLE_RANGES[range];
  }
}
