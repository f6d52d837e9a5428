import type { FastifyBaseLogger } from 'fastify';
import type { BleRadioStatus } from './firmware';
import { Board } from '../board';
import { Enrollments } from './enrollments';
import {
  bootReaderFirmware,
  type ReaderFirmware,
  type ReaderFirmwareOptions,
} from './reader-firmware';
import {
  DEFAULT_API_HOST,
  DEFAULT_API_PORT,
  isLoopback,
  startApi,
  type ApiTls,
  type RunningApi,
} from './server';
import { loadOrCreateToken } from './token';

export interface ServedReaderOptions extends Omit<ReaderFirmwareOptions, 'enrollments'> {
  /** Where the API token lives (created at first boot, mode 0600). */
  dataDir: string;
  apiHost?: string;
  apiPort?: number;
  /** HTTPS certificate and key for the host API (default: plain HTTP, fine on loopback). */
  apiTls?: ApiTls;
  /** The process logger (pino): API errors and boot failures go here. */
  logger?: FastifyBaseLogger;
  /** Called after every boot, the first one and each power cycle's (attach a console panel). */
  onBoot?: (firmware: ReaderFirmware) => void;
  /** The reader's BLE radio: its phones in range go into /status and the panel. */
  ble?: BleRadioStatus;
}

export interface ServedReader {
  board: Board;
  api: RunningApi;
  token: string;
  firmware(): ReaderFirmware | undefined;
  /** Stops the API, then powers the reader off (relocks, closes the flash). */
  shutdown(): Promise<void>;
}

/**
 * The reader as `reader-sim start` runs it: the real firmware on a board that can be
 * power-cycled, and the host API in front of it with the data directory's token.
 */
export async function serveReader(options: ServedReaderOptions): Promise<ServedReader> {
  const { dataDir, apiHost, apiPort, apiTls, logger, onBoot, ble, ...firmwareOptions } = options;
  const enrollments = new Enrollments();
  let current: ReaderFirmware | undefined;
  const board = await Board.powerOn({
    boot: async () => {
      current = bootReaderFirmware({ ...firmwareOptions, enrollments });
      onBoot?.(current);
      return current;
    },
    onBootError: (err) => logger?.error({ err }, 'boot failed; power-cycle to retry'),
  });
  const state = board.state();
  if (state.state === 'failed') throw new Error(`the reader did not boot: ${state.error}`);
  const host = apiHost ?? DEFAULT_API_HOST;
  const port = apiPort ?? DEFAULT_API_PORT;
  let api: RunningApi;
  let token: string;
  try {
    token = loadOrCreateToken(dataDir);
    api = await startApi({
      device: board,
      token,
      clock: options.clock,
      host,
      port,
      logger,
      ble,
      tls: apiTls,
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
    firmware: () => (board.firmware() ? current : undefined),
    async shutdown() {
      await api.close();
      await board.shutdown();
    },
  };
}
