import type { Clock } from '../foundation/clock';
import type { ReaderLog } from '../foundation/log';
import type { HciSocketFactory } from '../pi/ble-adapter';
import { openPiHardware, type PiHardware } from '../pi/hardware';
import type { LibgpiodOptions } from '../pi/libgpiod';
import { loadPiConfig, type PiConfig } from '../pi/pi-config';
import { RelayFanout } from '../relay-drivers';
import type { ReaderDrivers } from './drivers';
import type { ConsoleFace } from './sim';

/** The `pi` profile for the composition root (`reader-sim start --profile pi`). */
export interface PiProfile {
  config: PiConfig;
  hardware: PiHardware;
  /** The radio the composition root starts for pi.json's "ble": the real adapter, or none. */
  bleMode: 'hci' | 'off';
  /**
   * The Pi's drivers: GPIO LED/buzzer beside the console face, the GPIO relay coil (and the
   * console's log line), the serial badge reader, REX and the door contact wired at every
   * boot, the flash image on the SD card.
   */
  drivers(face: ConsoleFace, readerId?: string): ReaderDrivers;
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
  return {
    config,
    hardware,
    bleMode: hardware.ble.adapter === 'none' ? 'off' : 'hci',
    drivers: (face, readerId) => ({
      clock: options.clock,
      store: { dir: options.dataDir },
      indicatorDrivers: [hardware.indicator, face.indicator],
      relay: new RelayFanout(hardware.relay, face.relay),
      badgeInputs: hardware.badge ? [hardware.badge] : [],
      readerId,
      log: options.log,
      wire: (reader) => {
        const unwire = [hardware.attach(reader.door), face.follow(reader)];
        return () => unwire.forEach((undo) => undo());
      },
    }),
    close: () => hardware.close(),
  };
}
