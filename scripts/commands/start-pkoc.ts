import * as path from 'node:path';
import { loadOrCreateSiteKey } from '../../ble/pkoc/site-key';
import type { RunningReader } from '../../firmware/running-reader';
import { UsageError } from '../command';

/** `reader-sim start`'s PKOC flag: the site key of the ECDHE flow (docs/PKOC.md). */
export const pkocOptions = {
  'pkoc-site-key': { type: 'string' },
} as const;

export const PKOC_USAGE = [
  'PKOC (docs/PKOC.md):',
  '  --pkoc-site-key FILE  the PKOC site private key (64 hex digits; created when FILE does',
  '                    not exist) for the ECDHE perfect-secrecy flow; its public half is',
  '                    written to FILE.pub for phones (`reader-sim phone --site-key FILE.pub`)',
  '',
];

export interface PkocSiteKey {
  privateHex: string;
  /** Where the public half was written, for the phones. */
  publicFile: string;
}

/** Reads (or creates) the site key file before anything boots: a bad file stops here, one line. */
export function parsePkocOptions(values: { 'pkoc-site-key'?: string }): PkocSiteKey | undefined {
  const file = values['pkoc-site-key'];
  if (file === undefined) return undefined;
  if (file === '') throw new UsageError('--pkoc-site-key needs a file name');
  try {
    return loadOrCreateSiteKey(path.resolve(file));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * At every boot: the config's `pkocSiteKey` (a secret the host API never sets) becomes the
 * file's. It is written to flash only when it differs, so a restart with the same file costs
 * no flash write.
 */
export function provisionPkocSiteKey(reader: RunningReader, key: PkocSiteKey | undefined): void {
  if (key && reader.config.get().pkocSiteKey !== key.privateHex) {
    reader.config.update({ pkocSiteKey: key.privateHex });
  }
}
