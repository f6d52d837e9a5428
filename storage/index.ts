/**
 * The reader's power-loss-safe flash store: the public surface other modules import.
 * See storage/README.md for the on-flash format and its invariants.
 */
export * from './types';
export { StoreError, VersionConflictError, StoreFullError, CorruptImageError } from './errors';
export { openStore, DEFAULT_EVENT_CAPACITY, DEFAULT_IMAGE_BYTES } from './reader-store';
export type { FlashDevice, FlashGeometry } from './flash-device';
export { MemoryFlash, FileFlash, DEFAULT_GEOMETRY } from './flash-device';
