import { createHash } from 'node:crypto';
import type { BuzzerPattern, LedColor, LedPattern } from '../../led';
import {
  CAPABILITY,
  MAX_PACKET,
  PeripheralDevice,
  cardDataOf,
  type BuzzerRecord,
  type Capability,
  type DeviceId,
  type LedPhase,
  type LedRecord,
  type OutputRecord,
  type PdDevice,
} from '../../osdp';
import type { Clock, Timer } from '../foundation/clock';
import type { ReaderLog } from '../foundation/log';
import type { ValidPresentation } from '../foundation/presentation';
import type { PanelLinkStatus } from '../ports';
import type { RunningReader } from '../running-reader';
import { FIRMWARE_VERSION } from '../version';
import type { ReaderRole } from '../config';
import { openOsdpTransport, type OpenTransport, type OsdpTransport } from './transport';

/** OSDP colours 0..3 are the ones a red/green LED shows; blue and the rest it cannot. */
const LED_COLORS: readonly LedColor[] = ['off', 'red', 'green', 'amber'];
/** OSDP times are in 100 ms units. */
const TICK_MS = 100;

/** What the reader tells a panel about itself (osdp_PDCAP). */
export const READER_CAPABILITIES: Capability[] = [
  // Inputs: REX and the door contact, reported as they are (no supervision).
  { function: CAPABILITY.CONTACT_STATUS, compliance: 1, count: 2 },
  // One output: the lock relay, with timed pulses.
  { function: CAPABILITY.OUTPUT_CONTROL, compliance: 2, count: 1 },
  // Card data as raw bits only.
  { function: CAPABILITY.CARD_DATA_FORMAT, compliance: 1, count: 0 },
  // One red/green LED with timed and blinking states.
  { function: CAPABILITY.READER_LED, compliance: 2, count: 1 },
  { function: CAPABILITY.READER_AUDIBLE, compliance: 2, count: 1 },
  { function: CAPABILITY.READER_TEXT, compliance: 0, count: 0 },
  { function: CAPABILITY.CHECK_CHARACTER, compliance: 1, count: 0 },
  // AES-128, and the default key in install mode.
  { function: CAPABILITY.COMMUNICATION_SECURITY, compliance: 1, count: 1 },
  { function: CAPABILITY.RECEIVE_BUFFER, compliance: MAX_PACKET & 0xff, count: MAX_PACKET >> 8 },
  { function: CAPABILITY.LARGEST_MESSAGE, compliance: MAX_PACKET & 0xff, count: MAX_PACKET >> 8 },
  { function: CAPABILITY.READERS, compliance: 0, count: 0 },
  { function: CAPABILITY.OSDP_VERSION, compliance: 2, count: 0 },
];

/** PDID: no IEEE OUI of our own, so zeros; the serial number is the reader id's hash. */
export function readerDeviceId(readerId: string): DeviceId {
  const [major, minor, build] = FIRMWARE_VERSION.split(/[.-]/).map((n) => Number(n) || 0);
  return {
    vendor: Buffer.from([0, 0, 0]),
    model: 1,
    version: 1,
    serial: createHash('sha256').update(readerId).digest().readUInt32LE(0),
    firmware: [major & 0xff, minor & 0xff, build & 0xff],
  };
}

function ledPattern(phase: LedPhase): LedPattern | undefined {
  const onColor = LED_COLORS[phase.onColor];
  const offColor = LED_COLORS[phase.offColor];
  if (!onColor || !offColor) return undefined;
  // No on time: the off colour, steady. No off time: the on colour, steady.
  if (phase.onTime === 0) return { onColor: offColor, offColor, onMs: TICK_MS, offMs: 0 };
  return { onColor, offColor, onMs: phase.onTime * TICK_MS, offMs: phase.offTime * TICK_MS };
}

export interface PanelLinkOptions {
  transport: OpenTransport;
  address: number;
  log?: ReaderLog;
}

/**
 * The reader as an OSDP PD: outlives power cycles like the BLE radio (the port stays open),
 * and at every boot `attach` puts a fresh PD in front of the new firmware. While attached,
 * the decision loop hands presentations to the panel, the panel's LED/BUZ/OUT drive the LED
 * engine and the door, and the link's status shows in the reader's status.
 */
export class OsdpPanelLink {
  private address: number;

  constructor(private readonly options: PanelLinkOptions) {
    this.address = options.address;
  }

  attach(reader: RunningReader): () => void {
    const { clock, config, indicator, door } = reader;
    const { transport, log } = this.options;
    const stored = config.get().osdpScbk;
    let rexLatched = false;
    let unlockTimer: Timer | undefined;
    const device: PdDevice = {
      id: readerDeviceId(config.get().readerId),
      capabilities: READER_CAPABILITIES,
      // This board has no supply monitor: power is always reported normal.
      localStatus: () => ({ tamper: door.status().tamper, power: false }),
      inputs: () => {
        // REX is a push: it reads active once (the reply that asks for inputs carries it).
        const rex = rexLatched;
        rexLatched = false;
        return [rex, door.status().door === 'open'];
      },
      outputs: () => [door.status().relay === 'unlocked'],
      led: (records) => applyLed(records, indicator),
      buzzer: (record) => applyBuzzer(record, indicator),
      output: (records) => {
        const ok = applyOutputs(records, door, clock, (t) => {
          clock.clearTimeout(unlockTimer);
          unlockTimer = t;
        });
        return ok;
      },
      keyset: (scbk) => {
        // Durable before the ACK: the store's config write is one flash commit.
        config.update({ osdpScbk: scbk.toString('hex') });
        log?.info({ address: this.address }, 'OSDP base key set by the panel');
      },
      comset: (settings) => {
        this.address = settings.address;
        if (transport.setBaud) {
          transport
            .setBaud(settings.baud)
            .catch((err: unknown) => log?.warn({ err }, 'COMSET baud change failed'));
        }
      },
      offline: () => {
        // Offline-safe: the panel's unlocks end, its sounds stop, the reader shows idle.
        clock.clearTimeout(unlockTimer);
        door.endUnlock();
        door.setHeldUnlocked(false);
        indicator.setPanelBuzzer(undefined);
        indicator.clearTemporary();
        indicator.setPermanent('idle');
        log?.warn({ address: this.address }, 'OSDP panel stopped polling: offline');
      },
    };
    const pd = new PeripheralDevice({
      address: this.address,
      channel: transport.channel,
      clock,
      device,
      ...(stored ? { scbk: Buffer.from(stored, 'hex'), requireSecure: true } : {}),
    });
    const onRex = () => {
      rexLatched = true;
    };
    door.on('rex', onRex);
    pd.on('internal-error', (err: unknown) => log?.error({ err }, 'OSDP packet not answered'));
    pd.on('online', () => log?.info({ address: this.address }, 'OSDP panel online'));
    pd.on('secure', (up: boolean) =>
      log?.info({ address: this.address, secure: up }, 'OSDP secure channel'),
    );
    reader.reader.handOffTo((p: ValidPresentation) => {
      if (p.kind === 'pin') {
        // '#' goes as 0x0D, the way OSDP keypads send Enter.
        pd.queueKeypad({ reader: 0, digits: `${p.value}\r` });
      } else {
        const { bitCount, data } = cardDataOf(p.value);
        pd.queueCard({ reader: 0, format: 0, bitCount, data });
      }
    });
    reader.reportPanelLink(() => {
      const s = pd.status();
      return {
        role: 'osdp-pd',
        transport: transport.description,
        address: s.address,
        online: s.online,
        secure: s.secure,
        installMode: s.installMode,
        ...(s.lastCommandAt === undefined ? {} : { lastPoll: s.lastCommandAt }),
        counters: s.counters,
      } satisfies PanelLinkStatus;
    });
    return () => {
      pd.close();
      clock.clearTimeout(unlockTimer);
      door.off('rex', onRex);
      reader.reader.handOffTo(undefined);
      reader.reportPanelLink(undefined);
    };
  }
}

/** All records are checked first: one the reader cannot show refuses the lot (NAK 0x09). */
function applyLed(records: LedRecord[], indicator: RunningReader['indicator']): boolean {
  const plans: Array<() => void> = [];
  for (const r of records) {
    if (r.reader !== 0 || r.led !== 0) return false;
    if (r.temporaryControl > 2 || r.permanentControl > 1) return false;
    if (r.permanentControl === 1) {
      const pattern = ledPattern(r.permanent);
      if (!pattern) return false;
      plans.push(() => indicator.setPanelPermanent(pattern));
    }
    if (r.temporaryControl === 1 || (r.temporaryControl === 2 && r.temporary.timer === 0)) {
      plans.push(() => indicator.clearTemporary());
    } else if (r.temporaryControl === 2) {
      const pattern = ledPattern(r.temporary);
      if (!pattern) return false;
      plans.push(() => indicator.showPanelTemporary(pattern, r.temporary.timer * TICK_MS));
    }
  }
  plans.forEach((apply) => apply());
  return true;
}

function applyBuzzer(r: BuzzerRecord, indicator: RunningReader['indicator']): boolean {
  if (r.reader !== 0 || r.tone > 2) return false;
  if (r.tone < 2 || r.onTime === 0) {
    indicator.setPanelBuzzer(undefined);
    return true;
  }
  const pattern: BuzzerPattern = {
    onMs: r.onTime * TICK_MS,
    offMs: r.offTime * TICK_MS,
    count: r.count,
  };
  indicator.setPanelBuzzer(pattern);
  return true;
}

/**
 * Output 0 is the lock relay: "on" is unlocked. Permanent states hold the door unlocked (or
 * not), timed ones are a momentary unlock of the panel's length; a timed "off" locks for its
 * time, then the permanent state comes back.
 */
function applyOutputs(
  records: OutputRecord[],
  door: RunningReader['door'],
  clock: Clock,
  keepTimer: (t: Timer | undefined) => void,
): boolean {
  if (records.some((r) => r.output !== 0 || r.control > 6 || (r.control >= 5 && r.timer === 0)))
    return false;
  for (const r of records) {
    switch (r.control) {
      case 1:
      case 2:
        keepTimer(undefined);
        door.endUnlock();
        door.setHeldUnlocked(r.control === 2);
        break;
      case 3:
      case 4:
        door.setHeldUnlocked(r.control === 4);
        break;
      case 5:
        door.unlockFor(r.timer * TICK_MS);
        break;
      case 6: {
        const held = door.status().heldUnlocked;
        door.endUnlock();
        door.setHeldUnlocked(false);
        keepTimer(
          held ? clock.setTimeout(() => door.setHeldUnlocked(true), r.timer * TICK_MS) : undefined,
        );
        break;
      }
    }
  }
  return true;
}

/** A served reader's OSDP link: open once per process, attached at every boot. */
export interface ServedPanelLink {
  description: string;
  /** BoardHooks.onBoot: wires the PD to this firmware when its role is osdp-pd. */
  onBoot(reader: RunningReader): () => void;
  close(): Promise<void>;
}

/**
 * Opens the transport and returns what `reader-sim start` (or a test) hooks into every boot.
 * `role` given: stored in the config at the first boot (the command line's --role / --osdp).
 */
export async function openPanelLink(options: {
  transport: OsdpTransport;
  role?: ReaderRole;
  log?: ReaderLog;
}): Promise<ServedPanelLink> {
  const transport = await openOsdpTransport(options.transport);
  const link = new OsdpPanelLink({
    transport,
    address: options.transport.address,
    log: options.log,
  });
  let roleSet = false;
  return {
    description: transport.description,
    onBoot(reader) {
      if (options.role && !roleSet) reader.config.update({ role: options.role });
      roleSet = true;
      if (reader.config.get().role !== 'osdp-pd') return () => undefined;
      return link.attach(reader);
    },
    close: () => transport.channel.close(),
  };
}
