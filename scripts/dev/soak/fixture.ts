import { createDeviceKey, DeviceKey } from '../../../ble/device-key';
import type { Credential, DatabaseContent, User } from '../../../firmware/foundation/model';

/** A credential the soak presents, with what the host pushed for it. */
export interface SoakCredential {
  credential: Credential;
  /** For phones: the device key the virtual phone signs with. */
  key?: DeviceKey;
}

/**
 * What the soak pushes: badges and phones with a mix of use limits (tight ones run out
 * during the run, so the limit is crossed under kills; generous ones keep debiting), some
 * unlimited, a disabled badge, plus "churn" badges the delta pushes add and remove.
 */
export interface SoakFixture {
  badges: SoakCredential[];
  phones: SoakCredential[];
  /** Presented but never pushed: unknown_credential denies. */
  unknownBadges: string[];
  base: DatabaseContent;
}

export const ACCESS_POINT = 'door-1';

/** Use limits by position: unlimited, tight, medium, generous (cycled). */
function limitFor(i: number, random: () => number): number | undefined {
  switch (i % 4) {
    case 0:
      return undefined;
    case 1:
      return 3 + Math.floor(random() * 25);
    case 2:
      return 60 + Math.floor(random() * 300);
    default:
      return 1_000_000;
  }
}

export function buildFixture(
  counts: { badges: number; phones: number; users?: number },
  random: () => number,
): SoakFixture {
  const users: User[] = [];
  // The rest of the site: users who never show up at this door. They make a full push a
  // real write (a few hundred records), so generations go dead and collection runs.
  for (let i = 0; i < (counts.users ?? 0); i++) {
    users.push({ id: `soak-site-user-${i}`, name: `Site user ${i} (soak)`, enabled: i % 7 !== 0 });
  }
  const badges: SoakCredential[] = [];
  const phones: SoakCredential[] = [];
  for (let i = 0; i < counts.badges; i++) {
    const userId = `soak-badge-user-${i}`;
    users.push({ id: userId, name: `Badge holder ${i}`, enabled: true });
    const useLimit = limitFor(i, random);
    badges.push({
      credential: {
        id: `soak-badge-${i}`,
        userId,
        kind: 'badge',
        value: String(50_000 + i),
        // The last badge is disabled: a steady stream of `disabled` denies.
        enabled: i !== counts.badges - 1 || counts.badges < 2,
        accessPoints: ['*'],
        ...(useLimit === undefined ? {} : { useLimit }),
      },
    });
  }
  for (let i = 0; i < counts.phones; i++) {
    const userId = `soak-phone-user-${i}`;
    users.push({ id: userId, name: `Phone holder ${i}`, enabled: true });
    const key = createDeviceKey(`soak-phone-${i}`);
    const useLimit = limitFor(i + 1, random);
    phones.push({
      key,
      credential: {
        id: `soak-phone-${i}`,
        userId,
        kind: 'mobile',
        value: key.deviceId,
        enabled: true,
        accessPoints: ['*'],
        ...(useLimit === undefined ? {} : { useLimit }),
      },
    });
  }
  users.push({ id: 'soak-churn', name: 'Churned badges', enabled: true });
  return {
    badges,
    phones,
    unknownBadges: ['99001', '99002'],
    base: {
      users,
      credentials: [], // filled once the phones' public keys are enrolled
      schedules: [],
      holidays: [],
      accessPoints: [{ id: ACCESS_POINT, name: 'Soak door' }],
    },
  };
}

/** A churn badge: the delta pushes add and delete these while the load runs. */
export function churnCredential(n: number): Credential {
  return {
    id: `soak-churn-${n}`,
    userId: 'soak-churn',
    kind: 'badge',
    value: String(70_000 + n),
    enabled: true,
    accessPoints: ['*'],
  };
}

/** The whole database for a full push: the base plus the churn badges live now. */
export function fullContent(fixture: SoakFixture, churn: Iterable<Credential>): DatabaseContent {
  return {
    ...fixture.base,
    credentials: [
      ...fixture.badges.map((b) => b.credential),
      ...fixture.phones.map((p) => p.credential),
      ...churn,
    ],
  };
}
