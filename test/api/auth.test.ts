import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HostApiError, HostClient } from '../../firmware/api/client';
import { bearerMatches, loadOrCreateToken, TOKEN_FILE } from '../../firmware/api/token';
import { sampleDatabase, startTestReader, type TestReader } from './harness';

describe('host API token', () => {
  it('is created at first boot with mode 0600 and reused after', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-token-'));
    try {
      const first = loadOrCreateToken(dir);
      const file = path.join(dir, TOKEN_FILE);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
      fs.chmodSync(file, 0o644);
      expect(loadOrCreateToken(dir)).toBe(first);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a damaged token file instead of replacing it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-token-'));
    try {
      fs.writeFileSync(path.join(dir, TOKEN_FILE), 'short\n');
      expect(() => loadOrCreateToken(dir)).toThrow(/does not hold a valid token/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('matches only the exact bearer token', () => {
    const token = 'a'.repeat(43);
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`Bearer ${token}x`, token)).toBe(false);
    expect(bearerMatches(`Bearer ${token.slice(1)}`, token)).toBe(false);
    expect(bearerMatches(token, token)).toBe(false);
    expect(bearerMatches(undefined, token)).toBe(false);
    expect(bearerMatches('Bearer ', '')).toBe(false);
  });
});

describe('host API authentication', () => {
  let reader: TestReader;
  beforeAll(async () => {
    reader = await startTestReader();
    await reader.client.push(sampleDatabase(2));
  });
  afterAll(() => reader.close());

  const calls: [string, (c: HostClient) => Promise<unknown>][] = [
    ['status', (c) => c.status()],
    ['push', (c) => c.push(sampleDatabase(5, 'x'))],
    ['patch', (c) => c.patch({ baseVersion: 1, delete: { users: ['u0'], credentials: ['uc0'] } })],
    ['ack', (c) => c.ack(1)],
    ['state', (c) => c.setAccessPointState('lockdown')],
    ['time', (c) => c.setTime('2030-01-01T00:00:00Z')],
    ['config', (c) => c.patchConfig({ unlockMs: 9000 })],
    ['enroll', (c) => c.enroll('u0')],
    ['sim badge', (c) => c.sim.badge('10000')],
    ['sim link', (c) => c.sim.setLink('cut')],
    ['power-cycle', (c) => c.sim.powerCycle()],
    ['openapi', (c) => c.openApi()],
  ];

  it.each(calls)('%s: missing or wrong token -> 401 and nothing changes', async (_name, call) => {
    const before = await reader.client.status();
    const beforeContent = await reader.client.content();
    for (const token of [undefined, 'b'.repeat(43), reader.token.slice(0, -1)]) {
      const err = await call(new HostClient(reader.api.url, token)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostApiError);
      expect((err as HostApiError).status).toBe(401);
      expect((err as HostApiError).body.error).toBe('unauthorized');
    }
    const after = await reader.client.status();
    expect(after.database).toEqual(before.database);
    expect(after.events).toEqual(before.events);
    expect(after.accessPoint).toEqual(before.accessPoint);
    expect(after.clock).toEqual(before.clock);
    expect(after.hostLink).toEqual(before.hostLink);
    expect(after.bootedAt).toEqual(before.bootedAt);
    expect(await reader.client.config()).toMatchObject({ unlockMs: 5000 });
    expect(await reader.client.content()).toEqual(beforeContent);
  });

  it('answers health without a token, with nothing but liveness', async () => {
    const health = await new HostClient(reader.api.url, undefined).health();
    expect(health).toEqual({ ok: true, state: 'running' });
  });

  it('asks for the token on unknown paths too', async () => {
    const err = await new HostClient(reader.api.url, undefined)
      .request('GET', '/nope')
      .catch((e: unknown) => e);
    expect((err as HostApiError).status).toBe(401);
    const known = await reader.client.request('GET', '/nope').catch((e: unknown) => e);
    expect((known as HostApiError).status).toBe(404);
  });
});
