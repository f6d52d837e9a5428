import type { OutputChange, OutputSnapshot } from '../../output-changes';
import type { TimelineDecision, TimelineRecording } from './recording';

/** One stretch of a lane holding one value, [from, to) in the reader's ms. */
export interface LaneSegment {
  from: number;
  to: number;
  value: string;
}

export type LaneName = 'led' | 'buzzer' | 'relay' | 'door';
export const LANE_NAMES: readonly LaneName[] = ['led', 'buzzer', 'relay', 'door'];

export interface TimelineLanes {
  from: number;
  to: number;
  lanes: Record<LaneName, LaneSegment[]>;
  decisions: TimelineDecision[];
}

/** The value a lane shows for a snapshot and for a change (undefined: not this lane's). */
const LANE_VALUE: Record<
  LaneName,
  { of(s: OutputSnapshot): string; change(c: OutputChange): string | undefined }
> = {
  led: { of: (s) => s.led.color, change: (c) => (c.kind === 'led' ? c.color : undefined) },
  buzzer: {
    of: (s) => onOff(s.led.buzzer),
    change: (c) => (c.kind === 'led' ? onOff(c.buzzer) : undefined),
  },
  relay: { of: (s) => s.relay, change: (c) => (c.kind === 'relay' ? c.relay : undefined) },
  door: {
    of: (s) => s.door.position,
    change: (c) => (c.kind === 'door' ? c.position : undefined),
  },
};

/**
 * Turns a recording into lanes of segments: each lane's value from `initial`, changed at
 * each change, with zero-length stretches (several changes at one instant) dropped and
 * equal neighbours merged, so a steady green for the unlock time is one segment.
 */
export function lanesOf(recording: TimelineRecording): TimelineLanes {
  const { from, to } = recording;
  const changes = [...recording.changes].sort((a, b) => a.at - b.at);
  const lanes = {} as Record<LaneName, LaneSegment[]>;
  for (const name of LANE_NAMES) {
    const value = LANE_VALUE[name];
    const raw: LaneSegment[] = [];
    let current = { from, value: value.of(recording.initial) };
    for (const change of changes) {
      const next = value.change(change);
      if (next === undefined || change.at < from || change.at > to) continue;
      raw.push({ from: current.from, to: change.at, value: current.value });
      current = { from: change.at, value: next };
    }
    raw.push({ from: current.from, to, value: current.value });
    lanes[name] = merge(raw.filter((s) => s.to > s.from));
  }
  const decisions = recording.decisions
    .filter((d) => d.at >= from && d.at <= to)
    .sort((a, b) => a.at - b.at || a.seq - b.seq);
  return { from, to, lanes, decisions };
}

function merge(segments: LaneSegment[]): LaneSegment[] {
  const out: LaneSegment[] = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last && last.value === s.value && last.to === s.from) last.to = s.to;
    else out.push({ ...s });
  }
  return out;
}

function onOff(on: boolean): string {
  return on ? 'on' : 'off';
}
