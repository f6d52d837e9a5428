import type { FastifyBaseLogger } from 'fastify';
import fs from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  isLoopback,
  startApi,
  type ApiServerOptions,
  type ApiTls,
  type RunningApi,
} from '../api/server';
import { loadOrCreateToken } from '../api/token';
import { claimDataDir } from '../data-dir-lock';
import { IMAGE_FILE } from '../../storage/reader-store';
import type { Board } from '../board';
import type { BleRadioStatus } from '../ports';
import type { RunningReader } from '../running-reader';
import { powerOnBoard, type BoardHooks, type ReaderDrivers } from './drivers';

/** The reader's BLE radio as a served reader uses it: it outlives the firmware's power cycles. */
export interface ReaderRadioPort {
  status: BleRadioStatus;
  /** Serves this booted firmware's GATT service; returns the detach (at its power-off). */
  attach(reader: RunningReader): () => void;
}

export interface ServeOptions extends BoardHooks {
  drivers: ReaderDrivers;
  /** Where the API token lives (created at first boot, mode 0600). */
  dataDir: string;
  apiHost?: string;
  apiPort?: number;
  /** HTTPS certificate and key for the host API (default: plain HTTP, fine on loopback). */
  apiTls?: ApiTls;
  /** The process logger (pino): API errors and boot failures go here. */
  logger?: FastifyBaseLogger;
  /** The reader's BLE radio: attached at every boot; its phones in range go into /status. */
  radio?: ReaderRadioPort;
  /** The API's limits and host link, where a test or bench sets its own. */
  api?: Pick<ApiServerOptions, 'bodyLimit' | 'databaseBodyLimit' | 'link'>;
}

/** A reader as `reader-sim start` runs it: a board, and the host API in front of it. */
export interface ServedReader {
  board: Board;
  api: RunningApi;
  token: string;
  /** The running firmware, or undefined while it boots. */
  reader(): RunningReader | undefined;
  /** Stops the API, then powers the reader off (relocks, closes the flash). */
  shutdown(): Promise<void>;
}

/**
 * Powers on a board with the profile's drivers and serves the host API in front of it with
 * the data directory's token. The data directory is claimed first (one process per
 * directory, data-dir-lock.ts) and let go at shutdown.
 */
export async function serveReader(options: ServeOptions): Promise<ServedReader> {
  const lock = claimDataDir(options.dataDir);
  try {
    return await serveClaimed(options, lock.release);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** Only the reader's user may read the flash image: it holds the PIN key. */
function tightenImage(drivers: ReaderDrivers): void {
  if (drivers.store.dir === undefined) return;
  const image = join(drivers.store.dir, IMAGE_FILE);
  if (fs.existsSync(image)) fs.chmodSync(image, 0o600);
}

async function serveClaimed(options: ServeOptions, unlock: () => void): Promise<ServedReader> {
  const { drivers, dataDir, apiHost, apiPort, apiTls, logger, radio } = options;
  tightenImage(drivers);
  const board = await powerOnBoard(drivers, {
    onBoot: (reader, board) => {
      const undo = [radio?.attach(reader), options.onBoot?.(reader, board)];
      return () => undo.forEach((u) => u?.());
    },
    beforeReboot: options.beforeReboot,
    onBootError:
      options.onBootError ?? ((err) => logger?.error({ err }, 'boot failed; power-cycle to retry')),
  });
  const state = board.state();
  if (state.state === 'failed') {
    await board.shutdown();
    throw new Error(`the reader did not boot: ${state.error}`);
  }
  // The first boot creates the image (under the 0700 directory) with the process umask.
  tightenImage(drivers);
  const host = apiHost ?? DEFAULT_API_HOST;
  const port = apiPort ?? DEFAULT_API_PORT;
  let api: RunningApi;
  let token: string;
  try {
    token = loadOrCreateToken(dataDir);
    api = await startApi({
      board,
      token,
      clock: drivers.clock,
      host,
      port,
      logger,
      ble: radio?.status,
      tls: apiTls,
      ...options.api,
    });
  } catch (err) {
    // No API, no reader: power off cleanly (relock, close the flash) before reporting.
    await board.shutdown();
    throw new Error(`host API cannot start on ${host}:${port}: ${(err as Error).message}`);
  }
  if (!api.tls && !isLoopback(api.address)) {
    // The bearer token and every credential push would cross the network in clear text.
    logger?.warn(
      { address: api.address, port: api.port },
      `host API listens on ${api.address} (not loopback) WITHOUT TLS: the token and database ` +
        'cross the network in clear text; use --tls-cert/--tls-key or a TLS proxy',
    );
  }
  return {
    board,
    api,
    token,
    reader: () => board.reader(),
    async shutdown() {
      await api.close();
      await board.shutdown();
      unlock();
    },
  };
}
