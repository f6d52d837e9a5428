import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAir, type Air } from '../../ble/controller';
import type { DeviceKey } from '../../ble/device-key';
import { startPhoneRadio } from '../../ble/phone-radio';
import type { ResultMessage } from '../../ble/protocol';
import { startReaderRadio, type ReaderRadio } from '../../ble/reader-radio';
import { HostClient } from '../api/client';
import { VirtualClock } from '../foundation/clock';
import { BadgeSerialInput, connectContacts, ContactInput } from '../inputs';
import { DEFAULT_PI_CONFIG } from '../pi';
import { radioPort } from '../profiles/radio';
import { serveReader, type ServedReader } from '../profiles/serve';
import { testDrivers } from '../profiles/test';
import { RecordingRelayDriver } from '../relay-drivers';
import { TwoLedIndicatorDriver, type IndicatorLine } from '../../led';
import { ledColour, type LedColour, type Rig } from './rig';

/** Reader time a contact is held past its debounce. */
const PRESS_MS = 100;
/** Sampling step of ledDuring (the shortest LED phase is 100 ms). */
const SAMPLE_MS = 20;
/** Real-time budget of one phone presentation on the `fast` air (it takes milliseconds). */
const PHONE_TIMEOUT_MS = 5000;

/**
 * The sim rig: the real firmware on the test profile (flash on an in-memory part, virtual
 * clock) and the real host API on an ephemeral port. The rig's hands and eyes sit where the Pi's wires would: bytes into
 * the serial badge parser, raw levels into debounced contact inputs with the Pi's default
 * polarity, and the LED / buzzer / relay read as line levels. Its BLE is what `reader-sim start`
 * runs: the GATT service on @stoprocent/bleno over a virtual controller on a `fast` virtual air,
 * attached to every boot; a phone is @stoprocent/noble on its own controller on that air.
 */
export class SimRig implements Rig {
  readonly name = 'sim' as const;
  readonly eventTimeoutMs = 5000;
  cursor = 0;

  private constructor(
    readonly api: HostClient,
    /** The reader's virtual clock: `wait()` moves it; `set()` jumps the wall clock. */
    readonly clock: VirtualClock,
    /** The board and its firmware, for what a rig's wires cannot reach (power cuts). */
    readonly served: ServedReader,
    private readonly dataDir: string,
    private readonly badge: BadgeSerialInput,
    private readonly contacts: { rex: ContactInput; door: ContactInput },
    /** The levels the reader's output drivers last wrote. */
    private readonly lines: Map<IndicatorLine | 'relay', boolean>,
    private readonly air: Air,
    private readonly radio: ReaderRadio,
  ) {}

  static async open(): Promise<SimRig> {
    const clock = new VirtualClock();
    const cfg = DEFAULT_PI_CONFIG;
    const contacts = {
      rex: new ContactInput(clock, { debounceMs: cfg.debounceMs, activeLow: cfg.rexActiveLow }),
      door: new ContactInput(clock, { debounceMs: cfg.debounceMs, activeLow: cfg.doorActiveLow }),
    };
    // A serial badge input whose wire is receive(): the same parser as a real port.
    const badge = new BadgeSerialInput({ path: '/dev/hil-sim', format: 'isonas-ascii', clock });
    const lines = new Map<IndicatorLine | 'relay', boolean>();
    // The radio outlives power cycles, as in `reader-sim start`: each boot attaches to it.
    const air = createAir({ timing: 'fast' });
    const radio = await startReaderRadio({ air });
    // Every boot (power cycles too) gets the same outputs and inputs, as a board would.
    const drivers = testDrivers({
      clock,
      flash: { sectorCount: 256 },
      indicatorDrivers: [
        new TwoLedIndicatorDriver({ write: (line, on) => void lines.set(line, on) }),
      ],
      relay: new RecordingRelayDriver(clock, (w) => void lines.set('relay', w.energized)),
      badgeInputs: [badge],
      wire: (reader) => connectContacts(reader.door, contacts),
    });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-sim-'));
    const served = await serveReader({ drivers, dataDir, apiPort: 0, radio: radioPort(radio) });
    const api = new HostClient(served.api.url, served.token);
    const rig = new SimRig(api, clock, served, dataDir, badge, contacts, lines, air, radio);
    // Idle levels on the inputs: REX released, door closed.
    contacts.rex.level(cfg.rexActiveLow);
    contacts.door.level(cfg.doorActiveLow);
    await clock.advanceAsync(PRESS_MS);
    rig.cursor = (await api.events(0)).lastSeq;
    return rig;
  }

  async presentBadge(value: string): Promise<void> {
    this.badge.receive(Buffer.from(`${value}\r\n`, 'ascii'));
  }

  async typeKeys(keys: string): Promise<void> {
    this.served.board.touch.keypad(keys);
    await this.wait(0);
  }

  async phoneUnlock(phone: DeviceKey): Promise<ResultMessage> {
    // The phone signs with the reader's clock (the reader checks the presentation's ts); the
    // virtual clock stands still while the stacks talk, so the door's timing stays exact.
    const radio = startPhoneRadio({ air: this.air, key: phone, distance: 1, clock: this.clock });
    try {
      return await radio.phone.unlock({ timeoutMs: PHONE_TIMEOUT_MS });
    } finally {
      radio.close();
    }
  }

  async pressRex(): Promise<void> {
    const activeLow = DEFAULT_PI_CONFIG.rexActiveLow;
    this.contacts.rex.level(!activeLow);
    await this.wait(PRESS_MS);
    this.contacts.rex.level(activeLow);
    await this.wait(PRESS_MS);
  }

  async setDoor(open: boolean): Promise<void> {
    this.contacts.door.level(open !== DEFAULT_PI_CONFIG.doorActiveLow);
    await this.wait(PRESS_MS);
  }

  async led(): Promise<LedColour> {
    return ledColour(this.lines.get('red') === true, this.lines.get('green') === true);
  }

  async ledDuring(ms: number): Promise<Set<LedColour>> {
    const seen = new Set<LedColour>([await this.led()]);
    for (let t = 0; t < ms; t += SAMPLE_MS) {
      await this.wait(SAMPLE_MS);
      seen.add(await this.led());
    }
    return seen;
  }

  async buzzer(): Promise<boolean> {
    return this.lines.get('buzzer') === true;
  }

  async relayEnergized(): Promise<boolean> {
    return this.lines.get('relay') === true;
  }

  async wait(ms: number): Promise<void> {
    await this.clock.advanceAsync(ms);
  }

  async close(): Promise<void> {
    await this.served.shutdown();
    this.radio.close();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
