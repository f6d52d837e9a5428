/**
 * The reader's own failures, as one family: each carries a stable `code` (it shows in the
 * JSON logs as err.code, and the edges pick their answer by type, never by `name` text).
 */
export const READER_ERROR_CODES = [
  /** A config value out of its spec (firmware/config.ts). */
  'invalid_config',
  /** Any other refusal of the store; the store is unchanged. */
  'store_failed',
  /** A delta push against a database version that is no longer the live one. */
  'version_conflict',
  /** The flash has no room for the write, even after garbage collection. */
  'store_full',
  /** The flash image cannot be trusted (damaged headers, lost records, a foreign file). */
  'corrupt_image',
  /** The flash device refused an operation (geometry, alignment, a double write). */
  'flash_failed',
  /** Power failed during a flash operation; nothing more is written until power returns. */
  'power_lost',
  /** A sector erased past its endurance. */
  'worn_sector',
  /** Asked of the running firmware while the board boots (a power cycle). */
  'booting',
  /** Something this board cannot do (cut power inside a write without a simulated part). */
  'not_supported',
  /** A phone's Raw Data fed while the reader is not in enroll mode. */
  'not_in_enroll_mode',
] as const;
export type ReaderErrorCode = (typeof READER_ERROR_CODES)[number];

export abstract class ReaderError extends Error {
  abstract readonly code: ReaderErrorCode;
}
