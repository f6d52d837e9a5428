import * as net from 'node:net';
import {
  Air,
  AirAddress,
  AirServer,
  createAir,
  defaultAirAddress,
  formatAirAddress,
  serveAir,
  TimingMode,
} from '../../ble/controller';
import type { BlenoStack } from '../../ble/bleno-stack';
import { ReaderRadio, startReaderRadio } from '../../ble/reader-radio';
import type { ReaderLog } from '../foundation/log';
import type { BleRadioStatus } from '../ports';
import type { RunningReader } from '../running-reader';
import type { ReaderRadioPort } from './serve';

/**
 * The BLE radio a profile picks for its reader: the virtual controller on an air this
 * process serves (sim), the real adapter (pi), or none.
 */
export interface BleChoice {
  mode: 'virtual' | 'hci' | 'off';
  air: AirAddress;
  timing: TimingMode;
  /** hci mode: the adapter (hciN); bleno's own default (hci0) when absent. */
  hciDevice?: number;
  /** virtual mode: capture the reader controller's HCI traffic to this btsnoop file. */
  btsnoopPath?: string;
  /** The bleno package the GATT services run on; @stoprocent/bleno when absent. */
  stack?: BlenoStack;
}

/** The reader's BLE radio: it outlives power cycles of the firmware. */
export interface ReaderBle {
  /** Its phones in range, for /status and the panel. */
  status: BleRadioStatus;
  /** Serves a booted firmware's GATT service; returns the detach (at its power-off). */
  attach(reader: RunningReader): () => void;
  /** A copy-paste phone command for a second terminal: unlock with keyFile, else keygen + unlock. */
  phoneCommand(keyFile?: string): string;
  /** Logs that the service is up, with the phone command. */
  announce(keyFile?: string): void;
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
    const served = await serveVirtualAir(choice);
    server = served.server;
    radio = await startReaderRadio({
      air: served.air,
      log,
      btsnoopPath: choice.btsnoopPath,
      stack: choice.stack,
    });
  } else {
    // No adapter (or no Bluetooth in the kernel) stops here in one line, before the stack
    // prints its own warnings; a UART controller (the stacks' own env switch) is opened by them.
    if (process.env.BLUETOOTH_HCI_SOCKET_UART_PORT === undefined) {
      const { checkBleAdapter } = await import('../pi/ble-adapter');
      const hciDevice = choice.hciDevice ?? Number(process.env.BLENO_HCI_DEVICE_ID ?? 0);
      await checkBleAdapter(
        { adapter: 'hci-socket', hciDevice },
        { optOut: 'or run with --ble virtual (the virtual air) or --ble off' },
      );
    }
    radio = await startReaderRadio({ log, hciDevice: choice.hciDevice, stack: choice.stack });
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
    attach: (reader) => {
      radio.gatt.attach(reader);
      return () => radio.gatt.detach();
    },
    phoneCommand,
    announce(keyFile) {
      log.info(
        {
          ble: choice.mode,
          air: choice.mode === 'virtual' ? formatAirAddress(choice.air) : undefined,
          timing: choice.mode === 'virtual' ? choice.timing : undefined,
          stack: `@${choice.stack ?? 'stoprocent'}/bleno`,
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

/** A virtual air this process serves at the choice's address, for phones in other processes. */
export async function serveVirtualAir(
  choice: Pick<BleChoice, 'air' | 'timing'>,
): Promise<{ air: Air; server: AirServer }> {
  if ('path' in choice.air && (await someoneListens(choice.air.path))) {
    // Serving would unlink the socket of the reader that owns it and strand its phones.
    throw new Error(
      `another reader serves the BLE air at ${choice.air.path} (stop it, or use --air ADDR or --ble off)`,
    );
  }
  const air = createAir({ timing: choice.timing });
  const server = await serveAir(air, choice.air).catch((err: Error) => {
    throw new Error(`cannot serve the BLE air on ${formatAirAddress(choice.air)}: ${err.message}`);
  });
  return { air, server };
}

/** A radio's GATT service as a served reader attaches it at every boot (test profile, benches). */
export function radioPort(radio: ReaderRadio): ReaderRadioPort {
  return {
    status: radio.gatt,
    attach(reader) {
      radio.gatt.attach(reader);
      return () => radio.gatt.detach();
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
