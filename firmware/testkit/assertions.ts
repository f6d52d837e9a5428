import { AssertionError } from 'node:assert';
import type { EventRecord } from '../foundation/model';
import { nextDecision, type LedColour, type Rig } from './rig';

/** One check of a rig: whether it passed, and what to say either way (jest's `.not` too). */
export interface RigCheck {
  pass: boolean;
  message: () => string;
}

const LED_COLOURS: readonly LedColour[] = ['off', 'red', 'green', 'amber'];

function ledColourOf(colour: unknown, what: string): LedColour {
  if (!LED_COLOURS.includes(colour as LedColour)) {
    throw new TypeError(
      `${what}: the colour must be one of ${LED_COLOURS.join(', ')}, got ${JSON.stringify(colour)}`,
    );
  }
  return colour as LedColour;
}

function list(colours: Iterable<LedColour>): string {
  return [...colours].sort().join(' + ') || 'nothing';
}

export async function checkLed(rig: Rig, want: LedColour): Promise<RigCheck> {
  ledColourOf(want, 'toShowLed');
  const seen = await rig.led();
  return {
    pass: seen === want,
    message: () =>
      seen === want
        ? `expected the ${rig.name} rig's LED not to show ${want}, and it does`
        : `expected the ${rig.name} rig's LED to show ${want}, it shows ${seen}`,
  };
}

/** The LED shows exactly these colours (a blink pattern) while `ms` of reader time pass. */
export async function checkLedDuring(rig: Rig, want: LedColour[], ms = 1000): Promise<RigCheck> {
  const wanted = new Set(want.map((c) => ledColourOf(c, 'toBlinkLed')));
  const seen = await rig.ledDuring(ms);
  const pass = seen.size === wanted.size && [...seen].every((c) => wanted.has(c));
  return {
    pass,
    message: () =>
      pass
        ? `expected the ${rig.name} rig's LED not to show exactly ${list(wanted)} over ${ms} ms, and it did`
        : `expected the ${rig.name} rig's LED to show exactly ${list(wanted)} over ${ms} ms, it showed ${list(seen)}`,
  };
}

/** The lock relay's coil is energized (fail-secure, the default: the door is unlocked). */
export async function checkRelayEnergized(rig: Rig): Promise<RigCheck> {
  const on = await rig.relayEnergized();
  return {
    pass: on,
    message: () =>
      on
        ? `expected the ${rig.name} rig's lock relay to be released, it is energized`
        : `expected the ${rig.name} rig's lock relay to be energized, it is released`,
  };
}

export async function checkBuzzer(rig: Rig): Promise<RigCheck> {
  const on = await rig.buzzer();
  return {
    pass: on,
    message: () =>
      on
        ? `expected the ${rig.name} rig's buzzer to be silent, it sounds`
        : `expected the ${rig.name} rig's buzzer to sound, it is silent`,
  };
}

function describeDecision(e: EventRecord): string {
  const who = [e.kind, e.credentialId && `credential ${e.credentialId}`].filter(Boolean).join(' ');
  return `${e.decision} ${e.reason}${who ? ` (${who})` : ''} at seq ${e.seq}`;
}

/**
 * The reader's next access decision after the rig's cursor has this reason code ('granted' for
 * a grant; the deny codes of docs/READER.md), and, when given, this credential. Consumes the
 * decision: the next check looks at the one after it.
 */
export async function checkDecided(
  rig: Rig,
  reason: string,
  expected: { credentialId?: string; kind?: string } = {},
): Promise<RigCheck> {
  if (typeof reason !== 'string' || reason === '') {
    throw new TypeError(
      `toHaveDecided: the reason must be a reason code, got ${JSON.stringify(reason)}`,
    );
  }
  const from = rig.cursor;
  let event: EventRecord;
  try {
    event = await nextDecision(rig);
  } catch (err) {
    return {
      pass: false,
      message: () => `expected the reader to decide ${reason}: ${(err as Error).message}`,
    };
  }
  const mismatches = [
    event.reason !== reason && 'reason',
    expected.credentialId !== undefined &&
      event.credentialId !== expected.credentialId &&
      'credential',
    expected.kind !== undefined && event.kind !== expected.kind && 'kind',
  ].filter(Boolean);
  const wanted = [
    reason,
    expected.kind,
    expected.credentialId && `credential ${expected.credentialId}`,
  ]
    .filter(Boolean)
    .join(', ');
  return {
    pass: mismatches.length === 0,
    message: () =>
      mismatches.length === 0
        ? `expected the reader's next decision after seq ${from} not to be ${wanted}, it was: ${describeDecision(event)}`
        : `expected the reader's next decision after seq ${from} to be ${wanted}, it was: ${describeDecision(event)}`,
  };
}

function enforce(check: RigCheck, fn: (...args: never[]) => unknown): void {
  if (!check.pass) {
    throw new AssertionError({ message: check.message(), stackStartFn: fn });
  }
}

/** node:test (or any runner): throws an AssertionError naming what the LED shows instead. */
export async function assertLed(rig: Rig, colour: LedColour): Promise<void> {
  enforce(await checkLed(rig, colour), assertLed);
}

export async function assertLedDuring(rig: Rig, colours: LedColour[], ms?: number): Promise<void> {
  enforce(await checkLedDuring(rig, colours, ms), assertLedDuring);
}

/** `energized` true: the coil is on (fail-secure: unlocked); false: released. */
export async function assertRelay(rig: Rig, energized: boolean): Promise<void> {
  const check = await checkRelayEnergized(rig);
  enforce(energized ? check : { pass: !check.pass, message: check.message }, assertRelay);
}

export async function assertBuzzer(rig: Rig, sounding: boolean): Promise<void> {
  const check = await checkBuzzer(rig);
  enforce(sounding ? check : { pass: !check.pass, message: check.message }, assertBuzzer);
}

export async function assertDecided(
  rig: Rig,
  reason: string,
  expected: { credentialId?: string; kind?: string } = {},
): Promise<void> {
  enforce(await checkDecided(rig, reason, expected), assertDecided);
}
