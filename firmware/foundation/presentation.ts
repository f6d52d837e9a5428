import { CREDENTIAL_KINDS, CredentialKind } from './model';

export const PRESENTATION_SOURCES = ['badge-serial', 'keypad', 'ble', 'sim'] as const;
export type PresentationSource = (typeof PRESENTATION_SOURCES)[number];

/** The phone protocols a BLE presentation can come by (events and status name it). */
export const MOBILE_PROFILES = ['reader-sim', 'pkoc'] as const;
export type MobileProfile = (typeof MOBILE_PROFILES)[number];

/**
 * One credential shown to the reader: a badge read, keypad digits, or a mobile credential.
 * For kind 'pin' the value is the digits as typed; the reader hashes them before lookup and
 * never stores or logs them.
 *
 * This is the shape an edge assembles; only what parsePresentation returns is decided on.
 */
export interface Presentation {
  kind: CredentialKind;
  value: string;
  source: PresentationSource;
  accessPointId: string;
  /** Link RSSI in dBm (BLE). */
  rssi?: number;
  /** Clock time at which the input produced it. */
  at: number;
  /** Digits of a second-factor PIN, when the input already has them. */
  pin?: string;
  /**
   * The BLE layer's verdict on the signed challenge (mobile over BLE only): the decision
   * turns these into bad_signature / replay / stale_timestamp in rule order.
   */
  proof?: { signatureValid: boolean; challengeFresh: boolean; timestampFresh?: boolean };
  /** Mobile in enroll mode: the device public key to report as raw data. */
  publicKey?: string;
  /** BLE: the phone protocol it came by. */
  profile?: MobileProfile;
}

/** Longest credential value accepted from any input (a 256-bit hex key plus prefix fits). */
export const MAX_VALUE_LENGTH = 128;
/** Keypad PINs: 4 to 12 digits. */
export const PIN_DIGITS = /^[0-9]{4,12}$/;
/** Badge numbers and device ids: printable ASCII without spaces, as the database keeps them. */
export const CREDENTIAL_TEXT = /^[\x21-\x7e]+$/;
/** A device public key: base64 SPKI DER, as the host API and the BLE enroll write carry it. */
const PUBLIC_KEY_TEXT = /^[A-Za-z0-9+/=]{1,1024}$/;

declare const parsed: unique symbol;
/** A presentation that came out of parsePresentation, frozen: the only kind decide() judges. */
export type ValidPresentation = Readonly<Presentation> & { readonly [parsed]: true };

/**
 * What parsePresentation refused, with the little that can still be trusted: the kind and
 * source when they were known ones (the decision and the event log use them), and the value
 * as it came, for the event log to take what checks out.
 */
export class PresentationProblem {
  constructor(
    readonly problem: string,
    readonly raw: unknown,
    readonly kind?: CredentialKind,
    readonly source?: PresentationSource,
  ) {
    Object.freeze(this);
  }
}

/** The parser's verdict on one untrusted value: what the reader and the decision take. */
export type CheckedPresentation = ValidPresentation | PresentationProblem;

// Membership, not shape: a look-alike object built without the parser is never valid.
const VALID = new WeakSet<object>();

export function isValidPresentation(p: unknown): p is ValidPresentation {
  return typeof p === 'object' && p !== null && VALID.has(p);
}

/** Whether a value is already a verdict of parsePresentation. */
export function isCheckedPresentation(p: unknown): p is CheckedPresentation {
  return isValidPresentation(p) || p instanceof PresentationProblem;
}

/**
 * Parses an untrusted value (an edge's assembly of a BLE write, a badge frame, keypad
 * digits, a host request) into a frozen ValidPresentation, or says what is wrong with it.
 * Unknown fields are dropped.
 */
export function parsePresentation(value: unknown): CheckedPresentation {
  if (typeof value !== 'object' || value === null) {
    return new PresentationProblem('not an object', value);
  }
  const v = value as Record<string, unknown>;
  const kind = (CREDENTIAL_KINDS as readonly unknown[]).includes(v.kind)
    ? (v.kind as CredentialKind)
    : undefined;
  const source = (PRESENTATION_SOURCES as readonly unknown[]).includes(v.source)
    ? (v.source as PresentationSource)
    : undefined;
  const problem = presentationProblem(v, kind, source);
  if (problem !== undefined) return new PresentationProblem(problem, value, kind, source);

  const p: Presentation = {
    kind: kind!,
    value: v.value as string,
    source: source!,
    accessPointId: v.accessPointId as string,
    at: v.at as number,
  };
  if (v.rssi !== undefined) p.rssi = v.rssi as number;
  if (v.pin !== undefined) p.pin = v.pin as string;
  if (v.publicKey !== undefined) p.publicKey = v.publicKey as string;
  if (v.profile !== undefined) p.profile = v.profile as MobileProfile;
  if (v.proof !== undefined) {
    const proof = v.proof as Presentation['proof'] & object;
    p.proof = Object.freeze({
      signatureValid: proof.signatureValid,
      challengeFresh: proof.challengeFresh,
      ...(proof.timestampFresh === undefined ? {} : { timestampFresh: proof.timestampFresh }),
    });
  }
  Object.freeze(p);
  VALID.add(p);
  return p as ValidPresentation;
}

/** Rule 2 of the decision (shape), in the order it always checked: undefined when sound. */
function presentationProblem(
  v: Record<string, unknown>,
  kind: CredentialKind | undefined,
  source: PresentationSource | undefined,
): string | undefined {
  if (kind === undefined) return 'unknown kind';
  if (source === undefined) return 'unknown source';
  const value = v.value;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
    return `value must be 1..${MAX_VALUE_LENGTH} characters`;
  }
  if (kind === 'pin' && !PIN_DIGITS.test(value)) return 'PIN must be 4 to 12 digits';
  if (kind !== 'pin' && !CREDENTIAL_TEXT.test(value)) {
    return 'value must be printable ASCII without spaces';
  }
  if (v.pin !== undefined && !(typeof v.pin === 'string' && PIN_DIGITS.test(v.pin))) {
    return 'PIN must be 4 to 12 digits';
  }
  if (typeof v.accessPointId !== 'string' || v.accessPointId.length === 0) return 'no access point';
  if (typeof v.at !== 'number' || !Number.isFinite(v.at)) return 'no time';
  if (v.rssi !== undefined && (typeof v.rssi !== 'number' || !Number.isFinite(v.rssi))) {
    return 'rssi must be a number';
  }
  if (v.proof !== undefined && !isProof(v.proof)) return 'proof must be two booleans';
  if (v.profile !== undefined && !(MOBILE_PROFILES as readonly unknown[]).includes(v.profile)) {
    return `profile must be one of ${MOBILE_PROFILES.join(', ')}`;
  }
  if (source === 'ble' && kind === 'mobile' && v.proof === undefined) {
    return 'mobile credential without proof';
  }
  if (
    v.publicKey !== undefined &&
    !(typeof v.publicKey === 'string' && PUBLIC_KEY_TEXT.test(v.publicKey))
  ) {
    return 'publicKey must be base64 (at most 1024 characters)';
  }
  return undefined;
}

function isProof(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { signatureValid, challengeFresh, timestampFresh } = value as Record<string, unknown>;
  return (
    typeof signatureValid === 'boolean' &&
    typeof challengeFresh === 'boolean' &&
    (timestampFresh === undefined || typeof timestampFresh === 'boolean')
  );
}
