/**
 * The reader's power-loss-safe flash store: the public surface other modules import.
 * See storage/README.md for the on-flash format and its invariants.
 */
export * from './types';
export { StoreError, VersionConflictError, StoreFullError, CorruptImageError } from './errors';
export {
  openStore,
  DEFAULT_CHECKPOINT_BYTES,
  DEFAULT_EVENT_CAPACITY,
  DEFAULT_IMAGE_BYTES,
} from './reader-store';
export type { FlashDevice, FlashGeometry, FlashTiming, FlashStats } from './flash-device';
export {
  MemoryFlash,
  FileFlash,
  DEFAULT_GEOMETRY,
  TYPICAL_TIMING,
  FlashError,
  PowerLossError,
  WornSectorError,
} from './flash-device';
export type { PowerCut, TornWriteModel } from './power-cut';
export { TORN_WRITE_MODELS } from './power-cut';
export { StagedDatabase } from './staged-database';
export type { EntityTable } from './staged-database';
