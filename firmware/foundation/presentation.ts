import { CredentialKind } from './model';

export type PresentationSource = 'badge-serial' | 'keypad' | 'ble' | 'sim';

/**
 * One credential shown to the reader: a badge read, keypad digits, or a mobile credential.
 * For kind 'pin' the value is the digits as typed; the reader hashes them before lookup and
 * never stores or logs them.
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
   * turns these into bad_signature / replay in rule order.
   */
  proof?: { signatureValid: boolean; challengeFresh: boolean };
  /** Mobile in enroll mode: the device public key to report as raw data. */
  publicKey?: string;
}

/** Longest credential value accepted from any input (a 256-bit hex key plus prefix fits). */
export const MAX_VALUE_LENGTH = 128;
