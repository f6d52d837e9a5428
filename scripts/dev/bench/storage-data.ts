import { Credential, DatabaseContent, User } from '../../../firmware/foundation/model';

/**
 * The benchmark's database: n credentials (70 % badges "fc:number", 20 % PIN hashes,
 * 10 % mobile device ids with a public key), a user per four credentials. Deterministic,
 * so the mount probe can look up values it did not generate itself.
 */
export function credentialValue(i: number): { kind: Credential['kind']; value: string } {
  const m = i % 10;
  if (m < 7) return { kind: 'badge', value: `${(i * 7919) % 256}:${i}` };
  if (m < 9)
    return {
      kind: 'pin',
      value: `k${(Math.imul(i, 2654435761) >>> 0).toString(36)}${i.toString(36)}`,
    };
  return {
    kind: 'mobile',
    value: `dev-${(Math.imul(i, 40503) >>> 0).toString(16).padStart(8, '0')}-${i.toString(16)}`,
  };
}

const KEY = 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE'.padEnd(124, 'A');

export function credentialAt(i: number): Credential {
  const { kind, value } = credentialValue(i);
  const c: Credential = {
    id: `c${i}`,
    userId: `u${i >> 2}`,
    kind,
    value,
    enabled: i % 50 !== 0,
    accessPoints: i % 3 ? ['*'] : ['ap1', 'ap3'],
  };
  if (i % 10 === 3) {
    c.start = 1767225600000;
    c.end = 1798761600000;
  }
  if (i % 20 === 7) c.useLimit = 10;
  if (kind === 'mobile') c.publicKey = KEY;
  return c;
}

export function benchContent(n: number): DatabaseContent {
  const users: User[] = [];
  for (let u = 0; u < Math.ceil(n / 4); u++)
    users.push({ id: `u${u}`, name: `User ${u}`, enabled: true });
  const credentials: Credential[] = [];
  for (let i = 0; i < n; i++) credentials.push(credentialAt(i));
  return {
    users,
    credentials,
    schedules: Array.from({ length: 32 }, (_, i) => ({
      id: `s${i}`,
      timeZone: 'America/Denver',
      windows: [{ days: [1, 2, 3, 4, 5], start: '07:00', end: '18:00' }],
    })),
    holidays: Array.from({ length: 10 }, (_, i) => ({
      date: `2026-${String(i + 1).padStart(2, '0')}-01`,
    })),
    accessPoints: Array.from({ length: 16 }, (_, i) => ({ id: `ap${i}`, name: `Door ${i}` })),
  };
}

/** Flash image size for n credentials: two generations side by side plus room to spare. */
export function imageBytesFor(n: number): number {
  return Math.min(256, Math.max(16, Math.ceil((n * 256) / 1048576 / 16) * 16)) * 1048576;
}
