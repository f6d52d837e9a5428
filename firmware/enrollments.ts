import { randomUUID } from 'node:crypto';
import type { RawData } from './foundation/model';

/** An enrollment as the host sees it, by id. */
export type EnrollmentState =
  | { id: string; userId: string; state: 'pending'; expiresAt: number }
  | { id: string; userId: string; state: 'captured'; rawData: RawData; capturedAt: number }
  | { id: string; userId: string; state: 'timed_out'; expiredAt: number }
  | { id: string; userId: string; state: 'cancelled' };

/** Finished enrollments kept for GET /enroll/:id (the newest ones). */
export const KEPT_ENROLLMENTS = 100;

/**
 * The host's view of enrollments, by id. The reader knows only "enroll mode for user U";
 * this registry gives each request an id and its outcome. It belongs to the board, so an
 * enrollment cut short by a power cycle reads as cancelled rather than vanishing.
 *
 * Transitions: pending -> captured | timed_out | cancelled (a newer enrollment or power off).
 */
export class Enrollments {
  private readonly all = new Map<string, EnrollmentState>();
  private pendingId: string | undefined;

  start(userId: string, expiresAt: number): EnrollmentState {
    this.cancelPending();
    const entry: EnrollmentState = { id: randomUUID(), userId, state: 'pending', expiresAt };
    this.all.set(entry.id, entry);
    this.pendingId = entry.id;
    this.trim();
    return entry;
  }

  get(id: string): EnrollmentState | undefined {
    return this.all.get(id);
  }

  pending(): EnrollmentState | undefined {
    return this.pendingId ? this.all.get(this.pendingId) : undefined;
  }

  /** The reader captured a phone's Raw Data for this user. */
  captured(userId: string, rawData: RawData, at: number): void {
    this.finish(userId, (e) => ({ id: e.id, userId, state: 'captured', rawData, capturedAt: at }));
  }

  /** Enroll mode of this enrollment ended; if nothing was captured, it timed out. */
  ended(id: string, at: number): void {
    const entry = this.pending();
    if (!entry || entry.id !== id) return;
    this.all.set(id, { id, userId: entry.userId, state: 'timed_out', expiredAt: at });
    this.pendingId = undefined;
  }

  /** Power went away: the reader forgot enroll mode. */
  cancelPending(): void {
    const entry = this.pending();
    if (entry) this.all.set(entry.id, { id: entry.id, userId: entry.userId, state: 'cancelled' });
    this.pendingId = undefined;
  }

  private finish(userId: string, next: (e: EnrollmentState) => EnrollmentState): void {
    const entry = this.pending();
    if (!entry || entry.userId !== userId) return;
    this.all.set(entry.id, next(entry));
    this.pendingId = undefined;
  }

  private trim(): void {
    for (const id of this.all.keys()) {
      if (this.all.size <= KEPT_ENROLLMENTS) break;
      if (id !== this.pendingId) this.all.delete(id);
    }
  }
}
