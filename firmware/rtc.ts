import fs from 'node:fs';
import path from 'node:path';
import { SystemClock } from './foundation/clock';

/**
 * The board's real-time clock: a battery keeps it counting while the reader is off, so a
 * time set by the host survives power cycles and restarts. The simulator keeps what such a
 * chip keeps, the clock's offset from the host's time, in DATA/rtc.json (not in the flash
 * image: the RTC is a part of its own). Written atomically at every set, mode 0600.
 */
export const RTC_FILE = 'rtc.json';

/** Offsets beyond a century either way are a damaged file, not a clock. */
const MAX_OFFSET_MS = 100 * 365.25 * 24 * 3600 * 1000;

export interface BatteryBackedClock {
  clock: SystemClock;
  /** Why the stored offset was not used (a damaged file), for the log; undefined when it was. */
  problem?: string;
}

/** The system clock with the offset the data directory's RTC holds; every set is kept there. */
export function batteryBackedClock(dataDir: string): BatteryBackedClock {
  const file = path.join(dataDir, RTC_FILE);
  let offset = 0;
  let problem: string | undefined;
  try {
    const stored = (JSON.parse(fs.readFileSync(file, 'utf8')) as { offsetMs?: unknown }).offsetMs;
    if (
      typeof stored !== 'number' ||
      !Number.isInteger(stored) ||
      Math.abs(stored) > MAX_OFFSET_MS
    ) {
      problem = `${file} holds no usable offsetMs; the clock starts from the host's time`;
    } else offset = stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      problem = `${file} cannot be read (${(err as Error).message}); the clock starts from the host's time`;
    }
  }
  const clock = new SystemClock(offset);
  clock.on('change', () => {
    const tmp = `${file}.new`;
    fs.writeFileSync(tmp, `${JSON.stringify({ offsetMs: clock.offset() })}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
  });
  return { clock, problem };
}
