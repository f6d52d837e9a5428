import type { IndicatorEngine } from '../led';
import type { LedColor, Situation } from '../led/model';
import type { DoorController, DoorPosition, RelayState } from './door';

/** A table situation, or 'panel': an OSDP panel's own LED pattern (osdp-pd role). */
export type ShownSituation = Situation | 'panel';

/** What shows and drives the outputs: the LED engine and the door. */
export interface Outputs {
  indicator: IndicatorEngine;
  door: DoorController;
}

/**
 * One change of what the reader shows or drives, as the front panel and timelines see it:
 * LED colour + buzzer (every blink edge, from IndicatorEngine 'change'), the relay, and the
 * door position (from DoorController). `at` is the reader's clock.
 */
export type OutputChange =
  | { kind: 'led'; at: number; color: LedColor; buzzer: boolean; situation?: ShownSituation }
  | { kind: 'relay'; at: number; relay: RelayState }
  | { kind: 'door'; at: number; position: DoorPosition; tamper: boolean };

/** The outputs at one instant (what a timeline starts from). */
export interface OutputSnapshot {
  led: { color: LedColor; buzzer: boolean; situation?: ShownSituation };
  relay: RelayState;
  door: { position: DoorPosition; tamper: boolean };
}

/** The reader's outputs now, read from the running parts. */
export function snapshotOf(running: Outputs): OutputSnapshot {
  const led = running.indicator.status();
  const door = running.door.status();
  return {
    led: { ...led.output, ...(led.visible ? { situation: led.visible } : {}) },
    relay: door.relay,
    door: { position: door.position, tamper: door.tamper },
  };
}

/**
 * Subscribes to every output change of a running reader; returns the unsubscribe. A door
 * alarm changes the position (forced-open, held-open) without a contact edge, so alarms
 * are read as door changes too; equal consecutive door states are reported once.
 */
export function watchReaderOutputs(
  running: Outputs,
  listener: (change: OutputChange) => void,
): () => void {
  const { indicator, door } = running;
  let lastDoor = '';
  const onLed = (change: { color: LedColor; buzzer: boolean; at: number }) => {
    const visible = indicator.status().visible;
    listener({
      kind: 'led',
      at: change.at,
      color: change.color,
      buzzer: change.buzzer,
      ...(visible ? { situation: visible } : {}),
    });
  };
  const onRelay = (relay: RelayState, at: number) => listener({ kind: 'relay', at, relay });
  const onDoor = (at: number) => {
    const s = door.status();
    const key = `${s.position}/${s.tamper}`;
    if (key === lastDoor) return;
    lastDoor = key;
    listener({ kind: 'door', at, position: s.position, tamper: s.tamper });
  };
  const onContact = (_state: string, at: number) => onDoor(at);
  const onAlarm = (_alarm: unknown, at: number) => onDoor(at);
  const initial = door.status();
  lastDoor = `${initial.position}/${initial.tamper}`;
  indicator.on('change', onLed);
  door.on('relay', onRelay);
  door.on('door', onContact);
  door.on('alarm', onAlarm);
  return () => {
    indicator.off('change', onLed);
    door.off('relay', onRelay);
    door.off('door', onContact);
    door.off('alarm', onAlarm);
  };
}
