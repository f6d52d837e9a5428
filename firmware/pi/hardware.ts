import type { Clock } from '../foundation/clock';
import type { DoorController, RelayDriver } from '../door';
import { BadgeSerialInput, connectContacts, ContactInput } from '../inputs';
import type { ReaderLog } from '../foundation/log';
import { TwoLedIndicatorDriver, type IndicatorLine } from '../../led';
import { checkBleAdapter, type CheckedBleAdapter, type HciSocketFactory } from './ble-adapter';
import type { GpioChip, GpioMonitor, GpioOutput } from './gpio';
import { LibgpiodChip, type LibgpiodOptions } from './libgpiod';
import type { PiConfig } from './pi-config';

/** The Pi's drivers, ready for boot(): LED/buzzer and relay on GPIO, contacts, badge reader. */
export interface PiHardware {
  ble: CheckedBleAdapter;
  chip: GpioChip;
  indicator: TwoLedIndicatorDriver;
  relay: RelayDriver;
  contacts: { rex: ContactInput; door: ContactInput };
  /**
   * The raw level the reader last got from an input line (the monitor's edge or the boot
   * read), before debounce; undefined before the first. A HIL rig waits on it to know its
   * drive has reached the reader.
   */
  inputLevel(input: 'rex' | 'door'): boolean | undefined;
  badge: BadgeSerialInput | undefined;
  /** Resolves once every output write asked for so far has reached the chip. */
  settled(): Promise<void>;
  /** Wires REX and the door contact to a (re)booted reader's door; returns the unwire. */
  attach(door: DoorController): () => void;
  /** Stops monitors, releases every line, closes the badge port. */
  close(): Promise<void>;
}

export interface OpenPiHardwareOptions {
  config: PiConfig;
  clock: Clock;
  log: ReaderLog;
  gpio?: LibgpiodOptions;
  /** Tests: a chip other than the libgpiod one (e.g. LibgpiodChip on simulated tools). */
  chip?: GpioChip;
  hciSocket?: HciSocketFactory;
  serialBinding?: unknown;
}

/** The lock relay's coil on a GPIO line (through a driver transistor or a relay board). */
export class GpioRelayDriver implements RelayDriver {
  constructor(private readonly coil: GpioOutput) {}

  set(energized: boolean): void {
    this.coil.set(energized);
  }
}

export class PiBootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PiBootError';
  }
}

/**
 * Opens the Pi's hardware in boot order: BLE adapter first (no reader without its radio,
 * unless pi.json says "none"), then GPIO outputs (all off; the door controller drives the
 * relay locked at boot), then inputs at their present level, then the badge reader.
 * Any failure undoes what was opened and throws one line naming the part and the fix.
 */
export async function openPiHardware(options: OpenPiHardwareOptions): Promise<PiHardware> {
  const { config, clock, log } = options;
  const ble = await checkBleAdapter(config.ble, {
    hciSocket: options.hciSocket,
    serialBinding: options.serialBinding,
  });
  const chip = options.chip ?? (await LibgpiodChip.open(config.chipLabels, options.gpio));
  chip.on('error', (err: Error) => log.error({ err }, 'gpio'));
  const outputs: GpioOutput[] = [];
  let monitor: GpioMonitor | undefined;
  let badge: BadgeSerialInput | undefined;
  try {
    const lines = config.lines;
    const led: Record<IndicatorLine, GpioOutput> = {
      red: await chip.output({ offset: lines.red }, false),
      green: await chip.output({ offset: lines.green }, false),
      buzzer: await chip.output({ offset: lines.buzzer }, false),
    };
    outputs.push(led.red, led.green, led.buzzer);
    const coil = await chip.output(
      { offset: lines.relay, activeLow: config.relayActiveLow },
      false,
    );
    outputs.push(coil);

    const contact = (activeLow: boolean) =>
      new ContactInput(clock, { debounceMs: config.debounceMs, activeLow });
    const contacts = { rex: contact(config.rexActiveLow), door: contact(config.doorActiveLow) };
    const inputs = [
      { name: 'rex', spec: { offset: lines.rex, bias: config.inputBias }, contact: contacts.rex },
      {
        name: 'door',
        spec: { offset: lines.door, bias: config.inputBias },
        contact: contacts.door,
      },
    ] as const;
    const rawLevels = new Map<'rex' | 'door', boolean>();
    const feed = (input: (typeof inputs)[number], high: boolean) => {
      rawLevels.set(input.name, high);
      input.contact.level(high);
    };
    // Watch first, then read: an edge between the two is seen twice, never missed.
    monitor = await chip.monitor(
      inputs.map((i) => i.spec),
      (edge) => {
        const input = inputs.find((i) => i.spec.offset === edge.offset);
        if (input) feed(input, edge.high);
      },
    );
    const levels = await chip.read(inputs.map((i) => i.spec));
    inputs.forEach((input, i) => feed(input, levels[i]));

    if (config.badge) {
      badge = new BadgeSerialInput({
        ...config.badge,
        clock,
        reopenAfterMs: 2000,
        binding: options.serialBinding,
      });
      badge.on('port-error', (err: Error) => log.error({ err }, 'badge reader'));
      badge.on('bad-frame', (bad: { reason: string }) =>
        log.warn({ reason: bad.reason }, 'bad badge frame'),
      );
      try {
        await badge.open();
      } catch (err) {
        throw new PiBootError(
          `badge reader ${config.badge.path} cannot be opened (${(err as Error).message}); check badge.path in DATA/pi.json (or null for none) and that the user is in group dialout`,
        );
      }
    }

    const indicator = new TwoLedIndicatorDriver({ write: (line, on) => led[line].set(on) });
    const relay = new GpioRelayDriver(coil);
    return {
      ble,
      chip,
      indicator,
      relay,
      contacts,
      inputLevel: (input) => rawLevels.get(input),
      badge,
      settled: async () => {
        await Promise.all(outputs.map((o) => o.settled()));
      },
      attach: (door) => connectContacts(door, contacts),
      async close() {
        await badge?.close();
        await monitor?.close();
        await Promise.all(outputs.map((o) => o.release()));
        await chip.close();
      },
    };
  } catch (err) {
    await monitor?.close().catch(() => undefined);
    await Promise.all(outputs.map((o) => o.release().catch(() => undefined)));
    await chip.close().catch(() => undefined);
    throw err;
  }
}
