import {
  AIR_ENV,
  AirAddress,
  AirServer,
  createAir,
  defaultAirAddress,
  formatAirAddress,
  parseAirAddress,
  serveAir,
  TimingMode,
} from '../../ble/controller';
import * as net from 'node:net';
import { ReaderRadio, startReaderRadio } from '../../ble/reader-radio';
import type { BleRadioStatus } from '../../firmware/api/firmware';
import type { RunningReader } from '../../firmware/boot';
import type { ReaderLog } from '../../firmware/foundation/log';
import { UsageError } from '../command';

/** `reader-sim start`'s BLE flags (the reader's GATT service, docs/MOBILE.md). */
export const bleOptions = {
  ble: { type: 'string' },
  air: { type: 'string' },
  'ble-timing': { type: 'string', default: 'fast' },
} as const;

export const BLE_USAGE = [
  'BLE (mobile credentials, docs/MOBILE.md): the GATT service runs on @stoprocent/bleno.',
  '  --ble MODE        virtual (sim default): a virtual controller on an air this process',
  '                    serves, so `reader-sim phone unlock` in another terminal finds it;',
  '                    hci (pi default): the real adapter; off: no BLE',
  `  --air ADDR        the served air: socket path or tcp:[HOST:]PORT (default $${AIR_ENV} or`,
  `                    ${formatAirAddress(defaultAirAddress({}))})`,
  '  --ble-timing T    fast (default) or realistic radio timing on the virtual air',
  '',
];

export interface BleChoice {
  mode: 'virtual' | 'hci' | 'off';
  air: AirAddress;
  timing: TimingMode;
  /** hci mode: the adapter (hciN); bleno's own default (hci0) when absent. */
  hciDevice?: number;
}

export function parseBleOptions(values: {
  profile?: string;
  ble?: string;
  air?: string;
  'ble-timing'?: string;
}): BleChoice {
  const mode = values.ble ?? (values.profile === 'pi' ? 'hci' : 'virtual');
  if (mode !== 'virtual' && mode !== 'hci' && mode !== 'off') {
    throw new UsageError(`--ble must be virtual, hci or off, got '${mode}'`);
  }
  const timing = values['ble-timing'] ?? 'fast';
  if (timing !== 'fast' && timing !== 'realistic') {
    throw new UsageError(`--ble-timing must be fast or realistic, got '${timing}'`);
  }
  if (values.air !== undefined && mode !== 'virtual') {
    throw new UsageError('--air needs --ble virtual');
  }
  let air: AirAddress;
  try {
    air = values.air !== undefined ? parseAirAddress(values.air) : defaultAirAddress();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { mode, air, timing };
}

/** The reader's radio in `reader-sim start`: it outlives power cycles of the firmware. */
export interface ReaderBle {
  /** Its phones in range, for /status and the panel. */
  status: BleRadioStatus;
  attach(running: RunningReader): void;
  /** A copy-paste phone command for a second terminal: unlock with keyFile, else keygen + unlock. */
  phoneCommand(keyFile?: string): string;
  /** Detaches at every power-off of `board`; logs the banner with the phone command. */
  follow(
    board: { watchPower(listener: (state: 'off' | 'on') => void): () => void },
    keyFile?: string,
  ): void;
  close(): void;
}

export async function startReaderBle(
  choice: BleChoice,
  log: ReaderLog,
): Promise<ReaderBle | undefined> {
  if (choice.mode === 'off') return undefined;
  let server: AirServer | undefined;
  let radio: ReaderRadio;
  if (choice.mode === 'virtual') {
    if ('path' in choice.air && (await someoneListens(choice.air.path))) {
      // Serving would unlink the socket of the reader that owns it and strand its phones.
      throw new Error(
        `another reader serves the BLE air at ${choice.air.path} (stop it, or use --air ADDR or --ble off)`,
      );
    }
    const air = createAir({ timing: choice.timing });
    server = await serveAir(air, choice.air).catch((err: Error) => {
      throw new Error(
        `cannot serve the BLE air on ${formatAirAddress(choice.air)}: ${err.message}`,
      );
    });
    radio = await startReaderRadio({ air, log });
  } else {
    radio = await startReaderRadio({ log, hciDevice: choice.hciDevice });
  }
  const isDefault =
    formatAirAddress(choice.air) === formatAirAddress(defaultAirAddress({ ...process.env }));
  const phoneFlags =
    choice.mode === 'virtual' && !isDefault
      ? ` --air ${formatAirAddress(choice.air)}`
      : choice.mode === 'hci'
        ? ' --hci'
        : '';
  const phoneCommand = (keyFile?: string) =>
    keyFile === undefined
      ? `npx reader-sim phone keygen && npx reader-sim phone unlock${phoneFlags}`
      : `npx reader-sim phone unlock --key ${keyFile}${phoneFlags}`;
  return {
    status: radio.gatt,
    attach: (running) => radio.gatt.attach(running),
    phoneCommand,
    follow(board, keyFile) {
      board.watchPower((state) => {
        if (state === 'off') radio.gatt.detach();
      });
      log.info(
        {
          ble: choice.mode,
          air: choice.mode === 'virtual' ? formatAirAddress(choice.air) : undefined,
          timing: choice.mode === 'virtual' ? choice.timing : undefined,
        },
        `BLE reader service up; a phone in another terminal: ${phoneCommand(keyFile)}`,
      );
    },
    close() {
      radio.close();
      void server?.close();
    },
  };
}

/** Whether a live server answers on this UNIX socket (a stale file does not). */
function someoneListens(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
