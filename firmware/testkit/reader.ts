/**
 * reader-sim: one reader, in-process on a virtual clock (`startReader`) or as its own
 * `reader-sim start` process (`spawnReader`), each with a host API client. For hardware-level
 * tests (badge wires, LED lines, phones) see reader-sim/testkit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { HostClient } from '../api/client';
import type { Board } from '../board';
import { VirtualClock } from '../foundation/clock';
import { freePort } from '../profiles/free-port';
import { serveReader } from '../profiles/serve';
import { testDrivers, type TestDrivers } from '../profiles/test';
import { readerSimBin } from './package-root';

export interface InProcessReader {
  /** The host API client, with the reader's token. */
  api: HostClient;
  url: string;
  token: string;
  /** Moves only when the test moves it: `await clock.advanceAsync(ms)`. */
  clock: VirtualClock;
  /** Power and the inputs a person touches (`board.touch.badge('12345')`, keypad, REX, door). */
  board: Board;
  /** The recording LED and relay drivers, the in-memory flash part. */
  drivers: TestDrivers;
  /** Stops the API, powers the reader off and removes its data directory. */
  close(): Promise<void>;
}

/**
 * The real firmware and host API in this process: a virtual clock (starting `start`, epoch
 * ms), flash on an in-memory part, recording LED/relay drivers, the API on an ephemeral
 * loopback port. No BLE radio (use reader-sim/testkit's SimRig for phones).
 */
export async function startReader(
  options: { start?: number; readerId?: string } = {},
): Promise<InProcessReader> {
  const drivers = testDrivers({ start: options.start, readerId: options.readerId });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-sim-'));
  try {
    const served = await serveReader({ drivers, dataDir, apiHost: '127.0.0.1', apiPort: 0 });
    return {
      api: new HostClient(served.api.url, served.token),
      url: served.api.url,
      token: served.token,
      clock: drivers.clock,
      board: served.board,
      drivers,
      close: async () => {
        await served.shutdown();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

export interface SpawnOptions {
  /** The data directory (flash image, token); default a fresh temp dir, removed at close. */
  dataDir?: string;
  /** Host API port; default a free one. */
  apiPort?: number;
  /**
   * More `reader-sim start` options, e.g. ['--ble', 'off'] or ['--air', 'tcp:8090']. Without
   * --air or --ble the reader serves its virtual air on DATA/air.sock (see `airAddress`).
   */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long the process may take to print its ready line (default 60 s). */
  readyTimeoutMs?: number;
  /**
   * The program that runs `reader-sim` (default: this package's `bin/reader-sim.js` under
   * node); a suite may give a prebuilt one that starts faster.
   */
  cli?: { command: string; args: string[] };
}

export interface SpawnedReader {
  api: HostClient;
  url: string;
  token: string;
  dataDir: string;
  /** The virtual air phones join (`reader-sim phone unlock --air ...`), when this call chose it. */
  airAddress?: string;
  child: ChildProcessWithoutNullStreams;
  /** Every JSON log line so far. */
  lines: Record<string, unknown>[];
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. Removes a temp data dir. */
  close(): Promise<number | null>;
}

/**
 * `reader-sim start` as a child process on the system clock, with the sim profile (JSON logs;
 * BLE on the virtual controller unless args say otherwise). Resolves when it logs ready.
 */
export async function spawnReader(options: SpawnOptions = {}): Promise<SpawnedReader> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'reader-sim-'));
  const extra = options.args ?? [];
  // Parallel readers must not share the default air socket: each gets one in its data dir.
  const airAddress = extra.some((a) => /^--(air|ble)\b/.test(a))
    ? undefined
    : path.join(dataDir, 'air.sock');
  const apiPort = options.apiPort ?? (await freePort());
  const args = ['start', '--data', dataDir, '--api-port', String(apiPort), ...extra];
  if (airAddress) args.push('--air', airAddress);
  const cli = options.cli ?? { command: process.execPath, args: [readerSimBin()] };
  const child = spawn(cli.command, [...cli.args, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited.finally(() => clearTimeout(kill));
    }
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
    return child.exitCode;
  };
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`reader-sim start: not ready within ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs,
    );
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { text };
      }
      lines.push(line);
      if (typeof line.msg === 'string' && line.msg.startsWith('ready: ')) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`reader-sim start exited (${code}) before it was ready; stderr: ${stderr}`));
    });
  }).catch(async (err: Error) => {
    await close();
    throw err;
  });
  const url = String(ready.url);
  const token = fs.readFileSync(String(ready.token), 'utf8').trim();
  return { api: new HostClient(url, token), url, token, dataDir, airAddress, child, lines, close };
}

/** A port nobody listens on right now (`reader-sim start` wants a number, not 0). */
export { freePort };

export { HostApiError, HostClient } from '../api/client';
export type { EventPage, StreamMessage } from '../api/client';
export { SystemClock, VirtualClock, type Clock } from '../foundation/clock';
export type { Credential, DatabaseContent, EventRecord, Schedule, User } from '../foundation/model';
export { powerOnBoard, type ReaderDrivers } from '../profiles/drivers';
export { serveReader, type ServedReader } from '../profiles/serve';
export { testDrivers, type TestDrivers } from '../profiles/test';
export type { Board } from '../board';
