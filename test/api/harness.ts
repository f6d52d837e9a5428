import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { VirtualClock } from '../../firmware/foundation/clock';
import type { Board } from '../../firmware/board';
import { HostApiError, HostClient } from '../../firmware/api/client';
import type { ApiServerOptions, RunningApi } from '../../firmware/api/server';
import { serveReader } from '../../firmware/profiles/serve';
import { testDrivers } from '../../firmware/profiles/test';
import type { MemoryFlash } from '../../storage';
import type { DatabaseContent } from '../../firmware/foundation/model';

export { eventually } from '../poll';

export interface TestReader {
  clock: VirtualClock;
  flash: MemoryFlash;
  board: Board;
  api: RunningApi;
  client: HostClient;
  token: string;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * A real reader (the test profile: in-memory flash part, virtual clock) behind the real host
 * API on an ephemeral port, and a client holding its token.
 */
export async function startTestReader(
  options: {
    eventCapacity?: number;
    /** Size of the flash part in 4 KiB sectors (default 512 = 2 MiB). */
    sectorCount?: number;
    server?: Pick<ApiServerOptions, 'bodyLimit' | 'databaseBodyLimit' | 'link'>;
    /** Awaited before every boot after the first: lets a test hold the board in 'booting'. */
    bootGate?: () => Promise<void>;
  } = {},
): Promise<TestReader> {
  const drivers = testDrivers({
    flash: { sectorCount: options.sectorCount ?? 512 },
    eventCapacity: options.eventCapacity,
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-api-'));
  const served = await serveReader({
    drivers,
    dataDir,
    apiPort: 0,
    api: options.server,
    beforeReboot: options.bootGate,
  });
  return {
    clock: drivers.clock,
    flash: drivers.flash,
    board: served.board,
    api: served.api,
    client: new HostClient(served.api.url, served.token),
    token: served.token,
    dataDir,
    async close() {
      await served.shutdown();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A small consistent database: n users with one badge each, one schedule, two doors. */
export function sampleDatabase(n = 3, prefix = 'u'): DatabaseContent {
  const users = Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    name: `User ${i}`,
    enabled: true,
  }));
  return {
    users,
    credentials: users.map((u, i) => ({
      id: `${prefix}c${i}`,
      userId: u.id,
      kind: 'badge' as const,
      value: String(10000 + i),
      enabled: true,
      accessPoints: ['*'],
    })),
    schedules: [
      {
        id: 'office',
        timeZone: 'America/Denver',
        windows: [{ days: [1, 2, 3, 4, 5], start: '07:00', end: '18:00' }],
      },
    ],
    holidays: [{ date: '2026-12-25', name: 'Christmas' }],
    accessPoints: [
      { id: 'door-1', name: 'Front door' },
      { id: 'door-2', name: 'Back door', unlockScheduleId: 'office' },
    ],
  };
}

/** Lets promise jobs and I/O settle (no virtual time passes). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The HostApiError a call fails with (the test fails if it succeeds or fails otherwise). */
export async function rejection(p: Promise<unknown>): Promise<HostApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HostApiError);
  return err as HostApiError;
}
