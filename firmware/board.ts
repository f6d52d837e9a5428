import { EventEmitter } from 'node:events';
import type { FlashDevice } from '../storage';
import type { TornWriteModel } from '../storage/power-cut';
import type { FirmwareHandle, ReaderDevice } from './api/firmware';

export type BoardState = 'booting' | 'running' | 'failed';

export interface BoardOptions {
  /**
   * Boots the firmware from the flash image: opens the store on the same device or data
   * directory, builds the reader, starts its inputs. Called at power-on and after every cycle.
   */
  boot(): Promise<FirmwareHandle>;
  /** The flash part, so a brown-out can be placed inside a write (sim/test boards). */
  flash?: FlashDevice;
  /** Where a failed boot is reported (the board then stays down until the next cycle). */
  onBootError?: (error: unknown) => void;
}

/**
 * The reader's board: it outlives the firmware. A power cycle drops the running firmware
 * (timers stopped, flash let go without any flush: only what is durable survives), brings
 * the flash back, and boots again from the same image. The host API holds the board, so it
 * keeps answering through a cycle (503 booting in between).
 */
export class Board implements ReaderDevice {
  private running: FirmwareHandle | undefined;
  private cycling: Promise<void> | undefined;
  private current: BoardState = 'booting';
  private bootError: string | undefined;
  private readonly power = new EventEmitter();
  /** Takes the pending brown-out's observer off the flash part. */
  private disarm: (() => void) | undefined;

  private constructor(private readonly options: BoardOptions) {}

  /** Powers the board on: resolves once the firmware runs (or failed to boot). */
  static async powerOn(options: BoardOptions): Promise<Board> {
    const board = new Board(options);
    await board.boot();
    return board;
  }

  firmware(): FirmwareHandle | undefined {
    return this.running;
  }

  state(): { state: BoardState; error?: string } {
    return this.bootError
      ? { state: this.current, error: this.bootError }
      : { state: this.current };
  }

  watchPower(listener: (state: 'off' | 'on') => void): () => void {
    this.power.on('power', listener);
    return () => this.power.off('power', listener);
  }

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
    const old = this.running;
    this.running = undefined;
    if (old) {
      this.power.emit('power', 'off');
      await old.shutdown().catch(() => undefined);
    }
  }

  armPowerCut(afterFlashOps: number, model: TornWriteModel = 'prefix'): void {
    const flash = this.options.flash;
    if (!flash) throw new Error('this board has no flash part to cut power in');
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

  private async cycle(): Promise<void> {
    const old = this.running;
    this.running = undefined;
    this.current = 'booting';
    this.power.emit('power', 'off');
    if (old) await old.shutdown().catch(() => undefined);
    await this.boot();
  }

  private async boot(): Promise<void> {
    const { flash } = this.options;
    if (flash && !flash.powered) flash.powerOn();
    try {
      this.running = await this.options.boot();
      this.current = 'running';
      this.bootError = undefined;
      this.power.emit('power', 'on');
    } catch (err) {
      this.current = 'failed';
      this.bootError = err instanceof Error ? err.message : String(err);
      this.options.onBootError?.(err);
    }
  }
}
