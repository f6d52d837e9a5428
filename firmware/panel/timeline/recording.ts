import type { OutputChange, OutputSnapshot } from '../../output-changes';
import type { EventRecord } from '../../foundation/model';

/** An access decision on a timeline: from the event log (reason codes of firmware/foundation/reasons.ts). */
export interface TimelineDecision {
  at: number;
  seq: number;
  decision: 'grant' | 'deny';
  reason: string;
  kind?: string;
  credentialId?: string;
}

/**
 * What a timeline is drawn from: the outputs at `from`, every change in [from, to], and the
 * decisions in [from, to]. `GET /api/v1/panel/timeline` answers one; it is plain JSON so a
 * HIL rig can keep it beside the SVG.
 */
export interface TimelineRecording {
  from: number;
  to: number;
  initial: OutputSnapshot;
  changes: OutputChange[];
  decisions: TimelineDecision[];
}

/** The decision an access event records, or undefined for any other event. */
export function decisionOf(e: EventRecord): TimelineDecision | undefined {
  if (e.type !== 'access' || (e.decision !== 'grant' && e.decision !== 'deny')) return undefined;
  return {
    at: e.ts,
    seq: e.seq,
    decision: e.decision,
    reason: e.reason ?? (e.decision === 'grant' ? 'granted' : 'unknown'),
    ...(e.kind ? { kind: e.kind } : {}),
    ...(e.credentialId ? { credentialId: e.credentialId } : {}),
  };
}

/** The snapshot after one change (the recorder folds history into its base with this). */
export function applyChange(state: OutputSnapshot, change: OutputChange): OutputSnapshot {
  switch (change.kind) {
    case 'led':
      return {
        ...state,
        led: {
          color: change.color,
          buzzer: change.buzzer,
          ...(change.situation ? { situation: change.situation } : {}),
        },
      };
    case 'relay':
      return { ...state, relay: change.relay };
    case 'door':
      return { ...state, door: { position: change.position, tamper: change.tamper } };
  }
}
