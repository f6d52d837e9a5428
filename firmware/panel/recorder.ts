import { EventEmitter } from 'node:events';
import type { Clock } from '../foundation/clock';
import type { Board } from '../board';
import type { RunningReader } from '../running-reader';
import {
  applyChange,
  decisionOf,
  type TimelineDecision,
  type TimelineRecording,
} from './timeline/recording';
import type { EventRecord } from '../foundation/model';
import type { OutputChange, OutputSnapshot } from '../output-changes';

/** Output changes kept in memory: a 100 ms lockdown blink fills this in about 40 minutes. */
export const DEFAULT_RECORDER_CAPACITY = 50_000;

/**
 * Records the reader's outputs (LED, buzzer, relay, door) and decisions as they happen, for
 * the front panel's live view and for timelines. It lives beside the API server on the
 * board, so it follows the firmware across power cycles. Memory is bounded: the oldest
 * changes fold into the base snapshot.
 *
 * Events: 'output' (OutputChange), 'event' (EventRecord, every appended event),
 *         'power' ('off' | 'on').
 */
export class OutputRecorder extends EventEmitter {
  private base: OutputSnapshot | undefined;
  private baseAt = 0;
  private current: OutputSnapshot | undefined;
  private changes: OutputChange[] = [];
  private decisions: TimelineDecision[] = [];
  private detach: () => void = () => {};
  private readonly stopPower: () => void;

  constructor(
    private readonly board: Board,
    private readonly clock: Clock,
    private readonly capacity = DEFAULT_RECORDER_CAPACITY,
  ) {
    super();
    const reader = board.reader();
    if (reader) this.attach(reader);
    this.stopPower = board.watchPower((state) => {
      this.detach();
      this.detach = () => {};
      if (state === 'on') {
        const next = this.board.reader();
        if (next) this.attach(next);
      }
      this.emit('power', state);
    });
  }

  /** The outputs as last seen (undefined before the first boot). */
  snapshot(): OutputSnapshot | undefined {
    return this.current;
  }

  /**
   * The recording of [since, until] (defaults: the oldest kept moment, now): `initial` is the
   * state just before `from`, `changes` those at or after it. `since` before the oldest kept
   * moment is clamped to it.
   */
  recording(since?: number, until?: number): TimelineRecording | undefined {
    if (!this.base || !this.current) return undefined;
    const to = until ?? this.clock.now();
    const from = Math.min(Math.max(since ?? this.baseAt, this.baseAt), to);
    let initial = this.base;
    const changes: OutputChange[] = [];
    for (const change of this.changes) {
      if (change.at < from) initial = applyChange(initial, change);
      else if (change.at <= to) changes.push(change);
    }
    const decisions = this.decisions.filter((d) => d.at >= from && d.at <= to);
    return { from, to, initial, changes, decisions };
  }

  stop(): void {
    this.detach();
    this.stopPower();
    this.removeAllListeners();
  }

  private attach(reader: RunningReader): void {
    const s = reader.status();
    const now = this.clock.now();
    const snapshot: OutputSnapshot = {
      led: {
        color: s.led.color as OutputSnapshot['led']['color'],
        buzzer: s.led.buzzer,
        ...(s.led.situation ? { situation: s.led.situation as never } : {}),
      },
      relay: s.relay,
      door: {
        position: s.door.position as OutputSnapshot['door']['position'],
        tamper: s.door.tamper,
      },
    };
    if (!this.base) {
      this.base = snapshot;
      this.baseAt = now;
      this.current = snapshot;
    } else {
      // After a power cycle: whatever the new boot shows starts here.
      this.record({ kind: 'led', at: now, ...snapshot.led });
      this.record({ kind: 'relay', at: now, relay: snapshot.relay });
      this.record({ kind: 'door', at: now, ...snapshot.door });
    }
    const stopOutputs = reader.watchOutputs((change) => this.record(change));
    const stopEvents = reader.watchEvents((e) => this.onEvent(e));
    this.detach = () => {
      stopOutputs();
      stopEvents();
    };
  }

  private record(change: OutputChange): void {
    this.current = applyChange(this.current!, change);
    this.changes.push(change);
    if (this.changes.length > this.capacity) {
      // Fold whole instants only: the base is then exactly the state just before baseAt.
      let cut = this.changes.length - this.capacity;
      const lastAt = this.changes[cut - 1]!.at;
      while (cut < this.changes.length && this.changes[cut]!.at === lastAt) cut++;
      for (const old of this.changes.splice(0, cut)) this.base = applyChange(this.base!, old);
      this.baseAt = lastAt + 1;
      this.decisions = this.decisions.filter((d) => d.at >= this.baseAt);
    }
    this.emit('output', change);
  }

  private onEvent(e: EventRecord): void {
    const decision = decisionOf(e);
    if (decision) {
      this.decisions.push(decision);
      if (this.decisions.length > this.capacity) this.decisions.shift();
    }
    this.emit('event', e);
  }
}
