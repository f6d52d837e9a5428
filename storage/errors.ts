import { ReaderError, type ReaderErrorCode } from '../firmware/foundation/errors';

/** Every failure the store reports: a clear message, and the store's state is unchanged. */
export class StoreError extends ReaderError {
  override readonly name: string = 'StoreError';
  override readonly code: ReaderErrorCode = 'store_failed';
}

/** A delta push whose baseVersion is not the live database version. */
export class VersionConflictError extends StoreError {
  override readonly name = 'VersionConflictError';
  override readonly code = 'version_conflict';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`delta base version ${expected} does not match the live database version ${actual}`);
  }
}

/** The flash has no room for the write even after garbage collection. */
export class StoreFullError extends StoreError {
  override readonly name = 'StoreFullError';
  override readonly code = 'store_full';
}

/** The image cannot be trusted (damaged headers, lost records, foreign file). */
export class CorruptImageError extends StoreError {
  override readonly name: string = 'CorruptImageError';
  override readonly code = 'corrupt_image';
}

/**
 * A page of an index snapshot, read after mount, failed its checks: the snapshot is not
 * to be trusted, and the store rebuilds its index by a full replay of the log.
 */
export class SnapshotPageError extends CorruptImageError {
  override readonly name = 'SnapshotPageError';
}
