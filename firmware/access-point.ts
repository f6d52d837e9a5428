import { EventEmitter } from 'node:events';
import type { IndicatorEngine, Situation } from '../led';
import { Holiday, Schedule } from './foundation/model';
import { Clock, ClockChange } from './foundation/clock';
import type { DoorController } from './door';
import { isScheduleOpen, scheduleProblem } from './schedule';
import { ScheduleEdges } from './schedule-edges';

/** What the host may command, as the management API names the access-point states. */
export const ACCESS_POINT_COMMANDS = ['schedule', 'unlock', 'lockdown', 'admit'] as const;
export type AccessPointCommand = (typeof ACCESS_POINT_COMMANDS)[number];
/** The states that last (admit is one momentary unlock, then the previous state again). */
export type AccessPointState = Exclude<AccessPointCommand, 'admit'>;

/** The unlock schedule of this access point, read fresh from the database each time. */
export type UnlockScheduleSource = () => { schedule?: Schedule; holidays: readonly Holiday[] };

export interface AccessPointStatus {
  state: AccessPointState;
  scheduleOpen: boolean;
  enroll: boolean;
}

/**
 * The door's standing mode. State table (what the door and the permanent LED show):
 *
 *   state     schedule window   door                          permanent LED
 *   schedule  closed            locked (held unlocked off)    idle (red)
 *   schedule  open              held unlocked                 unlocked (green)
 *   unlock    -                 held unlocked                 unlocked (green)
 *   lockdown  -                 lockdown (relocks now)        lockdown (red fast blink)
 *   admit     -                 one momentary unlock, then the previous state
 * Enroll mode shows over any of them (the door is unaffected).
 *
 * The window state is recomputed from the windows at start, at every edge, after a clock
 * 'change' (host time sync, DST tests) and when the database changes (refresh()).
 * Events: 'state' (AccessPointStatus) whenever what it shows changes.
 */
export class AccessPointController extends EventEmitter {
  private lasting: AccessPointState = 'schedule';
  private open = false;
  private enroll = false;
  private started = false;
  private readonly onClockChange = (_change: ClockChange) => this.refresh();

  constructor(
    private readonly clock: Clock,
    private readonly door: Pick<
      DoorController,
      'setHeldUnlocked' | 'setLockdown' | 'momentaryUnlock'
    >,
    private readonly indicator: Pick<IndicatorEngine, 'setPermanent'>,
    private readonly unlockSchedule: UnlockScheduleSource,
    private readonly edges: ScheduleEdges,
  ) {
    super();
  }

  start(initial: AccessPointState): void {
    this.lasting = initial;
    this.started = true;
    this.clock.on('change', this.onClockChange);
    this.refresh();
  }

  stop(): void {
    this.started = false;
    this.clock.off('change', this.onClockChange);
    this.edges.disarm();
  }

  /** Host command or config change. Throws on an unknown state and changes nothing. */
  setState(state: AccessPointCommand): void {
    if (!(ACCESS_POINT_COMMANDS as readonly string[]).includes(state)) {
      throw new RangeError(
        `access point state must be one of ${ACCESS_POINT_COMMANDS.join(', ')}, got ${String(state)}`,
      );
    }
    if (state === 'admit') {
      // Admit never overrides lockdown: the door stays shut and says so.
      if (this.lasting !== 'lockdown') this.door.momentaryUnlock();
      return;
    }
    this.lasting = state;
    this.apply();
  }

  setEnrollMode(on: boolean): void {
    this.enroll = on;
    this.apply();
  }

  isLockdown(): boolean {
    return this.lasting === 'lockdown';
  }

  status(): AccessPointStatus {
    return { state: this.lasting, scheduleOpen: this.open, enroll: this.enroll };
  }

  /** Recomputes the window state from the windows now and re-arms the next edge. */
  refresh(): void {
    if (!this.started) return;
    const { schedule, holidays } = this.unlockSchedule();
    const usable = schedule && !scheduleProblem(schedule) ? schedule : undefined;
    this.open = usable ? isScheduleOpen(usable, holidays, this.clock.now()) : false;
    if (usable) this.edges.arm(usable, holidays, () => this.refresh());
    else this.edges.disarm();
    this.apply();
  }

  private apply(): void {
    const held = this.lasting === 'unlock' || (this.lasting === 'schedule' && this.open);
    this.door.setLockdown(this.lasting === 'lockdown');
    this.door.setHeldUnlocked(held && this.lasting !== 'lockdown');
    let situation: Situation =
      this.lasting === 'lockdown' ? 'lockdown' : held ? 'unlocked' : 'idle';
    if (this.enroll) situation = 'enroll';
    this.indicator.setPermanent(situation);
    this.emit('state', this.status());
  }
}
