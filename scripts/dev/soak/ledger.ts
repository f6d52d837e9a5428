import type { Credential, EventRecord } from '../../../firmware/foundation/model';

/** One broken promise found after a kill: the figures must show zero of these. */
export interface Violation {
  cycle: number;
  kind:
    | 'event_lost'
    | 'event_changed'
    | 'ack_lost'
    | 'debit_missing'
    | 'debit_without_event'
    | 'over_grant'
    | 'phone_grant_lost'
    | 'unlock_without_debit'
    | 'push_lost'
    | 'database_wrong'
    | 'config_lost'
    | 'image_damaged'
    | 'reader_crashed'
    | 'seq_gap';
  detail: string;
}

/** A push the API answered 2xx, or one in flight when the reader died. */
export interface PushRecord {
  version: number;
  /** The churn badges live after it. */
  churn: Map<string, Credential>;
  full: boolean;
}

/**
 * Everything the soak saw the reader promise, recorded from outside the reader: events it
 * reported (event stream, paging, panel stream), acknowledgements and pushes it answered
 * 2xx, phone results, relay unlocks on the panel stream. Plus what each remount found.
 * History: every event ever written, by seq (the host reads all before acknowledging, and
 * only acknowledged events may leave the log, so reported + in-log after a remount is all).
 */
export class Ledger {
  /** seq -> the event as JSON, canonical (as the API serializes it). */
  readonly events = new Map<number, string>();
  /** The grant events of the history: seq -> credential and reader time. */
  readonly grants = new Map<number, { credentialId: string; ts: number }>();
  /** Access events (decisions) in the history, and their reason codes. */
  decisions = 0;
  readonly reasons = new Map<string, number>();
  /** The highest `upTo` the API acknowledged with 2xx. */
  ackedUpTo = 0;
  /** Pushes: the last one answered 2xx, and the one in flight (its outcome unknown). */
  lastPush: PushRecord | undefined;
  pushInFlight: PushRecord | undefined;
  pushesAcked = 0;
  /** Churn badge numbers only grow: an id is never reused, whatever a kill cut. */
  churnCounter = 0;
  /** Phone grants the phones were told, per credential id. */
  readonly phoneGrants = new Map<string, number>();
  /** Relay unlocks the panel stream showed, reader clock, not yet matched to a grant. */
  relayUnlocks: number[] = [];
  /** Grant events already matched to an observed relay unlock. */
  readonly matchedGrants = new Set<number>();
  readonly violations: Violation[] = [];
  /** Waiters for a decision or acknowledged-push count, woken as they come in. */
  private readonly waiters = new Set<{
    what: 'decisions' | 'pushesAcked';
    count: number;
    resolve: () => void;
  }>();

  /** Resolves once `count` decisions are in the history (at once if they already are). */
  decisionsReached(count: number): Promise<void> {
    return this.reached('decisions', count);
  }

  /** Resolves once the host has had `count` pushes acknowledged in all. */
  pushesReached(count: number): Promise<void> {
    return this.reached('pushesAcked', count);
  }

  /** A push the reader acknowledged. */
  pushAcked(): void {
    this.pushesAcked++;
    this.wake();
  }

  private reached(what: 'decisions' | 'pushesAcked', count: number): Promise<void> {
    if (this[what] >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add({ what, count, resolve }));
  }

  private wake(): void {
    for (const waiter of this.waiters) {
      if (this[waiter.what] < waiter.count) continue;
      this.waiters.delete(waiter);
      waiter.resolve();
    }
  }

  /** Records an event the reader reported; a seq that comes back different is a violation. */
  report(event: EventRecord, cycle: number, where: string): void {
    const text = canonical(event);
    const before = this.events.get(event.seq);
    if (before === undefined) {
      this.events.set(event.seq, text);
      if (event.type === 'access' && event.decision === 'grant' && event.credentialId) {
        this.grants.set(event.seq, { credentialId: event.credentialId, ts: event.ts });
      }
      if (event.type === 'access') {
        this.decisions++;
        const reason = event.reason ?? event.decision ?? '?';
        this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
        this.wake();
      }
    } else if (before !== text) {
      this.violations.push({
        cycle,
        kind: 'event_changed',
        detail: `seq ${event.seq} was ${before}, ${where} says ${text}`,
      });
    }
  }

  get maxSeq(): number {
    let max = 0;
    for (const seq of this.events.keys()) if (seq > max) max = seq;
    return max;
  }

  /** Reported events no longer needed: acknowledged and gone from the log (memory bound). */
  forgetBelow(seq: number): void {
    for (const s of this.events.keys()) if (s < seq) this.events.delete(s);
  }

  /** Grant events in the history, per credential id. */
  grantsByCredential(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { credentialId } of this.grants.values()) {
      counts.set(credentialId, (counts.get(credentialId) ?? 0) + 1);
    }
    return counts;
  }
}

/** An event as JSON with sorted keys: the store's record and the API's answer compare equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(value))));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
