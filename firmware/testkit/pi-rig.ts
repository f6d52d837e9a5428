import fs from 'node:fs';
import pino from 'pino';
import os from 'node:os';
import path from 'node:path';
import type { DeviceKey } from '../../ble/device-key';
import type { ResultMessage } from '../../ble/protocol';
import { startReaderRadio, type ReaderRadio } from '../../ble/reader-radio';
import { radioPort } from '../profiles/radio';
import { serveReader, type ServedReader } from '../profiles/serve';
import { consoleFace } from '../profiles/sim';
import { HostClient } from '../api/client';
import type { EventRecord } from '../foundation/model';
import { SystemClock, VirtualClock, type Clock } from '../foundation/clock';
import { SILENT_LOG } from '../foundation/log';
import {
  checkBleAdapter,
  LibgpiodChip,
  parsePiConfig,
  PI_CONFIG_FILE,
  type GpioChip,
  type GpioOutput,
  type HciSocketFactory,
  type LibgpiodOptions,
  type PiConfig,
} from '../pi';
import { openPiProfile, type PiProfile } from '../profiles/pi';
import { BadgeSerialInput } from '../inputs';
import {
  AdapterPhone,
  checkPhoneAdapter,
  noPhoneReason,
  phoneAdapterOf,
  phoneAdapterProblem,
} from './pi-phone';
import { ledColour, type LedColour, type Rig } from './rig';

/**
 * Wirings (tools, chip, loopbacks) that passed the check in this process: the first rig of a
 * test file checks its six wires (about forty tool runs), the next scenarios trust them.
 */
const WIRING_CHECKED = new Set<string>();

/** Contact held past the debounce, plus the tools' own latency. */
const PRESS_MS = 150;
/**
 * Longest real-time wait for the reader to react to an input (a loaded machine, a slow wire):
 * a deadline, not a margin; the wait ends as soon as the reaction is seen.
 */
const REACTION_MS = 30_000;
const SAMPLE_MS = 20;
/** Gaps between LED reads in ledDuring (ms): no common period with a blink. */
const SAMPLE_GAPS_MS = [7, 31, 13, 47, 23];
/** After the reader's outputs settled, the wire itself: instant, a little slack for the read. */
const OUTPUT_SETTLE_MS = 20;

/**
 * The Pi rig (RIG=pi): the reader runs here with the pi profile on the real chip; loopback
 * wires let the rig read its own outputs and drive its own inputs:
 *   LED red, LED green, buzzer, relay  ->  hil.sense.*  (GPIO inputs the rig reads)
 *   hil.drive.rex, hil.drive.door      ->  REX, door contact inputs
 * Env: RIG_PI_CONFIG (a pi.json; default: the defaults), RIG_GPIOD_TOOLS (directory of the
 * libgpiod tools; default PATH), RIG_BADGE_WRITER (a serial port wired to the reader's badge
 * RX; without it badges go in through the host API's sim control), RIG_GPIOD_SETTLE_MS (how
 * long a gpioset must run before its line counts as set; default the driver's),
 * RIG_PHONE_HCI (the phone's adapter, a second one beside the reader's: N for hciN, default 1,
 * or none), RIG_CLOCK (system, the default, or virtual). The reader's GATT service runs on
 * pi.json's adapter, as `reader-sim start` runs it.
 *
 * RIG_CLOCK=virtual runs the reader on a virtual clock that only `wait()` moves, as the sim
 * rig does: the wires stay real (every level goes through the chip) but the door's timers
 * (debounce, unlock time, blink phases) stand still while the rig drives and reads them, so a
 * slow chip (the simulated one, on a busy machine) cannot run a window out between a check's
 * cause and its reading. On the system clock those windows are real time, as on a door.
 */
export class PiRig implements Rig {
  readonly name = 'pi' as const;
  readonly eventTimeoutMs = 15_000;
  cursor = 0;

  private constructor(
    /** The reader's clock: a VirtualClock under RIG_CLOCK=virtual (`wait()` moves it). */
    readonly clock: Clock,
    readonly api: HostClient,
    private readonly config: PiConfig,
    private readonly chip: GpioChip,
    private readonly drive: { rex: GpioOutput; door: GpioOutput },
    private readonly profile: PiProfile,
    private readonly served: ServedReader,
    private readonly dataDir: string,
    private readonly badgeWriter: string | undefined,
    /** The phone on the second adapter, or why this rig has none. */
    private readonly phone: AdapterPhone | string,
    private readonly radio: ReaderRadio | undefined,
  ) {}

  /** `seams.hciSocket`: a stand-in for the kernel's HCI socket in the phone adapter's check. */
  static async open(
    env: NodeJS.ProcessEnv = process.env,
    seams: { hciSocket?: HciSocketFactory } = {},
  ): Promise<PiRig> {
    const fail = (message: string) => new Error(`RIG=pi: ${message}`);
    const config = env.RIG_PI_CONFIG
      ? parsePiConfig(JSON.parse(fs.readFileSync(env.RIG_PI_CONFIG, 'utf8')))
      : parsePiConfig({});
    const clock = rigClock(env);
    let phoneHci: number | 'none';
    try {
      phoneHci = phoneAdapterOf(env);
    } catch (err) {
      throw fail((err as Error).message);
    }
    const shared = phoneAdapterProblem(phoneHci, config.ble);
    if (shared) throw fail(shared);
    const noPhone = noPhoneReason(phoneHci, config.ble);
    const settleMs = env.RIG_GPIOD_SETTLE_MS ? Number(env.RIG_GPIOD_SETTLE_MS) : undefined;
    const gpio: LibgpiodOptions = { toolsDir: env.RIG_GPIOD_TOOLS || undefined, settleMs };
    // Adapter first, then the chip, then the wires: each stops the run with what is missing.
    await checkBleAdapter(config.ble).catch((err: Error) => {
      throw fail(err.message);
    });
    if (noPhone === undefined && phoneHci !== 'none') {
      await checkPhoneAdapter(phoneHci, seams.hciSocket).catch((err: Error) => {
        throw fail(err.message);
      });
    }
    const chip = await LibgpiodChip.open(config.chipLabels, gpio).catch((err: Error) => {
      throw fail(err.message);
    });
    const wiring = `${gpio.toolsDir ?? ''}|${chip.name}|${JSON.stringify(loopbacks(config))}`;
    if (!WIRING_CHECKED.has(wiring)) {
      const problems = await checkWiring(chip, config);
      if (problems.length) {
        await chip.close();
        throw fail(
          `wiring check failed (${problems.length} of 6 loopbacks; docs/PI.md, HIL rig): ${problems.join('; ')}`,
        );
      }
      WIRING_CHECKED.add(wiring);
    }
    // Inputs idle before the reader reads them: REX released, door closed.
    const drive = {
      rex: await chip.output({ offset: config.hil.drive.rex }, config.rexActiveLow),
      door: await chip.output({ offset: config.hil.drive.door }, config.doorActiveLow),
    };
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-pi-'));
    fs.writeFileSync(path.join(dataDir, PI_CONFIG_FILE), JSON.stringify(config, null, 2));
    let profile: PiProfile | undefined;
    let radio: ReaderRadio | undefined;
    let served: ServedReader | undefined;
    try {
      profile = await openPiProfile({ dataDir, clock, log: SILENT_LOG, gpio });
      // After the profile: an HCI UART controller is chosen by the variables it sets.
      if (profile.bleMode === 'hci') {
        const hciDevice = config.ble.adapter === 'hci-socket' ? config.ble.hciDevice : undefined;
        radio = await startReaderRadio({ hciDevice });
      }
      // The pi profile's drivers; its console face writes nowhere (the rig reads the wires).
      const face = consoleFace(pino({ level: 'silent' }), { isTTY: false, write: () => true });
      served = await serveReader({
        drivers: profile.drivers(face),
        dataDir,
        apiHost: '127.0.0.1',
        apiPort: 0,
        radio: radio ? radioPort(radio) : undefined,
      });
      const api = new HostClient(served.api.url, served.token);
      const phone = noPhone ?? new AdapterPhone(phoneHci as number);
      const rig = new PiRig(
        clock,
        api,
        config,
        chip,
        drive,
        profile,
        served,
        dataDir,
        env.RIG_BADGE_WRITER,
        phone,
        radio,
      );
      rig.cursor = (await api.events(0)).lastSeq;
      return rig;
    } catch (err) {
      await served?.shutdown();
      radio?.close();
      await profile?.close();
      await chip.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw fail((err as Error).message);
    }
  }

  async presentBadge(value: string): Promise<void> {
    const before = await this.lastSeq();
    await this.sendBadge(value);
    // A badge is always decided and logged: wait for that, not for a guessed time.
    await this.reaction(before, (e) => e.type === 'access');
  }

  private async sendBadge(value: string): Promise<void> {
    if (!this.badgeWriter) {
      await this.api.sim.badge(value);
      return;
    }
    // A second port wired to the reader's RX: the bytes a badge reader would send.
    const writer = new BadgeSerialInput({ path: this.badgeWriter, format: 'isonas-ascii' });
    await writer.open();
    const port = writer.line.serialPort!;
    await new Promise<void>((resolve, reject) =>
      port.write(`${value}\r\n`, (err) => (err ? reject(err) : port.drain(() => resolve()))),
    );
    await writer.close();
  }

  async typeKeys(keys: string): Promise<void> {
    // The Pi profile's keypad is the host API's sim control (no keypad wiring in pi.json).
    await this.api.sim.keypad(keys);
  }

  async phoneUnlock(phone: DeviceKey): Promise<ResultMessage> {
    if (typeof this.phone === 'string') throw new Error(`RIG=pi: ${this.phone}`);
    return this.phone.unlock(phone);
  }

  async pressRex(): Promise<void> {
    const before = await this.lastSeq();
    await this.driveInput('rex', true);
    await this.wait(PRESS_MS);
    // Held until the reader logs the REX (as a person holds the button until the door clicks):
    // a short press on a busy machine can end before the debounced input has seen it.
    await this.reaction(before, (e) => e.type === 'door' && e.detail?.rex === true);
    await this.driveInput('rex', false);
    await this.wait(PRESS_MS);
  }

  async setDoor(open: boolean): Promise<void> {
    await this.driveInput('door', open);
    await this.wait(PRESS_MS);
    // The reader's door contact follows the wire once debounced.
    const want = open ? 'open' : 'closed';
    const deadline = Date.now() + REACTION_MS;
    while (Date.now() < deadline) {
      const { door } = (await this.api.status()) as { door: { position: string } };
      if ((door.position === 'closed') === (want === 'closed')) break;
      await pause(SAMPLE_MS);
    }
  }

  /**
   * Drives an input's wire to active (or idle) and waits (real time, up to REACTION_MS) until
   * the reader's monitor has reported the new level: the debounce then starts from the
   * reader's own sight of the edge, not from the rig's guess of how long the chip takes.
   */
  private async driveInput(input: 'rex' | 'door', active: boolean): Promise<void> {
    const activeLow = input === 'rex' ? this.config.rexActiveLow : this.config.doorActiveLow;
    const high = active !== activeLow;
    this.drive[input].set(high);
    await this.drive[input].settled();
    const deadline = Date.now() + REACTION_MS;
    while (this.profile.hardware.inputLevel(input) !== high && Date.now() < deadline) {
      await pause(SAMPLE_MS);
    }
  }

  private async lastSeq(): Promise<number> {
    return (await this.api.events(0, 1)).lastSeq;
  }

  /**
   * Waits (real time, up to REACTION_MS) until the reader logged an event after `before` that
   * `matches`, then until the outputs it drove have reached the chip. A reader that does not
   * react (a REX it is told to ignore) is left to the scenario's own checks.
   */
  private async reaction(before: number, matches: (e: EventRecord) => boolean): Promise<void> {
    const deadline = Date.now() + REACTION_MS;
    while (Date.now() < deadline) {
      const page = await this.api.events(before, 100);
      if (page.events.some(matches)) break;
      await pause(SAMPLE_MS);
    }
    await this.profile.hardware.settled();
  }

  private async sense(): Promise<{
    red: boolean;
    green: boolean;
    buzzer: boolean;
    relay: boolean;
  }> {
    const s = this.config.hil.sense;
    // Pulled down: a sense line whose wire came off reads "off", never floats.
    const [red, green, buzzer, relay] = await this.chip.read(
      [s.red, s.green, s.buzzer, s.relay].map((offset) => ({ offset, bias: 'pull-down' as const })),
    );
    return { red, green, buzzer, relay };
  }

  async led(): Promise<LedColour> {
    await this.outputsSettled();
    const { red, green } = await this.sense();
    return ledColour(red, green);
  }

  async ledDuring(ms: number): Promise<Set<LedColour>> {
    const seen = new Set<LedColour>();
    if (this.clock instanceof VirtualClock) {
      // Reader time stands still between steps: each reading is of a settled LED, and the
      // uneven steps cannot share a period with a blink.
      for (let i = 0, elapsed = 0; ; i++) {
        seen.add(await this.led());
        if (elapsed >= ms) break;
        const step = SAMPLE_GAPS_MS[i % SAMPLE_GAPS_MS.length]!;
        await this.wait(step);
        elapsed += step;
      }
      return seen;
    }
    const until = Date.now() + ms;
    // Uneven gaps: a read costs a process, and reads that took one blink period each would
    // see the same phase every time.
    for (let i = 0; ; i++) {
      const { red, green } = await this.sense();
      seen.add(ledColour(red, green));
      if (Date.now() >= until) break;
      await this.wait(SAMPLE_GAPS_MS[i % SAMPLE_GAPS_MS.length]!);
    }
    return seen;
  }

  async buzzer(): Promise<boolean> {
    await this.outputsSettled();
    return (await this.sense()).buzzer;
  }

  async relayEnergized(): Promise<boolean> {
    await this.outputsSettled();
    // The sense line sees the pin; an active-low board is energized while it is low.
    return (await this.sense()).relay !== this.config.relayActiveLow;
  }

  /** The reader's last output writes have reached the chip, and the wires have carried them. */
  private async outputsSettled(): Promise<void> {
    await this.profile.hardware.settled();
    await pause(OUTPUT_SETTLE_MS);
  }

  /** Reader time: the virtual clock moves (its timers fire), or real time passes. */
  async wait(ms: number): Promise<void> {
    if (this.clock instanceof VirtualClock) await this.clock.advanceAsync(ms);
    else await pause(ms);
  }

  async close(): Promise<void> {
    if (typeof this.phone !== 'string') await this.phone.close();
    await this.served.shutdown();
    this.radio?.close();
    await this.profile.close();
    await Promise.all([this.drive.rex.release(), this.drive.door.release()]);
    await this.chip.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Real time, whatever the reader's clock: the wires and the tools run on it. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** RIG_CLOCK: the reader's clock on this rig (see PiRig). */
export function rigClock(env: NodeJS.ProcessEnv): Clock {
  const name = env.RIG_CLOCK || 'system';
  if (name === 'system') return new SystemClock();
  if (name === 'virtual') return new VirtualClock();
  throw new Error(`RIG=pi: RIG_CLOCK must be system or virtual, got '${name}'`);
}

/** The six loopback wires, by what they carry. */
export function loopbacks(config: PiConfig): Array<{ name: string; from: number; to: number }> {
  const { lines, hil } = config;
  return [
    { name: 'LED red', from: lines.red, to: hil.sense.red },
    { name: 'LED green', from: lines.green, to: hil.sense.green },
    { name: 'buzzer', from: lines.buzzer, to: hil.sense.buzzer },
    { name: 'relay', from: lines.relay, to: hil.sense.relay },
    { name: 'REX', from: hil.drive.rex, to: lines.rex },
    { name: 'door contact', from: hil.drive.door, to: lines.door },
  ];
}

/** Drives each wire's source high then low and reads its far end; returns what failed. */
export async function checkWiring(chip: GpioChip, config: PiConfig): Promise<string[]> {
  const problems: string[] = [];
  const reader = new Set(Object.values(config.lines));
  for (const [name, offset] of [
    ...Object.entries(config.hil.sense).map(([k, v]) => [`hil.sense.${k}`, v] as const),
    ...Object.entries(config.hil.drive).map(([k, v]) => [`hil.drive.${k}`, v] as const),
  ]) {
    if (reader.has(offset)) problems.push(`${name} GPIO${offset} is also a reader line`);
  }
  if (problems.length) return problems;
  for (const wire of loopbacks(config)) {
    const label = `${wire.name} GPIO${wire.from} -> GPIO${wire.to}`;
    let out: GpioOutput | undefined;
    try {
      out = await chip.output({ offset: wire.from }, true);
      const high = await settlesTo(chip, wire.to, true);
      out.set(false);
      await out.settled();
      const low = await settlesTo(chip, wire.to, false);
      if (!high || !low) {
        const seen = !high ? 'stays low while driven high' : 'stays high while driven low';
        problems.push(`${label}: GPIO${wire.to} ${seen} (wire missing or on another pin)`);
      }
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
    } finally {
      await out?.release().catch(() => undefined);
    }
  }
  return problems;
}

/** A wire follows at once; the retries only cover the tools starting up. Pulled down, so a
 * missing wire reads low rather than floating. */
async function settlesTo(chip: GpioChip, offset: number, want: boolean): Promise<boolean> {
  const until = Date.now() + 1000;
  for (;;) {
    const [level] = await chip.read([{ offset, bias: 'pull-down' }]);
    if (level === want) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
