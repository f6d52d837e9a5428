import cron, { ScheduledTask } from 'node-cron';
import { Holiday, Schedule } from './foundation/model';
import { Clock, Timer } from './foundation/clock';
import { EDGE_HORIZON_MS, nextScheduleEdge, parseHhmm } from './schedule';

/**
 * Wakes the access point at a schedule's window edges. The state itself is always
 * recomputed from the windows (isScheduleOpen) when woken; these only decide *when*.
 *
 * Two drivers, picked by the composition root:
 * - CronEdges: node-cron jobs at every window boundary in the schedule's time zone, plus an
 *   hourly tick that catches DST gaps (a 02:30 job on a spring-forward day never fires).
 *   They follow the system's wall clock, which survives suspend and NTP steps.
 * - ClockEdges: computes the next edge in the reader's time and sets one clock.setTimeout
 *   for it. Alone on a VirtualClock (tests, benchmarks) a simulated day is deterministic and
 *   runs in milliseconds; beside CronEdges on the SystemClock it keeps edges exact when a
 *   host time sync has moved the reader's clock away from the system's.
 */
export interface ScheduleEdges {
  arm(schedule: Schedule, holidays: readonly Holiday[], onEdge: () => void): void;
  disarm(): void;
}

export class ClockEdges implements ScheduleEdges {
  private timer: Timer | undefined;

  constructor(private readonly clock: Clock) {}

  arm(schedule: Schedule, holidays: readonly Holiday[], onEdge: () => void): void {
    this.disarm();
    const now = this.clock.now();
    const edge = nextScheduleEdge(schedule, holidays, now);
    // No edge within the horizon: wake at the horizon and look again.
    const delay = edge === undefined ? EDGE_HORIZON_MS : edge - now;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      onEdge();
    }, delay);
  }

  disarm(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class CronEdges implements ScheduleEdges {
  private tasks: ScheduledTask[] = [];
  private armedKey = '';
  private onEdge: () => void = () => {};

  arm(schedule: Schedule, _holidays: readonly Holiday[], onEdge: () => void): void {
    this.onEdge = onEdge;
    const minutes = new Set<number>([0]);
    for (const w of [...schedule.windows, ...(schedule.holidayWindows ?? [])]) {
      for (const hhmm of [w.start, w.end]) {
        const m = parseHhmm(hhmm);
        if (!Number.isNaN(m)) minutes.add(m % (24 * 60));
      }
    }
    const expressions = new Set<string>(['0 * * * *']);
    for (const m of minutes) expressions.add(`${m % 60} ${Math.floor(m / 60)} * * *`);
    // Every tick re-arms (refresh); keep the jobs when nothing changed rather than
    // destroying the job that is running this very tick.
    const key = `${schedule.id}|${schedule.timeZone}|${[...expressions].sort().join(',')}`;
    if (key === this.armedKey) return;
    this.disarm();
    this.armedKey = key;
    for (const expression of expressions) {
      this.tasks.push(
        cron.schedule(expression, () => this.onEdge(), {
          timezone: schedule.timeZone,
          name: `schedule ${schedule.id} ${expression}`,
          noOverlap: true,
        }),
      );
    }
  }

  disarm(): void {
    for (const task of this.tasks) void task.destroy();
    this.tasks = [];
    this.armedKey = '';
  }
}

/** Several drivers at once. A wake only makes the access point recompute its state from the
 * windows, so two drivers waking for the same edge change nothing twice. */
export class EdgeSet implements ScheduleEdges {
  constructor(private readonly drivers: readonly ScheduleEdges[]) {}

  arm(schedule: Schedule, holidays: readonly Holiday[], onEdge: () => void): void {
    for (const driver of this.drivers) driver.arm(schedule, holidays, onEdge);
  }

  disarm(): void {
    for (const driver of this.drivers) driver.disarm();
  }
}
