import type { RelayDriver } from './door';
import type { Clock } from './foundation/clock';
import type { ReaderLog } from './foundation/log';

/** One write to the relay coil, with the reader's clock time. */
export interface RelayWrite {
  at: number;
  energized: boolean;
}

/** The sim profile's relay: each coil write is a log line (there is no coil to drive). */
export class ConsoleRelayDriver implements RelayDriver {
  constructor(private readonly log: ReaderLog) {}

  set(energized: boolean): void {
    this.log.info({ relay: energized ? 'energized' : 'released' }, 'relay');
  }
}

/** The test profile's relay: every coil write with its clock time, for exact assertions. */
export class RecordingRelayDriver implements RelayDriver {
  private readonly log: RelayWrite[] = [];

  /** onWrite: sees each write as it happens (a rig that samples the store at that instant). */
  constructor(
    private readonly clock: Clock,
    private readonly onWrite?: (write: RelayWrite) => void,
  ) {}

  set(energized: boolean): void {
    const write = { at: this.clock.now(), energized };
    this.log.push(write);
    this.onWrite?.({ ...write });
  }

  writes(): RelayWrite[] {
    return this.log.map((write) => ({ ...write }));
  }

  /** The coil's current level (undefined before the first write). */
  get energized(): boolean | undefined {
    return this.log.at(-1)?.energized;
  }

  /** Forgets the writes so far (a rig that starts its timeline after boot). */
  clear(): void {
    this.log.length = 0;
  }
}

/** One coil command to several drivers (the Pi's GPIO coil and the console log line). */
export class RelayFanout implements RelayDriver {
  private readonly drivers: RelayDriver[];

  constructor(...drivers: RelayDriver[]) {
    this.drivers = drivers;
  }

  set(energized: boolean): void {
    for (const driver of this.drivers) driver.set(energized);
  }
}
