import { randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_BYTES } from './protocol';

/**
 * One BLE connection's life at the reader, an explicit state machine:
 *
 *   connected --challenge read/subscribe--> challenged --presentation--> processing
 *   processing --result notified--> answered
 *
 * The nonce is issued once per connection (a second read returns the same one) and is used
 * up by the first well-formed presentation, whatever its outcome: it can never verify twice.
 */
export type SessionState = 'connected' | 'challenged' | 'processing' | 'answered';

export interface IssuedNonce {
  value: Buffer;
  /** Reader clock time after which it is refused, as the phone is told. */
  exp: number;
  /** The same moment on the monotonic clock: what the check uses, so a clock change cannot move it. */
  expiresMonotonic: number;
}

export class LinkSession {
  private stateName: SessionState = 'connected';
  private issued: IssuedNonce | undefined;
  /** Encoded value of the last read, for Read Blob continuations (offset > 0). */
  readonly readCache = new Map<string, Buffer>();

  constructor(readonly handle: number) {}

  get state(): SessionState {
    return this.stateName;
  }

  get nonce(): IssuedNonce | undefined {
    return this.issued;
  }

  /** The connection's nonce, issued on first call (`now` wall clock, `monotonic` clock). */
  challenge(now: number, monotonic: number, ttlMs: number): IssuedNonce {
    if (!this.issued) {
      this.issued = {
        value: randomBytes(NONCE_BYTES),
        exp: now + ttlMs,
        expiresMonotonic: monotonic + ttlMs,
      };
      if (this.stateName === 'connected') this.stateName = 'challenged';
    }
    return this.issued;
  }

  /**
   * A well-formed presentation arrived: is `nonce` the unused, unexpired one of this
   * connection (`monotonic`: the monotonic clock now)? Uses it up either way, and enters
   * `processing`.
   */
  spend(nonce: Buffer, monotonic: number): boolean {
    const fresh =
      this.stateName === 'challenged' &&
      this.issued !== undefined &&
      monotonic <= this.issued.expiresMonotonic &&
      nonce.length === this.issued.value.length &&
      timingSafeEqual(nonce, this.issued.value);
    this.stateName = 'processing';
    return fresh;
  }

  /** An enroll write is being handled (no nonce involved). */
  beginEnroll(): void {
    this.stateName = 'processing';
  }

  answered(): void {
    this.stateName = 'answered';
  }

  get busy(): boolean {
    return this.stateName === 'processing';
  }
}
