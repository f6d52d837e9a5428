import { EventEmitter } from 'node:events';
import type { FlashDevice, TornWriteModel } from '../storage';
import { Enrollments, type EnrollmentState } from './enrollments';
import { ReaderError } from './foundation/errors';
import type { RawData } from './foundation/model';
import { parsePresentation } from './foundation/presentation';
import type { RawDataCapture } from './reader';
import type { RunningReader } from './running-reader';

export type BoardState = 'booting' | 'running' | 'failed';

export interface BoardOptions {
  /**
   * Boots the firmware from the flash image with the drivers the profile picked: opens the
   * store on the same device or data directory, builds the reader, starts its inputs. Called
   * at power-on and after every cycle.
   */
  boot(): RunningReader | Promise<RunningReader>;
  /**
   * After every boot: what the profile wires to the new firmware (the BLE radio, contacts, a
   * console panel). What it returns is called when that firmware powers off.
   */
  onBoot?: (reader: RunningReader, board: Board) => (() => void) | void;
  /** The flash part, so a brown-out can be placed inside a write (sim/test boards). */
  flash?: FlashDevice;
  /** Where a failed boot is reported (the board then stays down until the next cycle). */
  onBootError?: (error: unknown) => void;
}

/** A board operation that needs running firmware, asked while there is none. */
export class BoardDownError extends ReaderError {
  override readonly name = 'BoardDownError';
  readonly code = 'booting';
}

/** What this board cannot do (cut power inside a flash write without a simulated flash part). */
export class NotSupportedError extends ReaderError {
  override readonly name = 'NotSupportedError';
  readonly code = 'not_supported';
}

/** A Raw Data capture asked for while the reader is not in enroll mode. */
export class NotInEnrollModeError extends ReaderError {
  override readonly name = 'NotInEnrollModeError';
  readonly code = 'not_in_enroll_mode';
}

/**
 * The reader's board: it outlives the firmware. It holds the power (a cycle drops the running
 * firmware without any flush, so only what is durable survives, and boots again from the same
 * flash image), the inputs a person touches (badge, keypad, REX, door, tamper, a phone's Raw
 * Data), and the host's enrollments, whose ids stay valid across power cycles. The host API
 * holds the board, so it keeps answering through a cycle (503 booting in between).
 */
export class Board {
  private running: RunningReader | undefined;
  private unwire: (() => void) | undefined;
  private cycling: Promise<void> | undefined;
  private current: BoardState = 'booting';
  private bootError: string | undefined;
  private readonly power = new EventEmitter();
  private readonly enrollments = new Enrollments();
  /** Takes the pending brown-out's observer off the flash part. */
  private disarm: (() => void) | undefined;

  private constructor(private readonly options: BoardOptions) {}

  /** Powers the board on: resolves once the firmware runs (or failed to boot). */
  static async powerOn(options: BoardOptions): Promise<Board> {
    const board = new Board(options);
    await board.boot();
    return board;
  }

  /** The running firmware, or undefined while it boots (or failed to). */
  reader(): RunningReader | undefined {
    return this.running;
  }

  state(): { state: BoardState; error?: string } {
    return this.bootError
      ? { state: this.current, error: this.bootError }
      : { state: this.current };
  }

  /** Called with 'off' when the firmware goes away and 'on' once it runs again. */
  watchPower(listener: (state: 'off' | 'on') => void): () => void {
    this.power.on('power', listener);
    return () => this.power.off('power', listener);
  }

  /** Cuts power and boots again from the same flash image; resolves once booted. */
  powerCycle(): Promise<void> {
    // Two cycles asked for at once are one cycle.
    this.cycling ??= this.cycle().finally(() => {
      this.cycling = undefined;
    });
    return this.cycling;
  }

  /** Power off for good (process exit). */
  async shutdown(): Promise<void> {
    await this.cycling;
    await this.powerOff();
  }

  /** True when a brown-out can be placed inside a flash write (a simulated flash part). */
  get canCutPower(): boolean {
    return this.options.flash !== undefined;
  }

  /**
   * Arms a brown-out: power drops during the given flash operation from now (1 = the next
   * program or erase), leaving what `model` says a torn write leaves, and the board then
   * boots again by itself.
   */
  armPowerCut(afterFlashOps: number, model: TornWriteModel = 'prefix'): void {
    const flash = this.options.flash;
    if (!flash) throw new NotSupportedError('this board cannot cut power inside a flash write');
    this.disarm?.();
    const at = flash.stats.operations + afterFlashOps - 1;
    flash.armPowerCut({ at, model });
    const previous = flash.onOperation;
    this.disarm = () => {
      flash.onOperation = previous;
      this.disarm = undefined;
    };
    flash.onOperation = (op) => {
      previous?.(op);
      if (op.index !== at) return;
      this.disarm?.();
      // The write in progress fails with PowerLossError; reboot once its caller has unwound
      // (only if the cut really happened: a test may have disarmed the part meanwhile).
      setImmediate(() => {
        if (!flash.powered) void this.powerCycle();
      });
    };
  }

  /** The host's enrollments: enroll mode on the running reader, outcomes kept by id. */
  readonly enrollment = {
    /** timeoutMs: how long enroll mode lasts (default: config enrollTimeoutMs). */
    start: (userId: string, timeoutMs?: number): EnrollmentState => {
      const reader = this.need();
      const length = timeoutMs ?? reader.config.get().enrollTimeoutMs;
      reader.reader.enroll(userId, length);
      return this.enrollments.start(userId, reader.clock.now() + length);
    },
    get: (id: string): EnrollmentState | undefined => this.enrollments.get(id),
  };

  /** The inputs a person at the reader touches; each takes the path its hardware would. */
  readonly touch = {
    badge: (value: string): void => {
      const reader = this.need();
      const format = value.startsWith('hex:') ? 'rdm6300' : 'isonas-ascii';
      reader.badge({ value, format, at: reader.clock.now() });
    },
    keypad: (keys: string): void => this.need().keypad.type(keys),
    rex: (): void => this.need().door.rex(),
    door: (open: boolean): void => this.need().door.doorContact(open),
    tamper: (active: boolean): void => this.need().door.tamper(active),
    /** What a phone sends in enroll mode, without a radio. */
    enrollCapture: (rawData: RawData): void => {
      const reader = this.need();
      if (reader.reader.enrolling === undefined) {
        throw new NotInEnrollModeError('the reader is not in enroll mode');
      }
      // A malformed capture is decided bad_request and logged like any other presentation.
      void reader.reader
        .present(
          parsePresentation({
            kind: 'mobile',
            value: rawData.deviceId,
            publicKey: rawData.publicKey,
            source: 'sim',
            accessPointId: reader.config.get().accessPointId,
            at: reader.clock.now(),
          }),
        )
        .catch(() => undefined);
    },
  };

  private need(): RunningReader {
    if (!this.running) throw new BoardDownError('the reader is booting');
    return this.running;
  }

  private async cycle(): Promise<void> {
    this.current = 'booting';
    await this.powerOff();
    await this.boot();
  }

  private async powerOff(): Promise<void> {
    const old = this.running;
    this.running = undefined;
    if (!old) return;
    this.unwire?.();
    this.unwire = undefined;
    this.power.emit('power', 'off');
    // Enroll mode does not survive a power cut; an enrollment it held reads as cancelled.
    this.enrollments.cancelPending();
    await old.shutdown().catch(() => undefined);
  }

  private async boot(): Promise<void> {
    const { flash } = this.options;
    if (flash && !flash.powered) flash.powerOn();
    try {
      const reader = await this.options.boot();
      const unwire = [this.followEnrollments(reader), this.options.onBoot?.(reader, this)];
      this.unwire = () => unwire.forEach((undo) => undo?.());
      this.running = reader;
      this.current = 'running';
      this.bootError = undefined;
      this.power.emit('power', 'on');
    } catch (err) {
      this.current = 'failed';
      this.bootError = err instanceof Error ? err.message : String(err);
      this.options.onBootError?.(err);
    }
  }

  /** The running reader's captures and enroll-mode ends settle the host's enrollments. */
  private followEnrollments(running: RunningReader): () => void {
    const { reader, clock } = running;
    const onRawData = (raw: RawDataCapture) =>
      this.enrollments.captured(
        raw.userId,
        { deviceId: raw.deviceId, publicKey: raw.publicKey ?? '' },
        raw.at,
      );
    const onEnroll = ({ active }: { userId: string; active: boolean }) => {
      if (active) return;
      // The reader ends enroll mode just before it reports a capture: decide once it has.
      const id = this.enrollments.pending()?.id;
      const at = clock.now();
      if (id) queueMicrotask(() => this.enrollments.ended(id, at));
    };
    reader.on('raw-data', onRawData);
    reader.on('enroll', onEnroll);
    return () => {
      reader.off('raw-data', onRawData);
      reader.off('enroll', onEnroll);
    };
  }
}
