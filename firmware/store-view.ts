import {
  AccessPoint,
  Credential,
  CredentialKind,
  Holiday,
  NewEvent,
  Schedule,
  User,
} from './foundation/model';

/**
 * The part of storage's ReaderStore (storage/index.ts) that the reader's brain uses, by the
 * names of the issue-3 contract. The real store satisfies it structurally; keeping the
 * reader to this subset keeps the decision loop readable.
 */
export interface ReaderStoreView {
  database: {
    findCredential(kind: CredentialKind, value: string): Credential | undefined;
    user(id: string): User | undefined;
    schedule(id: string): Schedule | undefined;
    accessPoint(id: string): AccessPoint | undefined;
    holidays(): readonly Holiday[];
    usesOf(credentialId: string): number;
  };
  events: {
    append(event: NewEvent): unknown;
    /** Oldest first; the reader replays them at boot (keypad lockout state). */
    list(afterSeq: number, limit: number): readonly NewEvent[];
    /** Whether an event would be logged now (false: the flash is full outside the host reserve). */
    canLog?(): boolean;
  };
  config: { get(): unknown; set(values: Record<string, unknown>): void };
  /** Appends the event and debits one use atomically; durable when it returns. */
  recordGrant(event: NewEvent, credentialId: string): unknown;
}
