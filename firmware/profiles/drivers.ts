import { Board } from '../board';
import { boot, type BootOptions } from '../boot';
import type { RunningReader } from '../running-reader';

/**
 * What a profile picks for one reader: the clock, the flash, the LED/buzzer and relay drivers,
 * the badge inputs (boot's options), and what it wires to each booted firmware (REX, door
 * contact). Profiles (sim.ts, pi.ts, test.ts) are the only places that choose them.
 */
export interface ReaderDrivers extends BootOptions {
  /** Wires inputs to each booted reader (contacts to its door); returns the unwire. */
  wire?: (reader: RunningReader) => () => void;
}

export interface BoardHooks {
  /** Awaited before every boot after the first (a test holds the board in 'booting'). */
  beforeReboot?: () => Promise<void>;
  /**
   * Awaited after every boot, before onBoot: the reader is neither running nor seen until it
   * resolves (a fleet makes the boot's writes durable here). A rejection fails the boot.
   */
  settle?: (reader: RunningReader) => Promise<void>;
  /** After every boot, beside the drivers' own wiring; what it returns undoes it at power-off. */
  onBoot?: (reader: RunningReader, board: Board) => (() => void) | void;
  onBootError?: (error: unknown) => void;
}

/** A board with these drivers, powered on: the firmware boots from its flash at every cycle. */
export function powerOnBoard(drivers: ReaderDrivers, hooks: BoardHooks = {}): Promise<Board> {
  const { wire, store, ...bootOptions } = drivers;
  let booted = false;
  return Board.powerOn({
    flash: store.device,
    boot: async () => {
      if (booted) await hooks.beforeReboot?.();
      booted = true;
      const reader = boot({ ...bootOptions, store });
      if (!hooks.settle) return reader;
      try {
        await hooks.settle(reader);
      } catch (err) {
        await reader.shutdown().catch(() => undefined);
        throw err;
      }
      return reader;
    },
    onBoot: (reader, board) => {
      const undo = [wire?.(reader), hooks.onBoot?.(reader, board)];
      return () => undo.forEach((u) => u?.());
    },
    onBootError: hooks.onBootError,
  });
}
