/** Every failure the store reports: a clear message, and the store's state is unchanged. */
export class StoreError extends Error {
  override readonly name: string = 'StoreError';
}

/** A delta push whose baseVersion is not the live database version. */
export class VersionConflictError extends StoreError {
  override readonly name = 'VersionConflictError';
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
}

/** The image cannot be trusted (damaged headers, lost records, foreign file). */
export class CorruptImageError extends StoreError {
  override readonly name = 'CorruptImageError';
}
