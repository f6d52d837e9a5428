import type { ServedReaderOptions } from '../api/serve';
import type { Clock } from '../foundation/clock';
import type { ReaderLog } from '../foundation/log';
import type { HciSocketFactory } from './ble-adapter';
import { openPiHardware, type PiHardware } from './hardware';
import type { LibgpiodOptions } from './libgpiod';
import { loadPiConfig, type PiConfig } from './pi-config';

/** The `pi` profile for the composition root (`reader-sim start --profile pi`). */
export interface PiProfile {
  config: PiConfig;
  hardware: PiHardware;
  /** The radio the composition root starts for pi.json's "ble": the real adapter, or none. */
  bleMode: 'hci' | 'off';
  /**
   * The sim's serve options with the Pi's drivers put in: GPIO LED/buzzer beside the console
   * one, the GPIO relay, the serial badge reader, and REX / door contact wired at every boot.
   */
  apply(options: ServedReaderOptions): ServedReaderOptions;
  close(): Promise<void>;
}

export interface OpenPiProfileOptions {
  dataDir: string;
  clock: Clock;
  log: ReaderLog;
  /** Tests: simulated libgpiod tools, a stand-in HCI socket, a serialport binding. */
  gpio?: LibgpiodOptions;
  hciSocket?: HciSocketFactory;
  serialBinding?: unknown;
}

export async function openPiProfile(options: OpenPiProfileOptions): Promise<PiProfile> {
  const config = loadPiConfig(options.dataDir);
  const hardware = await openPiHardware({ ...options, config });
  options.log.info(
    {
      chip: `${hardware.chip.name} [${hardware.chip.label}]`,
      lines: config.lines,
      badge: config.badge?.path ?? null,
      ble: hardware.ble,
    },
    'pi hardware ready',
  );
  // The seam for the GATT service (ble/, @stoprocent/bleno): it runs on the adapter checked
  // here. An HCI UART controller is picked by bluetooth-hci-socket from these variables, read
  // when it is first loaded, so they are set before the radio starts.
  if (hardware.ble.adapter === 'hci-uart') {
    process.env.BLUETOOTH_HCI_SOCKET_UART_PORT = hardware.ble.path;
    process.env.BLUETOOTH_HCI_SOCKET_UART_BAUDRATE = String(hardware.ble.baudRate);
  }
  let unwire: () => void = () => {};
  return {
    config,
    hardware,
    bleMode: hardware.ble.adapter === 'none' ? 'off' : 'hci',
    apply(served) {
      return {
        ...served,
        indicatorDrivers: [hardware.indicator, ...served.indicatorDrivers],
        // The GPIO coil, and whatever the sim's relay did (the log line) too.
        relay: {
          set(energized) {
            hardware.relay.set(energized);
            served.relay.set(energized);
          },
        },
        badgeInputs: [...(served.badgeInputs ?? []), ...(hardware.badge ? [hardware.badge] : [])],
        onBoot(firmware) {
          unwire();
          unwire = hardware.attach(firmware.running.door);
          served.onBoot?.(firmware);
        },
      };
    },
    async close() {
      unwire();
      await hardware.close();
    },
  };
}
