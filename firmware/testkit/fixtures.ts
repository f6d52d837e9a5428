import { createDeviceKey, rawDataOf, type DeviceKey } from '../../ble/device-key';
import type { Credential, DatabaseContent, Schedule } from '../foundation/model';

/** Door timings short enough for a real rig (the defaults are 5 s and 30 s). */
export const FAST_DOOR = { unlockMs: 1000, heldOpenMs: 1000 } as const;

/** The user and the door every fixture credential belongs to. */
export const TEST_USER = 'u0';
export const TEST_DOOR = 'door-1';

/**
 * A phone with its own P-256 key pair; `deviceId` is what the reader looks its mobile
 * credential up by. Present it with `rig.phoneUnlock(phone)`.
 */
export function createPhone(deviceId?: string): DeviceKey {
  return createDeviceKey(deviceId);
}

/** A badge credential of TEST_USER, allowed at every door unless `extra` says otherwise. */
export function badgeCredential(
  id: string,
  value: string,
  extra: Partial<Credential> = {},
): Credential {
  return {
    id,
    userId: TEST_USER,
    kind: 'badge',
    value,
    enabled: true,
    accessPoints: ['*'],
    ...extra,
  };
}

/** A mobile credential as the host pushes it after enrollment: the phone's id and public key. */
export function mobileCredential(
  id: string,
  phone: DeviceKey,
  extra: Partial<Credential> = {},
): Credential {
  return {
    id,
    userId: TEST_USER,
    kind: 'mobile',
    value: phone.deviceId,
    publicKey: rawDataOf(phone).publicKey,
    enabled: true,
    accessPoints: ['*'],
    ...extra,
  };
}

/** A whole database for `PUT /database`: TEST_USER, TEST_DOOR, and these credentials. */
export function oneDoorDatabase(
  credentials: Credential[],
  schedules: Schedule[] = [],
): DatabaseContent {
  return {
    users: [{ id: TEST_USER, name: 'Test user', enabled: true }],
    credentials,
    schedules,
    holidays: [],
    accessPoints: [{ id: TEST_DOOR, name: 'Test door' }],
  };
}
