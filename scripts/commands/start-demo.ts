import * as fs from 'node:fs';
import { join } from 'node:path';
import { createDeviceKey, loadDeviceKey, rawDataOf, saveDeviceKey } from '../../ble/device-key';
import { checkContent } from '../../firmware/api/database-checks';
import type { ReaderLog } from '../../firmware/foundation/log';
import type { DatabaseContent } from '../../firmware/foundation/model';
import type { RunningReader } from '../../firmware/running-reader';

/** The demo phone's key file in the data dir, in `reader-sim phone --key FILE`'s format. */
export const DEMO_KEY_FILE = 'demo-phone-key.json';
export const DEMO_USER_NAME = 'Demo User (reader-sim --demo)';
export const DEMO_BADGE = '1001';

/** The demo database: one clearly labelled user with a badge and the demo phone. */
export function demoDatabase(
  phone: { deviceId: string; publicKey: string },
  accessPointId: string,
): DatabaseContent {
  return {
    users: [{ id: 'demo-user', name: DEMO_USER_NAME, enabled: true }],
    credentials: [
      {
        id: 'demo-badge',
        userId: 'demo-user',
        kind: 'badge',
        value: DEMO_BADGE,
        enabled: true,
        accessPoints: ['*'],
      },
      {
        id: 'demo-phone',
        userId: 'demo-user',
        kind: 'mobile',
        value: phone.deviceId,
        publicKey: phone.publicKey,
        enabled: true,
        accessPoints: ['*'],
      },
    ],
    schedules: [],
    holidays: [],
    accessPoints: [{ id: accessPointId, name: 'Demo door (reader-sim --demo)' }],
  };
}

/**
 * `start --demo`: on an empty database (version 0) only, writes the demo phone key and
 * pushes the demo database the way a host's full push does; a pushed database is never
 * touched. Returns the demo key file when the demo phone can unlock this reader.
 */
export function seedDemo(
  reader: RunningReader,
  dataDir: string,
  log: ReaderLog,
): string | undefined {
  const keyFile = join(dataDir, DEMO_KEY_FILE);
  const version = reader.store.database.version();
  if (version !== 0) {
    const demoKey = fs.existsSync(keyFile) ? loadDeviceKey(keyFile) : undefined;
    const seeded =
      demoKey !== undefined &&
      reader.store.database.content().credentials.some((c) => c.value === demoKey.deviceId);
    if (!seeded) {
      log.info({ databaseVersion: version }, 'demo: the database was pushed; not seeding it');
    }
    return seeded ? keyFile : undefined;
  }
  // The key first: a power cut before the push leaves version 0 and the next boot redoes both.
  const key = createDeviceKey('demo-phone');
  saveDeviceKey(keyFile, key);
  const content = demoDatabase(rawDataOf(key), reader.status().accessPointId);
  checkContent(content);
  const seededVersion = reader.replaceDatabase(content);
  log.warn(
    { databaseVersion: seededVersion, user: DEMO_USER_NAME, badge: DEMO_BADGE, keyFile },
    'DEMO DATA seeded (start --demo): a demo user with badge 1001 and the demo phone; a host push replaces it',
  );
  return keyFile;
}
