import type { LedColour, Rig } from './rig';
import {
  checkBuzzer,
  checkDecided,
  checkLed,
  checkLedDuring,
  checkRelayEnergized,
  type RigCheck,
} from './assertions';

function asRig(received: unknown, matcher: string): Rig {
  const rig = received as Partial<Rig> | null;
  if (!rig || typeof rig.led !== 'function' || typeof rig.relayEnergized !== 'function') {
    throw new TypeError(`${matcher}: expect() needs a rig from openRig(), got ${typeof received}`);
  }
  return rig as Rig;
}

/**
 * The testkit's jest matchers, as `expect.extend` takes them. Each is async (it reads the
 * rig's wires or its event log): `await expect(rig).toShowLed('green')`.
 */
export const rigMatchers = {
  async toShowLed(received: unknown, colour: LedColour): Promise<RigCheck> {
    return checkLed(asRig(received, 'toShowLed'), colour);
  },
  async toBlinkLed(received: unknown, colours: LedColour[], ms?: number): Promise<RigCheck> {
    return checkLedDuring(asRig(received, 'toBlinkLed'), colours, ms);
  },
  async toHaveRelayEnergized(received: unknown): Promise<RigCheck> {
    return checkRelayEnergized(asRig(received, 'toHaveRelayEnergized'));
  },
  async toSoundBuzzer(received: unknown): Promise<RigCheck> {
    return checkBuzzer(asRig(received, 'toSoundBuzzer'));
  },
  async toHaveDecided(
    received: unknown,
    reason: string,
    expected?: { credentialId?: string; kind?: string },
  ): Promise<RigCheck> {
    return checkDecided(asRig(received, 'toHaveDecided'), reason, expected);
  },
};

/** What `expect.extend` needs; jest's own `expect` (global or from @jest/globals) has it. */
export interface ExtendableExpect {
  extend(matchers: Record<string, unknown>): void;
}

/** Adds the rig matchers to this `expect` (jest, or any runner with jest's expect). */
export function registerRigMatchers(expect: ExtendableExpect): void {
  expect.extend(rigMatchers);
}

/** The matchers' types, for `declare module` blocks of other expect flavours. */
export interface RigMatchers<R> {
  /** The LED shows this colour now. */
  toShowLed(colour: LedColour): Promise<R>;
  /** The LED shows exactly these colours while `ms` (default 1000) of reader time pass. */
  toBlinkLed(colours: LedColour[], ms?: number): Promise<R>;
  /** The lock relay's coil is energized (fail-secure, the default: unlocked). */
  toHaveRelayEnergized(): Promise<R>;
  toSoundBuzzer(): Promise<R>;
  /** The next access decision after the rig's cursor has this reason code; consumes it. */
  toHaveDecided(reason: string, expected?: { credentialId?: string; kind?: string }): Promise<R>;
}
